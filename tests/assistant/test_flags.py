"""Per-tenant feature flags and kill switches, flipped in the flags file and obeyed on the next answer without a
restart: the real FlagStore on real files, the real AnswerService over the ingested samples, the real API."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from playwright.sync_api import expect

from assistant.flags import FlagStore, TenantFlags, parse_assignments
from assistant.llm import LlmGenerator
from assistant.records import Question
from assistant.resilience import ResilientGenerator
from assistant.service import FORCED_ABSTAIN, AnswerService
from assistant.settings import AssistantSettings
from retrieval.search import HybridSearcher, Reranker
from retrieval.sparse import Bm25Encoder
from tests.assistant.llama_server import TcpProxy, free_port
from tests.browser import chromium, needs_chromium, watched_page
from tests.ui.conftest import ALLOWED_ORIGIN, LiveApi, live_api  # noqa: F401  (the fixture)

if TYPE_CHECKING:
    from ui.wiring import Retrieval

QUESTION = "How long does the password reset link stay valid?"


def _write(path: Path, entries: dict[str, dict[str, object]]) -> None:
    """Edit the flags file by hand, as an operator would, and make sure its mtime moves."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(entries), encoding="utf-8")
    stamp = time.time_ns() + 1_000_000
    os.utime(path, ns=(stamp, stamp))


def _service(samples: Retrieval, settings: AssistantSettings, **kwargs: object) -> AnswerService:
    return AnswerService(samples.searcher(), settings, samples.manifest.version, samples.redact, **kwargs)  # type: ignore[arg-type]


def test_store_merges_the_default_entry_and_rereads_a_changed_file(tmp_path: Path) -> None:
    """No file: the defaults. ``"*"`` applies to every tenant, a tenant's own entry wins; a hand edit is seen on
    the next get(); a file that became invalid JSON keeps the last good flags and refuses to be overwritten."""
    path = tmp_path / "flags.json"
    store = FlagStore(path)
    assert store.get("ledgerly") == TenantFlags()

    _write(path, {"*": {"reranker_enabled": False}})
    assert not store.get("ledgerly").reranker_enabled and not store.get("parcelpoint").reranker_enabled
    unchanged = store.entries()
    assert store.entries() is unchanged, "an unchanged file is not parsed again"

    after = store.update("ledgerly", {"reranker_enabled": True, "force_abstain": True}, "cli")
    assert after.reranker_enabled and after.force_abstain and after.updated_by == "cli" and after.updated_at
    assert not store.get("parcelpoint").reranker_enabled and not store.get("parcelpoint").force_abstain
    store.update("ledgerly", {"force_abstain": False}, "cli")
    assert store.get("ledgerly").reranker_enabled, "a partial update keeps the other switches"
    assert FlagStore(path).get("ledgerly") == store.get("ledgerly"), "another process reads the same"

    path.write_text("{not json", encoding="utf-8")
    assert store.get("ledgerly").reranker_enabled, "a broken file keeps the last good flags"
    with pytest.raises(ValueError, match="not valid JSON"):
        store.update("ledgerly", {"llm_enabled": False}, "cli")
    with pytest.raises(ValueError, match="unknown flag"):
        FlagStore(tmp_path / "other.json").update("ledgerly", {"llm_enabld": False}, "cli")


def test_assignments_parse_or_name_the_bad_item() -> None:
    assert parse_assignments(["llm_enabled=false", "widget_enabled=ON"]) == {
        "llm_enabled": False,
        "widget_enabled": True,
    }
    with pytest.raises(ValueError, match=r"llm_enable=false.*one of llm_enabled"):
        parse_assignments(["llm_enable=false"])
    with pytest.raises(ValueError, match="true or false"):
        parse_assignments(["llm_enabled=maybe"])


def test_force_abstain_flipped_in_the_file_takes_effect_on_the_next_answer(samples: Retrieval, tmp_path: Path) -> None:
    """The same service, no restart: an answer; force_abstain on -> a hand-off without searching; off again ->
    the answer (from the cache, which never held the forced abstention)."""
    settings = AssistantSettings(data_dir=tmp_path)
    service = _service(samples, settings)
    question = Question(QUESTION, "ledgerly", channel="widget")
    first = service.answer(question)
    assert not first.abstained and first.citations

    _write(settings.resolved_flags_file(), {"ledgerly": {"force_abstain": True}})
    forced = service.answer(question)
    assert forced.abstained and forced.escalation_reason == FORCED_ABSTAIN
    assert "flag:force_abstain" in forced.flags and not forced.sources and not forced.cached
    other = service.answer(Question("How do I track my parcel?", "parcelpoint", channel="widget"))
    assert "flag:force_abstain" not in other.flags and other.sources, "only ledgerly's switch was flipped"

    _write(settings.resolved_flags_file(), {"ledgerly": {"force_abstain": False}})
    back = service.answer(question)
    assert not back.abstained and back.cached and back.text == first.text


def test_llm_kill_switch_flipped_in_the_file_stops_the_next_call(samples: Retrieval, tmp_path: Path) -> None:
    """generator=llm against a real loopback TCP endpoint that resets every connection (what the model would
    say does not matter here, only whether it is called): with llm_enabled on the call is made and fails over to
    extractive; switched off in the file, the next answer makes no connection at all and says why; the cache
    never serves an answer made under the other setting."""
    proxy = TcpProxy(free_port(), mode="drop")
    try:
        settings = AssistantSettings(
            data_dir=tmp_path, llm_base_url=proxy.base_url, llm_model="m", llm_retries=0, breaker_failures=5
        )
        chain = ResilientGenerator([LlmGenerator.openai_like(settings, base_url=proxy.base_url, model="m")], settings)
        service = _service(samples, settings, llm=chain)
        question = Question(QUESTION, "ledgerly", channel="agent", generator="llm")

        on = service.answer(question)
        assert proxy.connections >= 1 and proxy.base_url in on.fallback_reason
        assert on.route == "llm:default" and on.sentences

        service.flags.update("ledgerly", {"llm_enabled": False}, "test")
        seen = proxy.connections
        off = service.answer(question)
        time.sleep(0.2)  # a connection attempt would have been accepted by now
        assert proxy.connections == seen
        assert not off.cached and "flag llm_enabled" in off.fallback_reason and off.route == ""
        assert off.generator == "extractive" and off.sentences

        service.flags.update("ledgerly", {"llm_enabled": True}, "test")
        again = service.answer(question)
        assert again.cached and again.fallback_reason == on.fallback_reason, "the answer made with the LLM switched on"
    finally:
        proxy.close()


class _CountingReranker(Reranker):
    """Stands in for a CrossEncoder, which cannot run here: no reranker model ships offline. Scores by text
    length (any order will do) and counts its calls, so a test sees whether reranking ran."""

    def __init__(self) -> None:
        self.calls = 0

    def scores(self, query: str, texts: list[str]) -> list[float]:
        self.calls += 1
        return [float(len(t)) for t in texts]


def test_reranker_switch_per_tenant(samples: Retrieval, tmp_path: Path) -> None:
    """reranker_enabled off in the file: the next search skips the reranker (its hits carry no rerank score),
    and an answer cached while it was on is not served."""
    r = samples.settings.retrieval
    reranker = _CountingReranker()
    searcher = HybridSearcher(
        samples.index,
        samples.embedder,
        Bm25Encoder(r.bm25_k1, r.bm25_b, r.bm25_avg_len),
        r,
        redact=samples.redact,
        reranker=reranker,
    )
    settings = AssistantSettings(data_dir=tmp_path)
    service = AnswerService(searcher, settings, samples.manifest.version, samples.redact)
    question = Question(QUESTION, "ledgerly")

    reranked = service.answer(question)
    assert reranker.calls == 1 and all(s.hit.rerank_score is not None for s in reranked.sources)

    _write(settings.resolved_flags_file(), {"*": {"reranker_enabled": False}})
    plain = service.answer(question)
    assert reranker.calls == 1 and not plain.cached
    assert plain.sources and all(s.hit.rerank_score is None for s in plain.sources)


@pytest.fixture()
def flags_file(live_api: LiveApi) -> Iterator[Path]:  # noqa: F811
    """The live API's flags file, removed again afterwards."""
    path = live_api.settings.assistant.resolved_flags_file()
    yield path
    path.unlink(missing_ok=True)


def test_widget_switched_off_is_refused_through_the_api(live_api: LiveApi, flags_file: Path) -> None:  # noqa: F811
    """widget_enabled=false in the file: the running API refuses ledgerly's widget key with a 503 the widget
    recognises (``code: widget_disabled``), on answers and escalations alike; agents and other tenants go on."""

    def ask(key: str, origin: str | None = ALLOWED_ORIGIN) -> httpx.Response:
        headers = {"X-API-Key": key, **({"Origin": origin} if origin else {})}
        return httpx.post(f"{live_api.base_url}/v1/answer", json={"question": QUESTION}, headers=headers, timeout=60)

    assert ask(live_api.keys["widget"]).status_code == 200
    _write(flags_file, {"ledgerly": {"widget_enabled": False}})

    refused = ask(live_api.keys["widget"])
    assert refused.status_code == 503, refused.text
    body = refused.json()
    assert body["code"] == "widget_disabled" and "widget_enabled" in body["detail"]
    assert body["request_id"] == refused.headers["x-request-id"]
    assert refused.headers["access-control-allow-origin"] == ALLOWED_ORIGIN, "the widget can read the reason"
    escalation = httpx.post(
        f"{live_api.base_url}/v1/escalations",
        json={"reason": "needs a person"},
        headers={"X-API-Key": live_api.keys["widget"], "Origin": ALLOWED_ORIGIN},
        timeout=30,
    )
    assert escalation.status_code == 503 and escalation.json()["code"] == "widget_disabled"
    assert ask(live_api.keys["agent"]).status_code == 200
    assert ask(live_api.other["widget"], origin=None).status_code == 200

    _write(flags_file, {"ledgerly": {"widget_enabled": True}})
    assert ask(live_api.keys["widget"]).status_code == 200


@needs_chromium
def test_the_widget_says_it_is_switched_off_and_goes_away(live_api: LiveApi, flags_file: Path) -> None:  # noqa: F811
    """The real widget on the demo page in headless Chromium: with widget_enabled=false its question gets the
    API's refusal, the panel says the assistant is switched off, the launcher disappears, and closing the panel
    removes the widget from the page."""
    _write(flags_file, {"ledgerly": {"widget_enabled": False}})
    with chromium() as browser, watched_page(browser, width=1280, height=860, timeout_ms=15_000) as page:
        page.goto(f"{live_api.base_url}/demo/ledgerly")
        launcher = page.get_by_role("button", name="Help", exact=True)
        launcher.click()
        box = page.get_by_role("textbox", name="Your question")
        box.fill(QUESTION)
        with page.expect_response(lambda r: r.url.endswith("/v1/answer")) as answered:
            box.press("Enter")
        assert answered.value.status == 503
        expect(page.get_by_role("status")).to_contain_text("switched off right now")
        expect(launcher).to_be_hidden()
        expect(box).to_be_disabled()
        page.get_by_role("button", name="Close help").click()
        expect(page.locator("#deskpilot-widget")).to_have_count(0)
