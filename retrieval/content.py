"""Which indexed articles answers may use: disabled and deleted documents, in one JSON file under the data dir.

An admin can take an article out of answers without re-ingesting anything. The state lives in
``<data_dir>/content-state.json``, read like the feature flags (``assistant.flags``): every search costs one
``os.stat`` and the file is parsed again only when its mtime, size or inode changed, so a change made by the
console reaches the very next answer in every process that shares the data dir (the API of ``deskpilot serve``
too), with no restart and whatever the index backend. The search excludes the documents inside the engine
(``must_not doc_id``), before scoring, and drops any that slip through.

Layout::

    {"generation": 3,
     "documents": {"ledgerly/billing/refunds.md": {"tenant": "ledgerly", "state": "disabled",
                                                   "source_path": "/srv/hc/ledgerly/billing/refunds.md",
                                                   "by": "console:sam", "at": "2026-12-05T19:40:00+00:00"}}}

``disabled`` documents stay in the index and come back with ``enable``. ``deleted`` is a tombstone: the document
was removed from the index, the manifest and the caches (``ui.content``), and a re-ingest of a folder that still
holds its file skips it (reported as skipped) until it is restored. A tombstone holds ids and paths, never text.
``generation`` counts the changes; the answer cache keys on it.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

CONTENT_FILE = "content-state.json"
State = Literal["disabled", "deleted"]
STATES: tuple[State, ...] = ("disabled", "deleted")


@dataclass(frozen=True)
class ContentMark:
    """One document's state: disabled or deleted, by whom and when."""

    doc_id: str
    tenant: str
    state: State
    source_path: str
    by: str
    at: str


class ContentState:
    """The disabled and deleted documents of every tenant, cached until the file changes; writes are locked and
    atomic."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int, int] | None = None
        self._marks: dict[str, ContentMark] = {}
        self._generation = 0
        self._excluded: dict[str, tuple[str, ...]] = {}

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> ContentState:
        """The content state of a data dir."""
        return cls(data_dir / CONTENT_FILE)

    def _signature(self) -> tuple[int, int, int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino

    def _refresh(self) -> None:
        signature = self._signature()
        with self._lock:
            if signature == self._seen:
                return
            if signature is None:
                self._seen, self._marks, self._generation, self._excluded = None, {}, 0, {}
                return
            try:
                raw = _read(self.path)
            except ValueError:
                # A botched hand edit keeps what was read before: never let disabled articles back in by accident.
                return
            marks = _marks_of(raw)
            excluded: dict[str, list[str]] = {}
            for mark in marks.values():
                excluded.setdefault(mark.tenant, []).append(mark.doc_id)
            self._seen, self._marks = signature, marks
            self._generation = int(raw.get("generation", 0))
            self._excluded = {tenant: tuple(sorted(ids)) for tenant, ids in excluded.items()}

    def marks(self) -> dict[str, ContentMark]:
        """Every disabled or deleted document, by doc id."""
        self._refresh()
        return dict(self._marks)

    def excluded(self, tenant: str) -> tuple[str, ...]:
        """The doc ids of ``tenant`` that answers must not use (disabled or deleted), sorted."""
        self._refresh()
        return self._excluded.get(tenant, ())

    def generation(self) -> int:
        """A counter bumped by every change (for cache keys)."""
        self._refresh()
        return self._generation

    def deleted(self) -> dict[str, ContentMark]:
        """The tombstones: deleted documents, by doc id."""
        return {doc_id: m for doc_id, m in self.marks().items() if m.state == "deleted"}

    def mark(self, doc_id: str, tenant: str, state: State, actor: str, source_path: str = "") -> ContentMark:
        """Set a document's state; returns the new mark."""
        if state not in STATES:
            raise ValueError(f"state must be one of {', '.join(STATES)}, not {state!r}")
        if not doc_id or not tenant:
            raise ValueError("a content mark needs a doc id and a tenant")
        mark = ContentMark(doc_id, tenant, state, source_path, actor[:256], datetime.now(UTC).isoformat())
        with self._write() as raw:
            raw.setdefault("documents", {})[doc_id] = {
                "tenant": mark.tenant,
                "state": mark.state,
                "source_path": mark.source_path,
                "by": mark.by,
                "at": mark.at,
            }
        return mark

    def clear(self, doc_ids: list[str]) -> list[str]:
        """Forget the marks of ``doc_ids`` (enable, or restore after a delete); returns those that had one."""
        cleared: list[str] = []
        with self._write() as raw:
            documents = raw.setdefault("documents", {})
            for doc_id in doc_ids:
                if documents.pop(doc_id, None) is not None:
                    cleared.append(doc_id)
        return cleared

    @contextmanager
    def _write(self) -> Iterator[dict[str, Any]]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = _read(self.path)
            yield raw
            raw["generation"] = int(raw.get("generation", 0)) + 1
            temporary = self.path.with_name(self.path.name + ".tmp")
            with open(temporary, "wb", opener=lambda p, f: os.open(p, f, 0o600)) as handle:
                handle.write(json.dumps(raw, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        finally:
            os.close(fd)
        self._refresh()


def _read(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"content state file {path} is not valid JSON ({exc}); fix or remove it") from exc
    if not isinstance(value, dict) or not isinstance(value.get("documents", {}), dict):
        raise ValueError(f'content state file {path} must be {{"generation": N, "documents": {{doc_id: {{...}}}}}}')
    return value


def _marks_of(raw: dict[str, Any]) -> dict[str, ContentMark]:
    marks: dict[str, ContentMark] = {}
    for doc_id, entry in raw.get("documents", {}).items():
        if not isinstance(entry, dict) or entry.get("state") not in STATES or not entry.get("tenant"):
            continue
        marks[str(doc_id)] = ContentMark(
            str(doc_id),
            str(entry["tenant"]),
            entry["state"],
            str(entry.get("source_path", "")),
            str(entry.get("by", "")),
            str(entry.get("at", "")),
        )
    return marks
