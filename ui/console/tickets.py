"""The agent inbox: tickets in a JSON file under the data dir, seeded from the sample inbox on first run.

The agent sees a ticket as the customer wrote it; the assistant only ever gets its PII-redacted text
(:func:`question_text`), and the answer service redacts that again before it searches or logs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from assistant.jsonfile import locked, read_json, write_json
from feedback.records import utcnow
from ui.console.contacts import ContactSealer

Status = Literal["open", "sent", "escalated"]
STATUSES: tuple[Status, ...] = ("open", "sent", "escalated")
ESCALATION_REASONS = (
    "The help center has no reliable answer",
    "Needs account access or a manual change",
    "Refund or billing exception needs approval",
    "Security, legal or privacy request",
    "The customer asked for a person",
    "Other",
)
"""Why an agent hands a ticket to a person (the first is preselected when the assistant abstained)."""
QUEUES = ("tier2", "billing", "security", "legal")


class Ticket(BaseModel):
    """One customer message and what the agent did with it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    ticket_id: str = Field(min_length=1, max_length=64)
    tenant: str = Field(min_length=1, max_length=128)
    channel: str = "email"
    locale: str = "en"
    received_at: AwareDatetime
    customer_name: str = ""
    customer_email: str = ""
    subject: str = ""
    body: str = Field(min_length=1)
    status: Status = "open"
    interaction_id: str | None = None
    """The interaction of the last draft shown for this ticket."""
    sent_text: str = ""
    handled_by: str = ""
    updated_at: AwareDatetime | None = None
    escalation_id: str | None = None
    """The widget escalation this ticket was made from (its queue status and assignee live in the feedback store)."""

    @property
    def addressee(self) -> str:
        """The customer's name a reply greets: the ticket's, else the ``Name:`` field a web form puts at the top
        of the body; empty when neither is known (the reply then says a plain "Hi,")."""
        return self.customer_name.strip() or form_field(self.body, "name")


_FIELD = re.compile(r"^\s*([A-Za-zÄÖÜäöü][A-Za-zÄÖÜäöü -]{1,19})\s*:\s*(.{1,120})$")
_NAME_FIELDS = {"name": ("name", "full name", "nom", "nombre")}


def form_field(body: str, field: str) -> str:
    """The value of a ``Field: value`` line in the header block a web form writes above the message ("" if none)."""
    for line in body.splitlines():
        if not line.strip():
            break  # the form's fields end at the first blank line
        match = _FIELD.match(line)
        if match is None:
            break
        if match.group(1).strip().casefold() in _NAME_FIELDS.get(field, (field,)):
            return match.group(2).strip()
    return ""


def question_text(ticket: Ticket, redact: Callable[[str], str]) -> str:
    """What the assistant is asked: the ticket's subject and body, PII-redacted."""
    subject = re.sub(r"^\s*(\[chat\]|re:|fwd?:)\s*", "", ticket.subject, flags=re.IGNORECASE)
    return redact(f"{subject}\n\n{ticket.body}".strip())


def _from_sample(raw: dict[str, object]) -> Ticket:
    customer = raw.get("customer")
    name = email = ""
    if isinstance(customer, dict):
        name, email = str(customer.get("name", "")), str(customer.get("email", ""))
    return Ticket.model_validate({**raw, "customer_name": name, "customer_email": email})


class TicketStore:
    """Tickets in one JSON file; every change takes a file lock and replaces the file atomically.

    With ``redact``, the file keeps no personal data: subjects, bodies and sent replies are stored redacted,
    and a customer's name and address sealed by ``sealer`` (as placeholders without one): they are personal
    data whatever they say, and the reply needs the name."""

    def __init__(
        self, path: Path, redact: Callable[[str], str] | None = None, sealer: ContactSealer | None = None
    ) -> None:
        self.path, self.redact, self.sealer = path, redact, sealer

    def _contact(self, value: str, placeholder: str) -> str:
        if not value:
            return ""
        return self.sealer.seal(value) if self.sealer is not None else placeholder

    def _readable(self, raw: dict[str, object]) -> Ticket:
        ticket = Ticket.model_validate(raw)
        if self.sealer is None:
            return ticket
        return ticket.model_copy(
            update={
                "customer_name": self.sealer.open(ticket.customer_name),
                "customer_email": self.sealer.open(ticket.customer_email),
            }
        )

    def _at_rest(self, ticket: Ticket) -> Ticket:
        """What the file keeps of a new ``ticket``."""
        if self.redact is None:
            return ticket
        return ticket.model_copy(
            update={
                "subject": self.redact(ticket.subject) if ticket.subject.strip() else ticket.subject,
                "body": self.redact(ticket.body),
                "sent_text": self.redact(ticket.sent_text) if ticket.sent_text.strip() else ticket.sent_text,
                "customer_name": self._contact(ticket.customer_name, "<PERSON>"),
                "customer_email": self._contact(ticket.customer_email, "<EMAIL_ADDRESS>"),
            }
        )

    def seed(self, samples: Path | None) -> int:
        """Fill an inbox that was never created from a ``tickets.json`` file; returns how many were added."""
        if samples is None:
            return 0
        with locked(self.path):
            if self.path.exists():
                return 0
            raw = read_json(samples, {"tickets": []})
            tickets = [self._at_rest(_from_sample(t)) for t in raw.get("tickets", [])]
            write_json(self.path, [t.model_dump(mode="json") for t in tickets])
        return len(tickets)

    def all(self) -> list[Ticket]:
        """Every ticket, newest first."""
        tickets = [self._readable(t) for t in read_json(self.path, [])]
        return sorted(tickets, key=lambda t: (t.received_at, t.ticket_id), reverse=True)

    def list(self, tenants: Collection[str] | None = None, statuses: Collection[str] | None = None) -> list[Ticket]:
        """Tickets of ``tenants`` (None = all) in ``statuses`` (None = all), newest first."""
        return [
            t
            for t in self.all()
            if (tenants is None or t.tenant in tenants) and (statuses is None or t.status in statuses)
        ]

    def get(self, ticket_id: str) -> Ticket | None:
        """One ticket by id."""
        return next((t for t in self.all() if t.ticket_id == ticket_id), None)

    def add(
        self,
        tenant: str,
        body: str,
        *,
        subject: str = "",
        customer_name: str = "",
        customer_email: str = "",
        locale: str = "en",
        channel: str = "pasted",
    ) -> Ticket:
        """A new open ticket (e.g. pasted by an agent), numbered after the existing ones."""
        if not body.strip():
            raise ValueError("a ticket needs a message body")
        with locked(self.path):
            raw = read_json(self.path, [])
            numbers = [int(m.group(1)) for t in raw if (m := re.fullmatch(r"[A-Z]+-(\d+)", str(t.get("ticket_id"))))]
            ticket = Ticket(
                ticket_id=f"T-{max(numbers, default=1000) + 1}",
                tenant=tenant,
                channel=channel,
                locale=locale,
                received_at=utcnow(),
                customer_name=customer_name.strip() or form_field(body, "name"),
                customer_email=customer_email.strip(),
                subject=subject.strip() or body.strip().splitlines()[0][:80],
                body=body.strip(),
            )
            stored = self._at_rest(ticket).model_dump(mode="json")
            write_json(self.path, [*raw, stored])
        return self._readable(stored)

    def from_escalation(
        self,
        escalation_id: str,
        tenant: str,
        body: str,
        *,
        subject: str,
        customer_email: str,
        received_at: datetime,
        locale: str = "en",
    ) -> Ticket:
        """The ticket of a widget escalation, added once (channel ``widget``); later calls return it, and give it
        the customer's address again when the stored one can no longer be opened (sealed by an earlier process)."""
        with locked(self.path):
            raw = read_json(self.path, [])
            for i, item in enumerate(raw):
                if item.get("escalation_id") == escalation_id:
                    ticket = self._readable(item)
                    if customer_email and not ticket.customer_email:
                        raw[i] = {**item, "customer_email": self._contact(customer_email, "<EMAIL_ADDRESS>")}
                        write_json(self.path, raw)
                        return self._readable(raw[i])
                    return ticket
            numbers = [int(m.group(1)) for t in raw if (m := re.fullmatch(r"[A-Z]+-(\d+)", str(t.get("ticket_id"))))]
            ticket = Ticket(
                ticket_id=f"T-{max(numbers, default=1000) + 1}",
                tenant=tenant,
                channel="widget",
                locale=locale,
                received_at=received_at,
                customer_email=customer_email.strip(),
                subject=subject.strip()[:200],
                body=body.strip() or subject.strip() or "(no question recorded)",
                escalation_id=escalation_id,
            )
            stored = self._at_rest(ticket).model_dump(mode="json")
            write_json(self.path, [*raw, stored])
        return self._readable(stored)

    def update(self, ticket_id: str, **changes: object) -> Ticket:
        """Change fields of one ticket (status, interaction_id, sent_text, handled_by); returns the new ticket."""
        sent = changes.get("sent_text")
        if self.redact is not None and isinstance(sent, str) and sent.strip():
            changes["sent_text"] = self.redact(sent)
        with locked(self.path):
            raw = read_json(self.path, [])
            for i, item in enumerate(raw):
                if item.get("ticket_id") == ticket_id:
                    ticket = Ticket.model_validate({**item, **changes, "updated_at": utcnow()})
                    raw[i] = ticket.model_dump(mode="json")
                    write_json(self.path, raw)
                    return self._readable(raw[i])
        raise KeyError(f"no ticket {ticket_id!r} in {self.path}")


def age(received: datetime, now: datetime | None = None) -> str:
    """How long ago a ticket arrived, shortly: ``5m``, ``3h``, ``2d``, ``3w``, ``4mo``."""
    seconds = max(((now or utcnow()) - received).total_seconds(), 0.0)
    for unit, size, below in (
        ("m", 60, 3600),
        ("h", 3600, 86400),
        ("d", 86400, 86400 * 14),
        ("w", 86400 * 7, 86400 * 63),
    ):
        if seconds < below:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds // (86400 * 30))}mo"
