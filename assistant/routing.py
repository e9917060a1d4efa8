"""Routing of an LLM answer: by the question's complexity, then by the tenant's budget, then by the token cap.

FAQ-like questions (short, one intent, a top hit that is close in meaning and found by keyword search as well)
are answered extractively (or by the cheap model); hard ones (long, multi-part, weak or ambiguous evidence) go to
the strong model. A breached budget downgrades to the cheap model, an exhausted one to extractive; a request
whose prompt would exceed the token cap is trimmed to fewer sources or answered extractively. The decision is a
``Route``; its ``label()`` is recorded on the Answer and the interaction (``llm:hard (...)``, ``cheap:budget (...)``).
Routing runs only when an LLM was asked for and is available: the extractive default never pays for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from assistant import budget
from assistant.prompts import build_messages
from assistant.records import Channel, Source
from assistant.settings import AssistantSettings
from assistant.text import split_sentences
from retrieval.records import Hit

Tier = Literal["llm", "cheap", "extractive"]
BUDGET_CAUSES = ("budget", "budget_exhausted")
_LABEL_MAX = 128  # InteractionIn.route's length
_AGREE_RANK = 3

# A second question joined to the first: "... and how do I ...", "... und wie ...".
_MULTI_PART = re.compile(
    r"\b(?:and|or|also|plus|then|und|oder|sowie)\s+(?:also\s+)?"
    r"(?:how|what|why|when|where|which|who|can|could|do|does|is|are|will|should|would|wie|was|warum|wann|wo|kann)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Complexity:
    """Whether a question is FAQ-like, and the features that decided it."""

    simple: bool
    reason: str


@dataclass(frozen=True)
class Route:
    """Which generator answers (``tier``), the cause (``hard``, ``faq``, ``default``, ``budget``,
    ``budget_exhausted``, ``token_cap``) and the detail behind it."""

    tier: Tier
    cause: str
    detail: str = ""

    def label(self) -> str:
        """``tier:cause (detail)``, at most 128 characters: what the Answer and the interaction record."""
        text = f"{self.tier}:{self.cause}" + (f" ({self.detail})" if self.detail else "")
        return text if len(text) <= _LABEL_MAX else text[: _LABEL_MAX - 1] + "…"


@dataclass(frozen=True)
class Plan:
    """A route and the sources the chosen generator gets (fewer than retrieved when the token cap trimmed them)."""

    route: Route
    sources: tuple[Source, ...]
    prompt_tokens: int = 0
    """Estimated prompt tokens of the LLM call (0 for an extractive route)."""


def parse_route(label: str) -> tuple[str, str]:
    """(tier, cause) of a recorded route label; ("", "") for an empty one."""
    head = label.split(" ", 1)[0]
    tier, _, cause = head.partition(":")
    return tier, cause


def assess(question: str, hits: Sequence[Hit], settings: AssistantSettings) -> Complexity:
    """FAQ-like or hard: word count, parts, and the top hit's dense similarity and dense/BM25 agreement."""
    words = len(question.split())
    parts = max(len(split_sentences(question)), question.count("?"), 1 + len(_MULTI_PART.findall(question)))
    top = hits[0] if hits else None
    dense = top.dense_score if top is not None and top.dense_score is not None else 0.0
    # Agreement: both branches rank the top hit near their own top, not merely somewhere among their candidates.
    ranks = (top.dense_rank, top.sparse_rank) if top is not None else (None, None)
    agree = all(r is not None and r <= _AGREE_RANK for r in ranks)
    hard = []
    if words > settings.route_simple_max_words:
        hard.append(f"long: {words} words")
    if parts > 1:
        hard.append(f"{parts} parts")
    if dense < settings.route_simple_min_dense:
        hard.append(f"weak evidence: top dense {dense:.2f}")
    if not agree:
        hard.append(f"dense and BM25 disagree on the top hit (ranks {ranks[0]}/{ranks[1]})")
    if hard:
        return Complexity(False, "; ".join(hard))
    return Complexity(True, f"{words} words, one part, top dense {dense:.2f}, ranked {ranks[0]}/{ranks[1]}")


def plan(
    settings: AssistantSettings,
    *,
    tenant: str,
    question: str,
    hits: Sequence[Hit],
    sources: Sequence[Source],
    channel: Channel,
    locale: str,
    usage: budget.Usage,
    cheap_available: bool,
) -> Plan:
    """The route of one answer that asked for an LLM, with the sources to give it."""
    route = Route("llm", "default")
    if settings.routing_enabled:
        complexity = assess(question, hits, settings)
        if not complexity.simple:
            route = Route("llm", "hard", complexity.reason)
        else:
            to_cheap = settings.route_simple_to == "cheap" and cheap_available
            route = Route("cheap" if to_cheap else "extractive", "faq", complexity.reason)
    if route.tier != "extractive":
        state = budget.check(settings, tenant, usage)
        if state.state == "exhausted":
            route = Route("extractive", "budget_exhausted", state.reason)
        elif state.state == "over" and route.tier == "llm":
            route = Route("cheap" if cheap_available else "extractive", "budget", state.reason)
    if route.tier == "extractive":
        return Plan(route, tuple(sources))
    return _fit(settings, route, question, sources, channel, locale)


def _fit(
    settings: AssistantSettings, route: Route, question: str, sources: Sequence[Source], channel: Channel, locale: str
) -> Plan:
    """Drop sources from the end until the request fits the token cap; extractive when even one does not fit."""
    cap = settings.llm_max_request_tokens
    kept = list(sources)
    while True:
        messages = build_messages(
            question,
            kept,
            channel,
            locale,
            agent_max_sentences=settings.agent_max_sentences,
            widget_max_sentences=settings.widget_max_sentences,
        )
        prompt = budget.request_tokens(messages, 0)
        if cap <= 0 or prompt + settings.llm_max_tokens <= cap:
            return Plan(route, tuple(kept), prompt)
        if len(kept) <= 1:
            detail = f"~{prompt + settings.llm_max_tokens} tokens over DESKPILOT_LLM_MAX_REQUEST_TOKENS={cap}"
            return Plan(Route("extractive", "token_cap", detail), tuple(sources))
        kept.pop()
