"""What a tenant's help center talks about: document frequencies of its stemmed terms, per locale.

Built once per index version from the stored chunks, it tells how rare a question's word is in that
help center (its IDF) and whether the help center mentions it at all. An answer that lacks a rare word
of the question ("bitcoin" in "Can I pay with bitcoin?") answers a neighbouring question, not this one.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from assistant.text import content_terms

_MIN_OVERLAP = 10
_STRUCTURED = re.compile(r"^\s*(\d{1,3}[.)]\s|[-*•]\s|\|)")
_STEP = re.compile(r"^\s*(\d{1,3})[.)]\s")


@dataclass(frozen=True)
class TenantVocabulary:
    """Document frequencies of one tenant's articles in one locale (documents = articles, not chunks)."""

    documents: int
    frequency: dict[str, int]

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency; a term the help center never uses gets the highest value."""
        return math.log((self.documents + 1) / (self.frequency.get(term, 0) + 0.5))

    def max_idf(self) -> float:
        """The IDF of a term no article uses."""
        return self.idf("\x00")

    def knows(self, term: str) -> bool:
        """True when some article of the tenant uses ``term``."""
        return term in self.frequency


class Vocabularies:
    """Per (tenant, locale) vocabularies, rebuilt when the index version changes."""

    def __init__(self, payloads: Callable[[], Iterable[dict[str, Any]]], version: Callable[[], str]) -> None:
        self._payloads, self._version = payloads, version
        self._built: tuple[str, dict[tuple[str, str], TenantVocabulary]] | None = None
        self._sections: dict[tuple[str, str], list[tuple[int, str]]] = {}
        self._lock = threading.Lock()

    def get(self, tenant: str, locale: str) -> TenantVocabulary:
        """The vocabulary of ``tenant`` in ``locale`` (its language part); empty when it has no articles there."""
        version = self._version()
        with self._lock:
            if self._built is None or self._built[0] != version:
                table, self._sections = _build(self._payloads())
                self._built = (version, table)
            table = self._built[1]
        language = locale.split("-")[0].lower()
        return table.get((tenant, language)) or TenantVocabulary(0, {})

    def section_text(self, doc_id: str, section: str, max_chars: int, around: int | None = None) -> str | None:
        """The whole text of one section of a document (its chunks joined, overlaps removed). When the section
        is longer than ``max_chars``: the chunk ``around`` joined with its neighbours as far as a step list it
        holds runs on (a long procedure cut by chunking comes back whole), or None without ``around``."""
        self.get("", "en")  # builds the tables for the current version
        chunks = self._sections.get((doc_id, section))
        if not chunks:
            return None
        if sum(len(text) for _, text in chunks) <= max_chars * 1.3:
            merged = join_overlapping([text for _, text in chunks])
            if len(merged) <= max_chars:
                return merged
        if around is None:
            return None
        return list_window([text for _, text in chunks], [no for no, _ in chunks], around, max_chars * 2)

    def main_language(self, tenant: str) -> str:
        """The language most of the tenant's articles are written in ("" when it has none)."""
        self.get(tenant, "en")  # builds the table for the current version
        built = self._built
        sizes = {lang: v.documents for (t, lang), v in (built[1].items() if built else ()) if t == tenant}
        return max(sorted(sizes), key=lambda lang: sizes[lang]) if sizes else ""


def _build(
    payloads: Iterable[dict[str, Any]],
) -> tuple[dict[tuple[str, str], TenantVocabulary], dict[tuple[str, str], list[tuple[int, str]]]]:
    terms_of: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    sections: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for payload in payloads:
        tenant = str(payload.get("tenant", ""))
        language = str(payload.get("locale", "en")).split("-")[0].lower() or "en"
        doc = str(payload.get("doc_id", ""))
        text = f"{payload.get('title', '')} {payload.get('section', '')} {payload.get('text', '')}"
        terms_of[(tenant, language)][doc] |= content_terms(text, language)
        sections[(doc, str(payload.get("section", "")))].append(
            (int(payload.get("chunk_no", 0)), str(payload.get("text", "")))
        )
    out = {}
    for key, docs in terms_of.items():
        frequency: Counter[str] = Counter()
        for terms in docs.values():
            frequency.update(terms)
        out[key] = TenantVocabulary(len(docs), dict(frequency))
    return out, {key: sorted(chunks) for key, chunks in sections.items()}


def list_window(texts: list[str], numbers: list[int], around: int, max_chars: int) -> str | None:
    """Chunk ``around`` of a section joined with the chunks before it while it opens inside a step list
    (its first step is not step 1) and with the chunks after it while they carry the list on. None when
    nothing was joined or ``around`` is not a chunk of the section; the window stops growing at ``max_chars``."""
    if around not in numbers:
        return None
    low = high = numbers.index(around)
    while low > 0 and _opens_mid_list(texts[low]):
        if len(join_overlapping(texts[low - 1 : high + 1])) > max_chars:
            break
        low -= 1
    while high + 1 < len(texts) and _opens_mid_list(_without_overlap(texts[high], texts[high + 1])):
        if len(join_overlapping(texts[low : high + 2])) > max_chars:
            break
        high += 1
    return join_overlapping(texts[low : high + 1]) if high > low else None


_MAX_LINES_BEFORE_A_STEP = 3


def _opens_mid_list(text: str) -> bool:
    """True when ``text`` opens inside a step list: its first step is a later one (2., 3., ...) and at most a
    few lines (the end of the step before: a note, a sub-list) come before it."""
    lines = [line for line in text.splitlines() if line.strip()]
    for line in lines[: _MAX_LINES_BEFORE_A_STEP + 1]:
        step = _STEP.match(line)
        if step:
            return int(step.group(1)) > 1
    return False


def _without_overlap(before: str, text: str) -> str:
    """``text`` without its opening that repeats the end of ``before`` (ingest's chunk overlap)."""
    overlap = next(
        (size for size in range(min(len(before), len(text)), _MIN_OVERLAP - 1, -1) if before.endswith(text[:size])),
        0,
    )
    return text[overlap:].strip()


def join_overlapping(texts: list[str]) -> str:
    """Consecutive chunks of one section as one text: each chunk's opening that repeats the end of the one
    before it (ingest's overlap) is dropped."""
    merged = texts[0] if texts else ""
    for text in texts[1:]:
        rest = _without_overlap(merged, text)
        if not rest:
            continue
        last, first = merged.rsplit("\n", 1)[-1], rest.split("\n", 1)[0]
        # Chunks break at sentence or line ends; a list item or table row always sits on its own line.
        separator = "\n" if _STRUCTURED.match(last) or _STRUCTURED.match(first) else " "
        merged = f"{merged.rstrip()}{separator}{rest}"
    return merged
