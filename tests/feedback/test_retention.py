"""Per-tenant retention: old rows deleted or anonymized, newer ones and other tenants untouched, audited."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from feedback import retention
from feedback.audit import verify
from feedback.models import FeedbackReasonRow
from feedback.records import EditIn, EscalationIn, FeedbackIn
from feedback.settings import FeedbackSettings
from feedback.store import FeedbackStore
from tests.feedback.conftest import make_interaction

NOW = datetime(2025, 6, 1, 9, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    """Ids of what the fixture stored."""

    acme_old: UUID
    acme_new: UUID
    acme_loose_escalation: UUID
    globex_old: UUID
    initech_old: UUID
    initech_new: UUID


def _configure(settings: FeedbackSettings, mode: str) -> FeedbackSettings:
    # acme keeps 30 days, globex forever, initech the default 365.
    return settings.model_copy(
        update={"retention_days": {"acme": 30, "globex": 0}, "retention_default_days": 365, "retention_mode": mode}
    )


def _interaction_with_children(store: FeedbackStore, tenant: str, age_days: int) -> UUID:
    at = NOW - timedelta(days=age_days)
    item = make_interaction(tenant, created_at=at)
    store.record_interaction(item)
    store.record_feedback(
        FeedbackIn(
            tenant=tenant,
            interaction_id=item.id,
            thumbs="down",
            reason_codes=("missing_info",),
            comment="Customer jane@example.com says this is wrong",
            reviewer="agent-17",
            created_at=at,
        )
    )
    store.record_edit(
        EditIn(tenant=tenant, interaction_id=item.id, draft="kitten", sent="sitting", editor="agent-17", created_at=at)
    )
    store.record_escalation(
        EscalationIn(
            tenant=tenant, interaction_id=item.id, reason="Customer Jane is upset", actor="agent-17", created_at=at
        )
    )
    return item.id


@pytest.fixture()
def world(store: FeedbackStore) -> World:
    loose = EscalationIn(tenant="acme", reason="Phone call from Jane", created_at=NOW - timedelta(days=31))
    store.record_escalation(loose)
    return World(
        acme_old=_interaction_with_children(store, "acme", 31),
        acme_new=_interaction_with_children(store, "acme", 29),
        acme_loose_escalation=loose.id,
        globex_old=_interaction_with_children(store, "globex", 900),
        initech_old=_interaction_with_children(store, "initech", 366),
        initech_new=_interaction_with_children(store, "initech", 364),
    )


def _retention_events(store: FeedbackStore) -> dict[str, dict[str, object]]:
    events = store.list_audit_events(None, action="retention.applied").items
    return {e.tenant: json.loads(e.details) for e in events}


def test_delete_mode(store: FeedbackStore, settings: FeedbackSettings, world: World) -> None:
    audit_rows = store.list_audit_events(None).total
    report = retention.apply(store, _configure(settings, "delete"), NOW)
    by_tenant = {t.tenant: t for t in report.tenants}
    assert report.skipped == ("globex",) and set(by_tenant) == {"acme", "initech"}
    acme = by_tenant["acme"]
    assert (acme.interactions, acme.feedback, acme.edits, acme.escalations) == (1, 1, 1, 2)
    assert acme.cutoff == NOW - timedelta(days=30) and acme.mode == "delete"
    initech = by_tenant["initech"]
    assert (initech.interactions, initech.feedback, initech.edits, initech.escalations) == (1, 1, 1, 1)

    assert store.get_interaction(world.acme_old, "acme") is None
    assert store.get_interaction(world.initech_old, "initech") is None
    assert store.get_escalation(world.acme_loose_escalation, "acme") is None
    for kept, tenant in ((world.acme_new, "acme"), (world.initech_new, "initech"), (world.globex_old, "globex")):
        assert store.get_interaction(kept, tenant) is not None
        assert store.list_feedback(tenant, interaction_id=kept).total == 1
        assert store.list_edits(tenant, interaction_id=kept).total == 1
    assert store.list_escalations("acme").total == 1 and store.list_escalations("globex").total == 1
    with Session(store.engine) as session:
        assert session.scalar(select(func.count()).select_from(FeedbackReasonRow)) == 3

    events = _retention_events(store)
    assert events["acme"] == {
        "mode": "delete",
        "days": 30,
        "cutoff": (NOW - timedelta(days=30)).isoformat(),
        "interactions": 1,
        "feedback": 1,
        "edits": 1,
        "escalations": 2,
    }
    assert set(events) == {"acme", "initech"}
    # Retention never touches the audit log: every earlier event is still there and the chain holds.
    assert store.list_audit_events(None).total == audit_rows + 2
    assert verify(store.engine).ok


def test_anonymize_mode_keeps_the_numbers(store: FeedbackStore, settings: FeedbackSettings, world: World) -> None:
    before = store.counts("acme")
    report = retention.apply(store, _configure(settings, "anonymize"), NOW)
    acme = next(t for t in report.tenants if t.tenant == "acme")
    assert (acme.interactions, acme.feedback, acme.edits, acme.escalations) == (1, 1, 1, 2)

    old = store.get_interaction(world.acme_old, "acme")
    assert old is not None and old.anonymized_at is not None and old.anonymized_at > NOW
    assert (old.question, old.answer, old.actor, old.trace_id) == ("", "", "", "")
    assert old.confidence == 0.82 and old.source_ids == ("chunk-acme-1", "chunk-acme-2")
    assert old.latency_ms["total"] == 18.0 and old.prompt_tokens == 120 and old.cost_usd == 0.0004
    [vote] = store.list_feedback("acme", interaction_id=world.acme_old).items
    assert (vote.comment, vote.reviewer, vote.thumbs, vote.reason_codes) == ("", "", "down", ("missing_info",))
    [edit] = store.list_edits("acme", interaction_id=world.acme_old).items
    assert (edit.draft, edit.sent, edit.editor, edit.distance) == ("", "", "", 3)
    loose = store.get_escalation(world.acme_loose_escalation, "acme")
    assert loose is not None and (loose.reason, loose.actor, loose.status) == ("", "", "open")

    new = store.get_interaction(world.acme_new, "acme")
    assert new is not None and new.anonymized_at is None and new.question.startswith("How long")
    globex = store.get_interaction(world.globex_old, "globex")
    assert globex is not None and globex.anonymized_at is None and globex.actor == "agent-17"
    assert store.counts("acme") == before, "dashboards count the same after anonymizing"

    again = retention.apply(store, _configure(settings, "anonymize"), NOW)
    acme_again = next(t for t in again.tenants if t.tenant == "acme")
    assert (acme_again.interactions, acme_again.feedback, acme_again.edits, acme_again.escalations) == (0, 0, 0, 0)
    assert verify(store.engine).ok


def test_dry_run_changes_nothing(store: FeedbackStore, settings: FeedbackSettings, world: World) -> None:
    audit_rows = store.list_audit_events(None).total
    report = retention.apply(store, _configure(settings, "delete"), NOW, dry_run=True)
    assert report.dry_run and next(t for t in report.tenants if t.tenant == "acme").interactions == 1
    assert store.get_interaction(world.acme_old, "acme") is not None
    assert store.list_audit_events(None).total == audit_rows


def test_configured_run_uses_the_settings(settings: FeedbackSettings, world: World) -> None:
    report = retention.apply_configured(_configure(settings, "delete"), NOW)
    assert {t.tenant: t.interactions for t in report.tenants} == {"acme": 1, "initech": 1}


def test_retention_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKPILOT_RETENTION_DAYS", '{"acme": 30, "globex": 0}')
    monkeypatch.setenv("DESKPILOT_RETENTION_MODE", "delete")
    settings = FeedbackSettings()
    assert (settings.retention_for("acme"), settings.retention_for("globex"), settings.retention_for("x")) == (
        30,
        0,
        365,
    )
    monkeypatch.setenv("DESKPILOT_RETENTION_DAYS", '{"acme": -1}')
    with pytest.raises(ValidationError, match="DESKPILOT_RETENTION_DAYS"):
        FeedbackSettings()
