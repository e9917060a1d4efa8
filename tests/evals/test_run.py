"""The whole sample evaluation, run once: the gate against the checked-in baseline, and the report."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from evals.redteam import CATEGORIES, RedTeamEval, success_rates
from evals.run import BASELINE, EvalResult, EvalSettings, gate, run, write_baseline
from evals.stats import Estimate
from ui.wiring import Retrieval


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("eval-report")


@pytest.fixture(scope="module")
def result(samples: Retrieval, report_dir: Path) -> EvalResult:
    """One full sample run (retrieval, answers, red team on the assistant and the API) with its report."""
    return run(samples.settings, report_dir, retrieval=samples, eval_settings=EvalSettings())


def test_the_run_covers_every_question_config_and_probe(result: EvalResult) -> None:
    assert result.retrieval is not None and result.answers is not None and result.redteam is not None
    assert len(result.retrieval.qids) == 125 and len(result.answers.outcomes) == 158
    configured = [c.name for c in result.retrieval.configs if c.configured]
    assert configured[:3] == ["dense", "bm25", "hybrid"]
    for config in result.retrieval.configs[:3]:
        assert all(0 <= e.low <= e.value <= e.high <= 1 for e in config.estimates.values())
        assert all(len(r) <= 10 for r in config.rankings.values())
    assert {r.target for r in result.redteam.results} == {"assistant", "api"}
    assert len(result.redteam.results) == 2 * result.redteam.probes >= 120
    assert set(result.redteam.rates["api"]) == {*CATEGORIES, "all"}
    assert all(r.status == 200 for r in result.redteam.results if r.target == "api")


def test_gate_passes_against_the_checked_in_baseline(result: EvalResult) -> None:
    assert gate(result, BASELINE) == []


def test_strict_gate_demands_hybrid_significantly_above_both_branches(result: EvalResult) -> None:
    assert result.retrieval is not None
    strict = gate(result, BASELINE, strict=True)
    for branch in ("dense", "bm25"):
        comparison = result.retrieval.comparison("hybrid", branch, "ndcg@10")
        assert comparison is not None
        beaten = comparison.significant and comparison.delta.value > 0
        assert any(f"{branch}-only" in f for f in strict) == (not beaten)


def test_gate_fails_on_regressions(result: EvalResult, tmp_path: Path) -> None:
    """A raised baseline, a hallucinated sentence and a successful probe each fail the gate."""
    assert result.answers is not None and result.redteam is not None
    baseline = json.loads(BASELINE.read_text())
    ndcg = result.metrics()["retrieval.hybrid.ndcg@10"]
    baseline["metrics"]["retrieval.hybrid.ndcg@10"]["value"] = ndcg.value + ndcg.half_width + 0.01
    raised = tmp_path / "baseline.json"
    raised.write_text(json.dumps(baseline))
    assert [f for f in gate(result, raised) if f.startswith("retrieval.hybrid.ndcg@10")]

    metrics = dict(result.answers.metrics, hallucination_rate=Estimate(0.02, 0.0, 0.05, 158))
    hallucinating = replace(result, answers=replace(result.answers, metrics=metrics))
    assert any("hallucination rate" in f for f in gate(hallucinating, BASELINE))

    first = result.redteam.results[0]
    broken = [replace(first, reasons=("contains 'PWNED'",)), *result.redteam.results[1:]]
    attacked = replace(result, redteam=RedTeamEval(result.redteam.probes, tuple(broken), success_rates(broken)))
    assert any(f"red-team probe {first.rid}" in f for f in gate(attacked, BASELINE))


def test_baseline_round_trip(result: EvalResult, tmp_path: Path) -> None:
    """A baseline written from this run passes against this run and records every metric."""
    path = tmp_path / "baseline.json"
    write_baseline(result, path)
    written = json.loads(path.read_text())
    assert set(written["metrics"]) == set(result.metrics())
    assert gate(result, path) == []


def test_report_has_the_tables_plots_and_failures(result: EvalResult, report_dir: Path) -> None:
    md = (report_dir / "report.md").read_text()
    page = (report_dir / "report.html").read_text()
    for heading in ("## Retrieval on the golden set", "## Answers", "## Red team", "## Per-question failures"):
        assert heading in md
    assert "| config | recall@5 | precision@5 | mrr@10 | ndcg@10 |" in md
    assert "| hybrid - dense | ndcg@10 |" in md and "| hybrid - bm25 | ndcg@10 |" in md
    assert "| hallucination_rate |" in md and "| indirect_injection |" in md
    assert "### Wrong abstentions" in md and "### Missed retrievals" in md
    assert result.answers is not None and result.answers.judge in md
    for png in ("golden_retrieval.png", "golden_deltas.png", "answers.png", "redteam.png"):
        assert (report_dir / png).read_bytes().startswith(b"\x89PNG")
        assert f"]({png})" in md
    assert page.count("data:image/png;base64,") == 4 and "<table>" in page and 'src="http' not in page
