"""Confidence: evidence features of an answer, a calibrated probability that it is right, and a reason.

The probability comes from a logistic model fitted on the dev half of judged questions
(evals/fit_confidence.py writes assistant/calibration.json); "right" means the answer holds the
question's key fact, and any answer to a question the help center does not answer is wrong.
The thresholds (abstain, medium, high) are probabilities picked on the same dev half.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from assistant.keywords import KeyWords
from assistant.records import Confidence, Level, Sentence
from assistant.text import content_terms
from assistant.vocabulary import TenantVocabulary
from retrieval.records import Hit

# MiniLM cosine similarity between a question and a passage: ~0.25 is unrelated, ~0.75 is on point.
_DENSE_LOW, _DENSE_HIGH = 0.25, 0.75
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]+>")
FEATURES = ("similarity", "dense", "coverage", "missing", "unknown", "agreement", "support")


@dataclass(frozen=True)
class Evidence:
    """The features a confidence is computed from, each in [0, 1]."""

    similarity: float
    """Best cosine similarity between the question and one sentence of the answer, rescaled."""
    dense: float
    """Best dense similarity between the question and a retrieved chunk, rescaled."""
    coverage: float
    """IDF-weighted share of the question's content words found in the answer's cited sources."""
    missing: float
    """Rarity (IDF share) of the rarest question word the cited sources lack: a near miss when high."""
    unknown: float
    """IDF-weighted share of the question's content words that no article of the tenant uses: off topic when high."""
    agreement: float
    """1 when the top hit was found by both dense and BM25 search, 0.5 by one of them, 0 without hits."""
    support: float
    """Mean support of the answer's sentences by their sources (0 when nothing is supported)."""
    sources: int
    """Distinct documents the answer cites."""
    missing_term: str = ""
    """The question word behind ``missing`` (as the question wrote it)."""
    unknown_terms: tuple[str, ...] = ()
    """Question words the help center never uses (as the question wrote them)."""
    unknown_names: tuple[str, ...] = ()
    """Proper nouns of the question (a product, company, service or standard) the help center never uses."""

    def vector(self) -> list[float]:
        """The features in FEATURES order."""
        values = asdict(self)
        return [float(values[name]) for name in FEATURES]


@dataclass(frozen=True)
class Calibration:
    """A fitted logistic model over FEATURES and the probability thresholds picked with it."""

    weights: tuple[float, ...]
    bias: float
    abstain_below: float
    medium: float
    high: float
    fitted_on: str = ""

    def probability(self, ev: Evidence) -> float:
        """P(answer is right | evidence)."""
        z = self.bias + sum(w * x for w, x in zip(self.weights, ev.vector(), strict=True))
        return 1.0 / (1.0 + math.exp(-z))

    def as_json(self) -> dict[str, object]:
        """What assistant/calibration.json holds."""
        return {"features": list(FEATURES), **asdict(self)}


def load_calibration(path: Path | None = None) -> Calibration:
    """The calibration at ``path``, or the shipped one (assistant/calibration.json)."""
    return _load(str(path) if path else "")


@cache
def _load(path: str) -> Calibration:
    raw = Path(path).read_text() if path else resources.files("assistant").joinpath("calibration.json").read_text()
    data = json.loads(raw)
    where = path or "assistant/calibration.json"
    if tuple(data.get("features", ())) != FEATURES:
        raise ValueError(
            f"{where}: features {data.get('features')} do not match this version's {list(FEATURES)}; "
            "refit with `python -m evals.fit_confidence`"
        )
    return Calibration(
        weights=tuple(float(w) for w in data["weights"]),
        bias=float(data["bias"]),
        abstain_below=float(data["abstain_below"]),
        medium=float(data["medium"]),
        high=float(data["high"]),
        fitted_on=str(data.get("fitted_on", "")),
    )


def evidence(
    question: str,
    question_vector: np.ndarray | None,
    sentence_vectors: np.ndarray | None,
    hits: Sequence[Hit],
    sentences: Sequence[Sentence],
    cited: Sequence[Hit],
    locale: str,
    vocabulary: TenantVocabulary,
    key_words: KeyWords | None = None,
) -> Evidence:
    """Evidence features of an answer (``cited``: the hits its citations point to; ``key_words``: the stems
    of the question's nouns and numbers, the only words whose absence counts as a near miss or off topic)."""
    best_dense = max((h.dense_score for h in hits if h.dense_score is not None), default=0.0)
    dense = _rescale(best_dense)
    similarity = 0.0
    if question_vector is not None and sentence_vectors is not None and len(sentence_vectors):
        similarity = _rescale(float(np.max(sentence_vectors @ question_vector)))
    words = _question_words(question, locale)
    cited_terms: set[str] = set()
    for hit in cited:
        cited_terms |= content_terms(f"{hit.title} {hit.section} {hit.text}", locale)
    ceiling = vocabulary.max_idf() if vocabulary.documents else 1.0
    weights = {term: vocabulary.idf(term) if vocabulary.documents else 1.0 for term in words}
    total = sum(weights.values())
    coverage = sum(w for t, w in weights.items() if t in cited_terms) / total if total else 0.0
    key = [t for t in words if key_words is None or t in key_words.terms]
    absent = [(weights[t], t) for t in key if t not in cited_terms]
    missing_weight, missing_stem = max(absent, default=(0.0, ""))
    missing = min(1.0, missing_weight / ceiling) if ceiling > 0 else 0.0
    unknown_stems = [t for t in key if vocabulary.documents and not vocabulary.knows(t)]
    unknown = sum(weights[t] for t in unknown_stems) / total if total else 0.0
    top = hits[0] if hits else None
    agreement = 0.0 if top is None else (1.0 if top.found_by == "both" else 0.5)
    supported = [s.support for s in sentences if s.supported]
    support = sum(supported) / len(supported) if supported else 0.0
    return Evidence(
        similarity=similarity,
        dense=dense,
        coverage=coverage,
        missing=missing,
        unknown=unknown,
        agreement=agreement,
        support=support,
        sources=len({h.doc_id for h in cited}),
        missing_term=words.get(missing_stem, ""),
        unknown_terms=tuple(words[t] for t in unknown_stems),
        unknown_names=tuple(words[t] for t in unknown_stems if key_words is not None and t in key_words.names),
    )


def judge(ev: Evidence, calibration: Calibration, veto_unknown_names: bool = True) -> tuple[Confidence, bool]:
    """The confidence level with its reason, and whether to abstain. ``veto_unknown_names``: a name the help
    center never uses hands off; otherwise it caps the level at "medium" (to review)."""
    probability = calibration.probability(ev) if ev.support > 0 else 0.0
    level: Level
    if probability >= calibration.high:
        level = "high"
    elif probability >= calibration.medium:
        level = "medium"
    else:
        level = "low"
    # A question about a product, service or standard the help center never names cannot be answered from it,
    # however close the nearest passage is ("connect my WooCommerce shop" answered with the Shopify steps).
    vetoed = bool(ev.unknown_names) and veto_unknown_names
    abstain = probability < calibration.abstain_below or vetoed
    if vetoed:
        level, probability = "low", 0.0  # no answer from this help center is believed, however near
    elif ev.unknown_names and level == "high":
        level = "medium"
    return Confidence(level, probability, reason(level, ev, abstain)), abstain


def reason(level: Level, ev: Evidence, abstain: bool) -> str:
    """What is weak (or strong) in this answer, in words an agent can act on."""
    if ev.support == 0.0:
        return "low: no source supports an answer"
    weak = []
    if ev.unknown_terms:
        words = ", ".join(f"'{w}'" for w in ev.unknown_terms[:3])
        weak.append(f"the help center never mentions {words}")
    elif ev.missing >= 0.5 and ev.missing_term:
        weak.append(f"the source does not mention '{ev.missing_term}'")
    if ev.similarity < 0.45:
        weak.append("the closest passage is only loosely related to the question")
    if ev.coverage < 0.6 and not ev.unknown_terms:
        weak.append("the source covers only part of what was asked")
    if ev.agreement < 1.0 and level != "high":
        weak.append("keyword and meaning search found different best articles")
    if abstain:
        return "low: " + ("; ".join(weak) if weak else "the evidence is too weak to answer")
    if level == "high":
        if ev.sources > 1:
            return f"high: {ev.sources} sources closely match the question and support every sentence"
        return "high: the source closely matches the question and supports every sentence"
    return f"{level}: " + ("; ".join(weak) if weak else "the source matches the question only in part")


def _question_words(question: str, locale: str) -> dict[str, str]:
    """The question's content terms (stems), each with the word it was written as."""
    from retrieval.sparse import tokenize

    out: dict[str, str] = {}
    question = _PLACEHOLDER.sub(" ", question)
    stems = content_terms(question, locale)
    for word in question.replace("?", " ").split():
        cleaned = word.strip(".,;:!\"'()[]")
        for stem in tokenize(cleaned, locale):
            if stem in stems and stem not in out:
                out[stem] = cleaned
    for stem in stems:
        out.setdefault(stem, stem)
    return out


def _rescale(cosine: float) -> float:
    return min(1.0, max(0.0, (cosine - _DENSE_LOW) / (_DENSE_HIGH - _DENSE_LOW)))
