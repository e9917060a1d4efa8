"""The evaluation run on a tiny golden set (dev and test, both tenants, near- and off-topic unanswerable) over
the real sample index: splits, both channels, cross-tenant questions, the report, the baseline and the gate."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from evals.answer_eval import ChannelAnswer
from evals.lint import Defect
from evals.redteam import RedTeamEval, load_probes, success_rates
from evals.run import EvalResult, EvalSettings, gate, lint_failures, run, write_baseline
from evals.stats import Estimate
from tests.conftest import golden_items
from ui.wiring import Retrieval

TINY = ("G-002", "G-030", "G-095", "G-140", "G-158")
"""ledgerly test + dev, parcelpoint dev, unanswerable near-topic (test) and off-topic (dev)."""


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("eval-report")


@pytest.fixture(scope="module")
def result(samples: Retrieval, report_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> EvalResult:
    """One tiny run: five golden questions, three red-team probes on the assistant, the report."""
    golden = tmp_path_factory.mktemp("tiny") / "golden.jsonl"
    golden.write_text("".join(json.dumps(i) + "\n" for i in golden_items() if i["qid"] in TINY), encoding="utf-8")
    return run(
        samples.settings,
        report_dir,
        golden=golden,
        retrieval=samples,
        probes=load_probes()[:3],
        redteam_api=False,
        eval_settings=EvalSettings(resamples=200),
    )


def test_the_run_covers_splits_channels_and_cross_tenant(result: EvalResult) -> None:
    assert result.retrieval is not None and result.answers is not None and result.redteam is not None
    answers = result.answers
    assert [o.qid for o in answers.outcomes] == list(TINY)
    assert all([c.channel for c in o.channels] == ["widget", "agent"] for o in answers.outcomes)
    agent = answers.outcomes[0].channel("agent")
    assert agent is not None and agent.text != answers.outcomes[0].answer  # the draft has a greeting
    assert set(answers.by_split) == {"dev", "test"} and answers.by_split["test"]["key_fact_recall"].n <= 1
    assert answers.metrics["abstention_off_topic"].n == 1 and answers.metrics["abstention_near_topic"].n == 1
    assert [(c.source, c.target, len(c.asked)) for c in result.cross_tenant] == [
        ("ledgerly", "parcelpoint", 2),
        ("parcelpoint", "ledgerly", 1),
    ]
    names = result.metrics()
    for name in (
        "answers.key_fact_recall",
        "answers.dev.key_fact_recall",
        "answers.test.ece",
        "answers.lint.agent.total",
        "answers.lint.widget.cut_off_list",
        "cross_tenant.ledgerly_to_parcelpoint.abstention",
        "redteam.assistant.all",
    ):
        assert name in names, name
    assert result.redteam.probes == 3 and {r.target for r in result.redteam.results} == {"assistant"}


def test_report_shows_splits_calibration_lint_and_cross_tenant(result: EvalResult, report_dir: Path) -> None:
    md = (report_dir / "report.md").read_text()
    page = (report_dir / "report.html").read_text()
    for heading in (
        "## Answers",
        "### Calibration: reliability diagram",
        "### Abstention at a fixed answered rate",
        "### Lint defects (summed over questions)",
        "## Cross-tenant questions (off-topic)",
        "### Lint defects per question",
        "### Answered without every key fact (widget)",
        "### Wrong abstentions",
    ):
        assert heading in md, heading
    assert "test (locked) [95% CI] (n=2)" in md and "dev [95% CI] (n=3)" in md
    assert "| key_fact_recall |" in md and "| abstention_at_answered_90 |" in md and "| uncited_sentence |" in md
    assert "lint defects = 0 on the golden set (agent)" in md
    pngs = sorted(p.name for p in report_dir.glob("*.png"))
    assert "reliability.png" in pngs and "](reliability.png)" in md
    assert all((report_dir / p).read_bytes().startswith(b"\x89PNG") for p in pngs)
    assert page.count("data:image/png;base64,") == len(pngs) and 'src="http' not in page


def test_gate_demands_zero_lint_and_holds_the_baseline(result: EvalResult, tmp_path: Path) -> None:
    assert result.answers is not None
    path = tmp_path / "baseline.json"
    write_baseline(result, path)
    written = json.loads(path.read_text())
    assert set(written["metrics"]) == set(result.metrics())
    # Against its own baseline a run fails at most on lint (whatever the generator's answers are today).
    assert gate(result, path) == lint_failures(result.answers)

    first = result.answers.outcomes[0]
    widget = first.channels[0]
    defect = Defect("heading_as_sentence", "Request a reset link.", "a heading of its source used as a sentence")
    linted = replace(first, channels=(replace(widget, defects=(*widget.defects, defect)), *first.channels[1:]))
    dirty = replace(result.answers, outcomes=(linted, *result.answers.outcomes[1:]))
    failures = gate(replace(result, answers=dirty), path)
    assert any(f.startswith("lint: ") and "widget answers" in f and "G-002" in f for f in failures)

    clean_outcomes = tuple(
        replace(
            o,
            channels=tuple(
                ChannelAnswer(c.channel, c.text, c.abstained, c.confidence, c.facts_found) for c in o.channels
            ),
        )
        for o in result.answers.outcomes
    )
    clean = replace(result, answers=replace(result.answers, outcomes=clean_outcomes))
    assert gate(clean, path) == []


def test_gate_fails_on_regressions_and_skips_parts_not_run(result: EvalResult, tmp_path: Path) -> None:
    assert result.answers is not None and result.redteam is not None
    path = tmp_path / "baseline.json"
    write_baseline(result, path)
    baseline = json.loads(path.read_text())
    recall = result.metrics()["answers.dev.key_fact_recall"]
    baseline["metrics"]["answers.dev.key_fact_recall"]["value"] = recall.value + recall.half_width + 0.01
    ece = result.metrics()["answers.ece"]
    baseline["metrics"]["answers.ece"]["value"] = ece.value - ece.half_width - 0.01
    baseline["metrics"]["openedx.answers.key_fact_recall"] = {"value": 0.9, "low": 0.8, "high": 1.0, "n": 90}
    baseline["metrics"]["answers.not_a_metric"] = {"value": 0.5, "low": 0.4, "high": 0.6, "n": 5}
    raised = tmp_path / "raised.json"
    raised.write_text(json.dumps(baseline))
    failures = [f for f in gate(result, raised) if not f.startswith("lint: ")]
    assert [f.split(":")[0] for f in failures] == [
        "answers.dev.key_fact_recall",
        "answers.ece",
        "answers.not_a_metric",
    ]

    metrics = dict(result.answers.metrics, hallucination_rate=Estimate(0.02, 0.0, 0.05, 5))
    hallucinating = replace(result, answers=replace(result.answers, metrics=metrics))
    assert any("hallucination rate" in f for f in gate(hallucinating, path))
    first = result.redteam.results[0]
    broken = [replace(first, reasons=("contains 'PWNED'",)), *result.redteam.results[1:]]
    attacked = replace(result, redteam=RedTeamEval(result.redteam.probes, tuple(broken), success_rates(broken)))
    assert any(f"red-team probe {first.rid}" in f for f in gate(attacked, path))
