"""`deskpilot demo seed`: a few weeks of realistic interactions, made by running the real assistant.

The sample tickets (agent channel) and the golden questions (mostly widget) are answered by the real
answer service over the indexed samples; what happens next is drawn from a seeded random generator but
grounded in the answer: a vote is more likely up when a cited article is one the golden set or the
ticket notes call relevant, a wrong or abstained answer is more often escalated, an agent rewrites a
weak draft more than a good one. Timestamps spread over ``days`` days (fewer on weekends). Record ids
are derived from the seed, so seeding again with the same seed adds nothing (every write is a duplicate).
"""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from assistant.records import Answer, Channel, Question
from feedback.records import EditIn, EscalationIn, FeedbackIn, InteractionIn, WriteResult, utcnow
from feedback.store import FeedbackStore
from ui.canary import DemoArms
from ui.console.settings import REPO, ConsoleSettings
from ui.console.tickets import Ticket, question_text
from ui.settings import AppSettings
from ui.wiring import Retrieval

GOLDEN = REPO / "data" / "samples" / "golden.jsonl"
_NAMESPACE = uuid.UUID("5b0c7f55-8d0e-4a49-9a3c-0d6c7e1f2a10")
Progress = Callable[[int, int], None]

LIGHT_EDITS: tuple[tuple[str, str], ...] = (
    ("Thanks for reaching out.", "Thanks for getting in touch, and sorry for the trouble."),
    ("Hi,", "Hi there,"),
    ("If anything is still unclear, just reply to this message and we'll help.", "Let me know if that sorts it out."),
    ("Best regards,", "Kind regards,"),
)
HEAVY_EDIT = (
    "I've looked into this with the team. The help-center article doesn't cover your case exactly, so I've "
    "passed the details to a specialist who will follow up by email within one business day."
)
COMMENTS: dict[str, tuple[str, ...]] = {
    "wrong_answer": ("Answers a different question.", "This is not what the customer asked."),
    "missing_info": ("Misses the second question in the ticket.", "Needs the steps, not just the policy."),
    "outdated_source": ("Quotes last year's prices.",),
    "wrong_citation": ("The cited article doesn't say this.",),
    "too_long": ("Too long for a chat reply.",),
    "tone": ("Too formal for an upset customer.",),
    "other": ("",),
}
QUEUES = {"ledgerly": ("tier2", "billing", "security"), "parcelpoint": ("tier2", "claims", "billing")}


@dataclass(frozen=True)
class SeedReport:
    """What a demo seed wrote (``duplicates``: records already stored by an earlier seed)."""

    interactions: int
    votes: int
    edits: int
    escalations: int
    duplicates: int
    questions: int
    """Distinct questions the assistant answered."""
    days: int
    first: datetime | None
    last: datetime | None
    seconds: float


@dataclass(frozen=True)
class _Item:
    """A question from the samples, with the articles that really answer it."""

    key: str
    tenant: str
    locale: str
    text: str
    relevant: frozenset[str]
    ticket: bool


def _golden() -> list[_Item]:
    items = []
    for line in GOLDEN.read_text(encoding="utf-8").splitlines():
        if line.strip():
            g = json.loads(line)
            items.append(
                _Item(g["qid"], g["tenant"], g["locale"], g["question"], frozenset(g["relevant"]), ticket=False)
            )
    return items


def _tickets(console: ConsoleSettings, redact: Callable[[str], str]) -> list[_Item]:
    path = console.sample_tickets()
    if path is None:
        return []
    raw = json.loads(path.read_text(encoding="utf-8"))["tickets"]
    items = []
    for t in raw:
        ticket = Ticket.model_validate({**t, "customer_name": "", "customer_email": ""})
        items.append(
            _Item(
                t["ticket_id"],
                t["tenant"],
                t["locale"],
                question_text(ticket, redact),
                frozenset(t.get("answer_article_ids", [])),
                ticket=True,
            )
        )
    return items


def _plan(days: int, per_day: int, rng: random.Random, now: datetime) -> list[datetime]:
    """Timestamps of the interactions: business hours, fewer on weekends, a slowly growing volume."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    moments: list[datetime] = []
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        weekend = day.weekday() >= 5
        growth = 1 + 0.25 * (days - 1 - back) / max(days - 1, 1)
        count = max(1, round(per_day * growth * (0.35 if weekend else 1.0) * rng.uniform(0.75, 1.25)))
        for _ in range(count):
            moment = day + timedelta(hours=rng.uniform(7, 20))
            if moment >= now:
                moment = now - timedelta(minutes=rng.uniform(5, 600))
            moments.append(moment)
    return sorted(moments)


def _cited_articles(answer: Answer) -> set[str]:
    by_n = {s.n: s.hit.article_id for s in answer.sources}
    return {by_n[c.n] for c in answer.citations if c.n in by_n}


def _correct(item: _Item, answer: Answer) -> bool:
    if not item.relevant:
        return answer.abstained
    return not answer.abstained and bool(_cited_articles(answer) & item.relevant)


def _reasons(item: _Item, answer: Answer, correct: bool, channel: str, rng: random.Random) -> tuple[str, ...]:
    if any("archive" in c.doc_id for c in answer.citations):
        return ("outdated_source",)
    if answer.abstained:
        return ("missing_info",)
    if not correct:
        sourced = {s.hit.article_id for s in answer.sources}
        return ("wrong_citation",) if sourced & item.relevant else ("wrong_answer",)
    options = ["missing_info", "too_long", "tone", "other"] if channel == "agent" else ["missing_info", "too_long"]
    return (rng.choice(options),)


def _edited(draft: str, correct: bool, high: bool, rng: random.Random) -> str:
    """The reply an agent would send for ``draft``: as drafted, lightly touched, or largely rewritten."""
    if correct and rng.random() < (0.65 if high else 0.45):
        return draft
    if correct:
        sent = draft
        for old, new in rng.sample(LIGHT_EDITS, k=rng.randint(1, 2)):
            sent = sent.replace(old, new, 1)
        return sent
    paragraphs = draft.split("\n\n")
    if len(paragraphs) >= 3:
        body = re.split(r"(?<=[.?!]) ", paragraphs[1])
        kept = " ".join(body[: max(1, len(body) // 2)])
        paragraphs[1] = f"{kept} {HEAVY_EDIT}"
        return "\n\n".join(paragraphs)
    return f"{draft}\n\n{HEAVY_EDIT}"


def _status(created: datetime, now: datetime, rng: random.Random) -> str:
    age = now - created
    if age > timedelta(days=3):
        return rng.choices(["resolved", "dismissed", "in_progress"], weights=[80, 10, 10])[0]
    if age > timedelta(hours=12):
        return rng.choices(["open", "in_progress", "resolved"], weights=[30, 40, 30])[0]
    return "open"


class _Writer:
    """Counts what the store created and what it already held."""

    def __init__(self, store: FeedbackStore) -> None:
        self.store = store
        self.created: dict[str, int] = {"interaction": 0, "feedback": 0, "edit": 0, "escalation": 0}
        self.duplicates = 0

    def write(self, record: InteractionIn | FeedbackIn | EditIn | EscalationIn) -> WriteResult:
        result = self.store.write(record)
        if result.created:
            self.created[result.kind] += 1
        else:
            self.duplicates += 1
        return result


def seed(
    settings: AppSettings,
    days: int = 21,
    seed: int = 7,
    *,
    per_day: int = 10,
    now: datetime | None = None,
    retrieval: Retrieval | None = None,
    store: FeedbackStore | None = None,
    progress: Progress | None = None,
) -> SeedReport:
    """Fill the feedback store with ``days`` days of demo interactions, votes, edits and escalations.

    The index must hold the sample help center (``deskpilot ingest data/samples/helpcenter``). Pass an
    opened ``retrieval``/``store`` to reuse them (the embedded index has one owner at a time).
    """
    if days < 1 or per_day < 1:
        raise ValueError(f"days and per_day must be at least 1, got days={days}, per_day={per_day}")
    started = time.perf_counter()
    now = (now or utcnow()).astimezone(UTC)
    rng = random.Random(seed)
    with ExitStack() as stack:
        if retrieval is None:
            retrieval = stack.enter_context(Retrieval(settings))
        if store is None:
            store = stack.enter_context(FeedbackStore.open(settings.feedback))
        if retrieval.index.count() == 0:
            raise RuntimeError("the index is empty: run `deskpilot ingest data/samples/helpcenter` first")
        tenants = {entry.tenant for entry in retrieval.manifest.entries().values()}
        console = ConsoleSettings(data_dir=settings.feedback.data_dir)
        pool = [i for i in (*_tickets(console, retrieval.redact), *_golden()) if i.tenant in tenants]
        if not pool:
            raise RuntimeError(f"none of the sample questions belongs to an indexed tenant ({sorted(tenants)})")
        tickets = [i for i in pool if i.ticket]
        golden = [i for i in pool if not i.ticket]
        service = retrieval.assistant()
        writer = _Writer(store)
        moments = _plan(days, per_day, rng, now)
        # A few percent answered by the rollout candidate, so `deskpilot rollout status` has two arms.
        arms = DemoArms(service, settings.feedback.data_dir, moments[0] if moments else now)
        plan: list[tuple[datetime, _Item, Channel]] = []
        for moment in moments:
            use_ticket = bool(tickets) and (not golden or rng.random() < 0.3)
            item = rng.choice(tickets if use_ticket else golden)
            plan.append((moment, item, "agent" if item.ticket or rng.random() < 0.25 else "widget"))
        for n, (moment, item, channel) in enumerate(plan):
            arm = arms.pick(item.tenant, f"demo-{seed}-{n}")
            answer = arm.service.answer(
                Question(text=item.text, tenant=item.tenant, channel=channel, locale=item.locale)
            )
            # Each interaction draws its outcomes from its own generator: one answer that changes (a new
            # index, another model) changes only its own votes and edits, never the rest of the demo.
            _record(writer, n, seed, item, answer, channel, moment, now, random.Random(f"{seed}:{n}"), arm.variant)
            if progress is not None:
                progress(n + 1, len(plan))
        asked = {item.key for _, item, _ in plan}
        return SeedReport(
            interactions=writer.created["interaction"],
            votes=writer.created["feedback"],
            edits=writer.created["edit"],
            escalations=writer.created["escalation"],
            duplicates=writer.duplicates,
            questions=len(asked),
            days=days,
            first=moments[0] if moments else None,
            last=moments[-1] if moments else None,
            seconds=time.perf_counter() - started,
        )


def _ids(seed: int, n: int) -> Iterator[uuid.UUID]:
    for kind in ("interaction", "feedback", "edit", "escalation"):
        yield uuid.uuid5(_NAMESPACE, f"{seed}:{n}:{kind}")


def _record(
    writer: _Writer,
    n: int,
    seed: int,
    item: _Item,
    answer: Answer,
    channel: Channel,
    moment: datetime,
    now: datetime,
    rng: random.Random,
    variant: str = "",
) -> None:
    interaction_id, vote_id, edit_id, escalation_id = _ids(seed, n)
    agent = f"demo:{'ava' if item.tenant == 'ledgerly' else 'ben'}"
    actor = agent if channel == "agent" else f"demo:widget:{item.tenant}"
    writer.write(
        InteractionIn.from_answer(
            answer,
            tenant=item.tenant,
            channel=channel,
            actor=actor,
            trace_id=f"demo-{seed}-{n}",
            variant=variant,
            id=interaction_id,
            created_at=moment,
        )
    )
    correct = _correct(item, answer)
    later = moment + timedelta(seconds=rng.uniform(20, 240))
    common: dict[str, Any] = {"tenant": item.tenant, "interaction_id": interaction_id}
    vote_p, escalate_p = _chances(channel, answer, correct)
    if channel == "agent" and not answer.abstained:
        sent = _edited(answer.text, correct, answer.confidence.level == "high", rng)
        writer.write(EditIn(id=edit_id, created_at=later, draft=answer.text, sent=sent, editor=agent, **common))
    if rng.random() < vote_p:
        up = correct and rng.random() < 0.85
        reasons = () if up else _reasons(item, answer, correct, channel, rng)
        comment = rng.choice(COMMENTS[reasons[0]]) if reasons and rng.random() < 0.5 else ""
        writer.write(
            FeedbackIn(
                id=vote_id,
                created_at=later + timedelta(seconds=5),
                thumbs="up" if up else "down",
                reason_codes=reasons,
                comment=comment,
                reviewer=actor,
                **common,
            )
        )
    if rng.random() < escalate_p:
        reason = (
            f"No reliable answer: {answer.escalation_reason}"
            if answer.abstained
            else "The customer still needs help after the answer"
            if channel == "widget"
            else "Needs a specialist: the draft does not cover this case"
        )
        at = later + timedelta(seconds=30)
        writer.write(
            EscalationIn(
                id=escalation_id,
                created_at=at,
                reason=reason[:1000],
                queue=rng.choice(QUEUES.get(item.tenant, ("tier2",))),
                status=_status(at, now, rng),  # type: ignore[arg-type]
                actor=actor,
                **common,
            )
        )


def _chances(channel: str, answer: Answer, correct: bool) -> tuple[float, float]:
    """(probability of a vote, probability of an escalation) for this outcome."""
    if channel == "agent":
        if answer.abstained:
            return 0.3, 0.85
        return 0.6, 0.05 if correct else 0.3
    if answer.abstained:
        return 0.25, 0.55
    return 0.35, 0.04 if correct else 0.3
