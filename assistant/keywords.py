"""The words of a question that name what it is about: nouns, proper nouns, numbers.

A near miss is a question whose key thing ("bitcoin" in "Can I pay with bitcoin?") the passage that
would answer it never mentions; verbs and fillers ("boot whoever it is", "what gives") are too loosely
worded to count. English questions are tagged with spaCy's small pipeline (part-of-speech only);
other languages, which that pipeline cannot tag, keep every content word.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from retrieval.sparse import tokenize

_KEY_POS = frozenset({"NOUN", "PROPN", "NUM", "X"})


@dataclass(frozen=True)
class KeyWords:
    """A question's key words as stems."""

    terms: frozenset[str]
    """Nouns, proper nouns and numbers."""
    names: frozenset[str]
    """Proper nouns: products, companies, services and standards ("WooCommerce", "FedEx", "SOC")."""


def _names_a_thing(word: str, pos: str) -> bool:
    """A proper noun written as a name ("WooCommerce", "SOC"; not "max" that the tagger misread), and no
    country: a place is where a question is set, not what it asks about."""
    return pos == "PROPN" and len(word) > 1 and word != word.lower() and word.casefold() not in _country_words()


@cache
def _country_words() -> frozenset[str]:
    """The words of every country's English name, from the tables ``phonenumbers`` ships (offline)."""
    import phonenumbers
    from phonenumbers import geocoder

    words: set[str] = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        example = phonenumbers.example_number(region)
        if example is not None:
            words.update(w.casefold() for w in geocoder.country_name_for_number(example, "en").split())
    return frozenset(words)


class KeyTerms:
    """Stems of a question's key words, from a spaCy tagger loaded on first use."""

    def __init__(self, load_tagger: Callable[[], Any]) -> None:
        self._load, self._lock = load_tagger, threading.Lock()
        self._tagger: Any = None

    def __call__(self, question: str, locale: str) -> KeyWords | None:
        """The key words of ``question``; None when it cannot tag that language."""
        if not locale.lower().startswith("en"):
            return None
        with self._lock:
            if self._tagger is None:
                self._tagger = self._load()
            doc = self._tagger(question)
        terms: set[str] = set()
        names: set[str] = set()
        for token in doc:
            if token.pos_ in _KEY_POS:
                stems = tokenize(token.text, locale)
                terms.update(stems)
                if _names_a_thing(token.text, token.pos_):
                    names.update(stems)
        return KeyWords(frozenset(terms), frozenset(names))
