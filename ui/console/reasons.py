"""The hand-off reason and queue the console preselects for a ticket: what fits the situation, never a guess
that the customer asked for something they did not."""

from __future__ import annotations

import re

from assistant.records import Answer
from ui.console.tickets import ESCALATION_REASONS, QUEUES, Ticket

# What a ticket says that makes one hand-off reason fit (checked in this order), and the queue it goes to.
_ESCALATION_SIGNALS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    (
        "security",
        "security",
        re.compile(
            r"\b(hack(ed|er)?|compromised|fraud\w*|phishing|suspicious (login|sign-?in|activity)|unauthori[sz]ed|"
            r"stolen|gdpr|dsgvo|rgpd|privacy|data protection|datenschutz|delete (all )?my (data|personal)|"
            r"lawyer|legal|subpoena|court|anwalt|avocat|abogado)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "refund",
        "billing",
        re.compile(
            r"\b(refund\w*|charged? (me )?twice|double[- ]charged?|overcharged?|chargeback|money back|"
            r"erstatt\w*|rückerstatt\w*|doppelt (abgebucht|belastet)|rembours\w*|reembols\w*|devoluci[oó]n)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "asked for a person",
        "tier2",
        re.compile(
            r"\b((speak|talk|chat) (to|with) (a |an |someone|somebody|a real|a human|an actual|your)|real person|"
            r"human (being|agent)|call me back|mit (einem|einer) (menschen|mitarbeiter\w*)|une personne|"
            r"un humain|una persona)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "account access",
        "tier2",
        re.compile(
            r"\b(locked out|can(no|')t (log|sign) ?in|unable to (log|sign) ?in|lost (my )?(phone|2fa|authenticator)|"
            r"change (the )?(account )?owner|transfer (the )?(account|ownership)|close my account|merge (my )?accounts|"
            r"gesperrt|bloqu[ée]|bloquead[oa])\b",
            re.IGNORECASE,
        ),
    ),
)


def _reason_index(words: str, fallback: int) -> int:
    """The index of the hand-off reason whose text holds ``words`` (the list lives in tickets.py)."""
    return next((i for i, r in enumerate(ESCALATION_REASONS) if words in r.casefold()), fallback)


def escalation_default(ticket: Ticket, answer: Answer) -> tuple[int, int]:
    """The hand-off reason and queue (indexes) that fit the situation: no reliable answer when the assistant
    abstained or is not confident; else what the ticket asks for (a security, privacy or legal matter; a
    refund or billing exception; a person; account access); else "Other" (nothing to presume)."""
    other = next((i for i, r in enumerate(ESCALATION_REASONS) if r.casefold() == "other"), len(ESCALATION_REASONS) - 1)
    tier2 = QUEUES.index("tier2") if "tier2" in QUEUES else 0
    if answer.abstained or answer.confidence.level == "low":
        return _reason_index("no reliable answer", 0), tier2
    text = f"{ticket.subject}\n{ticket.body}"
    for words, queue, pattern in _ESCALATION_SIGNALS:
        if pattern.search(text):
            reason = _reason_index(words, -1)
            if reason < 0 and words == "refund":
                reason = _reason_index("billing", -1)
            if reason >= 0:
                if words == "security" and re.search(r"\b(lawyer|legal|subpoena|court)\b", text, re.IGNORECASE):
                    queue = "legal"
                return reason, QUEUES.index(queue) if queue in QUEUES else tier2
    return other, tier2
