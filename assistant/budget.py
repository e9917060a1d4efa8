"""Cost governance: LLM usage per tenant per UTC day, daily token and request budgets, a per-request token cap.

Usage is counted in process (``UsageLedger``); a door seeds it at start from the interactions stored today, so a
restart does not reset it. A daily budget is soft: past it, answers downgrade to the cheap model; past
``budget_hard_factor`` times it they are extractive (no LLM cost at all) until the UTC day ends.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from assistant.prompts import PromptMessage
from assistant.settings import AssistantSettings

BudgetState = Literal["within", "over", "exhausted"]


@dataclass(frozen=True)
class Usage:
    """LLM calls (requests) and tokens (prompt + completion) of one tenant on one UTC day."""

    requests: int = 0
    tokens: int = 0


@dataclass(frozen=True)
class BudgetCheck:
    """Where a tenant stands against its daily budgets, and why, in words for the log and the interaction."""

    state: BudgetState
    reason: str = ""


class UsageLedger:
    """Per-tenant LLM usage of the current UTC day, thread-safe; counters start again at UTC midnight."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._day = self.today()
        self._usage: dict[str, Usage] = {}
        self.downgrades: dict[tuple[str, str], int] = {}
        """(tenant, tier downgraded to) -> how many answers were downgraded for a budget, since start."""

    def today(self) -> date:
        """The current UTC day."""
        return self._clock().astimezone(UTC).date()

    def _roll(self) -> None:
        today = self.today()
        if today != self._day:
            self._day, self._usage = today, {}

    def seed(self, usage: Mapping[str, Usage], day: date | None = None) -> None:
        """Take usage already spent today (e.g. from stored interactions); a seed never lowers a counter."""
        with self._lock:
            self._roll()
            if day is not None and day != self._day:
                return
            for tenant, seen in usage.items():
                now = self._usage.get(tenant, Usage())
                self._usage[tenant] = Usage(max(now.requests, seen.requests), max(now.tokens, seen.tokens))

    def record(self, tenant: str, tokens: int, requests: int = 1) -> Usage:
        """Count one LLM call of ``tenant``; returns the tenant's usage today."""
        with self._lock:
            self._roll()
            now = self._usage.get(tenant, Usage())
            self._usage[tenant] = Usage(now.requests + requests, now.tokens + max(0, tokens))
            return self._usage[tenant]

    def usage(self, tenant: str) -> Usage:
        """``tenant``'s usage today."""
        with self._lock:
            self._roll()
            return self._usage.get(tenant, Usage())

    def snapshot(self) -> dict[str, Usage]:
        """Every tenant's usage today."""
        with self._lock:
            self._roll()
            return dict(self._usage)

    def count_downgrade(self, tenant: str, to: str) -> None:
        """Count an answer downgraded for a budget (``to``: ``cheap`` or ``extractive``)."""
        with self._lock:
            self.downgrades[(tenant, to)] = self.downgrades.get((tenant, to), 0) + 1


def limits(settings: AssistantSettings, tenant: str) -> tuple[int, int]:
    """(daily tokens, daily requests) of ``tenant``; 0 = unlimited."""
    tokens = settings.budget_daily_tokens.get(tenant, settings.budget_default_daily_tokens)
    requests = settings.budget_daily_requests.get(tenant, settings.budget_default_daily_requests)
    return tokens, requests


def check(settings: AssistantSettings, tenant: str, usage: Usage) -> BudgetCheck:
    """``within`` the budgets, ``over`` one (use the cheap model) or ``exhausted`` (past the hard factor: extractive)."""
    token_limit, request_limit = limits(settings, tenant)
    state: BudgetState = "within"
    reasons = []
    for used, limit, unit, setting in (
        (usage.tokens, token_limit, "tokens", "DESKPILOT_BUDGET_DAILY_TOKENS"),
        (usage.requests, request_limit, "LLM requests", "DESKPILOT_BUDGET_DAILY_REQUESTS"),
    ):
        if limit <= 0 or used < limit:
            continue
        hard = used >= limit * settings.budget_hard_factor
        state = "exhausted" if hard or state == "exhausted" else "over"
        reasons.append(f"{tenant} used {used} of {limit} {unit} today ({setting})")
    return BudgetCheck(state, "; ".join(reasons))


def estimate_tokens(text: str) -> int:
    """Tokens of ``text`` by the usual 4-characters-per-token rule (no tokenizer of the remote model is at hand)."""
    return math.ceil(len(text) / 4)


def request_tokens(messages: Sequence[PromptMessage], max_completion: int) -> int:
    """Estimated tokens one LLM call spends: the prompt (plus a few per message for the chat template) and the
    completion it may write."""
    return sum(estimate_tokens(m.content) + 4 for m in messages) + max_completion
