"""The default generator, no LLM: a coherent passage of the best source, quoted verbatim and cited.

The answer is built from the structure of the source that answers best (assistant/passages.py):
a "how do I" question gets the whole numbered step list with its lead-in; a lookup gets the sentence
that holds the fact plus the sentences it depends on; a short section is kept whole; a table row is
shown as "label: value" pairs. A second source is added only when it brings a question term the
first one lacks. Headings, FAQ questions, dangling pointers ("see below", "steps 1-3") and a
second statement of a fact already given are never emitted.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from assistant.passages import Unit, parse
from assistant.records import Channel, Draft, Sentence, Source
from assistant.settings import AssistantSettings
from assistant.text import content_terms, split_sentences
from retrieval.embedder import Embedder

# Weights of a unit's score: meaning first, the question's own words second, and a little of the
# source's retrieval rank so ties go to the better source.
_W_SIMILARITY, _W_OVERLAP, _W_SOURCE = 0.6, 0.3, 0.1
_NEAR_COPY = 0.8  # cosine above which two units state the same fact ("valid for 60 minutes" twice)
_NEAR_COPY_SAME_NUMBERS = 0.7  # the cosine that suffices when one unit's numbers all recur in the other
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_SECOND_SOURCE_SHARE = 0.85  # a second source's unit must score this share of the best unit
_EXTRA_SHARE = 0.9  # another unit of the anchor source joins when it scores this share of the best
_SHORT_SECTION_WORDS = 70
_MAX_LIST_ITEMS = 8  # longer bullet lists show only the matching items
_MIN_WORDS = 3
_HOW_TO_STEP_BONUS = 0.15
_STEP_LIST_SHARE = 0.75  # a "how do I" answer takes a step list scoring this share of the best unit
_ANCHOR_TRIES = 3  # anchors tried, best first, until one gives a passage with something to say
_QUANTITY_BONUS = 0.05
_SHORT_ITEM_WORDS = 12  # a list of items this short on average is an enumeration: show it whole
_MAX_TABLE_ROWS = 6  # a table this small answers as a whole

_HOW_TO = re.compile(
    r"\b(how (do|can|could|should|would|to) |how does one |what('s| is| are) the (steps|process|procedure)|"
    r"what (do|should|can) (i|we) do|steps (to|for)|walk me through|where (do|can) i |"
    r"wie (kann|muss|k[öo]nnen|richte|lege|stelle|ändere|gehe)|was (muss|kann|soll) ich tun|"
    r"comment (puis|faire|dois|peut|activer|changer)|c[óo]mo (puedo|se |hago|cambio|activo))",
    re.IGNORECASE,
)
_QUANTITY = re.compile(
    r"\b(how (many|much|long|often|soon|far)|when|what (rate|price|time|date|limit)|which (rate|price|limit)|"
    r"wie (viele|viel|lange|oft)|wann|combien|cu[áa]nto)",
    re.IGNORECASE,
)
SEE_POINTER = re.compile(
    r"\s*\((see|siehe|voir|ver) [^)]*\)|[;,]\s*(see|siehe|this (article|page|guide) \w+) .*$", re.IGNORECASE
)
_DANGLING = re.compile(
    r"\b(see|as|shown|listed|mentioned|described|explained) (above|below)\b|\b(above|below)\s*[.):,;]|"
    r"\bthe (steps?|table|list|section|options?|settings?|image|screenshot|figure) (above|below)\b|"
    r"\b(the following|as follows|as shown|shown here|this page|this article|this guide|these steps|those steps|"
    r"steps? \d+\s*(-|–|to|and)\s*\d+|step \d+|siehe oben|siehe unten|folgende[nmsr]?|ci-dessous|ci-dessus|"
    r"siguientes?)\b",
    re.IGNORECASE,
)
_POINTER = re.compile(r"^(see|read|check out|learn more|more about|for more|siehe|weitere)\b", re.IGNORECASE)
_DEPENDENT_OPENER = re.compile(
    r"^(this|that|these|those|it|its|they|then|however|but|also|so|otherwise|instead|in that case|if so|there|"
    r"each|both|either|neither|such|here|for example|dies|das|diese|sie|dann|danach|aber|außerdem|sonst|jeder|jede)\b",
    re.IGNORECASE,
)
_NAVIGATION = ("related articles", "see also", "was this article helpful", "still need help", "last reviewed")


UNIT_FEATURES = (
    "similarity",
    "overlap",
    "relevance",
    "first_source",
    "section_similarity",
    "faq_similarity",
    "number_for_quantity",
    "step_for_how_to",
    "lead_for_how_to",
    "is_item",
    "is_row",
    "is_step",
    "length",
)
"""What the unit scorer sees of a unit; its weights are fitted on the dev halves (evals/fit_passages.py)."""


@dataclass(frozen=True)
class Candidate:
    """A unit of a source considered for the answer, with its score."""

    source: int
    unit: Unit
    score: float
    similarity: float
    overlap: float
    features: tuple[float, ...] = ()


@dataclass(frozen=True)
class UnitScorer:
    """A logistic model of "this unit holds the answer's key fact" over UNIT_FEATURES."""

    weights: tuple[float, ...]
    bias: float

    def score(self, features: Sequence[float]) -> float:
        """The probability that a unit with these features holds the key fact."""
        z = self.bias + sum(w * x for w, x in zip(self.weights, features, strict=True))
        return 1.0 / (1.0 + math.exp(-z))


def load_unit_scorer(path: Path | None = None) -> UnitScorer | None:
    """The fitted unit scorer (assistant/passage_model.json), or None when there is none."""
    raw = (
        path.read_text()
        if path
        else resources.files("assistant").joinpath("passage_model.json").read_text()
        if resources.files("assistant").joinpath("passage_model.json").is_file()
        else ""
    )
    if not raw:
        return None
    data = json.loads(raw)
    if tuple(data.get("features", ())) != UNIT_FEATURES:
        raise ValueError(
            f"{path or 'assistant/passage_model.json'}: features {data.get('features')} do not match "
            f"{list(UNIT_FEATURES)}; refit with `python -m evals.fit_passages`"
        )
    return UnitScorer(tuple(float(w) for w in data["weights"]), float(data["bias"]))


class ExtractiveGenerator:
    """Answers with a coherent passage of the best source (see the module docstring)."""

    name = "extractive"

    def __init__(self, embedder: Embedder, settings: AssistantSettings, scorer: UnitScorer | None = None) -> None:
        self.embedder, self.settings = embedder, settings
        self.scorer = scorer if scorer is not None else load_unit_scorer()

    def units(self, sources: Sequence[Source]) -> dict[int, list[Unit]]:
        """The parsed units of each source, by source number."""
        out = {}
        for source in sources:
            headings = (source.hit.title, *source.hit.section.split(" > "))
            out[source.n] = parse(source.hit.text, headings)
        return out

    def candidates(
        self, question: str, sources: Sequence[Source], units: dict[int, list[Unit]], locale: str
    ) -> tuple[list[Candidate], np.ndarray]:
        """Every usable unit with its score, and the units' embeddings (rows in the same order)."""
        found = [
            (source.n, unit)
            for source in sources
            for unit in units[source.n]
            if unit.kind != "heading" and not _is_furniture(unit.text)
        ]
        if not found:
            return [], np.zeros((0, 1), dtype=np.float32)
        q_vec = self.embedder.encode_uncached([question])[0]
        vectors = self.embedder.encode([unit.text for _, unit in found])
        similarities = vectors @ q_vec
        headings = [s.hit.section.split(" > ")[-1] or s.hit.title for s in sources]
        section_similarity = dict(
            zip((s.n for s in sources), (float(x) for x in self.embedder.encode(headings) @ q_vec), strict=True)
        )
        question_similarity = {
            (n, unit.position): float(sim)
            for (n, unit), sim in zip(found, similarities, strict=True)
            if unit.kind == "question"
        }
        q_terms = content_terms(question, locale)
        how_to, quantity = bool(_HOW_TO.search(question)), bool(_QUANTITY.search(question))
        relevance = {s.n: s.hit.relevance for s in sources}
        first = min((s.n for s in sources), default=0)
        out = []
        for (n, unit), similarity in zip(found, similarities, strict=True):
            overlap = len(q_terms & content_terms(unit.text, locale)) / len(q_terms) if q_terms else 0.0
            features = (
                float(similarity),
                overlap,
                relevance[n],
                1.0 if n == first else 0.0,
                section_similarity[n],
                question_similarity.get((n, unit.position - 1), 0.0),
                1.0 if quantity and any(ch.isdigit() for ch in unit.text) else 0.0,
                1.0 if how_to and unit.kind == "step" else 0.0,
                1.0 if how_to and unit.lead else 0.0,
                1.0 if unit.kind == "item" else 0.0,
                1.0 if unit.kind == "row" else 0.0,
                1.0 if unit.kind == "step" else 0.0,
                min(1.0, len(unit.text.split()) / 50),
            )
            if self.scorer is not None:
                score = self.scorer.score(features)
            else:
                score = _W_SIMILARITY * float(similarity) + _W_OVERLAP * overlap + _W_SOURCE * relevance[n]
            out.append(Candidate(n, unit, score, float(similarity), overlap, features))
        return out, vectors

    def generate(self, question: str, sources: Sequence[Source], channel: Channel, locale: str) -> Draft:
        """A passage of the best source (and, when it adds an asked-for fact, of a second one), cited."""
        units = self.units(sources)
        candidates, vectors = self.candidates(question, sources, units, locale)
        q_terms = content_terms(question, locale)

        def score(texts: list[str]) -> list[float]:
            if not texts:
                return []
            q_vec = self.embedder.encode_uncached([question])[0]
            similarities = self.embedder.encode(texts) @ q_vec
            overlaps = [len(q_terms & content_terms(t, locale)) / len(q_terms) if q_terms else 0.0 for t in texts]
            return [_W_SIMILARITY * float(s) + _W_OVERLAP * o for s, o in zip(similarities, overlaps, strict=True)]

        chosen = compose(
            question,
            sources,
            units,
            candidates,
            vectors,
            channel,
            self.settings,
            locale,
            score,
            self.scorer is not None,
        )
        return Draft(sentences=tuple(chosen), generator=self.name, model="", prompt_version="extractive-v2")


def compose(
    question: str,
    sources: Sequence[Source],
    units: dict[int, list[Unit]],
    candidates: list[Candidate],
    vectors: np.ndarray,
    channel: Channel,
    settings: AssistantSettings,
    locale: str,
    score: Callable[[list[str]], list[float]] | None = None,
    learned: bool = False,
) -> list[Sentence]:
    """The answer's sentences: the anchor passage, then at most one more source's fact, in reading order."""
    answerable = [i for i, c in enumerate(candidates) if c.unit.kind != "question"]
    if not answerable:
        return []
    how_to = bool(_HOW_TO.search(question))
    quantity = bool(_QUANTITY.search(question))
    # A fitted scorer already weighs steps, numbers and FAQ questions; the hand-set score gets bonuses.
    ranked = sorted(
        answerable, key=lambda i: -(candidates[i].score if learned else _anchor_score(candidates, i, how_to, quantity))
    )
    if how_to:
        # "How do I ...": a matching step list beats a closer-worded sentence about the task. Lists are
        # judged whole (heading, lead-in and steps together): one step alone says little about the task.
        best_list = _best_step_list(candidates, sources, units, score)
        if best_list is not None and candidates[best_list].score >= candidates[ranked[0]].score * _STEP_LIST_SHARE:
            ranked.insert(0, best_list)
    limit = settings.widget_max_sentences if channel == "widget" else settings.agent_max_sentences
    q_terms = content_terms(question, locale)
    picked: list[Unit] = []
    anchor = candidates[ranked[0]]
    for best in ranked[:_ANCHOR_TRIES]:
        anchor = candidates[best]
        picked = _emittable(_passage(anchor, units[anchor.source], candidates, how_to, limit, score, q_terms, locale))
        if picked:
            break
    if not picked:
        return []
    index = {(c.source, c.unit.position): i for i, c in enumerate(candidates)}
    chosen_rows = [index[(anchor.source, u.position)] for u in picked if (anchor.source, u.position) in index]
    out = [(anchor.source, u) for u in picked]

    # A second source only for a question term the passage lacks, and never a restatement. The passage is read
    # under its article's title and section ("Reset your password > Request a reset link"): their words are
    # covered too, or a fact about resetting from an unrelated article is added for "password reset".
    anchor_hit = next(s.hit for s in sources if s.n == anchor.source)
    covered = content_terms(f"{anchor_hit.title} {anchor_hit.section}", locale)
    covered = covered.union(*(content_terms(u.text, locale) for u in picked))
    missing = q_terms - covered
    anchor_doc = anchor_hit.doc_id
    doc_of = {s.n: s.hit.doc_id for s in sources}
    if missing and (channel != "widget" or not how_to):
        extra = [
            i
            for i in answerable
            if doc_of[candidates[i].source] != anchor_doc
            and candidates[i].unit.kind in ("text", "row", "item")
            and candidates[i].score >= anchor.score * _SECOND_SOURCE_SHARE
            and content_terms(candidates[i].unit.text, locale) & missing
            and not _dangling(candidates[i].unit.text)
            and not _near_copy(vectors, i, chosen_rows)
        ]
        if extra:
            second = max(extra, key=lambda i: candidates[i].score)
            context = _with_context(candidates[second].unit, units[candidates[second].source])
            out += [(candidates[second].source, u) for u in context]
            chosen_rows.append(second)

    sentences: list[Sentence] = []
    seen: set[tuple[int, int]] = set()
    shown: list[tuple[int, tuple[int, int]]] = []  # (row of ``vectors``, (source, block)) of units in the answer
    unit_texts = [c.unit.text for c in candidates]  # by row of ``vectors``
    for n, unit in out:
        if (n, unit.position) in seen:
            continue
        seen.add((n, unit.position))
        row = index.get((n, unit.position))
        if unit.kind in ("text", "item", "row") and row is not None:
            # The same fact said twice ("valid for 60 minutes" ... "expire after 60 minutes"; a table row and a
            # bullet with the same price) is said once. Rows or items of one list only look alike: they stay.
            where = (n, unit.block)
            others = [r for r, place in shown if unit.kind == "text" or place != where]
            if _near_copy(vectors, row, others, unit_texts):
                continue
            shown.append((row, where))
        kind = "text" if unit.kind in ("text", "question") else unit.kind
        text = cut_pointers(unit.text)
        if not text or (_dangling(text) and not unit.lead and unit.kind != "step"):
            continue
        sentences.append(
            Sentence(
                text=text,
                cites=(n,),
                support=1.0,
                kind=kind,  # type: ignore[arg-type]
                marker=unit.marker,
                block=n * 1000 + unit.block,
            )
        )
    return sentences


def _best_step_list(
    candidates: list[Candidate],
    sources: Sequence[Source],
    units: dict[int, list[Unit]],
    score: Callable[[list[str]], list[float]] | None,
) -> int | None:
    """The candidate (a step) of the step list that, read whole with its heading and lead-in, best matches."""
    first_step: dict[tuple[int, int], int] = {}
    for i, c in enumerate(candidates):
        if c.unit.kind == "step":
            first_step.setdefault((c.source, c.unit.block), i)
    if not first_step:
        return None
    if score is None or len(first_step) == 1:
        return max(first_step.values(), key=lambda i: candidates[i].score)
    heading = {s.n: s.hit.section.split(" > ")[-1] for s in sources}
    keys = list(first_step)
    texts = []
    for n, block in keys:
        lead = _lead(units[n], block)
        steps = [u.text for u in units[n] if u.kind == "step" and u.block == block]
        texts.append(" ".join([heading[n], *(u.text for u in lead), *steps]))
    scores = score(texts)
    return first_step[keys[max(range(len(keys)), key=lambda k: scores[k])]]


def _emittable(units: list[Unit]) -> list[Unit]:
    """The units that can be shown: pointers and references elsewhere go, except in a list's lead-in or a step."""
    out = []
    for unit in units:
        text = cut_pointers(unit.text)
        if text and not (_dangling(text) and not unit.lead and unit.kind != "step"):
            out.append(Unit(unit.kind, text, unit.block, unit.position, unit.marker, unit.number, unit.lead))
    return out


def _anchor_score(candidates: list[Candidate], i: int, how_to: bool, quantity: bool) -> float:
    """A unit's claim to anchor the answer; a unit right after a matching FAQ question gets that question's
    score, a "how do I" question prefers the steps of a procedure, a "how many" question a unit with a number."""
    candidate = candidates[i]
    unit = candidate.unit
    score = candidate.score + (_HOW_TO_STEP_BONUS if how_to and (unit.kind == "step" or unit.lead) else 0.0)
    if quantity and any(ch.isdigit() for ch in unit.text):
        score += _QUANTITY_BONUS
    for other in candidates:
        if (
            other.source == candidate.source
            and other.unit.kind == "question"
            and other.unit.position == candidate.unit.position - 1
        ):
            score = max(score, other.score)
    return score


def _passage(
    anchor: Candidate,
    units: list[Unit],
    candidates: list[Candidate],
    how_to: bool,
    limit: int,
    score: Callable[[list[str]], list[float]] | None,
    question_terms: set[str] | None = None,
    locale: str = "en",
) -> list[Unit]:
    """The units of the anchor's source that answer: a whole list, a short section, or the fact with its context."""
    body = [u for u in units if u.kind not in ("heading",)]
    unit = anchor.unit
    steps = [u for u in body if u.kind == "step"]
    if unit.kind == "step" and not how_to and score is not None:
        # A lookup whose fact sits inside a step: the sentence of the step that holds it.
        parts = split_sentences(unit.text)
        if len(parts) > 1:
            scores = score(parts)
            best = max(range(len(parts)), key=lambda i: scores[i])
            start = best - 1 if best > 0 and _DEPENDENT_OPENER.match(parts[best]) else best
            fact = " ".join(parts[start : best + 1])
            if not _dangling(fact):
                return [Unit("text", fact, unit.block, unit.position)]
    # "How do I ...": the whole numbered list the anchor belongs to (or the source's list), with its lead-in.
    if unit.kind == "step" or (how_to and steps):
        block = unit.block if unit.kind == "step" else _best_list_block(anchor, candidates, steps)
        return _lead(units, block) + [u for u in body if u.kind in ("step", "item") and u.block == block]
    if unit.kind == "item":
        items = [u for u in body if u.kind == "item" and u.block == unit.block]
        average = sum(len(u.text.split()) for u in items) / len(items)
        if len(items) > _MAX_LIST_ITEMS or (average > _SHORT_ITEM_WORDS and not how_to):
            by_position = {c.unit.position: c.score for c in candidates if c.source == anchor.source}
            items = [u for u in items if by_position.get(u.position, 0.0) >= anchor.score * _EXTRA_SHARE]
        return _lead(units, unit.block) + items
    if unit.kind == "row":
        # The matching row, and the rows whose label the question names (both sides of a comparison).
        rows = [u for u in body if u.kind == "row" and u.block == unit.block]
        if len(rows) <= _MAX_TABLE_ROWS:
            return _lead(units, unit.block) + rows
        wanted = question_terms or set()
        named = [
            u for u in rows if u is not unit and wanted & content_terms(u.text.split(";")[0].split(":", 1)[-1], locale)
        ]
        return sorted([unit, *named[: limit - 1]], key=lambda u: u.position)
    # A short section is kept whole.
    words = sum(len(u.text.split()) for u in body if u.kind in ("text", "item", "step"))
    texts = [u for u in body if u.kind != "question" and not _dangling(u.text) and not _is_furniture(u.text)]
    if words <= _SHORT_SECTION_WORDS and 1 < len(texts) <= limit + 1 and not any(u.kind == "row" for u in texts):
        return texts
    passage = _with_context(unit, units)
    # Other sentences of the same source that score nearly as well (in reading order), within the budget.
    others = sorted(
        (c for c in candidates if c.source == anchor.source and c.unit.kind == "text"),
        key=lambda c: -c.score,
    )
    for other in others:
        if len(passage) >= limit:
            break
        if other.score < anchor.score * _EXTRA_SHARE or other.unit in passage or _dangling(other.unit.text):
            continue
        passage += [u for u in _with_context(other.unit, units) if u not in passage]
    return sorted(passage, key=lambda u: u.position)


def _best_list_block(anchor: Candidate, candidates: list[Candidate], steps: list[Unit]) -> int:
    """The step list of the anchor's source whose steps match the question best."""
    scores: dict[int, float] = {}
    for c in candidates:
        if c.source == anchor.source and c.unit.kind == "step":
            scores[c.unit.block] = max(scores.get(c.unit.block, 0.0), c.score)
    return max(scores, key=lambda b: scores[b]) if scores else steps[0].block


def _lead(units: list[Unit], block: int) -> list[Unit]:
    """The sentence that leads into the list or table ``block``, when there is one."""
    first = next((u for u in units if u.block == block), None)
    if first is None or first.position == 0:
        return []
    before = units[first.position - 1]
    if before.lead and not _dangling_without_list(before.text):
        return [before]
    return []


def _with_context(unit: Unit, units: list[Unit]) -> list[Unit]:
    """The unit and the sentences it depends on: the one before when it opens with "This", "It", "Then"..."""
    passage = [unit]
    position = unit.position
    while position > 0 and _DEPENDENT_OPENER.match(units[position].text) and len(passage) < 3:
        before = units[position - 1]
        if before.kind != "text" or before.block != unit.block:
            break
        passage.insert(0, before)
        position -= 1
    if unit.text.rstrip().endswith(":"):
        following = [u for u in units if u.position > unit.position and u.block == unit.block + 1]
        passage += [u for u in following if u.kind in ("step", "item", "row")]
    return [u for u in passage if not (_dangling(u.text) and u is not unit)] or [unit]


def _dangling(text: str) -> bool:
    """Points at something the answer may not show ("see below", "steps 1-3", "the following")."""
    return bool(_DANGLING.search(text)) or bool(_POINTER.match(text))


def _dangling_without_list(text: str) -> bool:
    """A lead-in may say "the following" (its list follows); other pointers still dangle."""
    return bool(_POINTER.match(text))


def cut_pointers(text: str) -> str:
    """``text`` without its pointers elsewhere ("(see Step 2)", "; this article lists ..."), still a sentence."""
    cut = SEE_POINTER.sub("", text).strip()
    if cut != text.strip() and cut and text.rstrip()[-1:] in ".!?" and cut[-1] not in ".!?:":
        cut += "."
    return cut


def _near_copy(vectors: np.ndarray, i: int, chosen: list[int], texts: Sequence[str] = ()) -> bool:
    """Unit ``i`` states what a chosen unit states: close in meaning, or a little less close and carrying the
    same numbers ("$0.05 for each label over your allowance" in a table and in a bullet); ``texts`` by row."""
    numbers = set(_NUMBER.findall(texts[i])) if texts else set()
    for j in chosen:
        cosine = float(vectors[i] @ vectors[j])
        if cosine > _NEAR_COPY or (
            numbers and cosine > _NEAR_COPY_SAME_NUMBERS and numbers <= set(_NUMBER.findall(texts[j]))
        ):
            return True
    return False


def _is_furniture(text: str) -> bool:
    """Page furniture that answers nothing on its own: link lists, pointers elsewhere, very short bits."""
    lowered = text.casefold()
    if lowered.startswith(_NAVIGATION) or text.count("·") >= 2:
        return True
    if len(text.split()) < _MIN_WORDS and not any(ch.isdigit() for ch in text):
        return True
    return lowered.startswith("see ") and len(text.split()) < 10
