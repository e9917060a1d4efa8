"""Typed records of the answer stage: numbered sources, cited sentences, confidence, the answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from retrieval.records import Hit

Channel = Literal["agent", "widget", "api"]
Level = Literal["high", "medium", "low"]
SentenceKind = Literal["text", "step", "item", "row"]
"""How an answer sentence is laid out: running text, a numbered step, a bullet item, a table row."""


@dataclass(frozen=True)
class Source:
    """A hit shown to the generator under a number: ``[n]`` in the answer points here."""

    n: int
    hit: Hit
    flagged: tuple[str, ...] = ()
    """Guardrail findings (e.g. ``injection``); a flagged source is never shown to a generator."""


@dataclass(frozen=True)
class Citation:
    """A validated pointer from an answer sentence to the source that supports it."""

    n: int
    doc_id: str
    title: str
    url: str | None
    section: str
    snippet: str
    support: float

    def as_json(self) -> dict[str, Any]:
        """The API/CLI shape of a citation."""
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "title": self.title,
            "url": self.url,
            "section": self.section,
            "snippet": self.snippet,
        }


@dataclass(frozen=True)
class Sentence:
    """One answer sentence and the sources it cites (numbers into the answer's sources)."""

    text: str
    cites: tuple[int, ...]
    support: float = 0.0
    supported: bool = True
    kind: SentenceKind = "text"
    marker: str = ""
    """The list marker a step or item carries in its source (``3.``, ``-``); empty for text and rows."""
    block: int = 0
    """Sentences with the same block number belong to one paragraph, list or table when rendered."""


@dataclass(frozen=True)
class Draft:
    """What a generator returns before validation: sentences with claimed citations."""

    sentences: tuple[Sentence, ...]
    generator: str
    model: str = ""
    prompt_version: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    raw: str = ""


@dataclass(frozen=True)
class Confidence:
    """How much to trust an answer, and why, in words an agent understands."""

    level: Level
    score: float
    reason: str

    def as_json(self) -> dict[str, Any]:
        """The API/CLI shape of the confidence."""
        return {"level": self.level, "score": round(self.score, 4), "reason": self.reason}


@dataclass(frozen=True)
class Question:
    """A question as a door receives it."""

    text: str
    tenant: str
    channel: Channel = "api"
    products: tuple[str, ...] = ()
    locale: str | None = None
    updated_after: str | None = None
    generator: str | None = None
    """``extractive`` or ``llm``; None = the configured default."""
    exclude_docs: tuple[str, ...] = ()
    """Documents not to answer from: an agent's Regenerate asks for the next-best source this way."""


@dataclass(frozen=True)
class Answer:
    """The final answer: text with ``[n]`` citations, its sentences, sources, confidence and provenance."""

    text: str
    abstained: bool
    confidence: Confidence
    citations: tuple[Citation, ...]
    sentences: tuple[Sentence, ...]
    sources: tuple[Source, ...]
    question: str
    """The redacted question that was searched."""
    generator: str
    model: str = ""
    prompt_version: str = ""
    index_version: str = ""
    escalation_reason: str = ""
    fallback_reason: str = ""
    route: str = ""
    """Routing decision when an LLM was asked for (``llm:hard (...)``, ``cheap:budget (...)``); empty otherwise."""
    flags: tuple[str, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    features: dict[str, float] = field(default_factory=dict)
    """The evidence features the confidence was computed from (assistant/confidence.py)."""
    related: tuple[Citation, ...] = ()
    """When the answer abstains: the 1-3 most related articles, offered as links beside the hand-off."""
    needs_review: bool = False
    """True when the confidence is below 'high': an agent should check the draft before sending it."""
    locale: str = ""
    """The language the answer is phrased in (the question's language)."""
    source_language: str = ""
    """The language of the articles that were searched (the tenant's main one when the question's had none)."""
    notes: tuple[str, ...] = ()
    """Things the reader should know, in the answer's language (e.g. the answer comes from another language)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False

    def as_json(self) -> dict[str, Any]:
        """The shape `deskpilot ask --json` prints and the API returns."""
        return {
            "answer": self.text,
            "abstained": self.abstained,
            "confidence": self.confidence.as_json(),
            "citations": [c.as_json() for c in self.citations],
            "related": [c.as_json() for c in self.related],
            "needs_review": self.needs_review,
            "locale": self.locale,
            "notes": list(self.notes),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
