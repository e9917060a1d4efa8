"""KPI definitions and content-gap grouping on small hand-made rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import numpy as np
import pytest

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


def escalation(of: InteractionRecord | None) -> EscalationRecord:
    return EscalationRecord(
        tenant="ledgerly", interaction_id=of.id if of else None, reason="help", updated_at=T0, created_at=T0
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
