"""The API's link to the feedback store: durable writes, tenant-checked reads, API keys that survive an outage."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

from sqlalchemy.exc import SQLAlchemyError

from assistant.records import Answer
from feedback.records import (
    OPEN_ESCALATION_STATUSES,
    EditIn,
    EscalationIn,
    EscalationRecord,
    FeedbackIn,
    InteractionIn,
)
from feedback.spool import DurableWriter, SpoolUnavailable
from feedback.store import FeedbackStore, UnknownEscalation, UnknownInteraction
from ui.api.app import NotFound, SpoolFailed
from ui.api.auth import Principal
from ui.api.revocation import LocalEpoch, RevocationEpoch, announce_revocations
from ui.api.roles import Role
from ui.api.schemas import (
    EditRequest,
    EscalationOut,
    EscalationPage,
    EscalationPatch,
    EscalationRequest,
    FeedbackRequest,
    InteractionOut,
    InteractionPage,
    SourceOut,
    TurnOut,
)
from ui.console.contacts import SEALED_PREFIX, ContactSealer

log = logging.getLogger("deskpilot.api")


class StoreRecorder:
    """Writes go to the database or, when it is down, to the local spool; reads never cross tenants."""

    def __init__(self, store: FeedbackStore, writer: DurableWriter, sealer: ContactSealer | None = None) -> None:
        """``sealer``: seals the customer's contact before it is stored or spooled (None: kept as given)."""
        self.store, self.writer, self.sealer = store, writer, sealer

    def interaction(
        self,
        answer: Answer,
        principal: Principal,
        channel: str,
        request_id: str,
        variant: str = "",
        shadow_of: str | None = None,
        *,
        trace_id: str = "",
        cost_usd: float = 0.0,
        conversation_id: str = "",
    ) -> tuple[str, str]:
        """Record an answer; a customer still gets the answer when even the spool fails (logged)."""
        record = InteractionIn.from_answer(
            answer,
            tenant=principal.tenant,
            channel=channel,  # type: ignore[arg-type]
            actor=principal.subject,
            trace_id=trace_id or request_id,
            cost_usd=cost_usd,
            variant=variant,
            shadow_of=UUID(shadow_of) if shadow_of else None,
            conversation_id="" if shadow_of else conversation_id,
        )
        try:
            return str(record.id), self.writer.write(record).status
        except SpoolUnavailable as exc:
            log.error("interaction %s could not be recorded: %s", record.id, exc)
            return str(record.id), "unrecorded"

    def _write(self, record: FeedbackIn | EditIn | EscalationIn) -> tuple[str, str]:
        try:
            outcome = self.writer.write(record)
        except SpoolUnavailable as exc:
            raise SpoolFailed(str(exc)) from exc
        except UnknownInteraction as exc:
            raise NotFound(str(getattr(record, "interaction_id", ""))) from exc
        return str(outcome.id), "spooled" if outcome.status == "spooled" else "stored"

    def feedback(self, body: FeedbackRequest, principal: Principal) -> tuple[str, str]:
        """A vote."""
        return self._write(
            FeedbackIn(
                tenant=principal.tenant,
                interaction_id=body.interaction_id,
                thumbs=body.thumbs,
                reason_codes=tuple(body.reasons),
                comment=body.comment,
                reviewer=principal.subject,
            )
        )

    def edit(self, body: EditRequest, principal: Principal) -> tuple[str, str]:
        """An agent's edit of a draft."""
        return self._write(
            EditIn(
                tenant=principal.tenant,
                interaction_id=body.interaction_id,
                draft=body.draft,
                sent=body.sent,
                editor=principal.subject,
            )
        )

    def escalation(self, body: EscalationRequest, principal: Principal) -> tuple[str, str]:
        """A hand-off. The conversation is never taken from the client: it is built on read from the tenant's
        recorded interactions of ``conversation_id``, so a client cannot put words in the assistant's or an
        agent's mouth (``body.conversation`` is ignored). The contact goes in its own field, sealed when a
        key is configured, and never into a log line."""
        contact = body.contact
        if contact and self.sealer is not None:
            contact = self.sealer.seal(contact)
        return self._write(
            EscalationIn(
                tenant=principal.tenant,
                interaction_id=body.interaction_id,
                reason=body.reason[:1000],
                queue=body.queue,
                actor=principal.subject,
                channel="widget" if principal.role == Role.widget else "api",
                contact=contact,
                conversation_id=body.conversation_id or "",
            )
        )

    def _escalation_out(self, record: EscalationRecord) -> EscalationOut:
        turns = self.store.conversation(
            record.tenant, conversation_id=record.conversation_id, interaction_id=record.interaction_id
        )
        contact = self.sealer.open(record.contact) if self.sealer is not None else record.contact
        if contact.startswith(SEALED_PREFIX):  # sealed under a key this process does not have
            contact = ""
        return EscalationOut(
            id=str(record.id),
            status=record.status,
            assignee=record.assignee,
            reason=record.reason,
            queue=record.queue,
            channel=record.channel,
            contact=contact,
            created_at=record.created_at.isoformat(),
            updated_at=record.updated_at.isoformat(),
            interaction_id=str(record.interaction_id) if record.interaction_id else None,
            conversation_id=record.conversation_id,
            conversation=[
                TurnOut(
                    role=t.role,
                    text=t.text,
                    at=t.at.isoformat(),
                    interaction_id=str(t.interaction_id),
                    abstained=t.abstained,
                    sources=[SourceOut(title=title, url=url) for title, url in t.sources],
                )
                for t in turns
            ],
        )

    def escalations(self, tenant: str, page: int, page_size: int, status: str | None) -> EscalationPage:
        """One page of the tenant's escalations, newest first; ``status="open"`` lists new and assigned."""
        statuses = OPEN_ESCALATION_STATUSES if status == "open" else status
        found = self.store.list_escalations(tenant, status=statuses, page=page, page_size=page_size)
        return EscalationPage(
            items=[self._escalation_out(e) for e in found.items],
            page=found.page,
            page_size=found.page_size,
            total=found.total,
        )

    def update_escalation(self, tenant: str, escalation_id: str, body: EscalationPatch, actor: str) -> EscalationOut:
        """Set status and/or assignee, audited; another tenant's (or an unknown) id is a 404."""
        try:
            record = self.store.update_escalation(
                escalation_id, tenant=tenant, actor=actor, status=body.status, assignee=body.assignee
            )
        except UnknownEscalation as exc:
            raise NotFound(f"escalation {escalation_id} of this tenant") from exc
        return self._escalation_out(record)

    def interactions(
        self,
        tenant: str,
        page: int,
        page_size: int,
        channel: str | None,
        since: datetime | None,
        until: datetime | None,
    ) -> InteractionPage:
        """One page of the tenant's interactions, newest first."""
        found = self.store.list_interactions(
            tenant, channel=channel, since=since, until=until, page=page, page_size=page_size
        )
        return InteractionPage(
            items=[
                InteractionOut(
                    id=str(i.id),
                    created_at=i.created_at.isoformat(),
                    channel=i.channel,
                    actor=i.actor,
                    question=i.question,
                    answer=i.answer,
                    abstained=i.abstained,
                    confidence_level=i.confidence_level,
                    confidence_score=i.confidence,
                    generator=i.generator,
                    model=i.model,
                    prompt_version=i.prompt_version,
                    index_version=i.index_version,
                    latency_ms=float(i.latency_ms.get("total", 0.0)),
                )
                for i in found.items
            ],
            page=found.page,
            page_size=found.page_size,
            total=found.total,
        )

    def owns(self, tenant: str, interaction_id: str) -> bool | None:
        """Whether the interaction belongs to the tenant; None when the database cannot say (it is down)."""
        try:
            UUID(interaction_id)
        except ValueError:
            return False
        try:
            return self.store.get_interaction(interaction_id, tenant) is not None
        except SQLAlchemyError:
            return None

    def ready(self) -> bool:
        """Whether the database answers with the expected schema."""
        try:
            self.store.check_schema()
        except Exception:
            return False
        return True


class KeyCache:
    """API keys verified against the store, remembered for ``ttl_s`` so that a database outage does not lock
    customers out: while the database is down, a key verified before stays valid for ``outage_grace_s``.

    A remembered key is trusted only under the revocation epoch it was verified in: a revoke through ``store``
    advances the epoch (and, with a Redis epoch, so does a revoke in any other process), so the next request
    with a revoked key is checked against the store again and refused."""

    def __init__(
        self,
        store: FeedbackStore,
        ttl_s: float = 60.0,
        outage_grace_s: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
        epoch: RevocationEpoch | None = None,
    ) -> None:
        self.store, self.ttl_s, self.outage_grace_s, self._clock = store, ttl_s, outage_grace_s, clock
        self.epoch: RevocationEpoch = epoch or LocalEpoch()
        self._known: dict[str, tuple[Principal, float, str | None]] = {}
        self._lock = threading.Lock()
        announce_revocations(store, self.epoch)

    def __call__(self, plaintext: str) -> Principal | None:
        """The key's principal, or None when the key is unknown or revoked."""
        digest = hashlib.sha256(plaintext.encode()).hexdigest()
        now = self._clock()
        epoch = self.epoch.current()  # read before the store, so a revoke in between is seen next time
        with self._lock:
            cached = self._known.get(digest)
        if cached is not None and now - cached[1] < self.ttl_s and epoch is not None and cached[2] == epoch:
            return cached[0]
        try:
            record = self.store.verify_api_key(plaintext)
        except SQLAlchemyError as exc:
            if cached is not None and now - cached[1] < self.outage_grace_s:
                log.warning("key store unavailable; using a key verified %.0f s ago", now - cached[1])
                return cached[0]
            raise SpoolFailed("the key store is unavailable") from exc
        if record is None or not record.active:
            with self._lock:
                self._known.pop(digest, None)
            return None
        try:
            role = Role(record.role)
        except ValueError:
            log.error("API key %s has the unknown role %r; treating it as invalid", record.id, record.role)
            return None
        principal = Principal(tenant=record.tenant, role=role, subject=f"key:{record.id}", via="key")
        with self._lock:
            self._known[digest] = (principal, now, epoch)
        return principal
