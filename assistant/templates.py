"""How a reply is phrased per channel and locale: agent drafts get a greeting and a closing."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phrasing:
    """The words around an answer in one locale."""

    greeting: str
    opener: str
    closing: str
    signature: str
    abstain_widget: str
    abstain_agent: str


PHRASINGS = {
    "en": Phrasing(
        greeting="Hi,",
        opener="Thanks for reaching out.",
        closing="If anything is still unclear, just reply to this message and we'll help.",
        signature="Best regards,\n{name}",
        abstain_widget=(
            "I couldn't find a reliable answer to that in our help center, so I'd rather not guess. "
            "A member of our support team can help: use Contact support and they'll pick it up."
        ),
        abstain_agent="No draft: the help center does not answer this reliably ({reason}). Consider escalating.",
    ),
    "de": Phrasing(
        greeting="Hallo,",
        opener="vielen Dank für Ihre Nachricht.",
        closing="Wenn noch etwas unklar ist, antworten Sie einfach auf diese Nachricht.",
        signature="Viele Grüße\n{name}",
        abstain_widget=(
            "Dazu habe ich in unserem Hilfe-Center keine verlässliche Antwort gefunden und möchte nicht raten. "
            "Unser Support-Team hilft Ihnen gern weiter: Nutzen Sie dazu „Support kontaktieren“."
        ),
        abstain_agent="Kein Entwurf: Das Hilfe-Center beantwortet diese Frage nicht verlässlich ({reason}).",
    ),
}
TEAM_NAMES = {"en": "The Support Team", "de": "Ihr Support-Team"}


def phrasing(locale: str) -> Phrasing:
    """The phrasing of ``locale`` (its language part), English when there is none."""
    return PHRASINGS.get(locale.split("-")[0].lower(), PHRASINGS["en"])


def agent_draft(body: str, locale: str, name: str = "") -> str:
    """A ready-to-edit reply: greeting, opener, the answer, closing and signature."""
    p = phrasing(locale)
    signature = p.signature.format(name=name or TEAM_NAMES.get(locale.split("-")[0].lower(), TEAM_NAMES["en"]))
    return f"{p.greeting}\n\n{p.opener} {body}\n\n{p.closing}\n\n{signature}"
