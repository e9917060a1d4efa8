"""KPI definitions and content-gap grouping on small hand-made rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import numpy as np
import pytest

from assistant.records import Citation
from feedback.records import EditRecord, EscalationRecord, FeedbackRecord, InteractionRecord
from ui.console import gaps, kpis

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def interaction(
    channel: str = "widget", *, abstained: bool = False, confidence: float = 0.8, **extra: Any
) -> InteractionRecord:
    fields: dict[str, Any] = {
        "id": uuid4(),
        "tenant": "ledgerly",
        "created_at": T0,
        "channel": channel,
        "question": "how do refunds work",
        "answer": "" if abstained else "Refunds take 5-10 days [1].",
        "confidence": confidence,
        "confidence_level": "high" if confidence >= 0.84 else "medium" if confidence >= 0.7 else "low",
        "abstained": abstained,
        "generator": "extractive",
        "prompt_version": "extractive-v1",
        "latency_ms": {"embed": 10.0, "total": 100.0},
    }
    fields.update(extra)
    return InteractionRecord(**fields)


def vote(of: InteractionRecord, thumbs: str, *codes: str) -> FeedbackRecord:
    return FeedbackRecord(tenant=of.tenant, interaction_id=of.id, thumbs=thumbs, reason_codes=codes)  # type: ignore[arg-type]


def edit(of: InteractionRecord, distance: int) -> EditRecord:
    return EditRecord(
        tenant=of.tenant, interaction_id=of.id, draft="a", sent="b", distance=distance, ratio=distance / 100
    )


def escalation(of: InteractionRecord | None, at: datetime = T0) -> EscalationRecord:
    return EscalationRecord(
        tenant="ledgerly", interaction_id=of.id if of else None, reason="help", updated_at=at, created_at=at
    )


@pytest.fixture()
def data() -> kpis.Dataset:
    deflected = interaction(latency_ms={"embed": 10.0, "total": 100.0})
    abstained = interaction(abstained=True, confidence=0.3, latency_ms={"embed": 30.0, "total": 300.0})
    answered_then_escalated = interaction(confidence=0.6, latency_ms={"total": 200.0})
    agent_unchanged = interaction("agent", latency_ms={"total": 400.0}, cost_usd=0.002, prompt_tokens=90)
    agent_edited = interaction("agent", model="m", latency_ms={"total": 500.0}, cost_usd=0.004, completion_tokens=10)
    return kpis.Dataset(
        interactions=(deflected, abstained, answered_then_escalated, agent_unchanged, agent_edited),
        votes=(
            vote(deflected, "up"),
            vote(answered_then_escalated, "down", "wrong_answer", "missing_info"),
            vote(agent_edited, "up"),
        ),
        edits=(edit(agent_unchanged, 0), edit(agent_edited, 10)),
        escalations=(escalation(abstained), escalation(answered_then_escalated), escalation(None)),
    )


def test_kpis_follow_their_definitions(data: kpis.Dataset) -> None:
    k = kpis.compute(data)
    assert (k.interactions, k.abstained, k.widget_interactions, k.deflected) == (5, 1, 3, 1)
    assert k.deflection_rate == pytest.approx(1 / 3), "only the widget answer nobody escalated deflected"
    assert (k.pending, k.settled, k.resolved) == (0, 3, 1) and k.resolution_rate == pytest.approx(1 / 3)
    assert (k.csat_responses, k.csat_yes, k.csat_rate) == (2, 1, 0.5), "CSAT: the customers' votes on widget answers"
    assert k.csat_response_rate == pytest.approx(2 / 3)
    assert k.thumbs_up_rate == pytest.approx(2 / 3) and (k.votes_up, k.votes_down) == (2, 1)
    assert k.reasons["wrong_answer"] == 1 and k.reasons["missing_info"] == 1 and k.reasons["tone"] == 0
    assert (k.sent, k.edited, k.edit_rate) == (2, 1, 0.5)
    assert k.median_edit_distance == 5.0 and k.median_edit_ratio == pytest.approx(0.05)
    assert k.escalations == 3 and k.escalated_interactions == 2 and k.escalation_rate == pytest.approx(2 / 5)
    assert k.abstain_rate == pytest.approx(1 / 5)
    assert k.latency_ms["total"] == pytest.approx((300.0, 480.0))
    assert k.latency_ms["embed"] == pytest.approx((20.0, 29.0))
    assert list(k.latency_ms) == ["embed", "total"], "stages in pipeline order"
    assert k.cost_per_answer == pytest.approx(0.006 / 5) and k.tokens == 100


WINDOW = timedelta(minutes=30)


def outcome_of(
    item: InteractionRecord, *events: FeedbackRecord | EscalationRecord, now: datetime, window: timedelta = WINDOW
) -> str:
    data = kpis.Dataset(
        interactions=(item,),
        votes=tuple(e for e in events if isinstance(e, FeedbackRecord)),
        escalations=tuple(e for e in events if isinstance(e, EscalationRecord)),
    )
    return kpis.widget_outcomes(data, now=now, window=window)[item.id]


def test_an_escalation_within_the_window_undoes_a_deflection_and_one_after_it_does_not() -> None:
    later = T0 + timedelta(days=1)
    answer = interaction()
    assert outcome_of(answer, now=later) == "deflected"
    assert outcome_of(answer, escalation(answer, T0 + timedelta(minutes=29)), now=later) == "escalated"
    assert outcome_of(answer, escalation(answer, T0 + WINDOW), now=later) == "escalated", "the window's end is in it"
    assert outcome_of(answer, escalation(answer, T0 + timedelta(minutes=31)), now=later) == "deflected"
    assert outcome_of(answer, escalation(answer, T0 + timedelta(minutes=31)), now=later, window=timedelta(hours=1)) == (
        "escalated"
    ), "the window is a setting"
    # The first escalation decides: a late one after an early one is still an escalation within the window.
    early, late = escalation(answer, T0 + timedelta(minutes=5)), escalation(answer, T0 + timedelta(hours=5))
    assert outcome_of(answer, late, early, now=later) == "escalated"


def test_a_thumbs_down_is_never_deflected() -> None:
    later = T0 + timedelta(days=1)
    answer = interaction()
    assert outcome_of(answer, vote(answer, "down", "wrong_answer"), now=later) == "voted_down"
    assert outcome_of(answer, vote(answer, "up"), now=later) == "deflected"
    k = kpis.compute(kpis.Dataset(interactions=(answer,), votes=(vote(answer, "down"),)), now=later)
    assert (k.deflected, k.settled, k.deflection_rate, k.resolution_rate) == (0, 1, 0.0, 0.0)
    assert outcome_of(interaction(abstained=True, confidence=0.2), now=later) == "abstained"


def test_an_answer_whose_window_has_not_passed_is_pending() -> None:
    answer = interaction()
    assert outcome_of(answer, now=T0 + timedelta(minutes=10)) == "pending"
    assert outcome_of(answer, vote(answer, "up"), now=T0 + timedelta(minutes=10)) == "pending", (
        "up votes decide nothing"
    )
    assert (
        outcome_of(answer, escalation(answer, T0 + timedelta(minutes=5)), now=T0 + timedelta(minutes=10)) == "escalated"
    )
    assert outcome_of(answer, vote(answer, "down"), now=T0 + timedelta(minutes=10)) == "voted_down"
    assert outcome_of(answer, now=T0 + WINDOW) == "deflected"

    young, old = interaction(created_at=T0 + timedelta(minutes=20)), interaction(created_at=T0 - timedelta(hours=2))
    data = kpis.Dataset(interactions=(young, old), votes=(vote(young, "up"), vote(old, "up")))
    k = kpis.compute(data, now=T0 + timedelta(minutes=25))
    assert (k.widget_interactions, k.pending, k.settled, k.deflected) == (2, 1, 1, 1)
    assert k.deflection_rate == 1.0 and k.resolution_rate == 1.0, "pending answers are in neither denominator"
    assert (k.csat_responses, k.csat_rate, k.csat_response_rate) == (2, 1.0, 1.0), "CSAT counts every response"
    assert kpis.compute(data, now=T0 + timedelta(minutes=25), window=timedelta(minutes=1)).pending == 0
    rows = {r["id"]: r["outcome"] for r in kpis.interaction_rows(data, now=T0 + timedelta(minutes=25))}
    assert rows == {str(young.id): "pending", str(old.id): "deflected"}


def test_adoption_per_agent_splits_light_edits_from_rewrites() -> None:
    drafts = [interaction("agent") for _ in range(6)]

    def sent(of: InteractionRecord, ratio: float, editor: str) -> EditRecord:
        return EditRecord(
            tenant=of.tenant,
            interaction_id=of.id,
            draft="a",
            sent="b",
            distance=round(ratio * 100),
            ratio=ratio,
            editor=editor,
        )

    edits = (
        sent(drafts[0], 0.0, "agent:a"),
        sent(drafts[1], 0.1, "agent:a"),
        sent(drafts[2], 0.2, "agent:a"),
        sent(drafts[3], 0.7, "agent:a"),
        sent(drafts[4], 0.5, "agent:b"),
        sent(drafts[5], 0.0, ""),
    )
    rows = kpis.adoption_by_agent(kpis.Dataset(interactions=tuple(drafts), edits=edits))
    assert [r.agent for r in rows] == ["agent:a", "agent:b", "unknown"], "most drafts first"
    a, b, unknown = rows
    assert (a.sent, a.unchanged, a.light, a.rewritten, a.adoption_rate) == (4, 1, 2, 1, 0.75)
    assert a.median_ratio == pytest.approx(0.15)
    assert (b.rewritten, b.adoption_rate) == (1, 0.0) and unknown.adoption_rate == 1.0


def test_article_performance_counts_the_answers_citing_each_article() -> None:
    def cite(doc_id: str, title: str, n: int = 1) -> Citation:
        return Citation(n=n, doc_id=doc_id, title=title, url=f"https://help/{title}", section="", snippet="", support=1)

    both = interaction(citations=(cite("kb/refunds.md", "Refunds"), cite("kb/billing.md", "Billing", 2)))
    twice = interaction(citations=(cite("kb/refunds.md", "Refunds"), cite("kb/refunds.md", "Refunds", 2)))
    other_tenant = interaction(tenant="parcelpoint", citations=(cite("kb/refunds.md", "Returns"),))
    uncited = interaction()
    data = kpis.Dataset(
        interactions=(both, twice, other_tenant, uncited),
        votes=(vote(both, "up"), vote(twice, "down", "wrong_answer"), vote(uncited, "down")),
        escalations=(escalation(twice), escalation(twice), escalation(uncited)),
    )
    rows = kpis.article_performance(data)
    assert [(r.tenant, r.title, r.answers) for r in rows] == [
        ("ledgerly", "Refunds", 2),
        ("ledgerly", "Billing", 1),
        ("parcelpoint", "Returns", 1),
    ], "most cited first; an answer citing an article twice counts once; tenants apart"
    refunds = rows[0]
    assert (refunds.votes_up, refunds.votes_down, refunds.escalated) == (1, 1, 1)
    assert refunds.thumbs_up_rate == 0.5 and refunds.escalation_rate == 0.5 and refunds.url == "https://help/Refunds"
    assert (rows[1].votes_up, rows[1].votes_down, rows[1].escalated) == (1, 0, 0)


def test_restrict_keeps_what_belongs_to_the_kept_interactions(data: kpis.Dataset) -> None:
    widget = kpis.restrict(data, channels=["widget"])
    assert len(widget.interactions) == 3 and len(widget.votes) == 2 and not widget.edits
    assert len(widget.escalations) == 2, "the escalation tied to no interaction has no channel"
    assert len(kpis.restrict(data).escalations) == 3
    with_model = kpis.restrict(data, versions=["extractive · m · extractive-v1"])
    assert [i.model for i in with_model.interactions] == ["m"]
    assert kpis.versions(data.interactions) == ["extractive · extractive-v1", "extractive · m · extractive-v1"]


def test_empty_data_has_no_rates() -> None:
    k = kpis.compute(kpis.Dataset())
    assert k.interactions == 0 and k.deflection_rate is None and k.thumbs_up_rate is None
    assert k.edit_rate is None and k.median_edit_distance is None and k.cost_per_answer is None


def test_percentile_interpolates_like_numpy() -> None:
    values = [3.0, 1.0, 10.0, 7.0, 2.5]
    for q in (0, 25, 50, 90, 95, 100):
        assert kpis.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert kpis.percentile([], 50) is None


def test_by_day_covers_every_day_and_rolls(data: kpis.Dataset) -> None:
    later = interaction(created_at=T0 + timedelta(days=2))
    data = kpis.Dataset(interactions=(*data.interactions, later), votes=data.votes, escalations=data.escalations)
    days = kpis.by_day(data, date(2026, 11, 1), date(2026, 11, 4))
    assert [d.day for d, _ in days] == [1, 2, 3, 4]
    assert [k.interactions for _, k in days] == [0, 5, 0, 1]
    rolling = kpis.by_day(data, date(2026, 11, 1), date(2026, 11, 4), window=7)
    assert [k.interactions for _, k in rolling] == [0, 5, 5, 6]
    rows = kpis.interaction_rows(data)
    assert len(rows) == 6 and sum(r["escalations"] for r in rows) == 2


def fake_embed(texts: Sequence[str]) -> np.ndarray:
    """Questions about refunds point one way, about passwords another, about shipping a third."""
    axes = {"refund": 0, "password": 1, "ship": 2}
    vectors = np.full((len(texts), 3), 0.05)
    for row, text in enumerate(texts):
        for word, axis in axes.items():
            if word in text.lower():
                vectors[row, axis] = 1.0
    normalized: np.ndarray = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return normalized


def test_gaps_group_weak_questions_into_topics_per_tenant() -> None:
    weak = [
        interaction(question="Can I get a refund after 40 days?", abstained=True, confidence=0.3),
        interaction(question="refund for my annual plan please", confidence=0.5),
        interaction(question="Refund to a cancelled card", confidence=0.6),
        interaction(question="password reset link expired", confidence=0.65),
        interaction(question="I forgot my password <PERSON>", confidence=0.4),
        interaction(question="refund my shipping label", tenant="parcelpoint", confidence=0.2, abstained=True),
    ]
    strong = interaction(question="refund policy", confidence=0.95)
    data = kpis.Dataset(
        interactions=(*weak, strong),
        votes=(vote(weak[3], "down", "wrong_answer"),),
        escalations=(escalation(weak[0]), escalation(weak[1])),
    )
    topics = gaps.topics(data, fake_embed, low_confidence=0.7)
    by_label = {(t.tenant, t.label.split(", ")[0]): t for t in topics}
    refunds = by_label[("ledgerly", "refund")]
    assert refunds.size == 3 and refunds.escalated == 2 and refunds.abstained == 1
    assert strong.id not in {i.id for i in refunds.interactions}, "confident answers are no gap"
    passwords = by_label[("ledgerly", "password")]
    assert passwords.size == 2 and passwords.down_votes == 1
    assert "person" not in passwords.label, "placeholders are not topic words"
    assert [t.size for t in topics if t.tenant == "parcelpoint"] == [1], "tenants are never mixed"
    assert topics[0] is refunds, "the most escalated topic comes first"
    assert gaps.topics(kpis.Dataset(interactions=(strong,)), fake_embed) == []


def test_gaps_follow_the_order_their_caption_states_and_name_no_files() -> None:
    def cite(doc_id: str, title: str) -> Citation:
        return Citation(n=1, doc_id=doc_id, title=title, url=None, section="", snippet="", support=1)

    # Shipping: many questions, no escalation. Passwords: one escalation. Refunds: two escalations.
    shipping = [interaction(question=f"ship order {n} late", confidence=0.5) for n in range(4)]
    passwords = [
        interaction(
            question="password reset link expired",
            confidence=0.6,
            source_doc_ids=("data/samples/helpcenter/ledgerly/reset-your-password.md",),
        ),
        interaction(question="password email never came", confidence=0.6),
    ]
    refunds = [
        interaction(
            question="refund after 40 days",
            confidence=0.4,
            source_doc_ids=("data/samples/helpcenter/ledgerly/refunds.md",),
            citations=(cite("data/samples/helpcenter/ledgerly/refunds.md", "Refunds and cancellations"),),
        ),
        interaction(question="refund to old card", confidence=0.4),
    ]
    only_placeholders = interaction(question="Hi <PERSON>, thanks! <EMAIL_ADDRESS>", confidence=0.1, abstained=True)
    data = kpis.Dataset(
        interactions=(*shipping, *passwords, *refunds, only_placeholders),
        votes=tuple(vote(i, "down", "wrong_answer") for i in shipping),
        escalations=(escalation(passwords[0]), escalation(refunds[0]), escalation(refunds[1])),
    )
    found = gaps.topics(data, fake_embed, low_confidence=0.7)
    topic_words = [next(w for w in ("refund", "password", "ship") if w in t.label) for t in found]
    assert topic_words == ["refund", "password", "ship"], gaps.ORDER
    assert found == sorted(found, key=gaps.order)
    assert all(t.label and "(no words)" not in t.label for t in found), "a group with no words is no topic"
    assert only_placeholders.id not in {i.id for t in found for i in t.interactions}
    assert found[0].top_titles == ("Refunds and cancellations",), "the title answers cited"
    assert found[1].top_titles == ("Reset your password",), "never the file path"
    assert gaps.readable_name("https://help.example.com/kb/billing_faq.html?x=1") == "Billing faq"
