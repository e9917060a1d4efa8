"""Request and response bodies of the HTTP API (the OpenAPI schema is generated from these)."""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

REASON_CODES = (
    "wrong_answer",
    "missing_info",
    "outdated_source",
    "wrong_citation",
    "tone",
    "too_long",
    "unsafe",
    "other",
)
ReasonCode = Literal[
    "wrong_answer", "missing_info", "outdated_source", "wrong_citation", "tone", "too_long", "unsafe", "other"
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AnswerRequest(_Body):
    """A question. The tenant comes from the credentials, never from the body."""

    question: str = Field(
        min_length=1, max_length=20_000, description="The question; longer than the configured limit is a 422."
    )
    locale: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    products: list[str] = Field(default_factory=list, max_length=10)
    channel: Literal["agent", "widget", "api"] | None = Field(
        default=None, description="Defaults to the caller's kind; widget keys always answer on the widget channel."
    )
    generator: Literal["extractive", "llm"] | None = None
    updated_after: date | None = Field(default=None, description="Only articles updated after this day.")


class CitationOut(BaseModel):
    """One validated citation."""

    n: int
    doc_id: str
    title: str
    url: str | None
    section: str
    snippet: str


class ConfidenceOut(BaseModel):
    """How much to trust the answer, and why."""

    level: Literal["high", "medium", "low"]
    score: float
    reason: str


class PartOut(BaseModel):
    """One sentence, step, bullet or table row of a laid-out answer, without ``[n]`` markers or placeholders."""

    text: str
    cites: list[int] = Field(description="Numbers into `citations` this part rests on.")
    marker: str = Field(default="", description="`3.` for a step, `-` for a bullet; empty otherwise.")
    pairs: list[tuple[str, str]] = Field(default_factory=list, description="A table row's label/value pairs.")


class BlockOut(BaseModel):
    """Parts shown together: a paragraph, a numbered step list, a bullet list or a table."""

    kind: Literal["paragraph", "steps", "bullets", "rows"]
    parts: list[PartOut]


class AnswerResponse(BaseModel):
    """The answer, the same shape `deskpilot ask --json` prints, plus the ids to vote and escalate with."""

    answer: str
    abstained: bool
    confidence: ConfidenceOut
    citations: list[CitationOut]
    timings_ms: dict[str, float]
    interaction_id: str
    request_id: str
    escalation_reason: str = ""
    related: list[CitationOut] = Field(
        default_factory=list,
        description="When abstained: up to 3 related articles to offer as links beside the hand-off (not an answer).",
    )
    needs_review: bool = Field(default=False, description="Confidence below 'high': check before relying on it.")
    locale: str = Field(default="", description="The language the answer is written in (the question's own).")
    notes: list[str] = Field(default_factory=list, description="Notes for the reader, in the answer's language.")
    blocks: list[BlockOut] = Field(
        default_factory=list,
        description="The answer laid out for display (assistant/render.py widget_blocks): no `[n]` markers, no "
        "redaction placeholders; empty when abstained.",
    )


class FeedbackRequest(_Body):
    """A vote on an answer."""

    interaction_id: UUID
    thumbs: Literal["up", "down"]
    reasons: list[ReasonCode] = Field(default_factory=list, max_length=len(REASON_CODES))
    comment: str = Field(default="", max_length=2000)


class EditRequest(_Body):
    """What an agent sent instead of the draft."""

    interaction_id: UUID
    draft: str = Field(max_length=20_000)
    sent: str = Field(min_length=1, max_length=20_000)


class Turn(_Body):
    """One message of the conversation handed to a person."""

    role: Literal["customer", "assistant", "agent"]
    text: str = Field(max_length=5000)


class EscalationRequest(_Body):
    """A hand-off to a person."""

    interaction_id: UUID | None = None
    reason: str = Field(min_length=1, max_length=500)
    queue: str = Field(default="support", max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    conversation: list[Turn] = Field(default_factory=list, max_length=50)


class Accepted(BaseModel):
    """A write the server has taken: stored, or spooled to be stored when the database is back."""

    id: str
    status: Literal["stored", "spooled"]
    request_id: str


class InteractionOut(BaseModel):
    """One interaction as analysts list it."""

    id: str
    created_at: str
    channel: str
    actor: str
    question: str
    answer: str
    abstained: bool
    confidence_level: str
    confidence_score: float
    generator: str
    model: str
    prompt_version: str
    index_version: str
    latency_ms: float


class InteractionPage(BaseModel):
    """A page of interactions."""

    items: list[InteractionOut]
    page: int
    page_size: int
    total: int


class Problem(BaseModel):
    """An error: what went wrong and what to do."""

    detail: str
    request_id: str
