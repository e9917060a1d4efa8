"""A small content-addressed JSON cache under the data directory.

Re-ingesting an unchanged help center should cost almost nothing, so the
expensive steps (partitioning a file, redacting a document) are cached by the
hash of their input plus the settings that shape their output.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


class JsonCache:
    """Values stored as ``<dir>/<key[:2]>/<key>.json``; writes are atomic."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> Any | None:
        """The cached value, or None when absent or unreadable."""
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON-serializable) under ``key``."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(value, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)


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
