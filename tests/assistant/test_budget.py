"""Cost governance with real components: daily budgets that downgrade strong -> cheap -> extractive (a real
llama.cpp server behind counting proxies), the per-request token cap, routing by question complexity over the
real sample index, seeding from the real feedback store, and the API's Prometheus counter."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from assistant import budget, routing
from assistant.budget import Usage, UsageLedger
from assistant.llm import LlmGenerator
from assistant.prompts import build_messages
from assistant.records import Answer, Question, Source
from assistant.resilience import ResilientGenerator
from assistant.service import AnswerService, LlmChain
from assistant.settings import AssistantSettings
from feedback.records import InteractionIn
from feedback.settings import FeedbackSettings
from feedback.store import FeedbackStore
from retrieval.records import Hit, SearchFilter
from tests.assistant.llama_server import MODEL_ALIAS, LlamaServer, TcpProxy, free_port, model_path
from tests.ui.conftest import LiveApi, live_api  # noqa: F401  (the fixture)
from ui.serve import seed_budgets
from ui.settings import AppSettings
from ui.wiring import configured_cheap_llm

if TYPE_CHECKING:
    from ui.wiring import Retrieval

# Both branches rank its best chunk first (measured on the samples, 2026-12-03).
FAQ = "What happens if my subscription payment fails?"
HARD = (
    "I'm on Starter and invoice a German client in EUR who pays through PayPal; how do I record the FX gain "
    "and what happens to the VAT on it?"
)


def _settings(tmp_path: Path, **overrides: object) -> AssistantSettings:
    values: dict[str, object] = {"data_dir": tmp_path, "llm_model": "m", "llm_retries": 0, "breaker_failures": 50}
    return AssistantSettings(**{**values, **overrides})  # type: ignore[arg-type]


def _dropping_chain(settings: AssistantSettings, proxy: TcpProxy) -> LlmChain:
    """A real OpenAI-compatible client chain to a loopback endpoint that resets every connection."""
    return ResilientGenerator([LlmGenerator.openai_like(settings, base_url=proxy.base_url, model="m")], settings)


@pytest.fixture()
def dropping() -> Iterator[tuple[TcpProxy, TcpProxy]]:
    """Two loopback endpoints (strong, cheap) that accept and reset connections, counting them."""
    strong, cheap = TcpProxy(free_port(), mode="drop"), TcpProxy(free_port(), mode="drop")
    yield strong, cheap
    strong.close()
    cheap.close()


def test_ledger_counts_per_tenant_and_utc_day_and_seeds_never_lower() -> None:
    now = [datetime(2026, 12, 3, 23, 59, tzinfo=UTC)]
    ledger = UsageLedger(clock=lambda: now[0])
    ledger.seed({"ledgerly": Usage(3, 900)})
    assert ledger.record("ledgerly", 100) == Usage(4, 1000)
    ledger.seed({"ledgerly": Usage(1, 10), "parcelpoint": Usage(2, 20)})
    assert ledger.usage("ledgerly") == Usage(4, 1000) and ledger.usage("parcelpoint") == Usage(2, 20)
    ledger.seed({"ledgerly": Usage(50, 50)}, day=(now[0] - timedelta(days=1)).date())
    assert ledger.usage("ledgerly") == Usage(4, 1000), "a seed of another day is ignored"
    now[0] += timedelta(minutes=2)
    assert ledger.usage("ledgerly") == Usage() and ledger.snapshot() == {}, "UTC midnight starts a new day"


def test_budget_states_per_tenant_with_defaults(tmp_path: Path) -> None:
    s = _settings(
        tmp_path,
        budget_daily_tokens={"ledgerly": 1000},
        budget_default_daily_requests=10,
        budget_hard_factor=1.5,
    )
    assert budget.check(s, "ledgerly", Usage(1, 999)).state == "within"
    over = budget.check(s, "ledgerly", Usage(1, 1000))
    assert (
        over.state == "over" and "1000 of 1000 tokens" in over.reason and "DESKPILOT_BUDGET_DAILY_TOKENS" in over.reason
    )
    assert budget.check(s, "ledgerly", Usage(1, 1500)).state == "exhausted"
    assert budget.check(s, "parcelpoint", Usage(9, 10**9)).state == "within", "no token budget for parcelpoint"
    assert budget.check(s, "parcelpoint", Usage(15, 0)).state == "exhausted"
    assert budget.check(_settings(tmp_path), "ledgerly", Usage(10**6, 10**9)).state == "within", "0 = unlimited"


def test_complexity_on_real_retrieval(samples: Retrieval, tmp_path: Path) -> None:
    """A short single-intent question with a close, agreed-on top hit is FAQ-like; a long two-part one is not."""
    s = _settings(tmp_path)
    searcher = samples.searcher()
    faq = searcher.search(FAQ, SearchFilter(tenant="ledgerly"))
    hard = searcher.search(HARD, SearchFilter(tenant="ledgerly"))
    simple = routing.assess(faq.query, faq.hits, s)
    assert simple.simple, simple.reason
    complex_ = routing.assess(hard.query, hard.hits, s)
    assert not complex_.simple and "long" in complex_.reason and "parts" in complex_.reason
    weak = routing.assess(FAQ, faq.hits, _settings(tmp_path, route_simple_min_dense=0.99))
    assert not weak.simple and "weak evidence" in weak.reason


def _sources(samples: Retrieval, question: str, n: int = 5) -> tuple[list[Source], list[Hit]]:
    hits = samples.searcher().search(question, SearchFilter(tenant="ledgerly")).hits
    return [Source(i + 1, h) for i, h in enumerate(hits[:n])], list(hits)


def test_plan_routes_by_complexity_budget_and_token_cap(samples: Retrieval, tmp_path: Path) -> None:
    faq_sources, faq_hits = _sources(samples, FAQ)
    hard_sources, hard_hits = _sources(samples, HARD)

    def plan(question: str, s: AssistantSettings, usage: Usage | None = None, cheap: bool = True) -> routing.Plan:
        sources, hits = (faq_sources, faq_hits) if question == FAQ else (hard_sources, hard_hits)
        return routing.plan(
            s,
            tenant="ledgerly",
            question=question,
            hits=hits,
            sources=sources,
            channel="agent",
            locale="en",
            usage=usage or Usage(),
            cheap_available=cheap,
        )

    routed = _settings(tmp_path, routing_enabled=True, budget_daily_requests={"ledgerly": 10})
    assert plan(FAQ, routed).route.label().startswith("extractive:faq (")
    assert plan(FAQ, _settings(tmp_path, routing_enabled=True, route_simple_to="cheap")).route.tier == "cheap"
    assert plan(HARD, routed).route.label().startswith("llm:hard (")
    assert plan(HARD, routed, Usage(10, 0)).route.label().startswith("cheap:budget (ledgerly used 10 of 10")
    assert plan(HARD, routed, Usage(10, 0), cheap=False).route.label().startswith("extractive:budget (")
    assert plan(HARD, routed, Usage(13, 0)).route.tier == "extractive"
    assert plan(HARD, routed, Usage(13, 0)).route.cause == "budget_exhausted"
    assert plan(HARD, _settings(tmp_path)).route.label() == "llm:default"

    def needed(k: int) -> int:
        messages = build_messages(HARD, hard_sources[:k], "agent", "en")
        return budget.request_tokens(messages, routed.llm_max_tokens)

    trimmed = plan(HARD, _settings(tmp_path, llm_max_request_tokens=needed(2)))
    assert trimmed.route.label() == "llm:default" and len(trimmed.sources) == 2 and trimmed.prompt_tokens > 0
    capped = plan(HARD, _settings(tmp_path, llm_max_request_tokens=needed(1) - 1))
    assert capped.route.cause == "token_cap" and "DESKPILOT_LLM_MAX_REQUEST_TOKENS" in capped.route.detail
    assert routing.parse_route(capped.route.label()) == ("extractive", "token_cap")
    assert len(routing.Route("llm", "hard", "x" * 500).label()) == 128


def test_service_enforces_the_request_token_cap(
    samples: Retrieval, tmp_path: Path, dropping: tuple[TcpProxy, TcpProxy]
) -> None:
    """Over the cap with every source, the call goes out with fewer sources; over it even with one, no call."""
    strong, _ = dropping
    sources, _hits = _sources(samples, HARD, 5)
    one = budget.request_tokens(build_messages(HARD, sources[:1], "agent", "en"), 320)
    s = _settings(tmp_path, llm_base_url=strong.base_url, llm_max_request_tokens=one, cache_ttl_s=0)
    service = AnswerService(
        samples.searcher(), s, samples.manifest.version, samples.redact, llm=_dropping_chain(s, strong)
    )
    trimmed = service.answer(Question(HARD, "ledgerly", generator="llm"))
    assert strong.connections >= 1 and trimmed.route == "llm:default"
    assert any(f.startswith("sources_trimmed_for_token_cap:") for f in trimmed.flags)
    assert len(trimmed.sources) == 1

    s.llm_max_request_tokens = one - 1
    seen = strong.connections
    capped = service.answer(Question(HARD, "ledgerly", generator="llm"))
    time.sleep(0.2)
    assert strong.connections == seen and capped.route.startswith("extractive:token_cap")
    assert capped.generator == "extractive" and not capped.fallback_reason


def test_routing_through_the_service_is_recorded_on_the_interaction(
    samples: Retrieval, tmp_path: Path, dropping: tuple[TcpProxy, TcpProxy]
) -> None:
    """routing_enabled: the FAQ-like question is answered extractively without calling the LLM; the hard one
    goes to the LLM; the decision and its reason land in the feedback store's interaction."""
    strong, _ = dropping
    s = _settings(tmp_path, llm_base_url=strong.base_url, routing_enabled=True)
    service = AnswerService(
        samples.searcher(), s, samples.manifest.version, samples.redact, llm=_dropping_chain(s, strong)
    )
    faq = service.answer(Question(FAQ, "ledgerly", generator="llm"))
    time.sleep(0.2)
    assert strong.connections == 0 and faq.route.startswith("extractive:faq")
    assert faq.generator == "extractive" and not faq.fallback_reason and not faq.abstained
    hard = service.answer(Question(HARD, "ledgerly", generator="llm"))
    assert strong.connections >= 1 and hard.route.startswith("llm:hard (long")

    with FeedbackStore.open(FeedbackSettings(data_dir=tmp_path)) as store:
        for answer in (faq, hard):
            record = InteractionIn.from_answer(answer, tenant="ledgerly", channel="agent")
            store.record_interaction(record)
            stored = store.get_interaction(record.id, "ledgerly")
            assert stored is not None and stored.route == answer.route


def test_extractive_default_never_routes(samples: Retrieval, tmp_path: Path) -> None:
    """With the extractive default, routing costs nothing: no route, no usage, even with budgets breached."""
    s = _settings(tmp_path, routing_enabled=True, budget_default_daily_requests=1)
    ledger = UsageLedger()
    ledger.seed({"ledgerly": Usage(99, 0)})
    service = AnswerService(samples.searcher(), s, samples.manifest.version, samples.redact, usage=ledger)
    answer = service.answer(Question(FAQ, "ledgerly"))
    assert answer.route == "" and not answer.fallback_reason and ledger.downgrades == {}


@pytest.fixture(scope="module")
def llama() -> Iterator[LlamaServer]:
    with LlamaServer(model_path()) as server:
        yield server.wait_ready()


def test_budget_breach_downgrades_to_cheap_then_extractive(
    samples: Retrieval, tmp_path: Path, llama: LlamaServer
) -> None:
    """The real llama.cpp server behind two counting proxies, one per model: the first answer uses the strong
    endpoint and its real token usage is counted; over the daily request budget the next goes to the cheap one;
    past budget x hard factor the next makes no call at all. Each downgrade is counted. Nothing here depends on
    what the 270M model writes."""
    strong, cheap = TcpProxy(llama.port), TcpProxy(llama.port)
    try:
        s = _settings(
            tmp_path,
            llm_base_url=strong.base_url,
            llm_model=MODEL_ALIAS,
            llm_cheap_base_url=cheap.base_url,
            llm_cheap_model=MODEL_ALIAS,
            llm_max_tokens=16,
            llm_timeout_s=90,
            answer_deadline_s=120,
            max_sources=1,
            cache_ttl_s=0,
            budget_daily_requests={"ledgerly": 1},
            budget_hard_factor=2.0,
        )
        app = dataclasses.replace(AppSettings.load(tmp_path), assistant=s)
        cheap_chain = configured_cheap_llm(app)
        assert cheap_chain is not None
        strong_chain = ResilientGenerator([LlmGenerator.openai_like(s, base_url=strong.base_url, model=MODEL_ALIAS)], s)
        ledger = UsageLedger()
        service = AnswerService(
            samples.searcher(),
            s,
            samples.manifest.version,
            samples.redact,
            llm=strong_chain,
            cheap_llm=cheap_chain,
            usage=ledger,
        )
        ask = Question(FAQ, "ledgerly", generator="llm")

        first = service.answer(ask)
        assert first.route == "llm:default" and strong.connections >= 1 and cheap.connections == 0
        spent = ledger.usage("ledgerly")
        assert spent.requests == 1 and spent.tokens > 16, "the server's reported usage is counted"

        second = service.answer(ask)
        assert second.route.startswith("cheap:budget (ledgerly used 1 of 1 LLM requests")
        assert cheap.connections >= 1 and ledger.usage("ledgerly").requests == 2
        assert ledger.downgrades == {("ledgerly", "cheap"): 1}

        seen = (strong.connections, cheap.connections)
        third = service.answer(ask)
        time.sleep(0.2)
        assert (strong.connections, cheap.connections) == seen
        assert third.route.startswith("extractive:budget_exhausted") and third.generator == "extractive"
        assert third.sentences and not third.fallback_reason
        assert ledger.downgrades == {("ledgerly", "cheap"): 1, ("ledgerly", "extractive"): 1}
        assert InteractionIn.from_answer(third, tenant="ledgerly", channel="agent").route == third.route
    finally:
        strong.close()
        cheap.close()


def _stored(answer: Answer, tenant: str, at: datetime, **changes: object) -> InteractionIn:
    return InteractionIn.from_answer(
        dataclasses.replace(answer, **changes),  # type: ignore[arg-type]
        tenant=tenant,
        channel="agent",
        created_at=at,
    )


def test_a_restart_seeds_todays_usage_from_the_feedback_store(samples: Retrieval, tmp_path: Path) -> None:
    """Stored LLM interactions of today count; cached, extractive and yesterday's ones do not."""
    answer = AnswerService(samples.searcher(), _settings(tmp_path), samples.manifest.version, samples.redact).answer(
        Question(FAQ, "ledgerly")
    )
    now = datetime.now(UTC)
    llm = {"generator": "llm", "prompt_tokens": 100, "completion_tokens": 20}
    with FeedbackStore.open(FeedbackSettings(data_dir=tmp_path)) as store:
        for item in (
            _stored(answer, "ledgerly", now, **llm),
            _stored(answer, "ledgerly", now, **llm),
            _stored(answer, "ledgerly", now, cached=True, **llm),
            _stored(answer, "ledgerly", now),
            _stored(answer, "ledgerly", now - timedelta(days=1, hours=1), **llm),
            _stored(answer, "parcelpoint", now, **llm),
        ):
            store.record_interaction(item)
        ledger = UsageLedger()
        seed_budgets(ledger, store)
    assert ledger.usage("ledgerly") == Usage(2, 240) and ledger.usage("parcelpoint") == Usage(1, 120)


def test_budget_downgrades_are_counted_in_prometheus(
    live_api: LiveApi,  # noqa: F811
    tmp_path: Path,
    dropping: tuple[TcpProxy, TcpProxy],
) -> None:
    """Through the running API: an agent's LLM answer over ledgerly's budget is downgraded to the cheap model,
    recorded with its route and counted in /metrics. The live API has no LLM configured, so this test gives its
    service real client chains to two loopback endpoints that reset connections (restored afterwards)."""
    strong, cheap = dropping
    service = live_api.served.app.state.service
    saved = (service.llm, service.cheap_llm, service.settings.budget_daily_requests)
    try:
        service.llm = _dropping_chain(service.settings, strong)
        service.cheap_llm = _dropping_chain(service.settings, cheap)
        service.settings.budget_daily_requests = {"ledgerly": 1}
        service.usage.seed({"ledgerly": Usage(1, 0)})
        response = httpx.post(
            f"{live_api.base_url}/v1/answer",
            json={"question": "Can I pay yearly instead of monthly?", "generator": "llm"},
            headers={"X-API-Key": live_api.keys["agent"]},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        assert cheap.connections >= 1 and strong.connections == 0
        metrics = httpx.get(f"{live_api.base_url}/metrics", timeout=10).text
        assert 'deskpilot_budget_downgrades_total{tenant="ledgerly",to="cheap"} 1.0' in metrics
        assert 'deskpilot_llm_routes_total{cause="budget",tier="cheap"} 1.0' in metrics
        stored = live_api.store.get_interaction(response.json()["interaction_id"], "ledgerly")
        assert stored is not None and stored.route.startswith("cheap:budget")
    finally:
        service.llm, service.cheap_llm, service.settings.budget_daily_requests = saved
