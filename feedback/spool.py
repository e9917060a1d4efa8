"""A durable local spool: writes made while the database is down wait here and are replayed when it returns.

One append-only JSON-lines file per kind under the spool directory, each line flushed and fsynced
before the write is acknowledged. Every record carries its client-generated UUID and the store's
writes are idempotent on it, so replaying after a partial success never counts twice. Replay goes
interactions first, then escalations, votes and edits, so a vote never arrives before its interaction.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from feedback.records import (
    EditIn,
    EscalationIn,
    FeedbackIn,
    InteractionIn,
    Kind,
    ReplayReport,
    WriteOutcome,
    utcnow,
)
from feedback.settings import FeedbackSettings
from feedback.store import FeedbackStore

log = logging.getLogger(__name__)

SpoolRecord = InteractionIn | FeedbackIn | EditIn | EscalationIn
Redact = Callable[[str], str]
# What people type into a record, and the longest value each field takes. An interaction's question is
# redacted by the answer service before it is asked, and its answer passes the output PII filter.
_FREE_TEXT: tuple[tuple[type[SpoolRecord], tuple[tuple[str, int | None], ...]], ...] = (
    (FeedbackIn, (("comment", 4000),)),
    (EditIn, (("draft", None), ("sent", None))),
    (EscalationIn, (("reason", 1000),)),
)
SPOOL_KINDS: tuple[Kind, ...] = ("interaction", "escalation", "feedback", "edit")
"""Replay order: parents before the records that point at them."""

_MODELS: dict[Kind, type[SpoolRecord]] = {
    "interaction": InteractionIn,
    "escalation": EscalationIn,
    "feedback": FeedbackIn,
    "edit": EditIn,
}
_FORMAT = 1


class SpoolUnavailable(RuntimeError):
    """The database is down and the spool cannot take the write either: answer 503, the write was not kept."""


class SpoolFull(SpoolUnavailable):
    """The spool reached ``spool_max_bytes``."""


def kind_of(record: SpoolRecord) -> Kind:
    """The spool kind of ``record``."""
    for kind, model in _MODELS.items():
        if isinstance(record, model):
            return kind
    raise TypeError(f"cannot spool a {type(record).__name__}")


def redacted(record: SpoolRecord, redact: Redact) -> SpoolRecord:
    """``record`` with what a person typed into it (vote comment, draft and sent reply, escalation reason and
    conversation) passed through ``redact``, as it may be stored or spooled."""
    for model, fields in _FREE_TEXT:
        if isinstance(record, model):
            update = {name: redact(value)[:limit] for name, limit in fields if (value := getattr(record, name)).strip()}
            return record.model_copy(update=update)
    return record


def database_unavailable(exc: BaseException) -> bool:
    """True for errors that mean "the database cannot be reached right now", as opposed to a bad record."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError | DisconnectionError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def describe(exc: BaseException) -> str:
    """A short, PII-free description of a database error: class names only, never the message."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        orig = type(exc.orig)
        return f"{type(exc).__name__} ({orig.__module__}.{orig.__name__})"
    return type(exc).__name__


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """The spool files of one directory; safe across threads and processes (an flock serializes access)."""

    def __init__(self, directory: Path, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.directory, self.max_bytes = Path(directory), max_bytes

    @classmethod
    def from_settings(cls, settings: FeedbackSettings) -> Spool:
        """The spool configured by ``spool_dir`` and ``spool_max_bytes``."""
        return cls(settings.resolved_spool_dir(), settings.spool_max_bytes)

    def path(self, kind: Kind) -> Path:
        """The spool file of ``kind``."""
        return self.directory / f"{kind}.jsonl"

    def rejected_path(self, kind: Kind) -> Path:
        """Where entries that can never be stored are moved (kept for a person to inspect)."""
        return self.directory / f"{kind}.rejected.jsonl"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def size(self) -> int:
        """Bytes currently spooled (all kinds)."""
        return sum(p.stat().st_size for p in map(self.path, SPOOL_KINDS) if p.exists())

    def has_pending(self) -> bool:
        """True when any write waits to be replayed."""
        return any(p.exists() and p.stat().st_size > 0 for p in map(self.path, SPOOL_KINDS))

    def pending(self) -> dict[Kind, int]:
        """Spooled entries per kind."""
        return {kind: len(self._lines(kind)) for kind in SPOOL_KINDS}

    def _lines(self, kind: Kind) -> list[bytes]:
        path = self.path(kind)
        if not path.exists():
            return []
        return [line for line in path.read_bytes().split(b"\n") if line.strip()]

    def append(self, record: SpoolRecord, reason: str) -> None:
        """Add ``record`` durably (written, flushed and fsynced before returning); raises SpoolUnavailable."""
        kind = kind_of(record)
        entry = {
            "v": _FORMAT,
            "kind": kind,
            "spooled_at": utcnow().isoformat(),
            "reason": reason,
            "record": record.model_dump(mode="json"),
        }
        line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        path = self.path(kind)
        try:
            with self._locked():
                if self.size() + len(line) > self.max_bytes:
                    raise SpoolFull(
                        f"the spool at {self.directory} holds more than spool_max_bytes={self.max_bytes} bytes; "
                        "bring the feedback database back (then `deskpilot` replays it) or raise DESKPILOT_SPOOL_MAX_BYTES"
                    )
                created = not path.exists()
                with open(path, "a+b", opener=_private) as handle:
                    end = handle.seek(0, os.SEEK_END)
                    if end:
                        handle.seek(end - 1)
                        if handle.read(1) != b"\n":
                            # A crash tore the last line; end it so this record stays a line of its own.
                            line = b"\n" + line
                    handle.write(line)
                    handle.flush()
                    os.fsync(handle.fileno())
                if created:
                    _fsync_dir(self.directory)
        except OSError as exc:
            raise SpoolUnavailable(
                f"cannot write the spool at {path}: {exc.strerror or exc}; check the free space and permissions "
                "of DESKPILOT_SPOOL_DIR (default <data_dir>/spool)"
            ) from exc

    def _rewrite(self, kind: Kind, lines: list[bytes]) -> None:
        path = self.path(kind)
        if not lines:
            path.unlink(missing_ok=True)
        else:
            temporary = path.with_suffix(".jsonl.tmp")
            with open(temporary, "wb", opener=_private) as handle:
                handle.write(b"".join(line + b"\n" for line in lines))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        _fsync_dir(self.directory)

    def _reject(self, kind: Kind, line: bytes, why: str) -> None:
        entry = {"rejected_at": utcnow().isoformat(), "why": why, "line": line.decode("utf-8", "replace")}
        with open(self.rejected_path(kind), "ab", opener=_private) as handle:
            handle.write((json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())

    @staticmethod
    def _parse(kind: Kind, line: bytes) -> SpoolRecord:
        entry: Any = json.loads(line)
        if not isinstance(entry, dict) or entry.get("v") != _FORMAT or entry.get("kind") != kind:
            raise ValueError(f"not a version-{_FORMAT} {kind} spool entry")
        return _MODELS[kind].model_validate(entry["record"])

    def replay(self, store: FeedbackStore, limit: int | None = None) -> ReplayReport:
        """Write spooled entries into ``store`` in order, at most ``limit`` of them; stops while it is unavailable.

        Entries the store already holds count as duplicates; entries that can never be stored (unknown
        interaction, invalid record) move to ``<kind>.rejected.jsonl``, never silently dropped.
        """
        stored = duplicates = rejected = processed = 0
        stopped_by: str | None = None
        with self._locked():
            for kind in SPOOL_KINDS:
                lines = self._lines(kind)
                done = 0
                try:
                    for line in lines:
                        if limit is not None and processed >= limit:
                            break
                        try:
                            record = self._parse(kind, line)
                        except ValueError as exc:
                            self._reject(kind, line, f"unreadable entry: {exc}")
                            rejected += 1
                            done += 1
                            processed += 1
                            continue
                        try:
                            result = store.write(record)
                        except (LookupError, ValueError, IntegrityError, DataError) as exc:
                            self._reject(kind, line, f"{type(exc).__name__}: {exc}")
                            rejected += 1
                        except SQLAlchemyError as exc:
                            stopped_by = describe(exc)
                            if not database_unavailable(exc):
                                log.error("spool replay stopped by an unexpected database error: %s", stopped_by)
                            break
                        else:
                            stored += result.created
                            duplicates += not result.created
                        done += 1
                        processed += 1
                finally:
                    if done:
                        self._rewrite(kind, lines[done:])
                if stopped_by is not None or (limit is not None and processed >= limit):
                    break
            remaining = sum(self.pending().values())
        if stored or duplicates or rejected:
            log.info(
                "spool replay: %d stored, %d already stored, %d rejected, %d remaining",
                stored,
                duplicates,
                rejected,
                remaining,
            )
        if rejected:
            log.warning("spool replay rejected %d entries; see %s/*.rejected.jsonl", rejected, self.directory)
        return ReplayReport(
            stored=stored, duplicates=duplicates, rejected=rejected, remaining=remaining, stopped_by=stopped_by
        )


class DurableWriter:
    """Votes, edits, escalations and interactions that are never lost: the database first, else the spool.

    While anything is spooled, a write first replays (up to ``replay_batch`` entries) so order is kept;
    if older entries still wait, the new one is spooled behind them.
    """

    def __init__(
        self, store: FeedbackStore, spool: Spool, replay_batch: int = 200, redact: Redact | None = None
    ) -> None:
        self.store, self.spool, self.replay_batch, self.redact = store, spool, replay_batch, redact

    @classmethod
    def open(cls, settings: FeedbackSettings) -> DurableWriter:
        """A writer over the configured store and spool."""
        return cls(FeedbackStore.open(settings), Spool.from_settings(settings))

    def write(self, record: SpoolRecord) -> WriteOutcome:
        """Store ``record``, or spool it if the database is unavailable; raises SpoolUnavailable if neither works.

        Errors about the record itself (unknown interaction, id conflict) are raised as they are. With
        ``redact``, what people typed into the record is redacted first: neither the database nor the spool
        ever holds it as typed.
        """
        if self.redact is not None:
            record = redacted(record, self.redact)
        kind = kind_of(record)
        if self.spool.has_pending():
            report = self.replay()
            if report.remaining:
                return self._spool(record, kind, report.stopped_by or "older writes are still spooled")
        try:
            result = self.store.write(record)
        except SQLAlchemyError as exc:
            if not database_unavailable(exc):
                raise
            return self._spool(record, kind, describe(exc))
        return WriteOutcome(kind=kind, id=record.id, status="stored" if result.created else "duplicate")

    def replay(self, limit: int | None = None) -> ReplayReport:
        """Replay spooled writes (``limit`` None = the write path's batch size)."""
        return self.spool.replay(self.store, self.replay_batch if limit is None else limit)

    def _spool(self, record: SpoolRecord, kind: Kind, reason: str) -> WriteOutcome:
        self.spool.append(record, reason)
        log.warning("feedback database unavailable (%s): %s %s spooled", reason, kind, record.id)
        return WriteOutcome(kind=kind, id=record.id, status="spooled")


def replay_configured(settings: FeedbackSettings) -> ReplayReport:
    """`deskpilot spool replay`: replay everything spooled into the configured database."""
    with FeedbackStore.open(settings) as store:
        return Spool.from_settings(settings).replay(store)
