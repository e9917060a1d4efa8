"""Citation validation, whatever the generator: every kept sentence is supported by a source it cites."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from assistant.records import Citation, Draft, Sentence, Source
from assistant.settings import AssistantSettings
from assistant.text import content_terms, split_sentences, strip_citations
from retrieval.embedder import Embedder

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class Validated:
    """The draft's sentences judged against their sources, and the citations that survived."""

    sentences: tuple[Sentence, ...]
    """Every sentence, in order, with ``supported`` set and ``cites`` reduced to the supporting sources."""
    citations: tuple[Citation, ...]
    invalid_citations: int
    unsupported: int

    @property
    def kept(self) -> tuple[Sentence, ...]:
        """The supported sentences, the ones an answer may show."""
        return tuple(s for s in self.sentences if s.supported)


@dataclass(frozen=True)
class Support:
    """How well one source backs one sentence."""

    score: float
    lexical: float
    semantic: float
    snippet: str
    numbers_ok: bool


class CitationValidator:
    """Parses what a draft cites, drops citations to nothing, scores support, removes unsupported sentences."""

    def __init__(self, embedder: Embedder, settings: AssistantSettings) -> None:
        self.embedder, self.settings = embedder, settings

    def support(self, sentence: str, source: Source, locale: str) -> Support:
        """Lexical + embedding support of ``sentence`` by ``source``; every number in it must occur in the source."""
        claim = strip_citations(sentence)
        source_sentences = split_sentences(source.hit.text) or [source.hit.text]
        vectors = self.embedder.encode([claim, *source_sentences])
        similarities = vectors[1:] @ vectors[0]
        best = int(np.argmax(similarities))
        terms = content_terms(claim, locale)
        source_terms = content_terms(f"{source.hit.title} {source.hit.section} {source.hit.text}", locale)
        lexical = len(terms & source_terms) / len(terms) if terms else 0.0
        semantic = max(0.0, float(similarities[best]))
        w = self.settings.support_lexical_weight
        numbers = {_canonical(n) for n in _NUMBER.findall(claim)}
        source_numbers = {_canonical(n) for n in _NUMBER.findall(source.hit.text + " " + source.hit.title)}
        return Support(
            score=w * lexical + (1 - w) * semantic,
            lexical=lexical,
            semantic=semantic,
            snippet=source_sentences[best],
            numbers_ok=numbers <= source_numbers,
        )

    def validate(self, draft: Draft, sources: Sequence[Source], locale: str) -> Validated:
        """Judge every sentence of ``draft``; a sentence stays only if a cited, unflagged source supports it."""
        by_number = {s.n: s for s in sources if not s.flagged}
        judged: list[Sentence] = []
        citations: dict[int, Citation] = {}
        invalid = unsupported = 0
        for sentence in draft.sentences:
            valid = [n for n in sentence.cites if n in by_number]
            invalid += len(sentence.cites) - len(valid)
            backing: list[tuple[int, Support]] = []
            for n in valid:
                support = self.support(sentence.text, by_number[n], locale)
                if support.numbers_ok and support.score >= self.settings.support_min:
                    backing.append((n, support))
            if not backing:
                unsupported += 1
                judged.append(
                    replace(sentence, text=strip_citations(sentence.text), cites=(), support=0.0, supported=False)
                )
                continue
            for n, support in backing:
                hit = by_number[n].hit
                previous = citations.get(n)
                if previous is None or support.score > previous.support:
                    citations[n] = Citation(
                        n=n,
                        doc_id=hit.doc_id,
                        title=hit.title,
                        url=hit.url or None,
                        section=hit.section,
                        snippet=support.snippet,
                        support=round(support.score, 4),
                    )
            judged.append(
                replace(
                    sentence,
                    text=strip_citations(sentence.text),
                    cites=tuple(n for n, _ in backing),
                    support=max(s.score for _, s in backing),
                    supported=True,
                )
            )
        return Validated(tuple(judged), tuple(sorted(citations.values(), key=lambda c: c.n)), invalid, unsupported)


def _canonical(number: str) -> str:
    """``1,000`` and ``1000`` are one number; so are ``29.00`` and ``29``."""
    plain = number.replace(",", "")
    return plain.rstrip("0").rstrip(".") if "." in plain else plain


def render(sentences: Sequence[Sentence]) -> str:
    """Sentences laid out as written in their source, with ``[n]`` markers before the final punctuation.

    Running text of one block is one paragraph; steps keep their numbers (``2. ...``), bullet items and
    table rows become ``- ...`` lines; blocks are separated by a blank line.
    """
    blocks: list[list[str]] = []
    previous: tuple[int, str] | None = None
    for sentence in sentences:
        key = (sentence.block, "list" if sentence.kind != "text" else "text")
        line = _cited(sentence)
        if sentence.kind == "step":
            line = f"{sentence.marker or '-'} {line}"
        elif sentence.kind in ("item", "row"):
            line = f"- {line}"
        if previous == key and blocks:
            blocks[-1].append(line)
        else:
            blocks.append([line])
        previous = key
    return "\n\n".join(
        ("\n" if sentences_kind == "list" else " ").join(lines)
        for lines, sentences_kind in zip(blocks, _kinds(sentences), strict=True)
    )


def _kinds(sentences: Sequence[Sentence]) -> list[str]:
    """The layout of each block ``render`` forms: ``text`` (a paragraph) or ``list`` (one line per sentence)."""
    kinds: list[str] = []
    previous: tuple[int, str] | None = None
    for sentence in sentences:
        key = (sentence.block, "list" if sentence.kind != "text" else "text")
        if key != previous:
            kinds.append(key[1])
        previous = key
    return kinds


def _cited(sentence: Sentence) -> str:
    text = sentence.text.rstrip()
    marks = "".join(f"[{n}]" for n in sentence.cites)
    if not marks:
        return text
    end = text[-1] if text and text[-1] in ".!?:" else ""
    body = text[: -len(end)] if end else text
    return f"{body} {marks}{end or ('' if sentence.kind in ('row', 'item', 'step') else '.')}"
