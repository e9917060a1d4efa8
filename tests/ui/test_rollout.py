"""Canary rollout and shadow mode over real components: the live API over the sample index, a SQLite store,
the rollout file on disk, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from assistant.settings import AssistantSettings
from feedback.models import AuditEventRow
from feedback.records import EscalationIn, FeedbackIn, InteractionIn
from feedback.settings import FeedbackSettings
from feedback.store import FeedbackStore
from tests.assistant.llama_server import TcpProxy
from tests.ui.conftest import LiveApi
from ui.canary import ShadowRunner
from ui.cli import app
from ui.rollout import (
    STAGES,
    GateRefused,
    RolloutFileError,
    RolloutSettings,
    RolloutState,
    advance,
    bucket,
    candidate_settings,
    in_candidate,
    load,
    save,
    unit_key,
)

QUESTION = "How long does the password reset link stay valid?"
OTHER_QUESTION = "How do I get a refund for my subscription?"
# A candidate that never trusts its evidence: it abstains on everything, so its answers are unmistakable.
DOUBTFUL = {"abstain_below": 0.99, "confidence_medium": 0.99, "confidence_high": 0.99}


# --- cohorts and the file --------------------------------------------------------------------------------


def test_cohorts_are_stable_across_processes_and_shares_approach_the_percentage() -> None:
    """The same unit lands in the same bucket in another interpreter (no hash randomization); over many
    units each stage's share is close to its percentage, and raising the percentage only adds units."""
    units = [unit_key("actor", actor=f"key:{n:04x}", tenant="ledgerly", request_id="") for n in range(4000)]
    here = [bucket("llm-v2", u) for u in units[:50]]
    code = "import json,sys; from ui.rollout import bucket; print(json.dumps([bucket('llm-v2', u) for u in json.loads(sys.argv[1])]))"
    there = subprocess.run(
        [sys.executable, "-c", code, json.dumps(units[:50])], capture_output=True, text=True, check=True
    )
    assert json.loads(there.stdout) == here
    assert bucket("llm-v3", units[0]) != bucket("llm-v2", units[0]) or bucket("llm-v3", units[1]) != bucket(
        "llm-v2", units[1]
    )  # the rollout name salts the hash
    previous: set[str] = set()
    for percent in STAGES:
        state = RolloutState(name="llm-v2", percent=percent)
        chosen = {u for u in units if in_candidate(state, "ledgerly", u)}
        assert abs(len(chosen) / len(units) - percent / 100) < 0.025, (percent, len(chosen))
        assert previous <= chosen
        previous = chosen
    scoped = RolloutState(name="llm-v2", percent=100, tenants=("parcelpoint",))
    assert not in_candidate(scoped, "ledgerly", units[0]) and in_candidate(scoped, "parcelpoint", units[0])


def test_rollout_file_errors_name_the_file_and_the_field(tmp_path: Path) -> None:
    """Unknown overrides, bad percentages, broken JSON/YAML and invalid override values are refused with
    the file and the field in the message."""
    path = tmp_path / "rollout.json"
    assert load(path) is None
    cases: list[tuple[str, str]] = [
        ('{"name": "x", "overrides": {"max_source": 3}}', "overrides"),
        ('{"name": "x", "percent": 150}', "percent"),
        ('{"name": "Bad Name"}', "name"),
        ('{"name": "x",', "not valid JSON"),
        ('{"name": "x", "overrides": {"data_dir": "/tmp"}}', "data_dir"),
    ]
    for text, field in cases:
        path.write_text(text, encoding="utf-8")
        with pytest.raises(RolloutFileError) as err:
            load(path)
        assert str(path) in str(err.value) and field in str(err.value), str(err.value)
    yaml_path = tmp_path / "rollout.yaml"
    yaml_path.write_text("name: llm-v2\noverrides:\n  max_sources: 99\npercent: 5\n", encoding="utf-8")
    state = load(yaml_path)
    assert state is not None and state.percent == 5
    with pytest.raises(RolloutFileError, match=r"rollout\.yaml: field overrides\.max_sources"):
        candidate_settings(AssistantSettings(), state, yaml_path)
    save(yaml_path, state.model_copy(update={"percent": 25}))
    reread = load(yaml_path)
    assert reread is not None and reread.percent == 25 and reread.overrides == {"max_sources": 99}


# --- the gate on seeded interactions and votes -------------------------------------------------------------


def _seed_arm(
    store: FeedbackStore,
    variant: str,
    *,
    n: int,
    up: int,
    votes: int,
    escalated: int = 0,
    errors: int = 0,
    at: datetime,
) -> None:
    """``n`` interactions of ``variant``; the first ``votes`` get a vote (``up`` of them up), ``escalated``
    of them an escalation, ``errors`` of them a generation fallback."""
    for k in range(n):
        interaction = InteractionIn(
            tenant="ledgerly",
            channel="widget",
            question=f"question {k}",
            answer="an answer [1]",
            confidence=0.8,
            confidence_level="medium",
            abstained=False,
            generator="llm",
            variant=variant,
            fallback_reason="LLM endpoint timed out" if k < errors else "",
            created_at=at + timedelta(seconds=k),
        )
        store.write(interaction)
        if k < votes:
            store.write(
                FeedbackIn(
                    tenant="ledgerly",
                    interaction_id=interaction.id,
                    thumbs="up" if k < up else "down",
                    created_at=at + timedelta(seconds=k + 1),
                )
            )
        if n - k <= escalated:
            store.write(
                EscalationIn(tenant="ledgerly", interaction_id=interaction.id, reason="needs a person", created_at=at)
            )


@pytest.fixture()
def gated(tmp_path: Path) -> Iterator[tuple[FeedbackStore, RolloutSettings]]:
    """A real SQLite store and a rollout at 5% whose window opened an hour ago."""
    data = tmp_path / "state"
    store = FeedbackStore.open(FeedbackSettings(data_dir=data))
    settings = RolloutSettings(data_dir=data, rollout_min_interactions=50, rollout_min_votes=20)
    started = datetime.now(UTC) - timedelta(hours=1)
    save(settings.resolved_rollout_file(), RolloutState(name="v2", percent=5, started_at=started))
    # Before the window: a terrible candidate the gate must not count.
    _seed_arm(store, "candidate:v2", n=40, up=0, votes=40, at=started - timedelta(days=1))
    _seed_arm(store, "control", n=300, up=160, votes=200, escalated=15, errors=3, at=started + timedelta(minutes=1))
    with store:
        yield store, settings


def _audited(store: FeedbackStore) -> list[tuple[str, dict[str, Any]]]:
    with Session(store.engine) as session:
        rows = session.query(AuditEventRow).filter(AuditEventRow.action.like("rollout.%")).order_by(AuditEventRow.seq)
        return [(r.action, json.loads(r.details)) for r in rows]


def test_advance_refuses_a_worse_candidate_and_says_why(gated: tuple[FeedbackStore, RolloutSettings]) -> None:
    """Thumbs-up 45% vs control's 80%, escalations 20% vs 5%: refused, nothing changes, nothing is audited;
    the CLI exits 1 naming the metrics."""
    store, settings = gated
    later = datetime.now(UTC) - timedelta(minutes=30)
    _seed_arm(store, "candidate:v2", n=100, up=36, votes=80, escalated=20, errors=1, at=later)
    with pytest.raises(GateRefused) as refused:
        advance(store, settings, actor="test")
    message = str(refused.value)
    assert "thumbs up rate of candidate:v2 is lower" in message and "escalation rate" in message
    assert "error rate" not in message  # 1% vs 1%: no evidence either way
    state = load(settings.resolved_rollout_file())
    assert state is not None and state.percent == 5
    assert _audited(store) == []
    result = CliRunner().invoke(app, ["rollout", "advance", "--data-dir", str(settings.data_dir)])
    assert result.exit_code == 1 and "lower than control" in result.output


def test_advance_refuses_too_little_data_then_accepts_a_better_candidate(
    gated: tuple[FeedbackStore, RolloutSettings],
) -> None:
    """10 candidate interactions: too few to judge. With 120 and a higher thumbs-up rate (95% vs 80%): 5% -> 25%,
    audited with the gate's numbers, and `rollout status` shows both arms."""
    store, settings = gated
    later = datetime.now(UTC) - timedelta(minutes=30)
    _seed_arm(store, "candidate:v2", n=10, up=9, votes=10, at=later)
    with pytest.raises(GateRefused, match="too few interactions"):
        advance(store, settings, actor="test")
    _seed_arm(store, "candidate:v2", n=110, up=86, votes=90, escalated=5, at=later + timedelta(minutes=5))
    done = advance(store, settings, actor="test")
    assert (done.before, done.after) == (5, 25)
    state = load(settings.resolved_rollout_file())
    assert state is not None and state.percent == 25 and state.updated_by == "test"
    [(action, details)] = _audited(store)
    assert action == "rollout.advanced" and (details["from"], details["to"]) == (5, 25)
    assert details["gate"]["candidate"]["interactions"] == 120 and details["gate"]["control"]["votes"] == 200
    assert details["gate"]["deltas"]["thumbs_up_rate"][0] == pytest.approx(0.15)
    status = CliRunner().invoke(app, ["rollout", "status", "--json", "--data-dir", str(settings.data_dir)])
    assert status.exit_code == 0, status.output
    body = json.loads(status.output)
    assert body["state"]["percent"] == 25 and body["next_stage"] == 50
    assert body["control"]["interactions"] == 300 and body["candidate"]["interactions"] == 120
    thumbs = next(d for d in body["differences"] if d["metric"] == "thumbs_up_rate")
    assert thumbs["candidate"]["value"] == pytest.approx(95 / 100) and thumbs["improved"]
    table = CliRunner().invoke(app, ["rollout", "status", "--data-dir", str(settings.data_dir)], env={"COLUMNS": "200"})
    assert "candidate:v2" in table.output and "thumbs up rate" in table.output


# --- routing in the live API -------------------------------------------------------------------------------


def _answer(api: LiveApi, key: str, question: str = QUESTION) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    response = httpx.post(
        f"{api.base_url}/v1/answer", json={"question": question}, headers={"X-API-Key": key}, timeout=60
    )
    assert response.status_code == 200, response.text
    return response.json(), time.perf_counter() - started


@pytest.fixture()
def rollout_file(live_api: LiveApi) -> Iterator[Path]:
    """The live API's rollout file, removed again afterwards."""
    path = RolloutSettings(data_dir=live_api.settings.feedback.data_dir).resolved_rollout_file()
    yield path
    path.unlink(missing_ok=True)


def test_api_routes_by_cohort_records_the_variant_and_obeys_rollback_at_once(
    live_api: LiveApi, rollout_file: Path
) -> None:
    """At 50% each agent key is served by the arm its cohort says, and its interaction records that arm;
    `rollout rollback` (the CLI, another process's view of the file) sends the candidate's keys back to
    control on their very next request, without a restart."""
    save(rollout_file, RolloutState(name="doubtful", overrides=DOUBTFUL, percent=50))
    assert live_api.served.app.state.rollout.wait_ready()  # the candidate's service is built off the hot path
    state = load(rollout_file)
    assert state is not None
    arms: dict[str, list[str]] = {"control": [], "candidate:doubtful": []}
    for n in range(40):
        key_id, key = live_api.store.create_api_key("ledgerly", "agent", f"cohort {n}")
        unit = unit_key("actor", actor=f"key:{key_id}", tenant="ledgerly", request_id="")
        arms["candidate:doubtful" if in_candidate(state, "ledgerly", unit) else "control"].append(key)
        if min(len(keys) for keys in arms.values()) >= 3:
            break
    for variant, keys in arms.items():
        for key in keys[:3]:
            body, _ = _answer(live_api, key)
            recorded = live_api.store.get_interaction(body["interaction_id"], "ledgerly")
            assert recorded is not None and recorded.variant == variant
            assert body["abstained"] is (variant != "control"), body
    result = CliRunner().invoke(
        app,
        ["rollout", "rollback", "--reason", "abstains on everything", "--data-dir", str(rollout_file.parent)],
    )
    assert result.exit_code == 0, result.output
    body, _ = _answer(live_api, arms["candidate:doubtful"][0])
    recorded = live_api.store.get_interaction(body["interaction_id"], "ledgerly")
    assert recorded is not None and recorded.variant == "control" and not body["abstained"]
    after = load(rollout_file)
    assert after is not None and after.percent == 0 and after.reason == "abstains on everything"
    events = live_api.store.list_audit_events("*", action="rollout.rolled_back").items
    assert events and json.loads(events[0].details)["from"] == 50


def test_shadow_is_recorded_beside_the_live_answer_which_it_neither_changes_nor_delays(
    live_api: LiveApi, rollout_file: Path
) -> None:
    """A shadow candidate whose LLM endpoint hangs (a real loopback socket that accepts and never answers)
    answers the same traffic in the background: the customer's body is the one they get with shadow off,
    neither this request nor the next waits for the slow candidate, and the shadow is recorded with
    shadow_of = the live interaction and variant shadow:<name>, outside listings and dashboard counts."""
    hang = TcpProxy(upstream_port=9, mode="hang")
    key = live_api.keys["agent"]
    try:
        plain, _ = _answer(live_api, key, OTHER_QUESTION)
        slow = {
            **DOUBTFUL,
            "generator": "llm",
            "llm_base_url": hang.base_url,
            "llm_model": "hung",
            "llm_retries": 0,
            "llm_timeout_s": 2.0,
            "answer_deadline_s": 2.5,
        }
        save(rollout_file, RolloutState(name="slow", overrides=slow, percent=0, shadow=True))
        assert live_api.served.app.state.rollout.wait_ready(), "the candidate's LLM chain did not build"
        counted = live_api.store.counts("ledgerly").interactions
        live, took = _answer(live_api, key, OTHER_QUESTION)
        _, next_took = _answer(live_api, key, QUESTION)
        assert took < 1.5 and next_took < 1.5, (took, next_took)  # the shadow alone needs >= 2 s
        same = ("answer", "abstained", "confidence", "citations", "escalation_reason")
        assert {k: live[k] for k in same} == {k: plain[k] for k in same}
        canary = live_api.served.app.state.rollout
        canary.shadows.wait()
        shadows = live_api.store.list_interactions("ledgerly", shadow=True, variant="shadow:slow").items
        by_live = {str(s.shadow_of): s for s in shadows}
        assert live["interaction_id"] in by_live, by_live
        shadow = by_live[live["interaction_id"]]
        assert shadow.abstained and shadow.fallback_reason and hang.connections >= 1
        assert shadow.latency_ms["total"] >= 2000
        live_record = live_api.store.get_interaction(live["interaction_id"], "ledgerly")
        assert live_record is not None and live_record.variant == "control" and not live_record.abstained
        listed = {str(i.id) for i in live_api.store.list_interactions("ledgerly", page_size=500).items}
        assert live["interaction_id"] in listed and str(shadow.id) not in listed
        assert live_api.store.counts("ledgerly").interactions == counted + 2  # the two live answers only
    finally:
        hang.close()


def test_a_failing_shadow_is_logged_and_dropped(live_api: LiveApi, caplog: pytest.LogCaptureFixture) -> None:
    """A shadow whose recording fails is logged and dropped; the worker goes on with the next one."""
    from assistant.records import Question
    from ui.canary import Arm

    runner = ShadowRunner(max_queued=4)
    service = live_api.served.app.state.service
    recorded: list[str] = []

    def broken(answer: Any, variant: str) -> None:
        raise RuntimeError("the store is gone")

    def fine(answer: Any, variant: str) -> None:
        recorded.append(variant)

    question = Question(text=QUESTION, tenant="ledgerly")
    assert runner.submit(Arm(service, "shadow:a"), question, broken)
    assert runner.submit(Arm(service, "shadow:b"), question, fine)
    runner.wait()
    runner.close()
    assert runner.failed == 1 and recorded == ["shadow:b"]
    assert "shadow answer failed and was dropped" in caplog.text


def test_demo_seed_splits_a_few_percent_to_the_demo_candidate(live_api: LiveApi, tmp_path: Path) -> None:
    """Without a rollout file the demo writes its 5% candidate (window opening at the demo's first moment)
    and sends about 5% of its interactions to it; an existing file is used as it is."""
    from ui.canary import DEMO_CANDIDATE, DemoArms

    service = live_api.served.app.state.service
    start = datetime(2026, 11, 1, tzinfo=UTC)
    arms = DemoArms(service, tmp_path, start)
    written = load(RolloutSettings(data_dir=tmp_path).resolved_rollout_file())
    assert written is not None and written.name == DEMO_CANDIDATE.name and written.started_at == start
    picked = [arms.pick("ledgerly", f"demo-7-{n}").variant for n in range(2000)]
    share = picked.count(written.candidate) / len(picked)
    assert 0.03 < share < 0.07 and set(picked) == {"control", written.candidate}
    assert arms.candidate.service.settings.max_sources == 3 != service.settings.max_sources
    save(RolloutSettings(data_dir=tmp_path).resolved_rollout_file(), written.model_copy(update={"percent": 0}))
    assert {DemoArms(service, tmp_path, start).pick("ledgerly", f"demo-7-{n}").variant for n in range(200)} == {
        "control"
    }
