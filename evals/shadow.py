"""`deskpilot eval shadow-report`: a shadow candidate against the live answers it accompanied, pair by pair.

Every shadow interaction (``shadow_of`` set) is paired with its live interaction. Per pair: abstained or
not, confidence, citation count, latency and cost of each side, and how much the two answers agree (the
Jaccard overlap of their cited documents, the similarity of their texts, the same abstain decision).
Differences are shadow - live, with paired bootstrap intervals from :mod:`evals.stats`: the same questions
answered by both configurations, so question difficulty cancels out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from rapidfuzz import fuzz
from rich.table import Table

from evals.stats import Comparison, Estimate, bootstrap, bootstrap_mean, bootstrap_percentile, paired_bootstrap
from feedback.records import InteractionRecord
from feedback.store import MAX_PAGE_SIZE, FeedbackStore

Pair = tuple[InteractionRecord, InteractionRecord]
"""(live, shadow)."""


@dataclass(frozen=True)
class Side:
    """One per-pair quantity measured on both sides, and their difference (shadow - live)."""

    metric: str
    live: Estimate
    shadow: Estimate
    delta: Comparison

    def as_json(self) -> dict[str, Any]:
        """The report shape (NaN as null)."""
        return {
            "metric": self.metric,
            "live": _est(self.live),
            "shadow": _est(self.shadow),
            "delta": _est(self.delta.delta),
            "p_value": _nan(self.delta.p_value),
            "significant": self.delta.significant,
        }


@dataclass(frozen=True)
class ShadowReport:
    """The comparison of one shadow variant with the live answers it shadowed."""

    variant: str
    pairs: int
    sides: tuple[Side, ...]
    agreement: tuple[tuple[str, Estimate], ...]
    unpaired: int
    """Shadow interactions whose live interaction is gone (retention) or belongs elsewhere."""

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` shape."""
        return {
            "variant": self.variant,
            "pairs": self.pairs,
            "unpaired": self.unpaired,
            "metrics": [s.as_json() for s in self.sides],
            "agreement": [{"metric": name, **_est(e)} for name, e in self.agreement],
        }


def _nan(value: float) -> float | None:
    return None if math.isnan(value) else value


def _est(e: Estimate) -> dict[str, float | int | None]:
    return {"value": _nan(e.value), "low": _nan(e.low), "high": _nan(e.high), "n": e.n}


def shadow_pairs(
    store: FeedbackStore, *, since: datetime | None = None, variant: str | None = None
) -> tuple[dict[str, list[Pair]], dict[str, int]]:
    """Shadow interactions since ``since`` grouped by variant and paired with their live interactions,
    and per variant the count of shadows whose live interaction could not be found."""
    pairs: defaultdict[str, list[Pair]] = defaultdict(list)
    unpaired: defaultdict[str, int] = defaultdict(int)
    page = 1
    while True:
        got = store.list_interactions(
            None, since=since, variant=variant, shadow=True, page=page, page_size=MAX_PAGE_SIZE
        )
        for shadow in got.items:
            live = store.get_interaction(shadow.shadow_of, shadow.tenant) if shadow.shadow_of else None
            if live is None:
                unpaired[shadow.variant] += 1
            else:
                pairs[shadow.variant].append((live, shadow))
        if page >= got.pages:
            break
        page += 1
    return dict(pairs), dict(unpaired)


def _cited(i: InteractionRecord) -> set[str]:
    return {c.doc_id for c in i.citations}


def cited_overlap(a: InteractionRecord, b: InteractionRecord) -> float:
    """Jaccard overlap of the documents two answers cite (1 when neither cites anything)."""
    x, y = _cited(a), _cited(b)
    return len(x & y) / len(x | y) if x | y else 1.0


def text_similarity(a: InteractionRecord, b: InteractionRecord) -> float:
    """Similarity of the two answer texts in [0, 1] (token-sorted Levenshtein ratio: word order matters less)."""
    return float(fuzz.token_sort_ratio(a.answer, b.answer)) / 100


def _latency(i: InteractionRecord) -> float:
    return float(i.latency_ms.get("total", math.nan))


_PER_ANSWER: tuple[tuple[str, Callable[[InteractionRecord], float]], ...] = (
    ("abstain_rate", lambda i: float(i.abstained)),
    ("confidence", lambda i: i.confidence),
    ("citations", lambda i: float(len(i.citations))),
    ("error_rate", lambda i: float(bool(i.fallback_reason))),
    ("cost_usd", lambda i: i.cost_usd),
    ("tokens", lambda i: float(i.prompt_tokens + i.completion_tokens)),
)


def _percentile_side(name: str, live: np.ndarray[Any, Any], shadow: np.ndarray[Any, Any], q: float, seed: int) -> Side:
    ok = ~(np.isnan(live) | np.isnan(shadow))
    x, y = live[ok], shadow[ok]
    delta = bootstrap(int(x.size), lambda idx: float(np.percentile(y[idx], q) - np.percentile(x[idx], q)), seed=seed)
    # Two-sided p-values belong to mean differences; for a percentile the interval is the evidence.
    return Side(
        name,
        bootstrap_percentile(x, q, seed=seed),
        bootstrap_percentile(y, q, seed=seed),
        Comparison("shadow", "live", name, delta, math.nan),
    )


def compare(variant: str, pairs: Sequence[Pair], unpaired: int = 0, seed: int = 0) -> ShadowReport:
    """The paired comparison of one shadow variant's answers with the live ones."""
    sides: list[Side] = []
    for name, value in _PER_ANSWER:
        live = [value(lv) for lv, _ in pairs]
        shadow = [value(sh) for _, sh in pairs]
        sides.append(
            Side(
                name,
                bootstrap_mean(live, seed=seed),
                bootstrap_mean(shadow, seed=seed),
                paired_bootstrap(shadow, live, names=("shadow", "live"), metric=name, seed=seed),
            )
        )
    live_ms = np.array([_latency(lv) for lv, _ in pairs], dtype=np.float64)
    shadow_ms = np.array([_latency(sh) for _, sh in pairs], dtype=np.float64)
    sides.append(_percentile_side("latency_p50_ms", live_ms, shadow_ms, 50, seed))
    sides.append(_percentile_side("latency_p95_ms", live_ms, shadow_ms, 95, seed))
    agreement = (
        ("same_abstain_decision", bootstrap_mean([float(lv.abstained == sh.abstained) for lv, sh in pairs], seed=seed)),
        ("cited_docs_jaccard", bootstrap_mean([cited_overlap(lv, sh) for lv, sh in pairs], seed=seed)),
        ("text_similarity", bootstrap_mean([text_similarity(lv, sh) for lv, sh in pairs], seed=seed)),
    )
    return ShadowReport(variant, len(pairs), tuple(sides), agreement, unpaired)


def shadow_report(
    store: FeedbackStore, *, since: datetime | None = None, variant: str | None = None, seed: int = 0
) -> list[ShadowReport]:
    """One report per shadow variant found since ``since`` (sorted by variant)."""
    pairs, unpaired = shadow_pairs(store, since=since, variant=variant)
    names = sorted(set(pairs) | set(unpaired))
    return [compare(name, pairs.get(name, []), unpaired.get(name, 0), seed=seed) for name in names]


def _fmt(e: Estimate, digits: int) -> str:
    if math.isnan(e.value):
        return "-"
    interval = "" if math.isnan(e.low) else f" [{e.low:.{digits}f}, {e.high:.{digits}f}]"
    return f"{e.value:.{digits}f}{interval}"


_DIGITS = {"cost_usd": 5, "tokens": 0, "latency_p50_ms": 0, "latency_p95_ms": 0, "citations": 2}


def table(report: ShadowReport) -> Table:
    """The report as a table a person reads: each metric live | shadow | shadow - live, with 95% CIs."""
    t = Table(
        title=f"{report.variant}: {report.pairs} pairs" + (f", {report.unpaired} unpaired" if report.unpaired else "")
    )
    for column in ("metric", "live", "shadow", "shadow - live", "p"):
        t.add_column(column, justify="left" if column == "metric" else "right")
    for s in report.sides:
        digits = _DIGITS.get(s.metric, 3)
        p = "" if math.isnan(s.delta.p_value) else f"{s.delta.p_value:.3f}"
        mark = " *" if s.delta.significant else ""
        t.add_row(s.metric, _fmt(s.live, digits), _fmt(s.shadow, digits), _fmt(s.delta.delta, digits) + mark, p)
    for name, e in report.agreement:
        t.add_row(f"agreement: {name}", "", "", _fmt(e, 3), "")
    return t
