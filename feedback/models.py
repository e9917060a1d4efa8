"""SQLAlchemy 2 models of the feedback store. The schema itself is created by the Alembic migrations."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    DateTime,
    Dialect,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    create_engine,
    event,
    make_url,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

_READONLY = "feedback_readonly"


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps naive UTC text, PostgreSQL timestamptz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the feedback store; pass a timezone-aware datetime")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of the feedback tables."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime}


class InteractionRow(Base):
    """One served answer."""

    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_tenant_created", "tenant", "created_at"),
        Index("ix_interactions_created", "created_at"),
        Index("ix_interactions_tenant_conversation", "tenant", "conversation_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(256), default="")
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    source_ids: Mapped[list[str]] = mapped_column(JSON)
    source_doc_ids: Mapped[list[str]] = mapped_column(JSON)
    confidence: Mapped[float] = mapped_column(Float)
    confidence_level: Mapped[str] = mapped_column(String(16))
    confidence_reason: Mapped[str] = mapped_column(Text, default="")
    abstained: Mapped[bool] = mapped_column(Boolean)
    escalation_reason: Mapped[str] = mapped_column(Text, default="")
    generator: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(256), default="")
    prompt_version: Mapped[str] = mapped_column(String(64), default="")
    index_version: Mapped[str] = mapped_column(String(256), default="")
    flags: Mapped[list[str]] = mapped_column(JSON)
    latency_ms: Mapped[dict[str, float]] = mapped_column(JSON)
    total_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    cached: Mapped[bool] = mapped_column(Boolean, default=False)
    trace_id: Mapped[str] = mapped_column(String(128), default="")
    variant: Mapped[str] = mapped_column(String(64), default="")
    route: Mapped[str] = mapped_column(String(128), default="")
    fallback_reason: Mapped[str] = mapped_column(Text, default="")
    shadow_of: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    conversation_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column()
    anonymized_at: Mapped[datetime | None] = mapped_column(nullable=True)


class FeedbackRow(Base):
    """A thumbs-up or -down vote on an interaction."""

    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_tenant_created", "tenant", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(128))
    interaction_id: Mapped[str] = mapped_column(ForeignKey("interactions.id"), index=True)
    thumbs: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewer: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column()


class FeedbackReasonRow(Base):
    """One reason code of a vote (a table of its own so dashboards count them in SQL on every backend)."""

    __tablename__ = "feedback_reasons"

    feedback_id: Mapped[str] = mapped_column(ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)


class EditRow(Base):
    """An agent's edit of a draft before sending."""

    __tablename__ = "edits"
    __table_args__ = (Index("ix_edits_tenant_created", "tenant", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(128))
    interaction_id: Mapped[str] = mapped_column(ForeignKey("interactions.id"), index=True)
    draft: Mapped[str] = mapped_column(Text)
    sent: Mapped[str] = mapped_column(Text)
    editor: Mapped[str] = mapped_column(String(256), default="")
    distance: Mapped[int] = mapped_column(Integer)
    ratio: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column()


class EscalationRow(Base):
    """A hand-off to a human queue."""

    __tablename__ = "escalations"
    __table_args__ = (Index("ix_escalations_tenant_status", "tenant", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(128))
    interaction_id: Mapped[str | None] = mapped_column(ForeignKey("interactions.id"), nullable=True, index=True)
    reason: Mapped[str] = mapped_column(Text)
    queue: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(256), default="")
    channel: Mapped[str] = mapped_column(String(16), default="")
    contact: Mapped[str] = mapped_column(Text, default="")
    """The customer's e-mail, the one personal detail stored on purpose (sealed when a key is configured)."""
    conversation_id: Mapped[str] = mapped_column(String(64), default="")
    assignee: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class AuditEventRow(Base):
    """One append-only, hash-chained audit event. On PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(64))
    tenant: Mapped[str] = mapped_column(String(128), index=True)
    target: Mapped[str] = mapped_column(String(256))
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class ApiKeyRow(Base):
    """An API key: only a SHA-256 of its secret is kept."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(128), index=True)
    role: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)


def make_engine(url: str, connect_timeout_s: float = 3.0, sqlite_busy_timeout_s: float | None = None) -> Engine:
    """An engine for the feedback store (``sqlite_busy_timeout_s``: how long a SQLite writer waits for the
    lock; default ``connect_timeout_s``).

    SQLite: WAL, foreign keys on, and every transaction opened with ``BEGIN IMMEDIATE`` so concurrent
    writers queue on the busy timeout instead of failing when an audit append upgrades a read lock.
    PostgreSQL: connections are pinged before use, so the pool heals by itself after a server restart.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: a database error must never carry question or comment text into a log.
        engine = create_engine(
            url, hide_parameters=True, connect_args={"timeout": sqlite_busy_timeout_s or connect_timeout_s}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # the driver must not open transactions: "begin" below does
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Connection) -> None:
            readonly = connection.get_execution_options().get(_READONLY, False)
            connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = max(1, math.ceil(connect_timeout_s))
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, connect_args=connect_args)


def reader(engine: Engine) -> Engine:
    """``engine`` for read-only work: on SQLite its transactions do not take the write lock."""
    return engine.execution_options(**{_READONLY: True})
