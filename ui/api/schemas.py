"""Request and response bodies of the HTTP API (the OpenAPI schema is generated from these)."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from feedback.records import CONTACT_MAX, CONVERSATION_ID

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
    conversation_id: str | None = Field(
        default=None,
        pattern=CONVERSATION_ID,
        description="A random id the client keeps per conversation (the widget: per tab); an escalation naming it "
        "hands over every question and answer of the conversation.",
    )


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
    """One message of a conversation as an older client sent it (accepted, never stored: the server builds the
    conversation from what it recorded)."""

    role: Literal["customer", "assistant", "agent"]
    text: str = Field(max_length=5000)


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]{1,64}@" + _LABEL + r"(?:\." + _LABEL + r")+$")
"""What the API takes as a contact address: one local part, a domain with a dot; nothing that could be a header."""


class EscalationRequest(_Body):
    """A hand-off to a person."""

    interaction_id: UUID | None = None
    reason: str = Field(min_length=1, max_length=500)
    queue: str = Field(default="support", max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    contact: str = Field(
        default="",
        max_length=CONTACT_MAX,
        description="The e-mail address the customer asked to be answered at (stored as given, shown only to the "
        "tenant's agents and admins, removed by retention).",
    )
    conversation_id: str | None = Field(default=None, pattern=CONVERSATION_ID)
    conversation: list[Turn] = Field(
        default_factory=list,
        max_length=50,
        description="Deprecated and ignored: the conversation is built from the recorded interactions of "
        "`conversation_id` (or `interaction_id`); a client cannot write assistant or agent turns.",
    )

    @field_validator("contact")
    @classmethod
    def _email(cls, value: str) -> str:
        if value and not EMAIL.fullmatch(value):
            raise ValueError("not an e-mail address")
        return value


class SourceOut(BaseModel):
    """A source the customer was shown."""

    title: str
    url: str


class TurnOut(BaseModel):
    """One turn of the conversation as the customer saw it, built by the server."""

    role: Literal["customer", "assistant"]
    text: str
    at: str
    interaction_id: str
    abstained: bool = False
    sources: list[SourceOut] = Field(default_factory=list)


class EscalationOut(BaseModel):
    """One escalation in the queue."""

    id: str
    status: Literal["new", "assigned", "resolved", "dismissed"]
    assignee: str
    reason: str
    queue: str
    channel: str
    contact: str
    created_at: str
    updated_at: str
    interaction_id: str | None
    conversation_id: str
    conversation: list[TurnOut]


class EscalationPage(BaseModel):
    """A page of escalations."""

    items: list[EscalationOut]
    page: int
    page_size: int
    total: int


class EscalationPatch(_Body):
    """What an agent changes on an escalation: its status, its assignee ("" unassigns), or both."""

    status: Literal["new", "assigned", "resolved", "dismissed"] | None = None
    assignee: str | None = Field(default=None, max_length=256)

    @model_validator(mode="after")
    def _something(self) -> EscalationPatch:
        if self.status is None and self.assignee is None:
            raise ValueError("give a status, an assignee, or both")
        return self


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
