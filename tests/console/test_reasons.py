"""The hand-off reason the console preselects fits the ticket (it used to presume "the customer asked for a
person" for every ticket with a draft)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from assistant.records import Answer, Confidence
from ui.console.reasons import escalation_default
from ui.console.tickets import ESCALATION_REASONS, QUEUES, Ticket


def ticket(body: str, subject: str = "") -> Ticket:
    return Ticket(
        ticket_id="T-1", tenant="ledgerly", received_at=datetime(2026, 12, 1, tzinfo=UTC), body=body, subject=subject
    )


def answer(*, abstained: bool = False, level: str = "high") -> Answer:
    return Answer(
        text="",
        abstained=abstained,
        confidence=Confidence(level, 0.9 if level == "high" else 0.2, level),  # type: ignore[arg-type]
        citations=(),
        sentences=(),
        sources=(),
        question="",
        generator="extractive",
    )


def chosen(t: Ticket, a: Answer) -> tuple[str, str]:
    reason, queue = escalation_default(t, a)
    return ESCALATION_REASONS[reason], QUEUES[queue]


@pytest.mark.parametrize(
    ("body", "subject", "reason", "queue"),
    [
        ("How do I export my invoices to CSV?", "export", "Other", "tier2"),
        ("You charged me twice for November, I want a refund.", "CHARGED TWICE", "Refund or billing", "billing"),
        ("Someone hacked my account and changed the bank details!", "", "Security, legal", "security"),
        ("Our lawyer asks for every record you hold on us (GDPR).", "", "Security, legal", "legal"),
        ("This bot is useless, I want to speak to a human being.", "", "The customer asked for a person", "tier2"),
        ("I am locked out since I lost my phone with the 2FA app.", "", "Needs account access", "tier2"),
    ],
)
def test_the_default_reason_follows_what_the_ticket_asks(body: str, subject: str, reason: str, queue: str) -> None:
    got_reason, got_queue = chosen(ticket(body, subject), answer())
    assert got_reason.startswith(reason) and got_queue == queue


def test_no_reliable_answer_when_the_assistant_abstained_or_is_unsure() -> None:
    billing = ticket("You charged me twice, I want a refund.")
    assert chosen(billing, answer(abstained=True)) == ("The help center has no reliable answer", "tier2")
    assert chosen(billing, answer(level="low"))[0] == "The help center has no reliable answer"
    assert chosen(billing, answer(level="medium"))[0].startswith("Refund or billing")
    assert chosen(ticket("Where do I change my logo?"), answer())[0] != "The customer asked for a person"
