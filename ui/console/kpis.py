"""Support KPIs computed from feedback-store rows: pure functions, so tests can check them against plain SQL.

Votes, edits and escalations count toward the interaction they belong to, so filtering interactions
(by tenant, date, channel or version) filters them too. Definitions (README, "Dashboard definitions"):

- a widget interaction is *settled* once its deflection window (``DESKPILOT_DEFLECTION_WINDOW_MIN``,
  default 30 minutes) has passed, or earlier when it abstained, was escalated or was voted down; until then
  it is *pending* and counts in no deflection or resolution figure;
- deflection rate: settled widget interactions that answered (not abstained), were not escalated within the
  window and were not voted down, over settled widget interactions (an escalation after the window does not
  undo a deflection);
- resolution rate: settled widget interactions confirmed by a thumbs-up, over settled widget interactions;
- CSAT: the widget's one question after an answer ("Did this answer your question?", the customer's vote):
  yes over responses; response rate = widget interactions with a response over widget interactions;
- thumbs-up rate: up votes over all votes;
- edit rate: sent drafts the agent changed (edit distance > 0) over sent drafts; median edit distance in
  characters and as a ratio (0 = sent as drafted, 1 = rewritten);
- escalation rate: interactions with at least one escalation, over interactions; abstain rate likewise;
- latency p50/p95 per pipeline stage (``total`` = the whole answer, cache hits included);
- cost per answer: the summed ``cost_usd`` over interactions.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, TypeVar
from uuid import UUID

from feedback.records import REASON_CODES, EditRecord, EscalationRecord, FeedbackRecord, InteractionRecord, Page
from feedback.store import MAX_PAGE_SIZE, FeedbackStore

T = TypeVar("T")

STAGE_ORDER = (
    "redact",
    "guard_question",
    "embed",
    "search",
    "fuse",
    "rerank",
    "guard_sources",
    "generate",
    "validate",
    "guard_output",
    "total",
)


@dataclass(frozen=True)
class Dataset:
    """Interactions and the votes, edits and escalations that belong to them."""

    interactions: tuple[InteractionRecord, ...] = ()
    votes: tuple[FeedbackRecord, ...] = ()
    edits: tuple[EditRecord, ...] = ()
    escalations: tuple[EscalationRecord, ...] = ()


def version_of(interaction: InteractionRecord) -> str:
    """The model/prompt version an answer was made with, as one label."""
    parts = [interaction.generator, interaction.model, interaction.prompt_version]
    return " · ".join(p for p in parts if p) or "unknown"


def restrict(
    data: Dataset,
    *,
    channels: Collection[str] | None = None,
    versions: Collection[str] | None = None,
) -> Dataset:
    """Only interactions on ``channels`` made with ``versions`` (None = any), and what belongs to them.

    Escalations tied to no interaction are kept only when nothing is filtered (they have no channel).
    """
    kept = tuple(
        i
        for i in data.interactions
        if (channels is None or i.channel in channels) and (versions is None or version_of(i) in versions)
    )
    return attach(data, kept, keep_unattached=channels is None and versions is None)


def attach(data: Dataset, interactions: tuple[InteractionRecord, ...], keep_unattached: bool = False) -> Dataset:
    """``interactions`` with the votes, edits and escalations of ``data`` that belong to them."""
    ids = {i.id for i in interactions}
    return Dataset(
        interactions=interactions,
        votes=tuple(v for v in data.votes if v.interaction_id in ids),
        edits=tuple(e for e in data.edits if e.interaction_id in ids),
        escalations=tuple(
            e for e in data.escalations if (e.interaction_id in ids) or (keep_unattached and e.interaction_id is None)
        ),
    )


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


DEFLECTION_WINDOW = timedelta(minutes=30)
"""The default deflection window (``DESKPILOT_DEFLECTION_WINDOW_MIN``)."""
LIGHT_EDIT_RATIO = 0.2
"""A sent draft with an edit ratio up to this was adopted with a light edit; above it, rewritten."""

Outcome = Literal["deflected", "abstained", "escalated", "voted_down", "pending"]
"""What became of one widget interaction under the deflection definition."""


def widget_outcome(
    interaction: InteractionRecord,
    escalated_at: datetime | None,
    voted_down: bool,
    *,
    now: datetime,
    window: timedelta = DEFLECTION_WINDOW,
) -> Outcome:
    """The outcome of a widget interaction first escalated at ``escalated_at`` (None = never).

    Abstained, escalated within ``window`` of the answer, or voted down: not deflected, whenever that
    happened. Otherwise pending until ``window`` has passed, then deflected (a later escalation does not
    count against it).
    """
    if interaction.abstained:
        return "abstained"
    if escalated_at is not None and escalated_at - interaction.created_at <= window:
        return "escalated"
    if voted_down:
        return "voted_down"
    if now - interaction.created_at < window:
        return "pending"
    return "deflected"


def widget_outcomes(
    data: Dataset, *, now: datetime | None = None, window: timedelta = DEFLECTION_WINDOW
) -> dict[UUID, Outcome]:
    """The outcome of every widget interaction of ``data``, by interaction id."""
    now = now or datetime.now(UTC)
    first: dict[UUID, datetime] = {}
    for e in data.escalations:
        if e.interaction_id is not None and (e.interaction_id not in first or e.created_at < first[e.interaction_id]):
            first[e.interaction_id] = e.created_at
    down = {v.interaction_id for v in data.votes if v.thumbs == "down"}
    return {
        i.id: widget_outcome(i, first.get(i.id), i.id in down, now=now, window=window)
        for i in data.interactions
        if i.channel == "widget"
    }


@dataclass(frozen=True)
class Kpis:
    """The dashboard's numbers for one slice of the data."""

    interactions: int
    abstained: int
    abstain_rate: float | None
    widget_interactions: int
    deflected: int
    deflection_rate: float | None
    votes_up: int
    votes_down: int
    thumbs_up_rate: float | None
    reasons: dict[str, int]
    sent: int
    edited: int
    edit_rate: float | None
    median_edit_distance: float | None
    median_edit_ratio: float | None
    escalations: int
    escalated_interactions: int
    escalation_rate: float | None
    latency_ms: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Per stage: (p50, p95) in milliseconds."""
    cost_usd: float = 0.0
    cost_per_answer: float | None = None
    tokens: int = 0
    pending: int = 0
    """Widget interactions whose deflection window has not passed yet (in no deflection or resolution figure)."""
    settled: int = 0
    """Widget interactions that are not pending: the denominator of deflection and resolution."""
    resolved: int = 0
    resolution_rate: float | None = None
    csat_responses: int = 0
    csat_yes: int = 0
    csat_rate: float | None = None
    csat_response_rate: float | None = None


def compute(data: Dataset, *, now: datetime | None = None, window: timedelta = DEFLECTION_WINDOW) -> Kpis:
    """Every KPI of ``data``; ``now`` (default: the current time) and ``window`` decide what is still pending."""
    escalated_ids = {e.interaction_id for e in data.escalations if e.interaction_id is not None}
    widget = [i for i in data.interactions if i.channel == "widget"]
    outcomes = widget_outcomes(data, now=now, window=window)
    settled = {i for i, outcome in outcomes.items() if outcome != "pending"}
    deflected = sum(1 for outcome in outcomes.values() if outcome == "deflected")
    up_ids = {v.interaction_id for v in data.votes if v.thumbs == "up"}
    resolved = len(settled & up_ids)
    widget_ids = set(outcomes)
    responses = [v for v in data.votes if v.interaction_id in widget_ids]
    responded = {v.interaction_id for v in responses}
    csat_yes = sum(1 for v in responses if v.thumbs == "up")
    up = sum(1 for v in data.votes if v.thumbs == "up")
    reasons = Counter(code for v in data.votes for code in v.reason_codes)
    edited = [e for e in data.edits if e.distance > 0]
    stages: defaultdict[str, list[float]] = defaultdict(list)
    for i in data.interactions:
        for stage, ms in i.latency_ms.items():
            stages[stage].append(ms)
    order = {s: n for n, s in enumerate(STAGE_ORDER)}
    latency: dict[str, tuple[float, float]] = {}
    for stage in sorted(stages, key=lambda s: (order.get(s, len(order) - 1), s)):
        p50, p95 = percentile(stages[stage], 50), percentile(stages[stage], 95)
        if p50 is not None and p95 is not None:
            latency[stage] = (p50, p95)
    cost = sum(i.cost_usd for i in data.interactions)
    n = len(data.interactions)
    abstained = sum(1 for i in data.interactions if i.abstained)
    escalated_here = len({i.id for i in data.interactions} & escalated_ids)
    return Kpis(
        interactions=n,
        abstained=abstained,
        abstain_rate=_rate(abstained, n),
        widget_interactions=len(widget),
        deflected=deflected,
        deflection_rate=_rate(deflected, len(settled)),
        votes_up=up,
        votes_down=len(data.votes) - up,
        thumbs_up_rate=_rate(up, len(data.votes)),
        reasons={code: reasons[code] for code in (*REASON_CODES, *sorted(set(reasons) - set(REASON_CODES)))},
        sent=len(data.edits),
        edited=len(edited),
        edit_rate=_rate(len(edited), len(data.edits)),
        median_edit_distance=percentile([float(e.distance) for e in data.edits], 50),
        median_edit_ratio=percentile([e.ratio for e in data.edits], 50),
        escalations=len(data.escalations),
        escalated_interactions=escalated_here,
        escalation_rate=_rate(escalated_here, n),
        latency_ms=latency,
        cost_usd=cost,
        cost_per_answer=cost / n if n else None,
        tokens=sum(i.prompt_tokens + i.completion_tokens for i in data.interactions),
        pending=len(outcomes) - len(settled),
        settled=len(settled),
        resolved=resolved,
        resolution_rate=_rate(resolved, len(settled)),
        csat_responses=len(responses),
        csat_yes=csat_yes,
        csat_rate=_rate(csat_yes, len(responses)),
        csat_response_rate=_rate(len(responded), len(widget)),
    )


def by_day(
    data: Dataset,
    start: date,
    end: date,
    window: int = 1,
    *,
    now: datetime | None = None,
    deflection_window: timedelta = DEFLECTION_WINDOW,
) -> list[tuple[date, Kpis]]:
    """KPIs of each UTC day from ``start`` to ``end`` inclusive (days without interactions included).

    With ``window`` > 1 each day's KPIs cover that day and the ``window - 1`` days before it (a rolling
    window, which smooths the rates of quiet days).
    """
    now = now or datetime.now(UTC)
    days: defaultdict[date, list[InteractionRecord]] = defaultdict(list)
    for i in data.interactions:
        days[i.created_at.date()].append(i)
    out: list[tuple[date, Kpis]] = []
    day = start
    while day <= end:
        covered = [i for back in range(window) for i in days.get(day - timedelta(days=back), ())]
        out.append((day, compute(attach(data, tuple(covered)), now=now, window=deflection_window)))
        day += timedelta(days=1)
    return out


@dataclass(frozen=True)
class AgentAdoption:
    """What one agent did with the drafts they sent."""

    agent: str
    """The pseudonymous id the store keeps (the edit's ``editor``); "unknown" when none was recorded."""
    sent: int
    unchanged: int
    light: int
    """Sent with an edit ratio above 0 and up to :data:`LIGHT_EDIT_RATIO`."""
    rewritten: int
    median_ratio: float | None

    @property
    def adoption_rate(self) -> float | None:
        """Drafts sent as drafted or with a light edit, over drafts sent."""
        return _rate(self.unchanged + self.light, self.sent)


def adoption_by_agent(data: Dataset, light_ratio: float = LIGHT_EDIT_RATIO) -> list[AgentAdoption]:
    """Draft adoption per agent, the agents with most drafts sent first."""
    mine: defaultdict[str, list[EditRecord]] = defaultdict(list)
    for e in data.edits:
        mine[e.editor or "unknown"].append(e)
    rows = [
        AgentAdoption(
            agent=agent,
            sent=len(edits),
            unchanged=sum(1 for e in edits if e.distance == 0),
            light=sum(1 for e in edits if e.distance > 0 and e.ratio <= light_ratio),
            rewritten=sum(1 for e in edits if e.distance > 0 and e.ratio > light_ratio),
            median_ratio=percentile([e.ratio for e in edits], 50),
        )
        for agent, edits in mine.items()
    ]
    return sorted(rows, key=lambda r: (-r.sent, r.agent))


@dataclass(frozen=True)
class ArticlePerformance:
    """How the answers citing one article did."""

    tenant: str
    doc_id: str
    title: str
    url: str | None
    answers: int
    """Interactions whose answer cites the article."""
    votes_up: int
    votes_down: int
    escalated: int
    """Of those interactions, the ones with at least one escalation."""

    @property
    def thumbs_up_rate(self) -> float | None:
        """Up votes over votes on the answers citing the article."""
        return _rate(self.votes_up, self.votes_up + self.votes_down)

    @property
    def escalation_rate(self) -> float | None:
        """Escalated answers over answers citing the article."""
        return _rate(self.escalated, self.answers)


def article_performance(data: Dataset) -> list[ArticlePerformance]:
    """Per cited article (and tenant): answers citing it, their votes and escalations; most cited first."""
    up: Counter[UUID] = Counter(v.interaction_id for v in data.votes if v.thumbs == "up")
    down: Counter[UUID] = Counter(v.interaction_id for v in data.votes if v.thumbs == "down")
    escalated = {e.interaction_id for e in data.escalations if e.interaction_id is not None}
    citing: defaultdict[tuple[str, str], list[InteractionRecord]] = defaultdict(list)
    titles: dict[tuple[str, str], tuple[str, str | None]] = {}
    for i in sorted(data.interactions, key=lambda i: i.created_at):
        for doc_id in dict.fromkeys(c.doc_id for c in i.citations):
            citing[(i.tenant, doc_id)].append(i)
        for c in i.citations:
            titles[(i.tenant, c.doc_id)] = (c.title or c.doc_id, c.url)  # the latest title wins
    rows = [
        ArticlePerformance(
            tenant=tenant,
            doc_id=doc_id,
            title=titles[(tenant, doc_id)][0],
            url=titles[(tenant, doc_id)][1],
            answers=len(items),
            votes_up=sum(up[i.id] for i in items),
            votes_down=sum(down[i.id] for i in items),
            escalated=sum(1 for i in items if i.id in escalated),
        )
        for (tenant, doc_id), items in citing.items()
    ]
    return sorted(rows, key=lambda r: (-r.answers, r.tenant, r.title, r.doc_id))


def interaction_rows(
    data: Dataset, *, now: datetime | None = None, window: timedelta = DEFLECTION_WINDOW
) -> list[dict[str, Any]]:
    """One flat row per interaction with its votes, edits and escalations summarized (the CSV export);
    ``outcome`` is a widget interaction's :data:`Outcome` (empty on other channels)."""
    outcomes = widget_outcomes(data, now=now, window=window)
    votes: defaultdict[Any, list[FeedbackRecord]] = defaultdict(list)
    for v in data.votes:
        votes[v.interaction_id].append(v)
    edits: defaultdict[Any, list[EditRecord]] = defaultdict(list)
    for e in data.edits:
        edits[e.interaction_id].append(e)
    escalations: defaultdict[Any, list[EscalationRecord]] = defaultdict(list)
    for x in data.escalations:
        escalations[x.interaction_id].append(x)
    rows = []
    for i in data.interactions:
        mine = votes[i.id]
        rows.append(
            {
                "id": str(i.id),
                "created_at": i.created_at.isoformat(),
                "tenant": i.tenant,
                "channel": i.channel,
                "question": i.question,
                "answer": i.answer,
                "abstained": i.abstained,
                "confidence": round(i.confidence, 4),
                "confidence_level": i.confidence_level,
                "confidence_reason": i.confidence_reason,
                "version": version_of(i),
                "cited_articles": " ".join(sorted({c.doc_id for c in i.citations})),
                "latency_total_ms": round(i.latency_ms.get("total", 0.0), 1),
                "cost_usd": i.cost_usd,
                "votes_up": sum(1 for v in mine if v.thumbs == "up"),
                "votes_down": sum(1 for v in mine if v.thumbs == "down"),
                "reason_codes": " ".join(sorted({c for v in mine for c in v.reason_codes})),
                "edits": len(edits[i.id]),
                "edit_distance": edits[i.id][0].distance if edits[i.id] else None,
                "edit_ratio": round(edits[i.id][0].ratio, 4) if edits[i.id] else None,
                "escalations": len(escalations[i.id]),
                "escalation_status": " ".join(sorted({x.status for x in escalations[i.id]})),
                "outcome": outcomes.get(i.id, ""),
            }
        )
    return rows


def versions(interactions: Iterable[InteractionRecord]) -> list[str]:
    """The distinct version labels, sorted."""
    return sorted({version_of(i) for i in interactions})


def load(
    store: FeedbackStore, tenant: str | None, since: datetime | None = None, until: datetime | None = None
) -> Dataset:
    """Every interaction of ``tenant`` (None = all) created in [since, until), and what belongs to them.

    Votes, edits and escalations are read from ``since`` on (they come after their interaction) and
    then kept only when their interaction is in the range.
    """

    def every(fetch: Callable[[int], Page[T]]) -> list[T]:
        items: list[T] = []
        page = 1
        while True:
            got = fetch(page)
            items.extend(got.items)
            if page >= got.pages:
                return items
            page += 1

    size = MAX_PAGE_SIZE
    interactions = every(lambda p: store.list_interactions(tenant, since=since, until=until, page=p, page_size=size))
    data = Dataset(
        votes=tuple(every(lambda p: store.list_feedback(tenant, since=since, page=p, page_size=size))),
        edits=tuple(every(lambda p: store.list_edits(tenant, since=since, page=p, page_size=size))),
        escalations=tuple(every(lambda p: store.list_escalations(tenant, since=since, page=p, page_size=size))),
    )
    return attach(data, tuple(reversed(interactions)), keep_unattached=True)
