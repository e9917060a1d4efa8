"""Per-tenant retention: `deskpilot retention apply` deletes or anonymizes what is older than the tenant's limit.

Anonymizing blanks every text a person wrote or that may quote one (question, answer, comments, drafts,
sent replies, escalation reasons), the customer's contact an escalation carries, and every actor and assignee, and keeps the numbers the dashboards need (confidence,
votes, reason codes, edit ratios, latency, tokens, cost, versions, source ids). The audit log is never
touched; each tenant's run is itself recorded there, in the same transaction as the change. On SQLite the
file is then compacted (WAL checkpoint, VACUUM), so the old text does not linger in free pages or the WAL.

The same run covers what rests in the data dir (:func:`purge_at_rest`):

- the ingest cache: entries of source files that no longer exist (their documents left the index at the
  sync of their folder), and the caches of earlier versions, which held text from before redaction;
- the feedback spool: writes waiting for the database that are older than their tenant's limit are deleted
  or anonymized like the rows they would become, and rejected entries older than it are removed;
- log and trace files (``<data dir>/logs/``, ``<data dir>/traces/``, ``<data dir>/*.log*``) older than the
  shortest retention of any tenant. deskpilot itself logs to stderr and traces to Langfuse; these are where
  an operator's redirected logs or exported traces are expected.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Engine, Executable, Select, and_, delete, or_, select, text, union, update
from sqlalchemy.orm import Session

from feedback import audit
from feedback.models import EditRow, EscalationRow, FeedbackReasonRow, FeedbackRow, InteractionRow, reader
from feedback.records import RetentionReport, TenantRetention, utcnow
from feedback.settings import FeedbackSettings
from feedback.spool import SPOOL_KINDS, Spool
from feedback.store import FeedbackStore
from ingest.cache import SourceCache

log = logging.getLogger(__name__)

ACTOR = "system:retention"
LOG_DIRS = ("logs", "traces")
"""Folders of the data dir whose files are logs or traces, removed by age."""
LOG_PATTERNS = ("*.log", "*.log.*")
"""Log files directly in the data dir (e.g. ``serve.log``, ``serve.log.1``), removed by age."""
# What anonymizing blanks in a spooled record, per kind; an escalation needs a non-empty reason.
_SPOOL_TEXTS: dict[str, dict[str, str]] = {
    "interaction": {"question": "", "answer": "", "actor": "", "trace_id": ""},
    "feedback": {"comment": "", "reviewer": ""},
    "edit": {"draft": "", "sent": "", "editor": ""},
    "escalation": {"reason": "(anonymized)", "actor": "", "contact": "", "assignee": ""},
}


@dataclass(frozen=True)
class AtRestReport:
    """What retention removed (or, in a dry run, would remove) from the data dir."""

    cache_sources: int = 0
    """Source files whose ingest-cache entries were removed (the file no longer exists)."""
    cache_entries: int = 0
    legacy_cache_files: int = 0
    """Files of an earlier cache version (which held text before redaction)."""
    spool_deleted: int = 0
    spool_anonymized: int = 0
    spool_rejected_removed: int = 0
    log_files: int = 0
    """Log and trace files older than the shortest retention."""


def _run(session: Session, statement: Executable) -> int:
    """Execute a bulk DELETE/UPDATE without syncing the session (nothing is loaded) and return its row count."""
    result = session.execute(statement, execution_options={"synchronize_session": False})
    return int(getattr(result, "rowcount", 0) or 0)


def _sqlite_secure_delete(session: Session) -> None:
    """On SQLite, zero what this session deletes or overwrites instead of leaving it in free space."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete=ON"))


def compact_sqlite(engine: Engine) -> bool:
    """Rewrite a SQLite store without its free pages and empty its WAL, so no old text lingers in the files;
    False (and a warning) when another connection holds it busy. Other databases are left alone."""
    if engine.dialect.name != "sqlite":
        return False
    # On the driver's connection: the store's engine opens a transaction for every statement it runs, and
    # neither VACUUM nor a checkpoint runs inside one.
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            for statement in ("PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"):
                cursor.execute(statement)
                cursor.fetchall()
        finally:
            cursor.close()
    except sqlite3.Error as exc:
        log.warning("retention: could not compact the SQLite store (%s); run `deskpilot retention apply` again", exc)
        return False
    finally:
        connection.close()
    return True


def _tenants(session: Session) -> list[str]:
    query = union(select(InteractionRow.tenant), select(EscalationRow.tenant))
    return sorted(str(t) for t in session.scalars(select(query.subquery().c[0])))


def _apply_tenant(session: Session, tenant: str, days: int, cutoff: datetime, mode: str) -> TenantRetention:
    old: Select[str] = select(InteractionRow.id).where(
        InteractionRow.tenant == tenant, InteractionRow.created_at < cutoff
    )
    if mode == "anonymize":
        old = old.where(InteractionRow.anonymized_at.is_(None))
    # Escalations not tied to an interaction age on their own clock.
    loose_escalation: ColumnElement[bool] = and_(
        EscalationRow.interaction_id.is_(None), EscalationRow.created_at < cutoff
    )
    escalations_scope = and_(
        EscalationRow.tenant == tenant, or_(EscalationRow.interaction_id.in_(old), loose_escalation)
    )
    feedback_scope = and_(FeedbackRow.tenant == tenant, FeedbackRow.interaction_id.in_(old))
    edits_scope = and_(EditRow.tenant == tenant, EditRow.interaction_id.in_(old))

    if mode == "delete":
        _run(
            session,
            delete(FeedbackReasonRow).where(
                FeedbackReasonRow.feedback_id.in_(select(FeedbackRow.id).where(feedback_scope))
            ),
        )
        feedback = _run(session, delete(FeedbackRow).where(feedback_scope))
        edits = _run(session, delete(EditRow).where(edits_scope))
        escalations = _run(session, delete(EscalationRow).where(escalations_scope))
        interactions = _run(session, delete(InteractionRow).where(InteractionRow.id.in_(old)))
    else:
        # Children first: their scope is "interactions not yet anonymized", which the last update changes.
        feedback = _run(session, update(FeedbackRow).where(feedback_scope).values(comment="", reviewer=""))
        edits = _run(session, update(EditRow).where(edits_scope).values(draft="", sent="", editor=""))
        escalations = _run(
            session,
            update(EscalationRow)
            .where(
                escalations_scope,
                or_(
                    EscalationRow.reason != "",
                    EscalationRow.actor != "",
                    EscalationRow.contact != "",
                    EscalationRow.assignee != "",
                ),
            )
            .values(reason="", actor="", contact="", assignee=""),
        )
        interactions = _run(
            session,
            update(InteractionRow)
            .where(InteractionRow.id.in_(old))
            .values(question="", answer="", actor="", trace_id="", anonymized_at=utcnow()),
        )
    report = TenantRetention(
        tenant=tenant,
        days=days,
        cutoff=cutoff,
        mode=mode,  # type: ignore[arg-type]
        interactions=interactions,
        feedback=feedback,
        edits=edits,
        escalations=escalations,
    )
    audit.append(
        session,
        actor=ACTOR,
        action="retention.applied",
        tenant=tenant,
        target=f"tenant:{tenant}",
        details={
            "mode": mode,
            "days": days,
            "cutoff": cutoff.isoformat(),
            "interactions": interactions,
            "feedback": feedback,
            "edits": edits,
            "escalations": escalations,
        },
    )
    return report


def apply(
    store: FeedbackStore, settings: FeedbackSettings, now: datetime | None = None, *, dry_run: bool = False
) -> RetentionReport:
    """Apply every tenant's retention as of ``now`` (cutoff = now - days), one transaction per tenant.

    ``dry_run`` computes the exact counts and rolls everything back. Tenants whose retention is 0 days
    are kept forever and listed as skipped.
    """
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("retention needs a timezone-aware `now`")
    with Session(reader(store.engine)) as session:
        tenants = _tenants(session)
    done: list[TenantRetention] = []
    skipped: list[str] = []
    for tenant in tenants:
        days = settings.retention_for(tenant)
        if days == 0:
            skipped.append(tenant)
            continue
        with Session(store.engine) as session:
            # Leaving the block without a commit rolls back: an error, or a dry run.
            _sqlite_secure_delete(session)
            report = _apply_tenant(session, tenant, days, now - timedelta(days=days), settings.retention_mode)
            if not dry_run:
                session.commit()
        done.append(report)
        log.info(
            "retention %s tenant=%s mode=%s interactions=%d feedback=%d edits=%d escalations=%d",
            "dry-run" if dry_run else "applied",
            tenant,
            report.mode,
            report.interactions,
            report.feedback,
            report.edits,
            report.escalations,
        )
    changed = any(t.interactions or t.feedback or t.edits or t.escalations for t in done)
    if changed and not dry_run:
        compact_sqlite(store.engine)
    return RetentionReport(now=now, dry_run=dry_run, tenants=tuple(done), skipped=tuple(skipped))


def apply_configured(
    settings: FeedbackSettings, now: datetime | None = None, *, dry_run: bool = False, at_rest: bool = True
) -> RetentionReport:
    """`deskpilot retention apply`: apply retention to the configured feedback database and, unless
    ``at_rest`` is false, to what rests in the data dir (:func:`purge_at_rest`, logged)."""
    with FeedbackStore.open(settings) as store:
        report = apply(store, settings, now, dry_run=dry_run)
    if at_rest:
        purge_at_rest(settings, report.now, dry_run=dry_run)
    return report


def purge_at_rest(settings: FeedbackSettings, now: datetime | None = None, *, dry_run: bool = False) -> AtRestReport:
    """Apply retention to the data dir: the ingest cache, the feedback spool, log and trace files."""
    now = now or utcnow()
    if now.tzinfo is None:
        raise ValueError("retention needs a timezone-aware `now`")
    cache = SourceCache(settings.data_dir / "cache")
    purged = cache.purge_missing(dry_run=dry_run) + cache.purge_legacy(dry_run=dry_run)
    deleted, anonymized, rejected = _spool(Spool.from_settings(settings), settings, now, dry_run)
    report = AtRestReport(
        cache_sources=purged.sources,
        cache_entries=purged.entries,
        legacy_cache_files=purged.legacy_files,
        spool_deleted=deleted,
        spool_anonymized=anonymized,
        spool_rejected_removed=rejected,
        log_files=_old_logs(settings, now, dry_run),
    )
    log.info(
        "retention %s at rest: ingest cache %d source(s) / %d entries, %d earlier-version cache file(s); "
        "spool %d deleted, %d anonymized, %d rejected removed; %d log/trace file(s)",
        "dry-run" if dry_run else "applied",
        report.cache_sources,
        report.cache_entries,
        report.legacy_cache_files,
        report.spool_deleted,
        report.spool_anonymized,
        report.spool_rejected_removed,
        report.log_files,
    )
    return report


def _cutoff(settings: FeedbackSettings, tenant: object, now: datetime) -> datetime | None:
    """The retention cutoff of ``tenant`` (the default for an unknown one); None = kept forever."""
    days = settings.retention_for(tenant) if isinstance(tenant, str) and tenant else settings.retention_default_days
    return now - timedelta(days=days) if days else None


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _spool(spool: Spool, settings: FeedbackSettings, now: datetime, dry_run: bool) -> tuple[int, int, int]:
    """Spooled writes older than their tenant's retention: deleted or anonymized (by the retention mode);
    rejected entries older than it: removed. Returns (deleted, anonymized, rejected removed)."""
    if not spool.directory.is_dir():
        return 0, 0, 0
    deleted = anonymized = rejected = 0
    with spool._locked():  # the spool's own lock: no append or replay runs meanwhile
        for kind in SPOOL_KINDS:
            kept: list[bytes] = []
            lines = _lines(spool.path(kind))
            for line in lines:
                entry = _json(line)
                record = entry.get("record") if isinstance(entry, dict) else None
                if not isinstance(record, dict):
                    kept.append(line)  # replay moves what it cannot read to the rejected file
                    continue
                cutoff = _cutoff(settings, record.get("tenant"), now)
                moment = _when(record.get("created_at")) or _when(entry.get("spooled_at"))
                if cutoff is None or moment is None or moment >= cutoff:
                    kept.append(line)
                elif settings.retention_mode == "delete":
                    deleted += 1
                else:
                    blanks = _SPOOL_TEXTS.get(kind, {})
                    if all(record.get(field, value) == value for field, value in blanks.items()):
                        kept.append(line)  # anonymized by an earlier run
                        continue
                    anonymized += 1
                    entry["record"] = {**record, **blanks}
                    kept.append(json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
            if kept != lines and not dry_run:
                _rewrite(spool.path(kind), kept)
            path = spool.rejected_path(kind)
            lines = _lines(path)
            fresh = [line for line in lines if not _expired_rejection(line, settings, now)]
            rejected += len(lines) - len(fresh)
            if len(fresh) != len(lines) and not dry_run:
                _rewrite(path, fresh)
    return deleted, anonymized, rejected


def _expired_rejection(line: bytes, settings: FeedbackSettings, now: datetime) -> bool:
    entry = _json(line)
    if not isinstance(entry, dict):
        return False
    spooled = _json(str(entry.get("line", "")).encode("utf-8"))
    record = spooled.get("record") if isinstance(spooled, dict) else None
    tenant = record.get("tenant") if isinstance(record, dict) else None
    cutoff = _cutoff(settings, tenant, now)
    moment = (_when(record.get("created_at")) if isinstance(record, dict) else None) or _when(entry.get("rejected_at"))
    return cutoff is not None and moment is not None and moment < cutoff


def _json(line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def _lines(path: Path) -> list[bytes]:
    try:
        return [line for line in path.read_bytes().split(b"\n") if line.strip()]
    except FileNotFoundError:
        return []


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


def _rewrite(path: Path, lines: list[bytes]) -> None:
    """Replace ``path`` with ``lines`` (fsynced, atomically), or remove it when none remain."""
    if not lines:
        path.unlink(missing_ok=True)
        return
    temporary = path.with_name(path.name + ".retention.tmp")
    with open(temporary, "wb", opener=_private) as handle:
        handle.write(b"".join(line + b"\n" for line in lines))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _old_logs(settings: FeedbackSettings, now: datetime, dry_run: bool) -> int:
    """Remove log and trace files older than the shortest retention of any tenant (logs mix tenants)."""
    limits = [d for d in (settings.retention_default_days, *settings.retention_days.values()) if d > 0]
    if not limits:
        return 0
    cutoff = (now - timedelta(days=min(limits))).timestamp()
    data_dir = settings.data_dir
    files = [p for name in LOG_DIRS for p in (data_dir / name).rglob("*")]
    files += [p for pattern in LOG_PATTERNS for p in data_dir.glob(pattern)]
    removed = 0
    for path in sorted(set(files)):
        try:
            if not path.is_file() or path.stat().st_mtime >= cutoff:
                continue
            if not dry_run:
                path.unlink()
        except OSError as exc:
            log.warning("retention: cannot remove %s: %s", path, exc)
            continue
        removed += 1
    return removed
