"""How a reply is phrased per channel and language: greetings, closings, hand-offs and notes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phrasing:
    """The words around an answer in one language."""

    greeting: str
    """Without a name; ``greeting_named`` when the customer's name is known."""
    greeting_named: str
    opener: str
    closing: str
    signature: str
    team: str
    abstain_widget: str
    abstain_agent: str
    related_intro: str
    """Shown above the related articles that are offered (not as an answer) beside the hand-off."""
    needs_review: str
    other_language: str
    """A note when the answer comes from the help center of another language; ``{language}`` is its name."""
    sources_label: str
    language_names: dict[str, str]


PHRASINGS = {
    "en": Phrasing(
        greeting="Hi,",
        greeting_named="Hi {name},",
        opener="Thanks for reaching out.",
        closing="If anything is still unclear, just reply to this message and we'll help.",
        signature="Best regards,\n{name}",
        team="The Support Team",
        abstain_widget=(
            "I couldn't find a reliable answer to that in our help center, so I'd rather not guess. "
            "A member of our support team can help: use Contact support and they'll pick it up."
        ),
        abstain_agent="No draft: the help center does not answer this reliably ({reason}). Consider escalating.",
        related_intro="These articles may be related:",
        needs_review="Needs review: {reason}.",
        other_language="This answer comes from our {language} help center.",
        sources_label="Sources:",
        language_names={"en": "English", "de": "German", "fr": "French", "es": "Spanish"},
    ),
    "de": Phrasing(
        greeting="Hallo,",
        greeting_named="Hallo {name},",
        opener="vielen Dank für Ihre Nachricht.",
        closing="Wenn noch etwas unklar ist, antworten Sie einfach auf diese Nachricht.",
        signature="Viele Grüße\n{name}",
        team="Ihr Support-Team",
        abstain_widget=(
            "Dazu habe ich in unserem Hilfe-Center keine verlässliche Antwort gefunden und möchte nicht raten. "
            "Unser Support-Team hilft Ihnen gern weiter: Nutzen Sie dazu „Support kontaktieren“."
        ),
        abstain_agent="Kein Entwurf: Das Hilfe-Center beantwortet diese Frage nicht verlässlich ({reason}).",
        related_intro="Diese Artikel könnten passen:",
        needs_review="Bitte prüfen: {reason}.",
        other_language="Diese Antwort stammt aus unserem {language} Hilfe-Center.",
        sources_label="Quellen:",
        language_names={"en": "englischen", "de": "deutschen", "fr": "französischen", "es": "spanischen"},
    ),
    "fr": Phrasing(
        greeting="Bonjour,",
        greeting_named="Bonjour {name},",
        opener="Merci de nous avoir contactés.",
        closing="Si quelque chose reste flou, répondez simplement à ce message.",
        signature="Cordialement,\n{name}",
        team="L'équipe support",
        abstain_widget=(
            "Je n'ai pas trouvé de réponse fiable dans notre centre d'aide et je préfère ne pas deviner. "
            "Notre équipe support peut vous aider : utilisez « Contacter le support »."
        ),
        abstain_agent="Pas de brouillon : le centre d'aide ne répond pas de façon fiable ({reason}).",
        related_intro="Ces articles pourraient vous aider :",
        needs_review="À vérifier : {reason}.",
        other_language="Cette réponse provient de notre centre d'aide en {language}.",
        sources_label="Sources :",
        language_names={"en": "anglais", "de": "allemand", "fr": "français", "es": "espagnol"},
    ),
    "es": Phrasing(
        greeting="Hola:",
        greeting_named="Hola, {name}:",
        opener="Gracias por escribirnos.",
        closing="Si algo no queda claro, responda a este mensaje y le ayudaremos.",
        signature="Saludos cordiales,\n{name}",
        team="El equipo de soporte",
        abstain_widget=(
            "No he encontrado una respuesta fiable en nuestro centro de ayuda y prefiero no adivinar. "
            "Nuestro equipo de soporte puede ayudarle: use «Contactar con soporte»."
        ),
        abstain_agent="Sin borrador: el centro de ayuda no responde a esto de forma fiable ({reason}).",
        related_intro="Estos artículos pueden estar relacionados:",
        needs_review="Revisar: {reason}.",
        other_language="Esta respuesta procede de nuestro centro de ayuda en {language}.",
        sources_label="Fuentes:",
        language_names={"en": "inglés", "de": "alemán", "fr": "francés", "es": "español"},
    ),
}
LANGUAGES = tuple(PHRASINGS)
"""The languages replies can be phrased in."""


def language_of(locale: str) -> str:
    """The language part of ``locale`` (``de-AT`` -> ``de``)."""
    return locale.split("-")[0].split("_")[0].lower()


def phrasing(locale: str) -> Phrasing:
    """The phrasing of ``locale`` (its language part), English when there is none."""
    return PHRASINGS.get(language_of(locale), PHRASINGS["en"])


def greeting(locale: str, customer_name: str = "") -> str:
    """The greeting of a reply, with the customer's name when it is known (a redacted ``<PERSON>`` is not)."""
    p = phrasing(locale)
    name = customer_name.strip()
    return p.greeting_named.format(name=name) if name and "<" not in name else p.greeting


def signature(locale: str, agent_name: str = "") -> str:
    """The sign-off with the agent's name, or the team's name in that language."""
    p = phrasing(locale)
    return p.signature.format(name=agent_name.strip() or p.team)


def other_language_note(answer_locale: str, asked_locale: str) -> str:
    """The note that an answer comes from the help center of another language, in the asker's language."""
    p = phrasing(asked_locale)
    language = p.language_names.get(language_of(answer_locale), answer_locale)
    return p.other_language.format(language=language)


def agent_draft(body: str, locale: str, name: str = "", customer_name: str = "") -> str:
    """A ready-to-edit reply: greeting, opener, the answer, closing and signature."""
    p = phrasing(locale)
    return f"{greeting(locale, customer_name)}\n\n{p.opener}\n\n{body}\n\n{p.closing}\n\n{signature(locale, name)}"


TEAM_NAMES = {language: p.team for language, p in PHRASINGS.items()}
"""The team's name per language, the signature when no agent name is known."""
