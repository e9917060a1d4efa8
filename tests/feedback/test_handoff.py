"""The hand-off in the store, on SQLite and PostgreSQL: statuses migrated, conversations built from recorded
interactions (own tenant, no shadows), assignee and status changes audited, the contact removed by retention."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy import text

from feedback import retention
from feedback.migrate import upgrade
from feedback.models import make_engine
from feedback.records import EscalationIn
from feedback.settings import FeedbackSettings
from feedback.spool import Spool
from feedback.store import FeedbackStore, UnknownEscalation
from tests.feedback.conftest import make_interaction

CONTACT = "derek.customer@example.org"
NOW = datetime(2025, 6, 1, 9, tzinfo=UTC)


def test_migration_0003_maps_statuses_and_keeps_rows(db_url: str) -> None:
    """Rows written under 0002 (open / in_progress / resolved / dismissed) read back as new / assigned /
    resolved / dismissed, with empty contact, assignee and conversation."""
    upgrade(db_url, "0002")
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            for n, status in enumerate(("open", "in_progress", "resolved", "dismissed")):
                connection.execute(
                    text(
                        "INSERT INTO escalations (id, tenant, interaction_id, reason, queue, status, actor, "
                        "created_at, updated_at) VALUES (:id, 'acme', NULL, 'r', 'support', :status, '', :at, :at)"
                    ),
                    {"id": f"00000000-0000-4000-8000-00000000000{n}", "status": status, "at": NOW},
                )
        assert upgrade(engine).after == "0003"
        store = FeedbackStore(engine)
        found = store.list_escalations("acme").items
        assert sorted(e.status for e in found) == ["assigned", "dismissed", "new", "resolved"]
        assert all(e.contact == "" and e.assignee == "" and e.conversation_id == "" for e in found)
        assert store.list_escalations("acme", status="open").total == 1, "an earlier status name still filters"
    finally:
        engine.dispose()


def test_conversation_is_built_from_the_tenants_recorded_interactions(store: FeedbackStore) -> None:
    conversation = uuid4().hex
    first = make_interaction("acme", channel="widget", created_at=NOW)
    second = make_interaction("acme", channel="widget", created_at=NOW + timedelta(minutes=2))
    first = first.model_copy(update={"conversation_id": conversation})
    second = second.model_copy(update={"conversation_id": conversation, "question": "And for PayPal?"})
    # Same conversation id, another tenant: never part of acme's conversation. A shadow answer: never shown.
    foreign = make_interaction("globex", channel="widget").model_copy(update={"conversation_id": conversation})
    shadow = make_interaction("acme", channel="widget").model_copy(
        update={"conversation_id": conversation, "shadow_of": first.id}
    )
    for item in (first, second, foreign, shadow):
        store.record_interaction(item)
    turns = store.conversation("acme", conversation_id=conversation)
    assert [(t.role, t.text) for t in turns] == [
        ("customer", first.question),
        ("assistant", first.answer),
        ("customer", "And for PayPal?"),
        ("assistant", second.answer),
    ]
    assert turns[1].sources == (
        ("Refund policy 1", "https://help.example.com/acme/refunds-1"),
        ("Refund policy 2", "https://help.example.com/acme/refunds-2"),
    )
    assert store.conversation("globex", conversation_id=conversation)[0].interaction_id == foreign.id
    # Without a conversation id: the one interaction; another tenant's interaction id: nothing.
    assert store.conversation("acme", interaction_id=second.id)[0].text == "And for PayPal?"
    assert store.conversation("acme", interaction_id=foreign.id) == []


def test_assignee_and_status_changes_are_audited_and_tenant_bound(store: FeedbackStore) -> None:
    item = make_interaction("acme", channel="widget")
    store.record_interaction(item)
    escalation = EscalationIn(
        tenant="acme", interaction_id=item.id, reason="widget: customer asked", channel="widget", contact=CONTACT
    )
    store.record_escalation(escalation)
    assert CONTACT not in repr(escalation) and CONTACT not in str(escalation), "the contact never shows in a repr"
    taken = store.update_escalation(escalation.id, tenant="acme", actor="console:ava", assignee="ava")
    assert (taken.status, taken.assignee, taken.contact) == ("assigned", "ava", CONTACT)
    done = store.update_escalation(escalation.id, tenant="acme", actor="console:ava", status="resolved")
    assert (done.status, done.assignee) == ("resolved", "ava")
    with pytest.raises(UnknownEscalation):
        store.update_escalation(escalation.id, tenant="globex", actor="console:ben", status="new")
    with pytest.raises(ValueError, match="unknown escalation status"):
        store.update_escalation(escalation.id, tenant="acme", actor="console:ava", status="closed")
    events = [e for e in store.list_audit_events("acme").items if e.target == f"escalation:{escalation.id}"]
    details = [json.loads(e.details) for e in reversed(events)]
    assert [e.action for e in reversed(events)] == [
        "escalation.created",
        "escalation.updated",
        "escalation.status_changed",
    ]
    assert details[1] == {"from": "new", "to": "assigned", "assignee_from": "", "assignee_to": "ava"}
    assert details[2] == {"from": "assigned", "to": "resolved"}
    assert all(CONTACT not in e.details for e in events), "the audit log is kept forever: never the contact"
    assert events[0].actor == "console:ava"


@pytest.mark.parametrize("mode", ["anonymize", "delete"])
def test_retention_removes_the_contact(store: FeedbackStore, settings: FeedbackSettings, mode: str) -> None:
    """An old escalation loses its contact (and reason, actor, assignee) or goes entirely; a new one keeps it;
    a spooled old escalation loses its contact too."""
    old, new = (make_interaction("acme", channel="widget", created_at=NOW - timedelta(days=d)) for d in (40, 1))
    ids = []
    for item in (old, new):
        store.record_interaction(item)
        escalation = EscalationIn(
            tenant="acme",
            interaction_id=item.id,
            reason="widget: customer asked",
            channel="widget",
            contact=CONTACT,
            assignee="ava",
            created_at=item.created_at,
        )
        store.record_escalation(escalation)
        ids.append(escalation.id)
    spooled = EscalationIn(
        tenant="acme", reason="widget", channel="widget", contact=CONTACT, created_at=NOW - timedelta(days=40)
    )
    spool = Spool.from_settings(settings)
    spool.append(spooled, "test: database down")
    configured = settings.model_copy(update={"retention_days": {"acme": 30}, "retention_mode": mode})
    retention.apply(store, configured, NOW)
    retention.purge_at_rest(configured, NOW)
    gone = store.get_escalation(ids[0], "acme")
    if mode == "delete":
        assert gone is None
    else:
        assert gone is not None and (gone.contact, gone.reason, gone.assignee, gone.actor) == ("", "", "", "")
    kept = store.get_escalation(ids[1], "acme")
    assert kept is not None and kept.contact == CONTACT
    path = spool.path("escalation")
    assert not path.exists() or CONTACT not in path.read_text(encoding="utf-8")
