"""The escalation queue in the agent console: a customer's hand-off from the widget becomes an inbox ticket.

The API and the console may run in separate processes (or machines) and share only the feedback database and
the data dir, so the console learns of new hand-offs by reading the store: every inbox render lists the open
widget escalations of the agent's tenants (one indexed query per tenant) and adds a ticket for each one it
has not seen (:func:`sync`, idempotent under the ticket file's lock). The queue state (status, assignee) stays
in the feedback store, the one place the API's ``GET/PATCH /v1/escalations`` read and write, so the console and
the API never disagree about who has a hand-off.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from feedback.records import OPEN_ESCALATION_STATUSES, ConversationTurn, EscalationRecord
from feedback.store import FeedbackStore
from ui.console.contacts import SEALED_PREFIX, ContactSealer
from ui.console.tickets import TicketStore

log = logging.getLogger(__name__)

QUEUE_STATUSES = ("new", "assigned", "resolved")
"""The statuses an agent filters the hand-offs by (``dismissed`` shows under "all")."""
_PAGE = 200


@dataclass(frozen=True)
class Handoff:
    """A widget escalation as the console shows it: the record, the customer's address, the conversation."""

    escalation: EscalationRecord
    contact: str
    conversation: tuple[ConversationTurn, ...]

    @property
    def questions(self) -> list[str]:
        """The customer's questions, oldest first."""
        return [t.text for t in self.conversation if t.role == "customer" and t.text.strip()]


def contact_of(record: EscalationRecord, sealer: ContactSealer | None) -> str:
    """The escalation's contact in the clear ("" when sealed under a key this process does not have)."""
    value = sealer.open(record.contact) if sealer is not None else record.contact
    return "" if value.startswith(SEALED_PREFIX) else value


def handoff(store: FeedbackStore, record: EscalationRecord, sealer: ContactSealer | None) -> Handoff:
    """``record`` with its contact opened and its conversation built from the tenant's recorded interactions."""
    turns = store.conversation(
        record.tenant, conversation_id=record.conversation_id, interaction_id=record.interaction_id
    )
    return Handoff(record, contact_of(record, sealer), tuple(turns))


def widget_escalations(store: FeedbackStore, tenants: Collection[str], *, open_only: bool) -> list[EscalationRecord]:
    """The newest widget escalations of ``tenants`` (only new and assigned ones with ``open_only``)."""
    found: list[EscalationRecord] = []
    statuses = OPEN_ESCALATION_STATUSES if open_only else None
    for tenant in tenants:
        found.extend(store.list_escalations(tenant, status=statuses, channel="widget", page_size=_PAGE).items)
    return found


def sync(store: FeedbackStore, tickets: TicketStore, tenants: Collection[str]) -> dict[str, EscalationRecord]:
    """Add a ticket for every open widget escalation of ``tenants`` the inbox does not have yet; returns every
    recent widget escalation of those tenants by id (for the queue columns). A database outage leaves the inbox
    as it is (logged): the hand-offs arrive on a later render."""
    try:
        records = widget_escalations(store, tenants, open_only=False)
    except SQLAlchemyError as exc:
        log.warning("escalation queue: the feedback database is unavailable (%s)", type(exc).__name__)
        return {}
    by_id = {str(r.id): r for r in records}
    known = {t.escalation_id for t in tickets.all() if t.escalation_id}
    for record in records:
        if str(record.id) in known or record.status not in OPEN_ESCALATION_STATUSES:
            continue
        try:
            found = handoff(store, record, tickets.sealer)
        except SQLAlchemyError:
            continue
        questions = found.questions
        subject = questions[-1] if questions else record.reason
        tickets.from_escalation(
            str(record.id),
            record.tenant,
            "\n\n".join(questions) or record.reason,
            subject=" ".join(subject.split())[:80],
            customer_email=found.contact,
            received_at=record.created_at,
        )
    return by_id


def assign_to(store: FeedbackStore, record: EscalationRecord, username: str, actor: str) -> EscalationRecord:
    """Give the escalation to ``username`` (status ``assigned``); audited by the store."""
    return store.update_escalation(record.id, tenant=record.tenant, actor=actor, status="assigned", assignee=username)


def resolve(store: FeedbackStore, record: EscalationRecord, actor: str, assignee: str = "") -> EscalationRecord:
    """Mark the escalation resolved (the reply went out), given to ``assignee`` when nobody had taken it; audited
    by the store."""
    return store.update_escalation(
        record.id, tenant=record.tenant, actor=actor, status="resolved", assignee=record.assignee or assignee or None
    )


REMOVED = "(removed by retention)"


def purge_tickets(store: FeedbackStore, tickets: TicketStore, *, dry_run: bool = False) -> int:
    """Retention for the inbox: a widget ticket whose escalation was deleted or anonymized by `deskpilot retention
    apply` loses its customer's address, subject and questions too. Returns how many tickets were (or, in a dry
    run, would be) blanked."""
    blanked = 0
    for ticket in tickets.all():
        if not ticket.escalation_id or (ticket.body == REMOVED and not ticket.customer_email):
            continue
        record = store.get_escalation(ticket.escalation_id, ticket.tenant)
        if record is not None and (record.contact or record.reason):
            continue
        blanked += 1
        if not dry_run:
            tickets.update(ticket.ticket_id, customer_email="", customer_name="", subject=REMOVED, body=REMOVED)
    return blanked
