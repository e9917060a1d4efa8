"""BM25 sparse vectors computed client-side; Qdrant applies the IDF part (Modifier.IDF).

Tokens are lowercased Unicode words, stemmed with Snowball for the chunk's
language, and mapped to stable 31-bit ids with BLAKE2b (no vocabulary to keep,
identical across processes and machines).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from functools import cache
from typing import Any

from retrieval.records import SparseVector

_WORD = re.compile(r"\w+", re.UNICODE)
_STEMMER_LANGUAGES = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "nl": "dutch",
    "pt": "portuguese",
    "sv": "swedish",
}


@cache
def _stemmer(language: str) -> Any:
    import Stemmer

    return Stemmer.Stemmer(language)


@cache
def token_id(token: str) -> int:
    """Stable 31-bit id of a token."""
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(), "big") & 0x7FFFFFFF


def tokenize(text: str, locale: str = "en") -> list[str]:
    """Lowercased, stemmed Unicode words."""
    words = _WORD.findall(text.lower())
    language = _STEMMER_LANGUAGES.get(locale.split("-")[0].lower(), "english")
    return list(_stemmer(language).stemWords(words))


class Bm25Encoder:
    """Term-frequency half of BM25 with saturation and length normalization."""

    def __init__(self, k1: float = 1.2, b: float = 0.75, avg_len: float = 120.0) -> None:
        self.k1, self.b, self.avg_len = k1, b, avg_len

    def encode_document(self, text: str, locale: str = "en") -> SparseVector:
        """Saturated term frequencies of a chunk."""
        tokens = tokenize(text, locale)
        if not tokens:
            return SparseVector((), ())
        norm = self.k1 * (1 - self.b + self.b * len(tokens) / self.avg_len)
        weights: dict[int, float] = {}
        for token, tf in Counter(tokens).items():
            index = token_id(token)
            weights[index] = weights.get(index, 0.0) + tf * (self.k1 + 1) / (tf + norm)
        return _sorted(weights)

    def encode_query(self, text: str, locale: str = "en") -> SparseVector:
        """Each distinct query term with weight 1; the engine multiplies in IDF."""
        return _sorted({token_id(token): 1.0 for token in set(tokenize(text, locale))})


def _sorted(weights: dict[int, float]) -> SparseVector:
    items = sorted(weights.items())
    return SparseVector(tuple(i for i, _ in items), tuple(round(v, 6) for _, v in items))
