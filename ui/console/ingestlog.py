"""The log of ingest runs started from the console, one JSON line each, in ``<data_dir>/console``."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from assistant.jsonfile import append_line, locked
from ui.wiring import IngestRun


class IngestRunRecord(BaseModel):
    """What one console ingest did."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    at: AwareDatetime
    actor: str
    tenant: str
    files: tuple[str, ...]
    documents: int
    skipped: tuple[str, ...] = Field(default=(), description="Why each skipped file was skipped.")
    duplicates: int = 0
    chunks_added: int = 0
    chunks_updated: int = 0
    chunks_deleted: int = 0
    chunks_unchanged: int = 0
    seconds: float = 0.0

    @classmethod
    def of(cls, run: IngestRun, *, at: AwareDatetime, actor: str, tenant: str, files: list[str]) -> IngestRunRecord:
        """The record of ``run``."""
        return cls(
            at=at,
            actor=actor,
            tenant=tenant,
            files=tuple(files),
            documents=len(run.result.documents),
            skipped=tuple(s.reason for s in run.result.skipped),
            duplicates=len(run.result.duplicates),
            chunks_added=run.sync.chunks_added,
            chunks_updated=run.sync.chunks_updated,
            chunks_deleted=run.sync.chunks_deleted,
            chunks_unchanged=run.sync.chunks_unchanged,
            seconds=round(run.seconds, 3),
        )


class IngestLog:
    """Append-only JSON lines."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, record: IngestRunRecord) -> None:
        """Add one run."""
        with locked(self.path):
            append_line(self.path, record.model_dump(mode="json"))

    def runs(self, limit: int = 50) -> list[IngestRunRecord]:
        """The newest runs first."""
        if not self.path.exists():
            return []
        lines = [line for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [IngestRunRecord.model_validate(json.loads(line)) for line in reversed(lines[-limit:])]
