"""The feedback store: interactions, votes, edits, escalations and API keys, each change audited in its transaction."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, TypeVar
from uuid import UUID

from rapidfuzz.distance import Levenshtein
from sqlalchemy import ColumnElement, Engine, Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assistant.records import Citation
from feedback import audit
from feedback.models import (
    ApiKeyRow,
    AuditEventRow,
    Base,
    EditRow,
    EscalationRow,
    FeedbackReasonRow,
    FeedbackRow,
    InteractionRow,
    make_engine,
    reader,
)
from feedback.records import (
    ESCALATION_STATUSES,
    LEGACY_ESCALATION_STATUSES,
    ApiKeyRecord,
    AuditEventRecord,
    ConversationTurn,
    DashboardCounts,
    EditIn,
    EditRecord,
    EscalationIn,
    EscalationRecord,
    FeedbackIn,
    FeedbackRecord,
    InteractionIn,
    InteractionRecord,
    Kind,
    Page,
    WriteResult,
    utcnow,
)
from feedback.settings import FeedbackSettings

MAX_PAGE_SIZE = 500
KEY_PREFIX = "dp"
_ROLE = re.compile(r"^[a-z][a-z_]{0,31}$")
_KEY = re.compile(r"^dp_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
# Compared against when a key id is unknown, so a miss costs the same as a wrong secret.
_DUMMY_HASH = hashlib.sha256(b"deskpilot-no-such-key").hexdigest()
# last_used_at is refreshed at most this often, so verifying a key is not a write on every request.
_TOUCH_EVERY = timedelta(seconds=60)

R = TypeVar("R", bound=Base)
T = TypeVar("T")


class UnknownInteraction(LookupError):
    """The interaction does not exist for this tenant (or belongs to another one)."""

    def __init__(self, interaction_id: UUID | str, tenant: str) -> None:
        super().__init__(
            f"interaction {interaction_id} not found for tenant {tenant!r}: record the interaction first, "
            "and vote, edit or escalate with the tenant it was recorded under"
        )


class UnknownEscalation(LookupError):
    """The escalation does not exist for this tenant."""

    def __init__(self, escalation_id: UUID | str, tenant: str) -> None:
        super().__init__(f"escalation {escalation_id} not found for tenant {tenant!r}")


class UnknownApiKey(LookupError):
    """The API key id does not exist (for this tenant)."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"API key {key_id!r} not found")


class IdConflict(ValueError):
    """A client-generated id is already used by another tenant's record."""

    def __init__(self, kind: Kind, record_id: UUID) -> None:
        super().__init__(f"{kind} id {record_id} is already used by another record; generate a fresh UUID")


class SchemaOutOfDate(RuntimeError):
    """The database is not at the revision this code expects."""


def _page_args(page: int, page_size: int) -> None:
    if page < 1:
        raise ValueError(f"page must be >= 1, got {page}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {page_size}")


def _uuid(value: UUID | str) -> str | None:
    try:
        return str(value if isinstance(value, UUID) else UUID(value))
    except ValueError:
        return None


def _interaction(row: InteractionRow) -> InteractionRecord:
    return InteractionRecord(
        id=UUID(row.id),
        tenant=row.tenant,
        created_at=row.created_at,
        channel=row.channel,  # type: ignore[arg-type]
        actor=row.actor,
        question=row.question,
        answer=row.answer,
        citations=tuple(Citation(**c) for c in row.citations),
        source_ids=tuple(row.source_ids),
        source_doc_ids=tuple(row.source_doc_ids),
        confidence=row.confidence,
        confidence_level=row.confidence_level,  # type: ignore[arg-type]
        confidence_reason=row.confidence_reason,
        abstained=row.abstained,
        escalation_reason=row.escalation_reason,
        generator=row.generator,
        model=row.model,
        prompt_version=row.prompt_version,
        index_version=row.index_version,
        flags=tuple(row.flags),
        latency_ms=dict(row.latency_ms),
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        cost_usd=row.cost_usd,
        cached=row.cached,
        trace_id=row.trace_id,
        variant=row.variant,
        route=row.route,
        fallback_reason=row.fallback_reason,
        shadow_of=UUID(row.shadow_of) if row.shadow_of else None,
        conversation_id=row.conversation_id,
        anonymized_at=row.anonymized_at,
    )


def _feedback(row: FeedbackRow, codes: Sequence[str]) -> FeedbackRecord:
    return FeedbackRecord(
        id=UUID(row.id),
        tenant=row.tenant,
        created_at=row.created_at,
        interaction_id=UUID(row.interaction_id),
        thumbs=row.thumbs,  # type: ignore[arg-type]
        reason_codes=tuple(codes),
        comment=row.comment,
        reviewer=row.reviewer,
    )


def _edit(row: EditRow) -> EditRecord:
    return EditRecord(
        id=UUID(row.id),
        tenant=row.tenant,
        created_at=row.created_at,
        interaction_id=UUID(row.interaction_id),
        draft=row.draft,
        sent=row.sent,
        editor=row.editor,
        distance=row.distance,
        ratio=row.ratio,
    )


def _escalation(row: EscalationRow) -> EscalationRecord:
    return EscalationRecord(
        id=UUID(row.id),
        tenant=row.tenant,
        created_at=row.created_at,
        interaction_id=UUID(row.interaction_id) if row.interaction_id else None,
        reason=row.reason,
        queue=row.queue,
        status=row.status,  # type: ignore[arg-type]
        actor=row.actor,
        channel=row.channel,
        contact=row.contact,
        conversation_id=row.conversation_id,
        assignee=row.assignee,
        updated_at=row.updated_at,
    )


def _api_key(row: ApiKeyRow) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id,
        tenant=row.tenant,
        role=row.role,
        name=row.name,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def edit_distance(draft: str, sent: str) -> tuple[int, float]:
    """Levenshtein distance of ``sent`` from ``draft`` and its ratio in [0, 1] (0 = sent unchanged)."""
    return Levenshtein.distance(draft, sent), Levenshtein.normalized_distance(draft, sent)


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def _in_range(column: Any, since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if since is not None:
        where.append(column >= since)
    if until is not None:
        where.append(column < until)
    return where


class FeedbackStore:
    """Every read and write of the feedback database. Writes are idempotent on the record's client-generated id."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = reader(engine)
        self._on_revoke: list[Callable[[str], None]] = []

    @classmethod
    def open(cls, settings: FeedbackSettings) -> FeedbackStore:
        """The store of ``settings``; migrates SQLite on open (``feedback_auto_upgrade``), never connects otherwise.

        Opening never fails because PostgreSQL is down: the first write finds out, and spools.
        """
        engine = make_engine(settings.resolved_database_url(), settings.feedback_db_timeout_s)
        auto = (
            settings.feedback_auto_upgrade
            if settings.feedback_auto_upgrade is not None
            else engine.dialect.name == "sqlite"
        )
        if auto:
            from feedback.migrate import upgrade

            upgrade(engine)
        return cls(engine)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def check_schema(self) -> None:
        """Raise :class:`SchemaOutOfDate` unless the database is at the newest revision."""
        from feedback.migrate import current, head

        found, wanted = current(self.engine), head()
        if found != wanted:
            url = self.engine.url.render_as_string(hide_password=True)
            raise SchemaOutOfDate(
                f"the feedback database {url} is at revision {found or 'none (empty)'}, this code needs {wanted}: "
                "run `deskpilot db upgrade` (set DESKPILOT_FEEDBACK_DATABASE_URL to the same database)"
            )

    # --- writes -----------------------------------------------------------------------------------------

    def write(self, record: InteractionIn | FeedbackIn | EditIn | EscalationIn) -> WriteResult:
        """Store any spoolable record (dispatches on its type)."""
        if isinstance(record, InteractionIn):
            return self.record_interaction(record)
        if isinstance(record, FeedbackIn):
            return self.record_feedback(record)
        if isinstance(record, EditIn):
            return self.record_edit(record)
        return self.record_escalation(record)

    def _insert(
        self,
        kind: Kind,
        model: type[R],
        record: InteractionIn | FeedbackIn | EditIn | EscalationIn,
        build: Callable[[Session], bool | None],
    ) -> WriteResult:
        """Run ``build`` unless ``record`` is stored already; ``build`` returns False when it stored nothing."""
        record_id = str(record.id)
        try:
            with Session(self.engine) as session, session.begin():
                existing = session.get(model, record_id)
                if existing is not None:
                    if getattr(existing, "tenant", None) != record.tenant:
                        raise IdConflict(kind, record.id)
                    return WriteResult(kind=kind, id=record.id, created=False)
                created = build(session) is not False
        except IntegrityError:
            # Two writers raced on the same id: the loser reports a duplicate if the winner stored it.
            with Session(self._reader) as session:
                existing = session.get(model, record_id)
            if existing is None:
                raise
            if getattr(existing, "tenant", None) != record.tenant:
                raise IdConflict(kind, record.id) from None
            return WriteResult(kind=kind, id=record.id, created=False)
        return WriteResult(kind=kind, id=record.id, created=created)

    def _require_interaction(self, session: Session, interaction_id: UUID, tenant: str) -> None:
        found = session.scalar(
            select(InteractionRow.id).where(InteractionRow.id == str(interaction_id), InteractionRow.tenant == tenant)
        )
        if found is None:
            raise UnknownInteraction(interaction_id, tenant)

    def record_interaction(self, item: InteractionIn) -> WriteResult:
        """Store one served answer; a second call with the same id is a no-op (``created=False``)."""

        def build(session: Session) -> None:
            session.add(
                InteractionRow(
                    id=str(item.id),
                    tenant=item.tenant,
                    channel=item.channel,
                    actor=item.actor,
                    question=item.question,
                    answer=item.answer,
                    citations=[
                        {
                            "n": c.n,
                            "doc_id": c.doc_id,
                            "title": c.title,
                            "url": c.url,
                            "section": c.section,
                            "snippet": c.snippet,
                            "support": c.support,
                        }
                        for c in item.citations
                    ],
                    source_ids=list(item.source_ids),
                    source_doc_ids=list(item.source_doc_ids),
                    confidence=item.confidence,
                    confidence_level=item.confidence_level,
                    confidence_reason=item.confidence_reason,
                    abstained=item.abstained,
                    escalation_reason=item.escalation_reason,
                    generator=item.generator,
                    model=item.model,
                    prompt_version=item.prompt_version,
                    index_version=item.index_version,
                    flags=list(item.flags),
                    latency_ms=dict(item.latency_ms),
                    total_ms=item.latency_ms.get("total"),
                    prompt_tokens=item.prompt_tokens,
                    completion_tokens=item.completion_tokens,
                    cost_usd=item.cost_usd,
                    cached=item.cached,
                    trace_id=item.trace_id,
                    variant=item.variant,
                    route=item.route,
                    fallback_reason=item.fallback_reason,
                    shadow_of=str(item.shadow_of) if item.shadow_of else None,
                    conversation_id=item.conversation_id,
                    created_at=item.created_at,
                )
            )

        return self._insert("interaction", InteractionRow, item, build)

    def record_feedback(self, item: FeedbackIn) -> WriteResult:
        """Store a vote on an interaction of the same tenant, and audit it. A reviewer has one vote per
        interaction: a later vote replaces theirs (audited as replaced), an earlier one arriving late (a spool
        replay) changes nothing, so every count is of the latest votes."""

        def build(session: Session) -> bool:
            self._require_interaction(session, item.interaction_id, item.tenant)
            earlier = session.scalars(
                select(FeedbackRow).where(
                    FeedbackRow.interaction_id == str(item.interaction_id), FeedbackRow.reviewer == item.reviewer
                )
            ).all()
            if any(row.created_at > item.created_at for row in earlier):
                return False
            for row in earlier:
                session.execute(delete(FeedbackReasonRow).where(FeedbackReasonRow.feedback_id == row.id))
                session.delete(row)
            if earlier:
                audit.append(
                    session,
                    actor=item.reviewer or "anonymous",
                    action="feedback.replaced",
                    tenant=item.tenant,
                    target=f"interaction:{item.interaction_id}",
                    details={"replaced": [row.id for row in earlier], "by": str(item.id)},
                )
                session.flush()
            session.add(
                FeedbackRow(
                    id=str(item.id),
                    tenant=item.tenant,
                    interaction_id=str(item.interaction_id),
                    thumbs=item.thumbs,
                    comment=item.comment,
                    reviewer=item.reviewer,
                    created_at=item.created_at,
                )
            )
            session.flush()
            session.add_all(FeedbackReasonRow(feedback_id=str(item.id), code=code) for code in item.reason_codes)
            audit.append(
                session,
                actor=item.reviewer or "anonymous",
                action="feedback.recorded",
                tenant=item.tenant,
                target=f"interaction:{item.interaction_id}",
                details={"feedback_id": str(item.id), "thumbs": item.thumbs, "reason_codes": list(item.reason_codes)},
            )
            return True

        return self._insert("feedback", FeedbackRow, item, build)

    def record_edit(self, item: EditIn) -> WriteResult:
        """Store an agent's edit of a draft with its edit distance, and audit it."""
        distance, ratio = edit_distance(item.draft, item.sent)

        def build(session: Session) -> None:
            self._require_interaction(session, item.interaction_id, item.tenant)
            session.add(
                EditRow(
                    id=str(item.id),
                    tenant=item.tenant,
                    interaction_id=str(item.interaction_id),
                    draft=item.draft,
                    sent=item.sent,
                    editor=item.editor,
                    distance=distance,
                    ratio=ratio,
                    created_at=item.created_at,
                )
            )
            audit.append(
                session,
                actor=item.editor or "anonymous",
                action="edit.recorded",
                tenant=item.tenant,
                target=f"interaction:{item.interaction_id}",
                details={"edit_id": str(item.id), "distance": distance, "ratio": round(ratio, 6)},
            )

        return self._insert("edit", EditRow, item, build)

    def record_escalation(self, item: EscalationIn) -> WriteResult:
        """Open an escalation (optionally tied to an interaction of the same tenant), and audit it."""

        def build(session: Session) -> None:
            if item.interaction_id is not None:
                self._require_interaction(session, item.interaction_id, item.tenant)
            session.add(
                EscalationRow(
                    id=str(item.id),
                    tenant=item.tenant,
                    interaction_id=str(item.interaction_id) if item.interaction_id else None,
                    reason=item.reason,
                    queue=item.queue,
                    status=item.status,
                    actor=item.actor,
                    channel=item.channel,
                    contact=item.contact,
                    conversation_id=item.conversation_id,
                    assignee=item.assignee,
                    created_at=item.created_at,
                    updated_at=item.created_at,
                )
            )
            # Never the contact: the audit log is kept forever, retention must be able to remove it.
            audit.append(
                session,
                actor=item.actor or "system",
                action="escalation.created",
                tenant=item.tenant,
                target=f"escalation:{item.id}",
                details={
                    "interaction_id": str(item.interaction_id) if item.interaction_id else None,
                    "queue": item.queue,
                    "status": item.status,
                    "channel": item.channel,
                    "has_contact": bool(item.contact),
                },
            )

        return self._insert("escalation", EscalationRow, item, build)

    def update_escalation_status(
        self, escalation_id: UUID | str, *, tenant: str, status: str, actor: str
    ) -> EscalationRecord:
        """Move an escalation to ``status`` (one of ``ESCALATION_STATUSES``); the change is audited."""
        return self.update_escalation(escalation_id, tenant=tenant, status=status, actor=actor)

    def update_escalation(
        self,
        escalation_id: UUID | str,
        *,
        tenant: str,
        actor: str,
        status: str | None = None,
        assignee: str | None = None,
    ) -> EscalationRecord:
        """Set an escalation's status and/or assignee (None = leave as is; ``assignee=""`` unassigns); a change
        is audited in the same transaction. Giving a new escalation an assignee makes it ``assigned``; moving
        one back to ``new`` unassigns it. Another tenant's id is :class:`UnknownEscalation`."""
        if status is not None:
            status = LEGACY_ESCALATION_STATUSES.get(status, status)
            if status not in ESCALATION_STATUSES:
                raise ValueError(f"unknown escalation status {status!r}; allowed: {', '.join(ESCALATION_STATUSES)}")
        if assignee is not None and len(assignee) > 256:
            raise ValueError("assignee: at most 256 characters")
        if not actor:
            raise ValueError("actor is required to change an escalation")
        key = _uuid(escalation_id)
        with Session(self.engine) as session, session.begin():
            row = (
                session.scalars(
                    select(EscalationRow)
                    .where(EscalationRow.id == key, EscalationRow.tenant == tenant)
                    .with_for_update()
                ).first()
                if key
                else None
            )
            if row is None:
                raise UnknownEscalation(escalation_id, tenant)
            new_status = status if status is not None else row.status
            new_assignee = assignee.strip() if assignee is not None else row.assignee
            if status is None and assignee is not None and new_assignee and row.status == "new":
                new_status = "assigned"
            if status == "new" and assignee is None:
                new_assignee = ""
            details: dict[str, Any] = {}
            if new_status != row.status:
                details.update({"from": row.status, "to": new_status})
            if new_assignee != row.assignee:
                details.update({"assignee_from": row.assignee, "assignee_to": new_assignee})
            if details:
                row.status, row.assignee, row.updated_at = new_status, new_assignee, utcnow()
                action = "escalation.status_changed" if set(details) == {"from", "to"} else "escalation.updated"
                audit.append(
                    session, actor=actor, action=action, tenant=tenant, target=f"escalation:{row.id}", details=details
                )
            session.flush()
            return _escalation(row)

    def conversation(
        self, tenant: str, *, conversation_id: str = "", interaction_id: UUID | str | None = None, limit: int = 50
    ) -> list[ConversationTurn]:
        """The conversation as the customer saw it, from ``tenant``'s recorded interactions only: each
        question and the answer shown with its sources, oldest first (the last ``limit`` interactions). A
        conversation id gathers every interaction of that conversation; without one, the single interaction.
        Shadow answers (never shown) are left out; nothing the client claims becomes a turn."""
        where: list[ColumnElement[bool]] = [InteractionRow.tenant == tenant, InteractionRow.shadow_of.is_(None)]
        if conversation_id:
            where.append(InteractionRow.conversation_id == conversation_id)
        elif interaction_id is not None and (key := _uuid(interaction_id)) is not None:
            where.append(InteractionRow.id == key)
        else:
            return []
        with Session(self._reader) as session:
            rows = list(
                session.scalars(
                    select(InteractionRow)
                    .where(*where)
                    .order_by(InteractionRow.created_at.desc(), InteractionRow.id.desc())
                    .limit(limit)
                )
            )
        turns: list[ConversationTurn] = []
        for row in reversed(rows):
            iid = UUID(row.id)
            turns.append(ConversationTurn(role="customer", text=row.question, at=row.created_at, interaction_id=iid))
            sources: dict[int, tuple[str, str]] = {}
            for c in row.citations:
                sources.setdefault(
                    int(c.get("n", 0)), (str(c.get("title") or c.get("doc_id") or ""), str(c.get("url") or ""))
                )
            turns.append(
                ConversationTurn(
                    role="assistant",
                    text=row.answer,
                    at=row.created_at,
                    interaction_id=iid,
                    abstained=row.abstained,
                    sources=tuple(sources[n] for n in sorted(sources)),
                )
            )
        return turns

    # --- reads ------------------------------------------------------------------------------------------

    def _page(
        self, session: Session, query: Select[T], order: Sequence[Any], page: int, page_size: int
    ) -> tuple[list[T], int]:
        _page_args(page, page_size)
        total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
        items = list(session.scalars(query.order_by(*order).limit(page_size).offset((page - 1) * page_size)))
        return items, total

    def get_interaction(self, interaction_id: UUID | str, tenant: str) -> InteractionRecord | None:
        """The interaction if it belongs to ``tenant``; None otherwise (another tenant's row is never returned)."""
        key = _uuid(interaction_id)
        if key is None:
            return None
        with Session(self._reader) as session:
            row = session.scalars(
                select(InteractionRow).where(InteractionRow.id == key, InteractionRow.tenant == tenant)
            ).first()
            return _interaction(row) if row else None

    def list_interactions(
        self,
        tenant: str | None,
        *,
        channel: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        generator: str | None = None,
        model: str | None = None,
        prompt_version: str | None = None,
        index_version: str | None = None,
        abstained: bool | None = None,
        variant: str | None = None,
        shadow: bool | None = False,
        page: int = 1,
        page_size: int = 50,
    ) -> Page[InteractionRecord]:
        """Interactions newest first; ``tenant=None`` lists every tenant (admins only). ``until`` is exclusive.

        Shadow answers (a rollout candidate's, never shown to anyone) are left out unless ``shadow`` is
        True (only them) or None (both)."""
        query = select(InteractionRow)
        filters: list[ColumnElement[bool]] = _in_range(InteractionRow.created_at, since, until)
        for column, value in (
            (InteractionRow.tenant, tenant),
            (InteractionRow.channel, channel),
            (InteractionRow.generator, generator),
            (InteractionRow.model, model),
            (InteractionRow.prompt_version, prompt_version),
            (InteractionRow.index_version, index_version),
            (InteractionRow.variant, variant),
        ):
            if value is not None:
                filters.append(column == value)
        if abstained is not None:
            filters.append(InteractionRow.abstained == abstained)
        if shadow is not None:
            filters.append(InteractionRow.shadow_of.is_not(None) if shadow else InteractionRow.shadow_of.is_(None))
        with Session(self._reader) as session:
            rows, total = self._page(
                session,
                query.where(*filters),
                (InteractionRow.created_at.desc(), InteractionRow.id.desc()),
                page,
                page_size,
            )
            return Page(items=tuple(_interaction(r) for r in rows), total=total, page=page, page_size=page_size)

    def list_feedback(
        self,
        tenant: str | None,
        *,
        interaction_id: UUID | str | None = None,
        thumbs: str | None = None,
        reason_code: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> Page[FeedbackRecord]:
        """Votes newest first, filtered by interaction, thumbs or reason code."""
        filters = _in_range(FeedbackRow.created_at, since, until)
        if tenant is not None:
            filters.append(FeedbackRow.tenant == tenant)
        if interaction_id is not None:
            filters.append(FeedbackRow.interaction_id == (_uuid(interaction_id) or ""))
        if thumbs is not None:
            filters.append(FeedbackRow.thumbs == thumbs)
        if reason_code is not None:
            filters.append(
                FeedbackRow.id.in_(select(FeedbackReasonRow.feedback_id).where(FeedbackReasonRow.code == reason_code))
            )
        with Session(self._reader) as session:
            rows, total = self._page(
                session,
                select(FeedbackRow).where(*filters),
                (FeedbackRow.created_at.desc(), FeedbackRow.id.desc()),
                page,
                page_size,
            )
            codes: dict[str, list[str]] = {r.id: [] for r in rows}
            for feedback_id, code in session.execute(
                select(FeedbackReasonRow.feedback_id, FeedbackReasonRow.code)
                .where(FeedbackReasonRow.feedback_id.in_(list(codes)))
                .order_by(FeedbackReasonRow.code)
            ):
                codes[feedback_id].append(code)
            return Page(
                items=tuple(_feedback(r, codes[r.id]) for r in rows), total=total, page=page, page_size=page_size
            )

    def list_edits(
        self,
        tenant: str | None,
        *,
        interaction_id: UUID | str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> Page[EditRecord]:
        """Agent edits newest first."""
        filters = _in_range(EditRow.created_at, since, until)
        if tenant is not None:
            filters.append(EditRow.tenant == tenant)
        if interaction_id is not None:
            filters.append(EditRow.interaction_id == (_uuid(interaction_id) or ""))
        with Session(self._reader) as session:
            rows, total = self._page(
                session,
                select(EditRow).where(*filters),
                (EditRow.created_at.desc(), EditRow.id.desc()),
                page,
                page_size,
            )
            return Page(items=tuple(_edit(r) for r in rows), total=total, page=page, page_size=page_size)

    def get_escalation(self, escalation_id: UUID | str, tenant: str) -> EscalationRecord | None:
        """The escalation if it belongs to ``tenant``."""
        key = _uuid(escalation_id)
        if key is None:
            return None
        with Session(self._reader) as session:
            row = session.scalars(
                select(EscalationRow).where(EscalationRow.id == key, EscalationRow.tenant == tenant)
            ).first()
            return _escalation(row) if row else None

    def list_escalations(
        self,
        tenant: str | None,
        *,
        status: str | Sequence[str] | None = None,
        queue: str | None = None,
        channel: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> Page[EscalationRecord]:
        """Escalations newest first, filtered by status (one or several; earlier names are mapped), queue
        and channel."""
        filters = _in_range(EscalationRow.created_at, since, until)
        for column, value in (
            (EscalationRow.tenant, tenant),
            (EscalationRow.queue, queue),
            (EscalationRow.channel, channel),
        ):
            if value is not None:
                filters.append(column == value)
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            filters.append(EscalationRow.status.in_([LEGACY_ESCALATION_STATUSES.get(s, s) for s in wanted]))
        with Session(self._reader) as session:
            rows, total = self._page(
                session,
                select(EscalationRow).where(*filters),
                (EscalationRow.created_at.desc(), EscalationRow.id.desc()),
                page,
                page_size,
            )
            return Page(items=tuple(_escalation(r) for r in rows), total=total, page=page, page_size=page_size)

    def list_audit_events(
        self, tenant: str | None, *, action: str | None = None, page: int = 1, page_size: int = 50
    ) -> Page[AuditEventRecord]:
        """Audit events newest first."""
        filters: list[ColumnElement[bool]] = []
        if tenant is not None:
            filters.append(AuditEventRow.tenant == tenant)
        if action is not None:
            filters.append(AuditEventRow.action == action)
        with Session(self._reader) as session:
            rows, total = self._page(
                session, select(AuditEventRow).where(*filters), (AuditEventRow.seq.desc(),), page, page_size
            )
            return Page(items=tuple(audit.record_of(r) for r in rows), total=total, page=page, page_size=page_size)

    def record_audit_event(
        self, *, actor: str, action: str, tenant: str, target: str, details: dict[str, Any] | None = None
    ) -> AuditEventRecord:
        """Append one audit event on its own (for changes kept outside this database, e.g. feature flags)."""
        with Session(self.engine) as session, session.begin():
            return audit.append(session, actor=actor, action=action, tenant=tenant, target=target, details=details)

    def llm_usage_since(self, since: datetime) -> dict[str, tuple[int, int]]:
        """Per tenant, (LLM answers, their prompt + completion tokens) stored since ``since``; cached answers
        cost nothing and do not count. Seeds the daily budgets when a door starts."""
        query = (
            select(
                InteractionRow.tenant,
                func.count(),
                func.coalesce(func.sum(InteractionRow.prompt_tokens + InteractionRow.completion_tokens), 0),
            )
            .where(
                InteractionRow.created_at >= since,
                InteractionRow.cached.is_(False),
                InteractionRow.generator != "extractive",
            )
            .group_by(InteractionRow.tenant)
        )
        with Session(self._reader) as session:
            return {str(t): (int(n), int(tokens)) for t, n, tokens in session.execute(query)}

    def counts(
        self, tenant: str | None, *, since: datetime | None = None, until: datetime | None = None
    ) -> DashboardCounts:
        """Aggregate counts for dashboards, each table filtered on its own ``created_at``; a handful of queries."""

        def scoped(model: Any) -> list[ColumnElement[bool]]:
            where = _in_range(model.created_at, since, until)
            if tenant is not None:
                where.append(model.tenant == tenant)
            return where

        with Session(self._reader) as session:
            i = [*scoped(InteractionRow), InteractionRow.shadow_of.is_(None)]  # shadow answers are no traffic
            totals = session.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(InteractionRow.cost_usd), 0.0),
                    func.coalesce(func.sum(InteractionRow.prompt_tokens + InteractionRow.completion_tokens), 0),
                ).where(*i)
            ).one()
            abstained = session.scalar(select(func.count()).where(*i, InteractionRow.abstained.is_(True))) or 0
            by_channel = {
                str(k): int(v)
                for k, v in session.execute(
                    select(InteractionRow.channel, func.count()).where(*i).group_by(InteractionRow.channel)
                )
            }
            f = scoped(FeedbackRow)
            votes = {
                str(k): int(v)
                for k, v in session.execute(
                    select(FeedbackRow.thumbs, func.count()).where(*f).group_by(FeedbackRow.thumbs)
                )
            }
            reasons = {
                str(k): int(v)
                for k, v in session.execute(
                    select(FeedbackReasonRow.code, func.count())
                    .join(FeedbackRow, FeedbackRow.id == FeedbackReasonRow.feedback_id)
                    .where(*f)
                    .group_by(FeedbackReasonRow.code)
                )
            }
            edits, mean_ratio = session.execute(
                select(func.count(), func.avg(EditRow.ratio)).where(*scoped(EditRow))
            ).one()
            escalations = {
                str(k): int(v)
                for k, v in session.execute(
                    select(EscalationRow.status, func.count())
                    .where(*scoped(EscalationRow))
                    .group_by(EscalationRow.status)
                )
            }
        return DashboardCounts(
            interactions=int(totals[0]),
            abstained=int(abstained),
            by_channel=by_channel,
            votes_up=votes.get("up", 0),
            votes_down=votes.get("down", 0),
            reasons=reasons,
            edits=int(edits),
            mean_edit_ratio=float(mean_ratio) if mean_ratio is not None else None,
            escalations_by_status=escalations,
            cost_usd=float(totals[1]),
            tokens=int(totals[2]),
        )

    # --- API keys ---------------------------------------------------------------------------------------

    def create_api_key(self, tenant: str, role: str, name: str, *, actor: str = "system") -> tuple[str, str]:
        """Create a key; returns ``(key_id, plaintext_key)``. Only a SHA-256 of the secret is stored: show it once."""
        if not tenant or len(tenant) > 128:
            raise ValueError("API key tenant must be 1..128 characters")
        if not _ROLE.match(role):
            raise ValueError(f"API key role {role!r} must be lowercase letters and underscores, at most 32 characters")
        if not name or len(name) > 128:
            raise ValueError("API key name must be 1..128 characters")
        key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        with Session(self.engine) as session, session.begin():
            session.add(
                ApiKeyRow(
                    id=key_id, tenant=tenant, role=role, name=name, key_hash=_hash_secret(secret), created_at=utcnow()
                )
            )
            audit.append(
                session,
                actor=actor,
                action="api_key.created",
                tenant=tenant,
                target=f"api_key:{key_id}",
                details={"role": role, "name": name},
            )
        return key_id, f"{KEY_PREFIX}_{key_id}_{secret}"

    def verify_api_key(self, plaintext: str) -> ApiKeyRecord | None:
        """The key's record if ``plaintext`` is a valid, unrevoked key; None otherwise. Compares in constant time."""
        match = _KEY.match(plaintext)
        if match is None:
            return None
        key_id, secret = match.groups()
        with Session(self._reader) as session:
            row = session.get(ApiKeyRow, key_id)
            record = _api_key(row) if row is not None else None
            stored = row.key_hash if row is not None else _DUMMY_HASH
        if not hmac.compare_digest(stored, _hash_secret(secret)) or record is None or not record.active:
            return None
        now = utcnow()
        if record.last_used_at is None or now - record.last_used_at > _TOUCH_EVERY:
            with Session(self.engine) as session, session.begin():
                touched = session.get(ApiKeyRow, key_id)
                if touched is not None:
                    touched.last_used_at = now
            record = record.model_copy(update={"last_used_at": now})
        return record

    def list_api_keys(self, tenant: str | None = None) -> list[ApiKeyRecord]:
        """Every key (revoked ones too), oldest first; ``tenant=None`` = all tenants."""
        query = select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id)
        if tenant is not None:
            query = query.where(ApiKeyRow.tenant == tenant)
        with Session(self._reader) as session:
            return [_api_key(r) for r in session.scalars(query)]

    def revoke_api_key(self, key_id: str, *, actor: str = "system", tenant: str | None = None) -> bool:
        """Revoke a key (audited); False if it was already revoked. ``tenant`` restricts which keys may be revoked."""
        with Session(self.engine) as session, session.begin():
            row = session.get(ApiKeyRow, key_id)
            if row is None or (tenant is not None and row.tenant != tenant):
                raise UnknownApiKey(key_id)
            if row.revoked_at is not None:
                return False
            row.revoked_at = utcnow()
            audit.append(
                session,
                actor=actor,
                action="api_key.revoked",
                tenant=row.tenant,
                target=f"api_key:{key_id}",
                details={"name": row.name, "role": row.role},
            )
        for listener in self._on_revoke:  # after the commit: a listener that re-reads the key sees it revoked
            listener(key_id)
        return True

    def on_api_key_revoked(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(key_id)`` after each key this store revokes (API key caches forget it at once)."""
        self._on_revoke.append(listener)
