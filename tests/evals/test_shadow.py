"""`deskpilot eval shadow-report` over a real SQLite store holding live answers and their shadows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.records import Citation
from evals.shadow import cited_overlap, shadow_report
from feedback.records import InteractionIn
from feedback.settings import FeedbackSettings
from feedback.store import FeedbackStore
from ui.cli import app

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _cite(doc: str) -> Citation:
    return Citation(n=1, doc_id=doc, title=doc, url=None, section="", snippet="", support=0.9)


def _answer(
    k: int, *, variant: str, abstained: bool, ms: float, docs: tuple[str, ...], at: datetime, **extra: object
) -> InteractionIn:
    return InteractionIn(
        tenant="ledgerly",
        channel="widget",
        question=f"question {k}",
        answer="" if abstained else f"Reset links last {k % 3 + 1} days [1].",
        citations=tuple(_cite(d) for d in docs) if not abstained else (),
        confidence=0.3 if abstained else 0.8,
        confidence_level="low" if abstained else "medium",
        abstained=abstained,
        generator="extractive",
        variant=variant,
        latency_ms={"total": ms},
        created_at=at,
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture()
def store(tmp_path: Path) -> FeedbackStore:
    """60 live answers, each with a shadow that is 120 ms slower, abstains on every third question the live
    answer did not abstain on, and cites one extra document; plus one shadow whose live answer is gone."""
    s = FeedbackStore.open(FeedbackSettings(data_dir=tmp_path / "state"))
    for k in range(60):
        at = START + timedelta(hours=k)
        live = _answer(k, variant="control", abstained=False, ms=200 + 10 * k, docs=("a",), at=at)
        s.write(live)
        s.write(
            _answer(
                k,
                variant="shadow:v2",
                abstained=k % 3 == 0,
                ms=320 + 10 * k,
                docs=("a", "b"),
                at=at + timedelta(seconds=2),
                shadow_of=live.id,
                cost_usd=0.002,
            )
        )
    missing = _answer(99, variant="control", abstained=False, ms=1, docs=(), at=START)
    s.write(_answer(99, variant="shadow:v2", abstained=False, ms=1, docs=(), at=START, shadow_of=missing.id))
    return s


def test_shadow_report_compares_the_pairs_with_paired_intervals(store: FeedbackStore) -> None:
    """Abstain rate up by a third (significant), latency p50/p95 up by exactly 120 ms, cost up by 0.002,
    cited documents overlapping by half on answered pairs, and the orphan shadow counted as unpaired."""
    [report] = shadow_report(store)
    assert report.variant == "shadow:v2" and report.pairs == 60 and report.unpaired == 1
    sides = {s.metric: s for s in report.sides}
    abstain = sides["abstain_rate"]
    assert abstain.live.value == 0 and abstain.shadow.value == pytest.approx(20 / 60)
    assert abstain.delta.delta.value == pytest.approx(20 / 60) and abstain.delta.significant
    for q in ("p50", "p95"):
        lat = sides[f"latency_{q}_ms"]
        assert lat.delta.delta.value == pytest.approx(120) and lat.delta.delta.low <= 120 <= lat.delta.delta.high
    assert sides["cost_usd"].delta.delta.value == pytest.approx(0.002)
    assert sides["citations"].shadow.value == pytest.approx(40 * 2 / 60)
    agreement = dict(report.agreement)
    assert agreement["same_abstain_decision"].value == pytest.approx(40 / 60)
    # answered pairs share one of two documents; an abstained shadow cites none of the live one's
    assert agreement["cited_docs_jaccard"].value == pytest.approx(40 * 0.5 / 60)
    assert store.counts("ledgerly").interactions == 60  # the shadows are not traffic


def test_since_filters_and_the_cli_prints_json_and_a_table(store: FeedbackStore, tmp_path: Path) -> None:
    """--since keeps later pairs only; --json is the report's shape; the table names each metric."""
    later = START + timedelta(hours=30)
    [report] = shadow_report(store, since=later)
    assert report.pairs == 30 and report.unpaired == 0
    data_dir = str(tmp_path / "state")
    result = CliRunner().invoke(
        app, ["eval", "shadow-report", "--since", "2026-11-03T15:00:00", "--json", "--data-dir", data_dir]
    )
    assert result.exit_code == 0, result.output
    [body] = json.loads(result.output)
    assert body["pairs"] == 30 and {m["metric"] for m in body["metrics"]} >= {"abstain_rate", "latency_p95_ms"}
    table = CliRunner().invoke(app, ["eval", "shadow-report", "--data-dir", data_dir], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "shadow:v2: 60 pairs, 1 unpaired" in table.output
    assert "agreement: text_similarity" in table.output


def test_cited_overlap_counts_shared_documents() -> None:
    """Jaccard of cited documents; two answers citing nothing agree fully."""
    a = _answer(1, variant="control", abstained=False, ms=1, docs=("a", "b"), at=START)
    b = _answer(1, variant="shadow:x", abstained=False, ms=1, docs=("b", "c"), at=START)
    none = _answer(1, variant="shadow:x", abstained=True, ms=1, docs=(), at=START)
    assert cited_overlap(a, b) == pytest.approx(1 / 3)
    assert cited_overlap(none, none) == 1.0 and cited_overlap(a, none) == 0.0
