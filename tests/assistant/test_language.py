"""Offline language detection (lingua's shipped models) and the phrasing of replies per language."""

from __future__ import annotations

import pytest

from assistant.language import detect_language
from assistant.templates import greeting, other_language_note, signature


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("How long does the password reset link stay valid?", "en"),
        ("Wie lange ist der Link zum Zurücksetzen gültig?", "de"),
        ("Comment réinitialiser mon mot de passe ?", "fr"),
        ("¿Cómo cambio mi plan de suscripción?", "es"),
        ("Kann ich mit Bitcoin bezahlen?", "de"),
        ("ok", None),
        ("<PERSON> <EMAIL_ADDRESS>", None),
    ],
)
def test_detects_the_questions_language_or_says_it_cannot(text: str, expected: str | None) -> None:
    assert detect_language(text) == expected


def test_greeting_and_sign_off_use_the_names_in_the_tickets_language() -> None:
    assert greeting("de", "Maria") == "Hallo Maria," and greeting("en") == "Hi,"
    assert greeting("fr-FR", "Luc") == "Bonjour Luc," and greeting("es", "Ana") == "Hola, Ana:"
    assert signature("de", "Jonas") == "Viele Grüße\nJonas" and signature("en") == "Best regards,\nThe Support Team"
    assert other_language_note("en", "de") == "Diese Antwort stammt aus unserem englischen Hilfe-Center."
