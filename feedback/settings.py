"""Settings of the feedback store (env prefix ``DESKPILOT_``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class FeedbackSettings(BaseSettings):
    """Where interactions, votes, edits, escalations and the audit log are kept, and for how long."""

    model_config = SettingsConfigDict(env_prefix="DESKPILOT_", extra="ignore")

    data_dir: Path = Field(default=Path(".deskpilot"))
    feedback_database_url: str = Field(
        default="",
        description=(
            "SQLAlchemy URL of the feedback store, e.g. postgresql+psycopg://user@host/db; "
            "empty = SQLite at <data_dir>/feedback.db."
        ),
    )
    feedback_db_timeout_s: float = Field(
        default=3.0,
        gt=0,
        le=60,
        description="How long a connection attempt may take before the write is spooled instead.",
    )
    feedback_auto_upgrade: bool | None = Field(
        default=None,
        description="Run migrations when the store opens; None = only for SQLite (PostgreSQL: `deskpilot db upgrade`).",
    )
    retention_days: dict[str, int] = Field(
        default_factory=dict,
        description="Per-tenant retention in days, as JSON: DESKPILOT_RETENTION_DAYS='{\"acme\": 30}'.",
    )
    retention_default_days: int = Field(
        default=365,
        ge=0,
        description="Retention of tenants not in retention_days; 0 = keep forever.",
    )
    retention_mode: Literal["delete", "anonymize"] = Field(
        default="anonymize",
        description="delete = remove old interactions and their votes/edits/escalations; "
        "anonymize = blank their texts and actors, keep the numbers dashboards need.",
    )
    deflection_window_min: float = Field(
        default=30.0,
        gt=0,
        le=7 * 24 * 60,
        description="Dashboards and reports: a widget answer escalated within this many minutes is not deflected, "
        "and one younger than this is pending (README, Dashboard definitions).",
    )
    spool_dir: Path | None = Field(
        default=None,
        description="Durable spool of writes made while the database is down; None = <data_dir>/spool.",
    )
    spool_max_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1024,
        description="Beyond this the spool refuses writes (the API answers 503) rather than fill the disk.",
    )

    @field_validator("retention_days")
    @classmethod
    def _retention_days_positive(cls, value: dict[str, int]) -> dict[str, int]:
        bad = {tenant: days for tenant, days in value.items() if days < 0 or not tenant}
        if bad:
            raise ValueError(
                f"DESKPILOT_RETENTION_DAYS: every tenant needs a non-empty name and days >= 0 (0 = keep forever); got {bad}"
            )
        return value

    def resolved_database_url(self) -> str:
        """The store URL, defaulting to ``sqlite:///<data_dir>/feedback.db``."""
        if self.feedback_database_url:
            return self.feedback_database_url
        return f"sqlite:///{(self.data_dir / 'feedback.db').resolve()}"

    def deflection_window(self) -> timedelta:
        """:attr:`deflection_window_min` as a duration."""
        return timedelta(minutes=self.deflection_window_min)

    def resolved_spool_dir(self) -> Path:
        """Directory of the durable spool."""
        return self.spool_dir if self.spool_dir is not None else self.data_dir / "spool"

    def retention_for(self, tenant: str) -> int:
        """Retention of ``tenant`` in days; 0 = keep forever."""
        return self.retention_days.get(tenant, self.retention_default_days)
