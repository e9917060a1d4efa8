"""Typed records of the answer stage: numbered sources, cited sentences, confidence, the answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from retrieval.records import Hit

Channel = Literal["agent", "widget", "api"]
Level = Literal["high", "medium", "low"]


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
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
