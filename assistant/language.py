"""The language a question is written in, detected offline (lingua's models ship in its wheel).

Detection is limited to the languages a help center here can be written in, which makes short
questions far more reliable than an open-ended guess; a question too short or too mixed to tell
returns None and the caller keeps its own preference (the widget's ``data-locale``).
"""

from __future__ import annotations

import re
import threading
from functools import cache
from typing import Any

SUPPORTED = ("en", "de", "fr", "es", "it", "nl", "pt")
_MIN_CONFIDENCE = 0.6
_MIN_LETTERS = 8
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]+>")
_lock = threading.Lock()


@cache
def _detector() -> Any:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in SUPPORTED]
    return LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of ``text``'s language among SUPPORTED, or None when it cannot be told."""
    cleaned = _PLACEHOLDER.sub(" ", text)
    if sum(ch.isalpha() for ch in cleaned) < _MIN_LETTERS:
        return None
    detector = _detector()
    with _lock:  # the detector's Rust core is not documented as safe for concurrent calls
        values = detector.compute_language_confidence_values(cleaned)
    if not values:
        return None
    best = values[0]
    if best.value < _MIN_CONFIDENCE:
        return None
    return str(best.language.iso_code_639_1.name).lower()


def warm_up() -> None:
    """Load the language models now rather than on the first question."""
    detect_language("How do I reset my password?")
