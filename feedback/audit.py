"""The append-only, hash-chained audit log: `append` inside the change's own transaction, `verify` the chain.

Each row stores the hash of the row before it (``prev_hash``) and its own ``row_hash`` =
sha256(prev_hash + canonical JSON of its fields, prev_hash included). Changing a field breaks the
row's hash; deleting or inserting a row breaks the next row's link and leaves a gap in ``seq``.
Deleting the newest rows leaves a valid shorter chain: pass a previously recorded head as
``anchor`` to catch that too. On PostgreSQL the database refuses UPDATE, DELETE and TRUNCATE.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from feedback.models import AuditEventRow, make_engine, reader
from feedback.records import AuditEventRecord, AuditProblem, AuditReport, utcnow
from feedback.settings import FeedbackSettings

GENESIS = "0" * 64
"""The ``prev_hash`` of the first row."""

# Serializes appends on PostgreSQL so two transactions never chain onto the same row; any constant will do.
_PG_LOCK_KEY = 0x64706661
_BATCH = 1000


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept, NaN refused."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(
    *, seq: int, at: datetime, actor: str, action: str, tenant: str, target: str, details: str, prev_hash: str
) -> str:
    """The hash a row with these fields must carry."""
    fields = {
        "seq": seq,
        "at": _timestamp(at),
        "actor": actor,
        "action": action,
        "tenant": tenant,
        "target": target,
        "details": details,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256((prev_hash + canonical_json(fields)).encode("utf-8")).hexdigest()


def record_of(row: AuditEventRow) -> AuditEventRecord:
    """The typed record of a stored audit row."""
    return AuditEventRecord(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        tenant=row.tenant,
        target=row.target,
        details=row.details,
        prev_hash=row.prev_hash,
        row_hash=row.row_hash,
    )


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    tenant: str,
    target: str,
    details: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEventRecord:
    """Append one event in ``session``'s transaction, so it commits or rolls back with the change it records.

    ``actor`` must be a pseudonymous id (user id, API key id, ``system:<job>``), never an email or a name:
    the audit log outlives retention. ``details`` hold ids and counts, never free text.
    """
    for name, value, limit in (("actor", actor, 256), ("action", action, 64), ("tenant", tenant, 128)):
        if not value or len(value) > limit:
            raise ValueError(f"audit event {name} must be 1..{limit} characters, got {len(value)}")
    if len(target) > 256:
        raise ValueError(f"audit event target must be at most 256 characters, got {len(target)}")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    last = session.execute(
        select(AuditEventRow.seq, AuditEventRow.row_hash).order_by(AuditEventRow.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last.seq + 1, last.row_hash) if last is not None else (1, GENESIS)
    when = (at or utcnow()).astimezone(UTC)
    body = canonical_json(dict(details or {}))
    row = AuditEventRow(
        seq=seq,
        at=when,
        actor=actor,
        action=action,
        tenant=tenant,
        target=target,
        details=body,
        prev_hash=prev_hash,
        row_hash=row_hash(
            seq=seq,
            at=when,
            actor=actor,
            action=action,
            tenant=tenant,
            target=target,
            details=body,
            prev_hash=prev_hash,
        ),
    )
    session.add(row)
    session.flush()
    return record_of(row)


def verify(engine: Engine, anchor: tuple[int, str] | None = None) -> AuditReport:
    """Walk the whole chain and report every altered row, broken link and gap.

    ``anchor`` is a ``(seq, row_hash)`` recorded earlier (e.g. from a previous report's head): the chain
    must still contain that row with that hash, which catches deletion of the newest rows.
    """
    problems: list[AuditProblem] = []
    prev_seq, prev_hash, rows = 0, GENESIS, 0
    anchor_seen = False
    with Session(reader(engine)) as session:
        while True:
            batch = session.scalars(
                select(AuditEventRow).where(AuditEventRow.seq > prev_seq).order_by(AuditEventRow.seq).limit(_BATCH)
            ).all()
            if not batch:
                break
            for row in batch:
                rows += 1
                if row.seq != prev_seq + 1:
                    missing = f"{prev_seq + 1}" if row.seq == prev_seq + 2 else f"{prev_seq + 1}..{row.seq - 1}"
                    problems.append(
                        AuditProblem(seq=row.seq, kind="gap", message=f"row(s) {missing} missing before row {row.seq}")
                    )
                if row.prev_hash != prev_hash:
                    problems.append(
                        AuditProblem(
                            seq=row.seq,
                            kind="broken_link",
                            message=f"row {row.seq} does not chain onto row {prev_seq}: a row was deleted, "
                            "inserted or re-hashed before it",
                        )
                    )
                expected = row_hash(
                    seq=row.seq,
                    at=row.at,
                    actor=row.actor,
                    action=row.action,
                    tenant=row.tenant,
                    target=row.target,
                    details=row.details,
                    prev_hash=row.prev_hash,
                )
                if expected != row.row_hash:
                    problems.append(
                        AuditProblem(
                            seq=row.seq, kind="altered", message=f"row {row.seq} was altered: its hash does not match"
                        )
                    )
                if anchor is not None and row.seq == anchor[0]:
                    anchor_seen = True
                    if row.row_hash != anchor[1]:
                        problems.append(
                            AuditProblem(
                                seq=row.seq,
                                kind="altered",
                                message=f"row {row.seq} does not match the anchor hash recorded earlier",
                            )
                        )
                prev_seq, prev_hash = row.seq, row.row_hash
            session.expunge_all()
    if anchor is not None and not anchor_seen:
        problems.append(
            AuditProblem(
                seq=anchor[0],
                kind="truncated",
                message=f"the anchor row {anchor[0]} is gone (the log ends at row {prev_seq}): newest rows were deleted",
            )
        )
    return AuditReport(rows=rows, head_seq=prev_seq, head_hash=prev_hash, problems=tuple(problems))


def verify_database(settings: FeedbackSettings, anchor: tuple[int, str] | None = None) -> AuditReport:
    """`deskpilot audit verify`: verify the chain of the configured feedback database."""
    engine = make_engine(settings.resolved_database_url(), settings.feedback_db_timeout_s)
    try:
        return verify(engine, anchor)
    finally:
        engine.dispose()
