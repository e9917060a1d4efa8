"""The ingest cache under the data directory: what ingest made of each source file, after redaction.

Re-ingesting an unchanged help center should cost almost nothing, so each file's outcome (its documents
already redacted and chunked, or why it was skipped) is cached under a key made of the hash of the file's
bytes and everything that shapes the outcome: loader, redactor and chunker versions and settings (see
``ingest.pipeline``). The text before redaction is never written here; only its SHA-256 is.

Layout, one directory per source file, so that a file's entries can be purged together::

    <data_dir>/cache/sources/<sha256 of the resolved source path>/
        source        the resolved source path, which a purge checks
        <key>.json    the outcome of one (content, settings); a newer one replaces it

Directories and files are created owner-only (0700 / 0600). Earlier versions kept the loaders' output
*before* redaction in ``cache/documents`` (and ``cache/redacted``, ``cache/chunks``); ``purge_legacy``
removes those.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SOURCES_DIR = "sources"
LEGACY_DIRS = ("documents", "redacted", "chunks")
"""Cache directories of earlier versions; ``documents`` held source text before redaction."""
_SOURCE_FILE = "source"
_LEFTOVER_AGE_S = 3600.0
"""A temporary file older than this was left by a crashed write, not one under way."""


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb", opener=_private) as handle:
        handle.write(data)
    os.replace(temporary, path)


@dataclass(frozen=True)
class PurgeReport:
    """What a purge removed: source directories and the entries (``<key>.json`` files) in them."""

    sources: int = 0
    entries: int = 0
    legacy_files: int = 0

    def __add__(self, other: PurgeReport) -> PurgeReport:
        return PurgeReport(
            self.sources + other.sources, self.entries + other.entries, self.legacy_files + other.legacy_files
        )


class SourceCache:
    """JSON entries per source file under ``<cache_dir>/sources``; writes are atomic, one entry per source."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self.directory = cache_dir / SOURCES_DIR

    def _dir(self, source: str) -> Path:
        return self.directory / hashlib.sha256(source.encode()).hexdigest()

    def get(self, source: str, key: str) -> Any | None:
        """The cached value of ``source`` under ``key``, or None when absent or unreadable."""
        try:
            return json.loads((self._dir(source) / f"{key}.json").read_bytes())
        except (OSError, ValueError):
            return None

    def put(self, source: str, key: str, value: Any) -> None:
        """Store ``value`` (JSON-serializable) as the entry of ``source``, replacing its other entries.

        A source has one current outcome: an entry under another key is an older version of the file (or
        of the settings), whose documents the index no longer holds."""
        directory = self._dir(source)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        marker = directory / _SOURCE_FILE
        if _read_text(marker) != source:
            _write_atomic(marker, source.encode())
        name = f"{key}.json"
        _write_atomic(directory / name, json.dumps(value, ensure_ascii=False).encode())
        for old in directory.glob("*.json"):
            if old.name != name:
                old.unlink(missing_ok=True)

    def sources(self) -> Iterator[tuple[str | None, Path]]:
        """(source path, directory) of every cached source; the path is None when its marker is unreadable."""
        try:
            directories = sorted(p for p in self.directory.iterdir() if p.is_dir())
        except FileNotFoundError:
            return
        for directory in directories:
            yield _read_text(directory / _SOURCE_FILE), directory

    def entries(self) -> int:
        """How many entries the cache holds."""
        return sum(len(list(directory.glob("*.json"))) for _, directory in self.sources())

    def purge(self, keep: Callable[[str], bool], *, dry_run: bool = False) -> PurgeReport:
        """Remove the entries of every source for which ``keep(source)`` is false (or that names no source),
        and files a crashed write left behind (``*.tmp`` older than an hour). ``dry_run`` only counts."""
        sources = entries = 0
        for source, directory in self.sources():
            if source is not None and keep(source):
                if not dry_run:
                    _remove_leftovers(directory)
                continue
            entries += len(list(directory.glob("*.json")))
            sources += 1
            if not dry_run:
                shutil.rmtree(directory, ignore_errors=True)
        return PurgeReport(sources=sources, entries=entries)

    def purge_missing(self, *, dry_run: bool = False) -> PurgeReport:
        """Remove the entries of sources that no longer exist: their documents left the index at the sync of
        their folder (or will at the next)."""
        return self.purge(lambda source: Path(source).is_file(), dry_run=dry_run)

    def purge_legacy(self, *, dry_run: bool = False) -> PurgeReport:
        """Remove the cache directories of earlier versions (``documents`` held text before redaction)."""
        removed = 0
        for name in LEGACY_DIRS:
            directory = self.cache_dir / name
            if directory.is_dir():
                removed += sum(1 for p in directory.rglob("*") if p.is_file())
                if not dry_run:
                    shutil.rmtree(directory, ignore_errors=True)
        return PurgeReport(legacy_files=removed)


def _remove_leftovers(directory: Path) -> None:
    old = time.time() - _LEFTOVER_AGE_S
    for leftover in directory.glob("*.tmp"):
        try:
            if leftover.stat().st_mtime < old:
                leftover.unlink()
        except OSError:
            continue


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def cache_key(*parts: str | bytes) -> str:
    """SHA-256 over the parts, separated so that ("ab", "c") != ("a", "bc")."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
