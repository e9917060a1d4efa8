"""The words of a question that name what it is about: nouns, proper nouns, numbers.

A near miss is a question whose key thing ("bitcoin" in "Can I pay with bitcoin?") the passage that
would answer it never mentions; verbs and fillers ("boot whoever it is", "what gives") are too loosely
worded to count. English questions are tagged with spaCy's small pipeline (part-of-speech only);
other languages, which that pipeline cannot tag, keep every content word.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from retrieval.sparse import tokenize

_KEY_POS = frozenset({"NOUN", "PROPN", "NUM", "X"})


class KeyTerms:
    """Stems of a question's key words, from a spaCy tagger loaded on first use."""

    def __init__(self, load_tagger: Callable[[], Any]) -> None:
        self._load, self._lock = load_tagger, threading.Lock()
        self._tagger: Any = None

    def __call__(self, question: str, locale: str) -> set[str] | None:
        """The stems of the nouns, proper nouns and numbers of ``question``; None when it cannot tag that language."""
        if not locale.lower().startswith("en"):
            return None
        with self._lock:
            if self._tagger is None:
                self._tagger = self._load()
            doc = self._tagger(question)
        stems: set[str] = set()
        for token in doc:
            if token.pos_ in _KEY_POS:
                stems.update(tokenize(token.text, locale))
        return stems
