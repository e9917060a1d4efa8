"""Per-tenant retention: old rows deleted or anonymized, newer ones and other tenants untouched, audited."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from feedback import retention
from feedback.audit import verify
from feedback.models import FeedbackReasonRow
from feedback.records import EditIn, EscalationIn, FeedbackIn, Kind
from feedback.settings import FeedbackSettings
from feedback.spool import Spool, SpoolRecord
from feedback.store import FeedbackStore
from ingest.cache import SourceCache
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
    assert loose is not None and (loose.reason, loose.actor, loose.status) == ("", "", "new")

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


# --- what rests in the data dir: ingest cache, spool, logs; and the SQLite file itself ---------------------

OLD_COMMENT = "Call Rosalind Quennell on +44 20 7946 0311 about it"


def _at_rest_settings(tmp_path: Path, mode: str = "delete") -> FeedbackSettings:
    return FeedbackSettings(
        data_dir=tmp_path / "state",
        feedback_database_url=f"sqlite:///{tmp_path / 'state' / 'feedback.db'}",
        feedback_auto_upgrade=True,
        retention_days={"acme": 30, "globex": 0},
        retention_default_days=365,
        retention_mode=mode,
    )


def _sqlite_bytes(settings: FeedbackSettings) -> bytes:
    return b"".join(p.read_bytes() for p in settings.data_dir.glob("feedback.db*"))


@pytest.mark.parametrize("mode", ["delete", "anonymize"])
def test_old_text_does_not_linger_in_the_sqlite_files(tmp_path: Path, mode: str) -> None:
    settings = _at_rest_settings(tmp_path, mode)
    with FeedbackStore.open(settings) as store:
        old = make_interaction("acme", created_at=NOW - timedelta(days=40))
        store.record_interaction(old)
        store.record_feedback(
            FeedbackIn(
                tenant="acme", interaction_id=old.id, thumbs="down", comment=OLD_COMMENT, created_at=old.created_at
            )
        )
        assert OLD_COMMENT.encode() in _sqlite_bytes(settings)
        report = retention.apply(store, settings, NOW)
        assert next(t for t in report.tenants if t.tenant == "acme").feedback == 1
        assert OLD_COMMENT.encode() not in _sqlite_bytes(settings), "no copy left in free pages or the WAL"
        assert verify(store.engine).ok


def _spool_entries(spool: Spool, kind: Kind) -> list[dict[str, Any]]:
    path = spool.path(kind)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


@pytest.mark.parametrize("mode", ["delete", "anonymize"])
def test_spooled_writes_age_like_the_rows_they_become(tmp_path: Path, mode: str) -> None:
    settings = _at_rest_settings(tmp_path, mode)
    spool = Spool.from_settings(settings)
    with FeedbackStore.open(settings) as store:
        parents = {age: make_interaction("acme", created_at=NOW - timedelta(days=age)) for age in (40, 10)}
        for parent in parents.values():
            store.record_interaction(parent)
        kept_forever = make_interaction("globex", created_at=NOW - timedelta(days=900))
        store.record_interaction(kept_forever)
    writes: list[SpoolRecord] = [
        *(
            FeedbackIn(
                tenant="acme",
                interaction_id=p.id,
                thumbs="down",
                comment=OLD_COMMENT,
                reviewer="agent-17",
                created_at=p.created_at,
            )
            for p in parents.values()
        ),
        EscalationIn(tenant="acme", reason=OLD_COMMENT, actor="agent-17", created_at=NOW - timedelta(days=40)),
        FeedbackIn(
            tenant="globex",
            interaction_id=kept_forever.id,
            thumbs="up",
            comment=OLD_COMMENT,
            created_at=kept_forever.created_at,
        ),
    ]
    for write in writes:
        spool.append(write, "OperationalError")
    # Entries replay could never store, kept for a person to read: they age like the rest.
    lines = [
        json.dumps({"v": 1, "kind": "edit", "record": {"tenant": tenant, "sent": OLD_COMMENT}})
        for tenant in ("acme", "initech")
    ]
    rejected = [
        json.dumps({"rejected_at": (NOW - timedelta(days=40)).isoformat(), "why": "?", "line": x}) for x in lines
    ]
    spool.rejected_path("edit").write_text("\n".join(rejected) + "\n", encoding="utf-8")

    dry = retention.purge_at_rest(settings, NOW, dry_run=True)
    assert (dry.spool_deleted + dry.spool_anonymized, dry.spool_rejected_removed) == (2, 1)
    assert len(_spool_entries(spool, "feedback")) == 3, "a dry run changes nothing"

    report = retention.purge_at_rest(settings, NOW)
    votes = {
        e["record"]["tenant"] + str(e["record"]["created_at"])[:10]: e["record"]
        for e in _spool_entries(spool, "feedback")
    }
    escalations = [e["record"] for e in _spool_entries(spool, "escalation")]
    assert [json.loads(line)["line"] for line in spool.rejected_path("edit").read_text().splitlines()] == lines[1:]
    recent = votes[f"acme{(NOW - timedelta(days=10)).date()}"]
    assert (
        recent["comment"] == OLD_COMMENT
        and votes[f"globex{(NOW - timedelta(days=900)).date()}"]["comment"] == OLD_COMMENT
    )
    if mode == "delete":
        assert (report.spool_deleted, report.spool_anonymized) == (2, 0)
        assert len(votes) == 2 and not escalations
    else:
        assert (report.spool_deleted, report.spool_anonymized) == (0, 2)
        old = votes[f"acme{(NOW - timedelta(days=40)).date()}"]
        assert (old["comment"], old["reviewer"], old["thumbs"]) == ("", "", "down")
        assert escalations[0]["reason"] == "(anonymized)" and escalations[0]["actor"] == ""
        again = retention.purge_at_rest(settings, NOW)
        assert (again.spool_deleted, again.spool_anonymized) == (0, 0)
    with FeedbackStore.open(settings) as store:
        replayed = spool.replay(store)
        assert replayed.rejected == 0 and replayed.remaining == 0, "what retention leaves in the spool still replays"


def test_caches_of_removed_sources_and_old_logs_go(tmp_path: Path) -> None:
    settings = _at_rest_settings(tmp_path)
    data_dir = settings.data_dir
    kept = tmp_path / "kept.md"
    kept.write_text("# kept", encoding="utf-8")
    cache = SourceCache(data_dir / "cache")
    cache.put(str(kept), "k", {"documents": []})
    cache.put(str(tmp_path / "deleted.md"), "d", {"documents": []})
    legacy = data_dir / "cache" / "documents" / "ab"
    legacy.mkdir(parents=True)
    (legacy / "ab12.json").write_text('{"documents": []}', encoding="utf-8")
    old_day = (NOW - timedelta(days=31)).timestamp()
    logs = {
        "logs/serve.log": old_day,
        "logs/2025/serve.log.1": old_day,
        "traces/answer.jsonl": old_day,
        "console.log": old_day,
        "logs/today.log": NOW.timestamp(),
        "flags.json": old_day,
    }
    for name, when in logs.items():
        path = data_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x", encoding="utf-8")
        os.utime(path, (when, when))

    dry = retention.purge_at_rest(settings, NOW, dry_run=True)
    assert (dry.cache_sources, dry.legacy_cache_files, dry.log_files) == (1, 1, 4)
    assert cache.entries() == 2 and (data_dir / "logs" / "serve.log").exists()

    report = retention.purge_at_rest(settings, NOW)
    assert (report.cache_sources, report.cache_entries, report.legacy_cache_files, report.log_files) == (1, 1, 1, 4)
    assert [s for s, _ in cache.sources()] == [str(kept)] and not (data_dir / "cache" / "documents").exists()
    left = sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file() and "cache" not in p.parts)
    assert left == ["flags.json", "logs/today.log"], "logs within the shortest retention (acme: 30 days) stay"

    forever = settings.model_copy(update={"retention_days": {}, "retention_default_days": 0})
    assert retention.purge_at_rest(forever, NOW + timedelta(days=9999)).log_files == 0


def test_retention_apply_covers_the_data_dir(tmp_path: Path) -> None:
    settings = _at_rest_settings(tmp_path)
    cache = SourceCache(settings.data_dir / "cache")
    cache.put(str(tmp_path / "deleted.md"), "d", {"documents": []})
    retention.apply_configured(settings, NOW)
    assert cache.entries() == 0
    cache.put(str(tmp_path / "deleted.md"), "d", {"documents": []})
    retention.apply_configured(settings, NOW, at_rest=False)
    assert cache.entries() == 1
