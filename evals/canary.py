"""The canary gate: per-arm thumbs-up, escalation and error rates of live traffic, and whether the candidate is worse.

Arms are independent samples (different cohorts), so each rate gets a Wilson interval and the difference
candidate - control gets Newcombe's hybrid score interval, built from the two Wilson intervals. The candidate
is *worse* on a metric when that interval excludes zero in the bad direction: a lower thumbs-up rate, a
higher escalation or error rate. Shadow answers (``shadow_of`` set) are never live traffic and never count.

- thumbs-up rate: up votes over votes on the arm's interactions;
- escalation rate: the arm's interactions with at least one escalation, over its interactions;
- error rate: the arm's interactions whose generation failed and fell back (``fallback_reason`` set).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from rich.table import Table
from sqlalchemy import ColumnElement, Engine, case, func, select
from sqlalchemy.orm import Session

from evals.stats import wilson_interval
from feedback.models import EscalationRow, FeedbackRow, InteractionRow, reader

Direction = Literal["higher", "lower"]
METRICS: tuple[tuple[str, Direction], ...] = (
    ("thumbs_up_rate", "higher"),
    ("escalation_rate", "lower"),
    ("error_rate", "lower"),
)
"""Each gated metric and the direction that is better."""


@dataclass(frozen=True)
class ArmCounts:
    """What one arm's live interactions produced over the window."""

    variant: str
    interactions: int = 0
    votes: int = 0
    up: int = 0
    escalated: int = 0
    errors: int = 0

    def ratio(self, metric: str) -> tuple[int, int]:
        """(successes, trials) of ``metric``."""
        if metric == "thumbs_up_rate":
            return self.up, self.votes
        if metric == "escalation_rate":
            return self.escalated, self.interactions
        if metric == "error_rate":
            return self.errors, self.interactions
        raise ValueError(f"unknown metric {metric!r}; known: {', '.join(m for m, _ in METRICS)}")


@dataclass(frozen=True)
class Rate:
    """A proportion with its Wilson interval (NaN when there are no trials)."""

    successes: int
    n: int
    value: float
    low: float
    high: float

    @classmethod
    def of(cls, successes: int, n: int, confidence: float) -> Rate:
        """The rate ``successes / n`` with its interval."""
        low, high = wilson_interval(successes, n, confidence)
        return cls(successes, n, successes / n if n else math.nan, low, high)

    def as_json(self) -> dict[str, float | int | None]:
        """The report shape (NaN as null)."""
        return {k: _num(v) for k, v in vars(self).items()}


@dataclass(frozen=True)
class Difference:
    """candidate - control of one rate, with Newcombe's interval and the verdict it supports."""

    metric: str
    better: Direction
    control: Rate
    candidate: Rate
    delta: float
    low: float
    high: float

    @property
    def worse(self) -> bool:
        """The candidate is worse beyond the interval (it excludes zero in the bad direction)."""
        return self.high < 0 if self.better == "higher" else self.low > 0

    @property
    def improved(self) -> bool:
        """The candidate is better beyond the interval."""
        return self.low > 0 if self.better == "higher" else self.high < 0

    def as_json(self) -> dict[str, Any]:
        """The report shape."""
        return {
            "metric": self.metric,
            "better": self.better,
            "control": self.control.as_json(),
            "candidate": self.candidate.as_json(),
            "delta": _num(self.delta),
            "low": _num(self.low),
            "high": _num(self.high),
            "worse": self.worse,
            "improved": self.improved,
        }


def _num(value: float | int) -> float | int | None:
    return None if isinstance(value, float) and math.isnan(value) else value


def difference(metric: str, better: Direction, control: Rate, candidate: Rate) -> Difference:
    """Newcombe's hybrid score interval (method 10) of ``candidate - control``; NaN when either arm is empty."""
    delta = candidate.value - control.value
    if not (control.n and candidate.n):
        return Difference(metric, better, control, candidate, math.nan, math.nan, math.nan)
    low = delta - math.hypot(candidate.value - candidate.low, control.high - control.value)
    high = delta + math.hypot(candidate.high - candidate.value, control.value - control.low)
    return Difference(metric, better, control, candidate, delta, low, high)


@dataclass(frozen=True)
class GateReport:
    """Both arms, each metric's comparison, and every reason the candidate may not advance."""

    control: ArmCounts
    candidate: ArmCounts
    differences: tuple[Difference, ...]
    problems: tuple[str, ...]
    confidence: float

    @property
    def passed(self) -> bool:
        """True when nothing stops the candidate from taking more traffic."""
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        """The ``rollout status --json`` shape."""
        return {
            "control": vars(self.control),
            "candidate": vars(self.candidate),
            "differences": [d.as_json() for d in self.differences],
            "problems": list(self.problems),
            "passed": self.passed,
            "confidence": self.confidence,
        }


def arm_counts(
    engine: Engine, variants: Sequence[str], *, since: datetime | None = None, tenants: Sequence[str] = ()
) -> dict[str, ArmCounts]:
    """Counts per variant of live (not shadow) interactions created since ``since``: three grouped queries."""
    where: list[ColumnElement[bool]] = [InteractionRow.variant.in_(list(variants)), InteractionRow.shadow_of.is_(None)]
    if since is not None:
        where.append(InteractionRow.created_at >= since)
    if tenants:
        where.append(InteractionRow.tenant.in_(list(tenants)))
    found: dict[str, dict[str, int]] = {v: {} for v in variants}
    with Session(reader(engine)) as session:
        for variant, n, errors in session.execute(
            select(
                InteractionRow.variant,
                func.count(),
                func.coalesce(func.sum(case((InteractionRow.fallback_reason != "", 1), else_=0)), 0),
            )
            .where(*where)
            .group_by(InteractionRow.variant)
        ):
            found[variant].update(interactions=int(n), errors=int(errors))
        for variant, votes, up in session.execute(
            select(
                InteractionRow.variant,
                func.count(),
                func.coalesce(func.sum(case((FeedbackRow.thumbs == "up", 1), else_=0)), 0),
            )
            .join(InteractionRow, InteractionRow.id == FeedbackRow.interaction_id)
            .where(*where)
            .group_by(InteractionRow.variant)
        ):
            found[variant].update(votes=int(votes), up=int(up))
        for variant, escalated in session.execute(
            select(InteractionRow.variant, func.count(func.distinct(EscalationRow.interaction_id)))
            .join(InteractionRow, InteractionRow.id == EscalationRow.interaction_id)
            .where(*where)
            .group_by(InteractionRow.variant)
        ):
            found[variant].update(escalated=int(escalated))
    return {v: ArmCounts(v, **counts) for v, counts in found.items()}


def judge(
    control: ArmCounts,
    candidate: ArmCounts,
    *,
    min_interactions: int,
    min_votes: int,
    confidence: float = 0.95,
) -> GateReport:
    """Compare the arms; a problem for each metric the candidate is worse on and for each count too small."""
    differences = tuple(
        difference(
            metric,
            better,
            Rate.of(*control.ratio(metric), confidence),
            Rate.of(*candidate.ratio(metric), confidence),
        )
        for metric, better in METRICS
    )
    problems: list[str] = []
    if candidate.interactions < min_interactions:
        problems.append(
            f"too few interactions to judge: {candidate.variant} has {candidate.interactions}, needs "
            f"{min_interactions} (DESKPILOT_ROLLOUT_MIN_INTERACTIONS)"
        )
    for arm in (control, candidate):
        if arm.votes < min_votes:
            problems.append(
                f"too few votes to compare thumbs-up rates: {arm.variant} has {arm.votes}, needs {min_votes} "
                "(DESKPILOT_ROLLOUT_MIN_VOTES)"
            )
    if control.interactions == 0:
        problems.append("no control interactions in the window to compare with")
    level = f"{confidence:.0%}"
    for d in differences:
        if d.worse:
            verb = "lower" if d.better == "higher" else "higher"
            problems.append(
                f"{d.metric.replace('_', ' ')} of {candidate.variant} is {verb} than control: "
                f"{d.candidate.value:.1%} vs {d.control.value:.1%}, difference {d.delta * 100:+.1f} pp "
                f"[{level} CI {d.low * 100:+.1f}, {d.high * 100:+.1f}]"
            )
    return GateReport(control, candidate, differences, tuple(problems), confidence)


def _pct(rate: Rate) -> str:
    if rate.n == 0:
        return "- (n=0)"
    return f"{rate.value:.1%} [{rate.low:.1%}, {rate.high:.1%}] n={rate.n}"


def table(report: GateReport, title: str) -> Table:
    """Per-arm counts and rates with their intervals, and the differences with the verdict on each."""
    c, k = report.control, report.candidate
    t = Table(title=title)
    for column in ("", c.variant, k.variant, "difference (pp)", "verdict"):
        t.add_column(column, justify="left" if column in ("", "verdict") else "right")
    t.add_row("interactions", str(c.interactions), str(k.interactions), "", "")
    t.add_row("votes", str(c.votes), str(k.votes), "", "")
    level = f"{report.confidence:.0%}"
    for d in report.differences:
        if math.isnan(d.delta):
            diff, verdict = "-", "no data"
        else:
            diff = f"{d.delta * 100:+.1f} [{d.low * 100:+.1f}, {d.high * 100:+.1f}]"
            verdict = "worse" if d.worse else "better" if d.improved else f"no difference at {level}"
        t.add_row(d.metric.replace("_", " "), _pct(d.control), _pct(d.candidate), diff, verdict)
    return t
