"""The hash-chained audit log: every tampering is found; PostgreSQL itself refuses changes."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from feedback import audit
from feedback.models import AuditEventRow
from feedback.records import AuditReport, FeedbackIn
from feedback.settings import FeedbackSettings
from feedback.store import FeedbackStore
from tests.feedback.conftest import is_pg, make_interaction

ROWS = 5


@pytest.fixture()
def chained(store: FeedbackStore) -> FeedbackStore:
    """A store whose audit log holds ROWS events."""
    _append(store, ROWS)
    return store


def _append(store: FeedbackStore, rows: int) -> None:
    for n in range(rows):
        with Session(store.engine) as session, session.begin():
            audit.append(
                session,
                actor=f"admin-{n}",
                action="test.event",
                tenant="acme" if n % 2 else "globex",
                target=f"thing:{n}",
                details={"n": n, "note": "naïve ✓"},
            )


@contextmanager
def tampering(store: FeedbackStore) -> Iterator[Connection]:
    """A raw connection to change the audit table; on PostgreSQL the superuser switches the guard triggers off."""
    with store.engine.begin() as connection:
        if is_pg(store.engine):
            connection.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
        yield connection
        if is_pg(store.engine):
            connection.exec_driver_sql("ALTER TABLE audit_events ENABLE TRIGGER USER")


def _kinds(report: AuditReport) -> list[tuple[int, str]]:
    return [(p.seq, p.kind) for p in report.problems]


def test_clean_chain_verifies(chained: FeedbackStore, settings: FeedbackSettings) -> None:
    report = audit.verify_database(settings)
    assert report.ok and report.rows == ROWS and report.head_seq == ROWS and len(report.head_hash) == 64
    events = chained.list_audit_events(None).items
    assert [e.seq for e in events] == [5, 4, 3, 2, 1]
    assert all(e.prev_hash == p.row_hash for e, p in itertools.pairwise(events))
    assert events[-1].prev_hash == audit.GENESIS


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "'mallory'"),
        ("action", "'test.other'"),
        ("tenant", "'initech'"),
        ("target", "'thing:99'"),
        ("details", "'{\"n\":99}'"),
        ("prev_hash", "'" + "f" * 64 + "'"),
        ("row_hash", "'" + "e" * 64 + "'"),
    ],
)
def test_altering_any_field_of_any_row_is_detected(chained: FeedbackStore, column: str, value: str) -> None:
    for seq in range(1, ROWS + 1):
        original: Any = None
        with tampering(chained) as connection:
            original = connection.execute(
                text(f"SELECT {column} FROM audit_events WHERE seq = :s"), {"s": seq}
            ).scalar()
            connection.exec_driver_sql(f"UPDATE audit_events SET {column} = {value} WHERE seq = {seq}")
        found = _kinds(audit.verify(chained.engine))
        assert (seq, "altered") in found or (seq, "broken_link") in found, (column, seq, found)
        if column == "row_hash" and seq < ROWS:
            assert (seq + 1, "broken_link") in found
        with tampering(chained) as connection:
            connection.execute(text(f"UPDATE audit_events SET {column} = :v WHERE seq = :s"), {"v": original, "s": seq})
        assert audit.verify(chained.engine).ok


def test_altered_timestamp_is_detected(chained: FeedbackStore) -> None:
    with tampering(chained) as connection:
        at = connection.execute(select(AuditEventRow.at).where(AuditEventRow.seq == 2)).scalar_one()
        connection.execute(update(AuditEventRow).where(AuditEventRow.seq == 2).values(at=at + timedelta(seconds=1)))
    assert _kinds(audit.verify(chained.engine)) == [(2, "altered")]


def test_rehashed_row_breaks_the_next_link(chained: FeedbackStore) -> None:
    """A forger who recomputes the altered row's own hash still breaks the link from the row after it."""
    events = {e.seq: e for e in chained.list_audit_events(None).items}
    row = events[3]
    forged = audit.row_hash(
        seq=3, at=row.at, actor="mallory", action=row.action, tenant=row.tenant, target=row.target,
        details=row.details, prev_hash=row.prev_hash,
    )  # fmt: skip
    with tampering(chained) as connection:
        connection.execute(
            text("UPDATE audit_events SET actor = 'mallory', row_hash = :h WHERE seq = 3"), {"h": forged}
        )
    assert _kinds(audit.verify(chained.engine)) == [(4, "broken_link")]


def test_deleted_rows_are_detected(chained: FeedbackStore) -> None:
    with tampering(chained) as connection:
        connection.exec_driver_sql("DELETE FROM audit_events WHERE seq = 3")
    assert _kinds(audit.verify(chained.engine)) == [(4, "gap"), (4, "broken_link")]
    with tampering(chained) as connection:
        connection.exec_driver_sql("DELETE FROM audit_events WHERE seq = 1")
    assert _kinds(audit.verify(chained.engine)) == [(2, "gap"), (2, "broken_link"), (4, "gap"), (4, "broken_link")]


def test_deleted_tail_is_detected_against_an_anchor(chained: FeedbackStore) -> None:
    anchor = audit.verify(chained.engine)
    with tampering(chained) as connection:
        connection.exec_driver_sql(f"DELETE FROM audit_events WHERE seq = {ROWS}")
    assert audit.verify(chained.engine).ok, "without an anchor a shorter chain is still a valid chain"
    found = audit.verify(chained.engine, anchor=(anchor.head_seq, anchor.head_hash))
    assert _kinds(found) == [(ROWS, "truncated")]


def test_appends_chain_on_after_tampering_is_repaired_nowhere(chained: FeedbackStore) -> None:
    """New events chain onto the current head; a problem found before stays found."""
    with tampering(chained) as connection:
        connection.exec_driver_sql("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    with Session(chained.engine) as session, session.begin():
        event = audit.append(session, actor="admin", action="test.event", tenant="acme", target="x")
    assert event.seq == ROWS + 1
    assert _kinds(audit.verify(chained.engine)) == [(2, "altered")]


def test_postgresql_refuses_update_delete_truncate(pg_url: str, tmp_path: Path) -> None:
    """The guard triggers exist on PostgreSQL only (SQLite has no users to keep out of a local file)."""
    with FeedbackStore.open(
        FeedbackSettings(data_dir=tmp_path, feedback_database_url=pg_url, feedback_auto_upgrade=True)
    ) as store:
        _append(store, ROWS)
        _refused(store)


def _refused(chained: FeedbackStore) -> None:
    for statement in (
        "UPDATE audit_events SET actor = 'mallory' WHERE seq = 1",
        "DELETE FROM audit_events WHERE seq = 1",
        "TRUNCATE audit_events",
    ):
        with pytest.raises(DBAPIError, match="append-only"), chained.engine.begin() as connection:
            connection.exec_driver_sql(statement)
    assert audit.verify(chained.engine).ok and audit.verify(chained.engine).rows == ROWS


def test_append_refuses_bad_fields(store: FeedbackStore) -> None:
    with Session(store.engine) as session, session.begin():
        with pytest.raises(ValueError, match="actor"):
            audit.append(session, actor="", action="a.b", tenant="acme", target="x")
        with pytest.raises(ValueError, match=r"NaN|Out of range"):
            audit.append(session, actor="a", action="a.b", tenant="acme", target="x", details={"v": float("nan")})


def test_concurrent_writers_keep_one_unbroken_chain(store: FeedbackStore) -> None:
    """Votes from several threads at once: every audit row chains onto the one before, no gap, no fork."""
    interaction = make_interaction()
    store.record_interaction(interaction)
    errors: list[BaseException] = []

    def vote(n: int) -> None:
        try:
            for i in range(8):  # a reviewer each: a reviewer's second vote would replace the first
                store.record_feedback(
                    FeedbackIn(tenant="acme", interaction_id=interaction.id, thumbs="up", reviewer=f"agent-{n}-{i}")
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=vote, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    report = audit.verify(store.engine)
    assert report.ok and report.rows == 32 and report.head_seq == 32
