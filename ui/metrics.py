"""Prometheus gauges read at scrape time from the answer service: LLM circuit breakers and tenants' budgets."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from assistant import budget
from assistant.service import AnswerService

BREAKER_STATES = {"closed": 0.0, "half_open": 1.0, "open": 2.0}
"""The value of ``deskpilot_llm_breaker_state`` for each breaker state."""


class ServiceCollector(Collector):
    """Breaker state per LLM endpoint and today's budget use per tenant, as they are when Prometheus scrapes."""

    def __init__(self, service: AnswerService) -> None:
        self.service = service

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The current gauges (called by the registry on every scrape)."""
        yield self._breakers()
        yield from self._budgets()

    def _breakers(self) -> GaugeMetricFamily:
        gauge = GaugeMetricFamily(
            "deskpilot_llm_breaker_state",
            "Circuit breaker per LLM endpoint: 0 closed, 1 half-open, 2 open",
            labels=["chain", "endpoint"],
        )
        for chain_name, chain in (("primary", self.service.llm), ("cheap", self.service.cheap_llm)):
            links = getattr(chain, "chain", ())  # a ResilientGenerator; other LlmChains have no breakers
            breaker = getattr(chain, "breaker", None)
            if breaker is None:
                continue
            for link in links:
                gauge.add_metric([chain_name, link.endpoint], BREAKER_STATES.get(breaker(link.endpoint).state, 2.0))
        return gauge

    def _budgets(self) -> Iterator[GaugeMetricFamily]:
        used = GaugeMetricFamily("deskpilot_budget_used", "LLM usage today (UTC) per tenant", labels=["tenant", "unit"])
        limit = GaugeMetricFamily(
            "deskpilot_budget_limit", "Daily LLM budget per tenant (0 = unlimited)", labels=["tenant", "unit"]
        )
        ratio = GaugeMetricFamily(
            "deskpilot_budget_used_ratio",
            "Share of the daily LLM budget used today (only tenants with a budget)",
            labels=["tenant", "unit"],
        )
        today = self.service.usage.snapshot()
        settings = self.service.settings
        for tenant in sorted({*today, *settings.budget_daily_tokens, *settings.budget_daily_requests}):
            usage = today.get(tenant, budget.Usage())
            tokens_limit, requests_limit = budget.limits(self.service.settings, tenant)
            for unit, spent, cap in (
                ("tokens", usage.tokens, tokens_limit),
                ("requests", usage.requests, requests_limit),
            ):
                used.add_metric([tenant, unit], float(spent))
                limit.add_metric([tenant, unit], float(cap))
                if cap > 0:
                    ratio.add_metric([tenant, unit], spent / cap)
        yield used
        yield limit
        yield ratio
