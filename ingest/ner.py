"""Person names and street addresses found by the statistical model trained in ``tools/pii_model``.

The model is a small spaCy NER (CNN tok2vec + transition-based entity
recognizer, labels PERSON and STREET_ADDRESS) trained on synthetic support
text in many locales; it ships as package data in ``ingest/models/pii_ner``
(see its ``DATA_CARD.md``) and is loaded from there, offline, once per
process. Entities come from a beam search: an entity's score is the share of
the beam's probability mass on parses that contain it, so a lower
``min_score`` finds more (recall first) and a higher one finds fewer, surer
spans (precision first).

An address written over several lines ("Leopoldstrasse 88" / "80802 Muenchen")
is recognized line by line and returned as one span.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

MODEL_DIR = Path(__file__).resolve().parent / "models" / "pii_ner"
LABELS = ("PERSON", "STREET_ADDRESS")
# Spans scoring below this are dropped unless the caller asks for another floor.
DEFAULT_MIN_SCORE = 0.5
BEAM_WIDTH = 8
BEAM_DENSITY = 0.0001
# The greedy-trained model's action scores are divided by this before the beam turns them into
# probabilities: the best parse stays the same, the entity scores spread out so that thresholds
# trade precision for recall (chosen on the dev split, see DATA_CARD.md).
SCORE_TEMPERATURE = 2.0
# Text is cut into pieces of at most this many characters (at blank lines, then line ends, then
# sentence ends, then spaces) and run in batches: the model reads a few tokens of context only.
MAX_SEGMENT_CHARS = 1200
BATCH_SIZE = 64

# What may stand between two lines of one address.
_ADDRESS_GAP = re.compile(r"[ \t]*[,/;]?[ \t]*\n?[ \t>]*")
_EDGE_JUNK = " \t\n\r,;:.!?\"'()[]{}<>|*-–—"
_BREAKS = (re.compile(r"\n[ \t]*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?])[ \t]+"), re.compile(r"[ \t]+"))
_ABBREVIATIONS = frozenset("st str apt ave rd dr blvd ln ct pl pkwy hwy jr sr cad sok bldg no nr".split())
_lock = threading.Lock()


@dataclass(frozen=True)
class Span:
    """One entity in a text: its type, character offsets and score (0..1)."""

    entity_type: str
    start: int
    end: int
    score: float


@cache
def _load(model_dir: str) -> Any:
    import spacy

    from ingest.offline import configure_offline

    configure_offline()
    if not (Path(model_dir) / "config.cfg").is_file():
        raise RuntimeError(f"no spaCy pipeline at {model_dir}: run `make pii-model` or reinstall deskpilot")
    nlp = spacy.load(model_dir)
    ner: Any = nlp.get_pipe("ner")
    ner.cfg["beam_width"] = BEAM_WIDTH
    ner.cfg["beam_density"] = BEAM_DENSITY
    upper = ner.model.get_ref("upper")
    for name in ("W", "b"):
        upper.set_param(name, upper.get_param(name) / SCORE_TEMPERATURE)
    return nlp


def load_model(model_dir: Path | None = None) -> Any:
    """The spaCy pipeline, loaded once per process (and directory)."""
    with _lock:
        return _load(str(model_dir or MODEL_DIR))


def find_entities(text: str, *, min_score: float = DEFAULT_MIN_SCORE, model_dir: Path | None = None) -> list[Span]:
    """PERSON and STREET_ADDRESS spans of ``text`` scoring at least ``min_score``, in order, non-overlapping."""
    return select_spans(text, scored_candidates(text, model_dir=model_dir), min_score)


@dataclass(frozen=True)
class Candidate:
    """An entity of some parse in the beam; ``best`` when the beam's most probable parse has it."""

    span: Span
    best: bool


def scored_candidates(text: str, *, floor: float = 0.01, model_dir: Path | None = None) -> list[Candidate]:
    """Every entity of every parse in the beam scoring at least ``floor``; they may overlap.

    Run it once and call ``select_spans`` with several thresholds to apply several policies.
    """
    if not text.strip():
        return []
    nlp = load_model(model_dir)
    ner = nlp.get_pipe("ner")
    segments = [(start, end) for start, end in _segments(text, 0, len(text)) if text[start:end].strip()]
    candidates: list[Candidate] = []
    with _lock:
        for i in range(0, len(segments), BATCH_SIZE):
            batch = segments[i : i + BATCH_SIZE]
            docs = [nlp.make_doc(text[start:end]) for start, end in batch]
            for (offset, _), doc, beam in zip(batch, docs, ner.predict(docs), strict=True):
                parses = ner.moves.get_beam_parses(beam)
                if not parses:
                    continue
                best = set(max(parses, key=lambda parse: parse[0])[1])
                scores: dict[tuple[int, int, str], float] = {}
                for prob, ents in parses:
                    for ent in ents:
                        scores[ent] = scores.get(ent, 0.0) + float(prob)
                for ent, score in scores.items():
                    first, last, label = ent
                    if label in LABELS and score >= floor:
                        span = doc[first:last]
                        start, end = offset + span.start_char, offset + span.end_char
                        candidates.append(Candidate(Span(str(label), start, end, min(score, 1.0)), ent in best))
    return candidates


def select_spans(text: str, candidates: list[Candidate], min_score: float) -> list[Span]:
    """The candidates scoring at least ``min_score``, without overlaps, trimmed, address lines joined.

    The beam's best parse goes first; entities of other parses fill the gaps it leaves, best score first.
    """
    ranked = sorted(
        (c for c in candidates if c.span.score >= min_score),
        key=lambda c: (not c.best, -c.span.score, c.span.start - c.span.end, c.span.start),
    )
    kept: list[Span] = []
    for candidate in ranked:
        span = candidate.span
        if all(span.end <= other.start or span.start >= other.end for other in kept):
            kept.append(span)
    kept.sort(key=lambda s: s.start)
    return _merge_address_lines(text, _trimmed(text, kept))


def _segments(text: str, start: int, end: int, level: int = 0) -> Iterator[tuple[int, int]]:
    """Pieces of ``text[start:end]`` no longer than MAX_SEGMENT_CHARS, cut at the most natural breaks."""
    if end - start <= MAX_SEGMENT_CHARS or level >= len(_BREAKS):
        if end - start <= MAX_SEGMENT_CHARS:
            yield start, end
        else:  # one endless word: cut it blindly
            for pos in range(start, end, MAX_SEGMENT_CHARS):
                yield pos, min(pos + MAX_SEGMENT_CHARS, end)
        return
    pieces: list[tuple[int, int]] = []
    pos = start
    for match in _BREAKS[level].finditer(text, start, end):
        pieces.append((pos, match.start()))
        pos = match.end()
    pieces.append((pos, end))
    # Pack consecutive pieces back together while they fit, so context is kept where possible.
    current: tuple[int, int] | None = None
    for piece in pieces:
        if current is not None and piece[1] - current[0] <= MAX_SEGMENT_CHARS:
            current = (current[0], piece[1])
            continue
        if current is not None:
            yield from _segments(text, current[0], current[1], level + 1)
        current = piece
    if current is not None:
        yield from _segments(text, current[0], current[1], level + 1)


def _trimmed(text: str, spans: list[Span]) -> list[Span]:
    out = []
    for span in spans:
        start, end = span.start, span.end
        while start < end and text[start] in _EDGE_JUNK:
            start += 1
        while end > start and text[end - 1] in _EDGE_JUNK and not _belongs_to_span(text, start, end):
            end -= 1
        if end > start:
            out.append(Span(span.entity_type, start, end, span.score))
    return out


def _belongs_to_span(text: str, start: int, end: int) -> bool:
    """A final ")" closing a "(" of the span ("Gabella (PI)"), or the "." of an initial or abbreviation ("J.")."""
    if text[end - 1] == ")":
        return text.count("(", start, end) >= text.count(")", start, end)
    if text[end - 1] != ".":
        return False
    word = re.search(r"(\w+)\.$", text[max(start, end - 8) : end])
    return word is not None and (len(word.group(1)) == 1 or word.group(1).lower() in _ABBREVIATIONS)


def _merge_address_lines(text: str, spans: list[Span]) -> list[Span]:
    """Join STREET_ADDRESS spans separated only by a line break, a comma or a slash into one."""
    merged: list[Span] = []
    for span in spans:
        last = merged[-1] if merged else None
        if (
            last is not None
            and last.entity_type == span.entity_type == "STREET_ADDRESS"
            and _ADDRESS_GAP.fullmatch(text, last.end, span.start)
        ):
            merged[-1] = Span("STREET_ADDRESS", last.start, span.end, min(last.score, span.score))
        else:
            merged.append(span)
    return merged
