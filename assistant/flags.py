"""Per-tenant feature flags and kill switches in one JSON file, re-read whenever the file changes.

The file maps a tenant (or ``"*"``, the default of every tenant) to the switches set for it:
``{"*": {"reranker_enabled": false}, "ledgerly": {"llm_enabled": false, "updated_by": "cli"}}``. A tenant's
effective flags are the built-in defaults, overridden by ``"*"``, overridden by the tenant's own entry. Every
``get()`` costs one ``os.stat``; the file is parsed again only when its mtime, size or inode changed, so a
switch flipped by the CLI or the console takes effect on the next answer, in every process, without a restart.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from assistant.jsonfile import locked, write_json

log = logging.getLogger(__name__)

ALL_TENANTS = "*"
"""The entry whose switches apply to every tenant that does not set its own."""

FLAG_HELP: dict[str, str] = {
    "llm_enabled": "Draft with the LLM when one is configured (off = extractive answers only).",
    "widget_enabled": "Customers may use the help-center widget (off = the API refuses widget keys, the widget hides).",
    "force_abstain": "Never answer automatically: every question goes to a person.",
    "reranker_enabled": "Rerank retrieved chunks with the cross-encoder when one is configured.",
}
FLAG_NAMES = tuple(FLAG_HELP)


class TenantFlags(BaseModel):
    """The switches of one tenant; the defaults are what runs when nothing was set."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    llm_enabled: bool = True
    widget_enabled: bool = True
    force_abstain: bool = False
    reranker_enabled: bool = True
    updated_at: AwareDatetime | None = None
    updated_by: str = Field(default="", max_length=256)

    def switches(self) -> dict[str, bool]:
        """Only the switches, by name."""
        return {name: bool(getattr(self, name)) for name in FLAG_NAMES}


def parse_assignments(items: list[str]) -> dict[str, bool]:
    """``["llm_enabled=false", ...]`` as switches; ValueError naming the bad item and the valid names and values."""
    truth = {"true": True, "on": True, "1": True, "yes": True, "false": False, "off": False, "0": False, "no": False}
    changes: dict[str, bool] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in FLAG_HELP:
            raise ValueError(f"{item!r}: expected NAME=true|false with NAME one of {', '.join(FLAG_NAMES)}")
        if value.strip().lower() not in truth:
            raise ValueError(f"{item!r}: the value must be true or false (also on/off, yes/no, 1/0)")
        changes[name] = truth[value.strip().lower()]
    return changes


class FlagStore:
    """Every tenant's flags in one JSON file, cached until the file changes; writes are locked and atomic."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int, int] | None = None
        self._entries: dict[str, dict[str, Any]] = {}

    def _signature(self) -> tuple[int, int, int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino

    def entries(self) -> dict[str, dict[str, Any]]:
        """The raw entries of the file (tenant or ``"*"`` -> the fields set there), re-read if it changed.

        A file that is not valid JSON keeps the last good entries (logged), so a botched hand edit never flips
        every switch back to its default; ``set()``/``update()`` refuse to overwrite it.
        """
        signature = self._signature()
        with self._lock:
            if signature == self._seen:
                return self._entries
            if signature is None:
                self._seen, self._entries = None, {}
                return self._entries
            try:
                entries = _read(self.path)
            except ValueError as exc:
                log.error("%s; keeping the flags read before", exc)
                return self._entries
            self._seen, self._entries = signature, entries
            return self._entries

    def get(self, tenant: str) -> TenantFlags:
        """The effective flags of ``tenant``: defaults <- ``"*"`` <- the tenant's own entry."""
        entries = self.entries()
        merged = {**entries.get(ALL_TENANTS, {}), **(entries.get(tenant, {}) if tenant != ALL_TENANTS else {})}
        try:
            return TenantFlags.model_validate(merged)
        except ValidationError as exc:
            log.error("flags of tenant %s in %s are invalid (%s); using the defaults", tenant, self.path, exc)
            return TenantFlags()

    def set(self, tenant: str, flags: TenantFlags, actor: str) -> TenantFlags:
        """Store all four switches of ``flags`` for ``tenant``, stamped with who and when; returns the effective flags."""
        return self.update(tenant, flags.switches(), actor)

    def update(self, tenant: str, changes: Mapping[str, bool], actor: str) -> TenantFlags:
        """Set some switches of ``tenant`` (or ``"*"``), keeping the others as they are; returns the effective flags."""
        unknown = sorted(set(changes) - set(FLAG_NAMES))
        if unknown:
            raise ValueError(f"unknown flag(s) {', '.join(unknown)}; known: {', '.join(FLAG_NAMES)}")
        if not tenant or len(tenant) > 128:
            raise ValueError("the tenant must be 1..128 characters")
        with locked(self.path):
            everything = _read(self.path)
            entry = {k: v for k, v in everything.get(tenant, {}).items() if k in FLAG_NAMES}
            entry.update({k: bool(v) for k, v in changes.items()})
            entry["updated_at"] = datetime.now(UTC).isoformat()
            entry["updated_by"] = actor[:256]
            everything[tenant] = entry
            write_json(self.path, everything, sort_keys=True)
        return self.get(tenant)

    def check(self) -> None:
        """Raise ValueError naming the file when it is not a valid flags file (``get()`` only logs that)."""
        _read(self.path)

    def tenants(self) -> list[str]:
        """The tenants (and ``"*"``) that have an entry, sorted."""
        return sorted(self.entries())


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"flags file {path} is not valid JSON ({exc}); fix or remove it") from exc
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ValueError(
            f'flags file {path} must map tenants to objects, e.g. {{"ledgerly": {{"llm_enabled": false}}}}'
        )
    return value
