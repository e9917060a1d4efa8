"""Small JSON files under the data dir, safe across threads and processes: an flock, then an atomic replace.

The flags file lives here for the answer service; the console's tickets and ingest log use the same helpers.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``<path>.lock`` (created 0600, directory created 0700)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def read_json(path: Path, default: Any) -> Any:
    """The JSON in ``path``, or ``default`` when there is no file yet."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc}); fix or remove it") from exc


def write_json(path: Path, value: Any, *, sort_keys: bool = False) -> None:
    """Write ``value`` as JSON to ``path`` atomically (temporary file, fsync, rename), readable by the owner only."""
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb", opener=_private) as handle:
        handle.write(json.dumps(value, ensure_ascii=False, indent=1, sort_keys=sort_keys).encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def append_line(path: Path, value: Any) -> None:
    """Append ``value`` as one JSON line to ``path`` (fsynced)."""
    with open(path, "ab", opener=_private) as handle:
        handle.write((json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
