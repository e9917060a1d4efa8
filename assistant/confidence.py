"""Confidence from retrieval evidence and citation support, in words an agent can act on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.records import Confidence, Level, Sentence
from assistant.settings import AssistantSettings
from assistant.text import content_terms
from retrieval.records import Hit

# Weights of the evidence features; chosen by reasoning, then checked on the golden set with
# evals/tune_confidence.py, which also picks the thresholds.
WEIGHTS = {"dense": 0.35, "coverage": 0.35, "agreement": 0.10, "support": 0.20}
# MiniLM cosine similarity between a question and a passage: ~0.25 is unrelated, ~0.75 is on point.
_DENSE_LOW, _DENSE_HIGH = 0.25, 0.75


@dataclass(frozen=True)
class Evidence:
    """The features a confidence score is made of, each in [0, 1]."""

    dense: float
    """Best dense similarity among the hits, rescaled from the model's typical range."""
    coverage: float
    """Share of the question's content words found in the answer's cited sources."""
    agreement: float
    """1 when the top hit was found by both dense and BM25 search, 0.5 by one of them."""
    support: float
    """Mean support of the answer's sentences by their sources (0 when nothing is supported)."""
    sources: int
    """Distinct documents the answer cites."""

    def score(self) -> float:
        """Weighted sum of the features."""
        return (
            WEIGHTS["dense"] * self.dense
            + WEIGHTS["coverage"] * self.coverage
            + WEIGHTS["agreement"] * self.agreement
            + WEIGHTS["support"] * self.support
        )


def evidence(
    question: str, hits: Sequence[Hit], sentences: Sequence[Sentence], cited: Sequence[Hit], locale: str
) -> Evidence:
    """Evidence features of an answer (``cited``: the hits its citations point to)."""
    best_dense = max((h.dense_score for h in hits if h.dense_score is not None), default=0.0)
    dense = min(1.0, max(0.0, (best_dense - _DENSE_LOW) / (_DENSE_HIGH - _DENSE_LOW)))
    q_terms = content_terms(question, locale)
    cited_terms: set[str] = set()
    for hit in cited:
        cited_terms |= content_terms(f"{hit.title} {hit.section} {hit.text}", locale)
    coverage = len(q_terms & cited_terms) / len(q_terms) if q_terms else 0.0
    top = hits[0] if hits else None
    agreement = 0.0 if top is None else (1.0 if top.found_by == "both" else 0.5)
    supported = [s.support for s in sentences if s.supported]
    support = sum(supported) / len(supported) if supported else 0.0
    return Evidence(dense, coverage, agreement, support, len({h.doc_id for h in cited}))


def judge(ev: Evidence, settings: AssistantSettings) -> tuple[Confidence, bool]:
    """The confidence level with its reason, and whether to abstain."""
    score = ev.score()
    level: Level
    if score >= settings.confidence_high:
        level = "high"
    elif score >= settings.confidence_medium:
        level = "medium"
    else:
        level = "low"
    abstain = score < settings.abstain_below or ev.support == 0.0
    return Confidence(level, score, _reason(level, ev, abstain)), abstain


def _reason(level: Level, ev: Evidence, abstain: bool) -> str:
    if ev.support == 0.0:
        return "low: no source supports an answer"
    weak = []
    if ev.dense < 0.4:
        weak.append("the sources are only loosely related to the question")
    if ev.coverage < 0.5:
        weak.append("the sources do not mention most of the question's key words")
    if ev.agreement < 1.0:
        weak.append("keyword and meaning search disagree on the best source")
    if ev.sources == 1 and level != "high":
        weak.append("only one source")
    if abstain:
        return "low: " + ("; ".join(weak) if weak else "the evidence is too weak to answer")
    if level == "high":
        if ev.sources == 1:
            return "high: a closely matching source supports every sentence"
        return f"high: {ev.sources} closely matching sources support every sentence"
    return f"{level}: " + ("; ".join(weak) if weak else "the sources match the question only in part")
