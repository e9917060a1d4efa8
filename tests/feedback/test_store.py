"""The feedback store on real SQLite and PostgreSQL: round trips, reason codes, edits, escalations, tenants, keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from feedback.audit import verify
from feedback.records import REASON_CODES, EditIn, EscalationIn, FeedbackIn, InteractionIn
from feedback.store import FeedbackStore, IdConflict, UnknownApiKey, UnknownEscalation, UnknownInteraction
from tests.feedback.conftest import make_answer, make_interaction


def test_interaction_round_trip_from_a_real_answer(store: FeedbackStore) -> None:
    answer = make_answer()
    item = InteractionIn.from_answer(
        answer, tenant="acme", channel="widget", actor="session-9", trace_id="trace-1", cost_usd=0.0012
    )
    assert item.source_ids == ("chunk-acme-1", "chunk-acme-2") and item.citations == answer.citations
    first = store.record_interaction(item)
    assert first.created and first.id == item.id
    assert not store.record_interaction(item).created, "the same id twice is a replay, not a second row"
    stored = store.get_interaction(item.id, "acme")
    assert stored is not None and stored.anonymized_at is None
    assert stored.model_dump(exclude={"anonymized_at"}) == item.model_dump()
    assert stored.citations[0].support == 0.8 and stored.latency_ms["total"] == 18.0
    assert stored.created_at.tzinfo is not None and abs(stored.created_at - item.created_at) < timedelta(microseconds=1)
    assert store.list_interactions("acme").total == 1


def test_tenant_isolation(store: FeedbackStore) -> None:
    acme, globex = make_interaction("acme"), make_interaction("globex")
    store.record_interaction(acme)
    store.record_interaction(globex)
    assert store.get_interaction(acme.id, "globex") is None
    assert store.get_interaction(str(acme.id), "acme") is not None
    assert store.get_interaction("not-a-uuid", "acme") is None
    assert [i.id for i in store.list_interactions("globex").items] == [globex.id]
    assert store.list_interactions(None).total == 2
    with pytest.raises(UnknownInteraction, match="globex"):
        store.record_feedback(FeedbackIn(tenant="globex", interaction_id=acme.id, thumbs="up"))
    with pytest.raises(UnknownInteraction):
        store.record_edit(EditIn(tenant="globex", interaction_id=acme.id, draft="a", sent="b"))
    store.record_feedback(FeedbackIn(tenant="acme", interaction_id=acme.id, thumbs="down"))
    assert store.list_feedback("globex").total == 0 and store.list_feedback("acme").total == 1
    assert store.counts("globex").votes_down == 0 and store.counts("acme").votes_down == 1
    # A client-chosen id already used by another tenant is refused, not silently taken as a duplicate.
    with pytest.raises(IdConflict, match="fresh UUID"):
        store.record_interaction(make_interaction("globex").model_copy(update={"id": acme.id}))


def test_feedback_reason_codes(store: FeedbackStore) -> None:
    interaction = make_interaction()
    store.record_interaction(interaction)
    with pytest.raises(ValidationError, match="'not_a_reason'"):
        FeedbackIn(tenant="acme", interaction_id=interaction.id, thumbs="down", reason_codes=("tone", "not_a_reason"))
    vote = FeedbackIn(
        tenant="acme",
        interaction_id=interaction.id,
        thumbs="down",
        reason_codes=("outdated_source", "wrong_citation", "outdated_source"),
        comment="The refund window changed last month.",
        reviewer="agent-17",
    )
    assert store.record_feedback(vote).created
    store.record_feedback(FeedbackIn(tenant="acme", interaction_id=interaction.id, thumbs="up"))
    [found] = store.list_feedback("acme", reason_code="wrong_citation").items
    assert found.id == vote.id and found.reason_codes == ("outdated_source", "wrong_citation")
    assert found.comment == vote.comment
    assert store.list_feedback("acme", thumbs="up").total == 1
    assert store.list_feedback("acme", interaction_id=interaction.id).total == 2
    counts = store.counts("acme")
    assert (counts.votes_up, counts.votes_down) == (1, 1)
    assert counts.reasons == {"outdated_source": 1, "wrong_citation": 1}
    assert set(counts.reasons) <= set(REASON_CODES)


def test_edit_distance_ratio(store: FeedbackStore) -> None:
    interaction = make_interaction()
    store.record_interaction(interaction)
    unchanged = EditIn(
        tenant="acme", interaction_id=interaction.id, draft="Hi, refunds take 5 days.", sent="Hi, refunds take 5 days."
    )
    rewritten = EditIn(tenant="acme", interaction_id=interaction.id, draft="kitten", sent="sitting", editor="agent-3")
    store.record_edit(unchanged)
    store.record_edit(rewritten)
    edits = {e.id: e for e in store.list_edits("acme").items}
    assert (edits[unchanged.id].distance, edits[unchanged.id].ratio) == (0, 0.0)
    # kitten -> sitting: two substitutions and one insertion, over the longer string's 7 characters.
    assert edits[rewritten.id].distance == 3 and edits[rewritten.id].ratio == pytest.approx(3 / 7)
    assert store.counts("acme").mean_edit_ratio == pytest.approx(3 / 14)


def test_escalation_status_changes_are_audited(store: FeedbackStore) -> None:
    interaction = make_interaction(abstained=True)
    store.record_interaction(interaction)
    escalation = EscalationIn(
        tenant="acme", interaction_id=interaction.id, reason="weak evidence", queue="billing", actor="system"
    )
    assert store.record_escalation(escalation).created
    moved = store.update_escalation_status(escalation.id, tenant="acme", status="assigned", actor="agent-17")
    assert moved.status == "assigned" and moved.updated_at >= moved.created_at
    store.update_escalation_status(escalation.id, tenant="acme", status="assigned", actor="agent-17")
    store.update_escalation_status(str(escalation.id), tenant="acme", status="resolved", actor="agent-17")
    with pytest.raises(ValueError, match="'closed'"):
        store.update_escalation_status(escalation.id, tenant="acme", status="closed", actor="agent-17")
    with pytest.raises(UnknownEscalation):
        store.update_escalation_status(escalation.id, tenant="globex", status="open", actor="agent-17")
    stored = store.get_escalation(escalation.id, "acme")
    assert stored is not None and stored.status == "resolved" and stored.queue == "billing"
    assert store.get_escalation(escalation.id, "globex") is None
    assert store.list_escalations("acme", status="resolved").total == 1
    events = store.list_audit_events("acme", action="escalation.status_changed").items
    assert [json.loads(e.details) for e in reversed(events)] == [
        {"from": "new", "to": "assigned"},
        {"from": "assigned", "to": "resolved"},
    ], "a no-op status change writes no event"
    assert all(e.actor == "agent-17" and e.target == f"escalation:{escalation.id}" for e in events)
    assert store.list_audit_events("acme", action="escalation.created").total == 1
    assert verify(store.engine).ok


def test_failed_write_leaves_no_audit_event(store: FeedbackStore) -> None:
    """The audit row commits or rolls back with the change it records."""
    with pytest.raises(UnknownInteraction):
        store.record_feedback(FeedbackIn(tenant="acme", interaction_id=uuid4(), thumbs="up"))
    assert store.list_audit_events(None).total == 0


def test_list_filters_and_pages(store: FeedbackStore) -> None:
    start = datetime(2025, 3, 1, 12, tzinfo=UTC)
    made = []
    for day in range(7):
        item = make_interaction(
            channel="widget" if day % 2 else "agent",
            created_at=start + timedelta(days=day),
            generator="llm" if day >= 5 else "extractive",
        )
        store.record_interaction(item)
        made.append(item)
    store.record_interaction(make_interaction("globex", created_at=start))
    newest_first = [i.id for i in reversed(made)]
    page1 = store.list_interactions("acme", page=1, page_size=3)
    page3 = store.list_interactions("acme", page=3, page_size=3)
    assert (page1.total, page1.pages) == (7, 3)
    assert [i.id for i in page1.items] == newest_first[:3] and [i.id for i in page3.items] == newest_first[6:]
    assert store.list_interactions("acme", channel="widget").total == 3
    assert store.list_interactions("acme", generator="llm", model="gemma3").total == 2
    assert store.list_interactions("acme", prompt_version="p2").total == 0
    window = store.list_interactions("acme", since=start + timedelta(days=2), until=start + timedelta(days=4))
    assert [i.id for i in window.items] == [made[3].id, made[2].id]
    with pytest.raises(ValueError, match="page_size"):
        store.list_interactions("acme", page_size=0)
    counts = store.counts("acme", since=start + timedelta(days=5))
    assert counts.interactions == 2 and counts.by_channel == {"widget": 1, "agent": 1}
    assert counts.tokens == 2 * 160 and counts.cost_usd == pytest.approx(2 * 0.0004)


def test_api_keys_are_hashed_verified_and_revoked(store: FeedbackStore) -> None:
    key_id, key = store.create_api_key("acme", "agent", "console", actor="admin-1")
    assert key.startswith(f"dp_{key_id}_") and len(key) > 40
    record = store.verify_api_key(key)
    assert record is not None and (record.id, record.tenant, record.role, record.name) == (
        key_id,
        "acme",
        "agent",
        "console",
    )
    assert record.last_used_at is not None
    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM api_keys")).all()
    assert len(rows) == 1 and key.split("_", 2)[2] not in str(rows)
    assert store.verify_api_key(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert store.verify_api_key(f"dp_{'0' * 16}_{key.split('_', 2)[2]}") is None
    assert store.verify_api_key("garbage") is None
    with pytest.raises(ValueError, match="role"):
        store.create_api_key("acme", "Root!", "bad")
    other_id, _ = store.create_api_key("globex", "analyst", "dash")
    assert [k.id for k in store.list_api_keys("acme")] == [key_id]
    with pytest.raises(UnknownApiKey):
        store.revoke_api_key(other_id, tenant="acme")
    assert store.revoke_api_key(key_id, actor="admin-1")
    assert not store.revoke_api_key(key_id, actor="admin-1")
    assert store.verify_api_key(key) is None
    [revoked] = store.list_api_keys("acme")
    assert not revoked.active
    actions = [e.action for e in store.list_audit_events(None).items]
    assert sorted(actions) == ["api_key.created", "api_key.created", "api_key.revoked"]
