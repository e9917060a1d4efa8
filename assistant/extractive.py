"""The default generator: no LLM, only sentences taken verbatim from the sources, each cited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.records import Channel, Draft, Sentence, Source
from assistant.settings import AssistantSettings
from assistant.text import content_terms, split_sentences
from retrieval.embedder import Embedder

# Weights of a candidate sentence's score: meaning first, the question's own words second, and a
# little of the source's retrieval rank so ties go to the better source.
_W_SIMILARITY, _W_OVERLAP, _W_SOURCE = 0.6, 0.3, 0.1
_MMR_LAMBDA = 0.75  # relevance vs. novelty when picking the next sentence
_RELATIVE_FLOOR = 0.75  # a sentence must score at least this share of the best one
_MIN_WORDS = 4
_NEAR_COPY = 0.8  # cosine above which two sentences state the same fact ("valid for 60 minutes" twice)


@dataclass(frozen=True)
class Candidate:
    """A source sentence considered for the answer."""

    source: int
    position: int
    text: str
    score: float
    similarity: float
    overlap: float


class ExtractiveGenerator:
    """Picks the source sentences that best answer the question, diverse and in reading order."""

    name = "extractive"

    def __init__(self, embedder: Embedder, settings: AssistantSettings) -> None:
        self.embedder, self.settings = embedder, settings

    def candidates(self, question: str, sources: Sequence[Source], locale: str) -> tuple[list[Candidate], np.ndarray]:
        """Every usable sentence of the sources with its score, and their embeddings (rows in the same order)."""
        found: list[tuple[int, int, str]] = []
        for source in sources:
            headings = {h.casefold() for h in (source.hit.title, *source.hit.section.split(" > "))}
            for position, sentence in enumerate(split_sentences(source.hit.text)):
                # A heading repeated in the text (PDF and DOCX often do this) is not an answer.
                if (
                    len(sentence.split()) >= _MIN_WORDS
                    and sentence.strip(" .:").casefold() not in headings
                    and not _is_furniture(sentence)
                ):
                    found.append((source.n, position, sentence))
        if not found:
            return [], np.zeros((0, 1), dtype=np.float32)
        q_vec = self.embedder.encode_uncached([question])[0]
        vectors = self.embedder.encode([text for _, _, text in found])
        similarities = vectors @ q_vec
        q_terms = content_terms(question, locale)
        relevance = {s.n: s.hit.relevance for s in sources}
        out = []
        for (n, position, text), similarity in zip(found, similarities, strict=True):
            overlap = len(q_terms & content_terms(text, locale)) / len(q_terms) if q_terms else 0.0
            score = _W_SIMILARITY * float(similarity) + _W_OVERLAP * overlap + _W_SOURCE * relevance[n]
            out.append(Candidate(n, position, text, score, float(similarity), overlap))
        return out, vectors

    def generate(self, question: str, sources: Sequence[Source], channel: Channel, locale: str) -> Draft:
        """Up to the channel's sentence budget of cited source sentences (MMR for diversity)."""
        limit = self.settings.widget_max_sentences if channel == "widget" else self.settings.agent_max_sentences
        candidates, vectors = self.candidates(question, sources, locale)
        chosen = _mmr(candidates, vectors, limit)
        chosen.sort(key=lambda c: (c.source, c.position))
        sentences = tuple(Sentence(text=c.text, cites=(c.source,), support=1.0) for c in chosen)
        return Draft(sentences=sentences, generator=self.name, model="", prompt_version="extractive-v1")


_NAVIGATION = ("related articles", "see also", "was this article helpful", "still need help", "last reviewed")


def _is_furniture(sentence: str) -> bool:
    """Page furniture that answers nothing on its own: link lists, pointers elsewhere, table rows."""
    lowered = sentence.casefold()
    if lowered.startswith(_NAVIGATION) or sentence.count("·") >= 2 or sentence.count("|") >= 2:
        return True
    return lowered.startswith("see ") and len(sentence.split()) < 10


def _mmr(candidates: list[Candidate], vectors: np.ndarray, limit: int) -> list[Candidate]:
    if not candidates:
        return []
    best = max(c.score for c in candidates)
    pool = [i for i, c in enumerate(candidates) if c.score >= best * _RELATIVE_FLOOR]
    chosen: list[int] = []
    while pool and len(chosen) < limit:

        def value(i: int) -> float:
            redundancy = max((float(vectors[i] @ vectors[j]) for j in chosen), default=0.0)
            return _MMR_LAMBDA * candidates[i].score - (1 - _MMR_LAMBDA) * redundancy

        pick = max(pool, key=value)
        pool.remove(pick)
        # A near-copy of a chosen sentence (the same fact in two articles) adds nothing.
        if any(float(vectors[pick] @ vectors[j]) > _NEAR_COPY for j in chosen):
            continue
        chosen.append(pick)
    return [candidates[i] for i in chosen]
