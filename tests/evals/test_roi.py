"""`deskpilot report roi` on a real SQLite feedback store: figures checked against plain SQL over the same rows."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from assistant.records import Channel
from evals.roi import EXAMPLE_BASELINE, Baseline, BaselineError, NoData, load_baseline, measure, write
from evals.roi import main as roi_main
from feedback.records import EditIn, EscalationIn, FeedbackIn, InteractionIn, utcnow
from feedback.settings import FeedbackSettings
from feedback.store import FeedbackStore
from tests.feedback.conftest import make_answer
from ui.cli import app
from ui.settings import AppSettings
from ui.wiring import Retrieval


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[FeedbackStore]:
    with FeedbackStore.open(FeedbackSettings(data_dir=tmp_path / "state")) as opened:
        yield opened


@pytest.fixture()
def baseline() -> Baseline:
    return load_baseline(EXAMPLE_BASELINE)


def _sent(draft: str, rng: random.Random) -> str:
    """The draft with a random share of its characters changed (some sent as drafted)."""
    share = rng.choice([0.0, 0.0, 0.05, 0.1, 0.15, 0.3, 0.6, 0.9])
    chars = list(draft)
    for i in rng.sample(range(len(chars)), k=int(len(chars) * share)):
        chars[i] = "x"
    return "".join(chars)


def _fill(store: FeedbackStore, seed: int = 3) -> None:
    """Widget and agent traffic of two tenants over ten days, with escalations, edits, votes and shadows."""
    rng = random.Random(seed)
    start = utcnow() - timedelta(days=10)
    for n in range(90):
        tenant = "acme" if n % 5 else "globex"
        channel: Channel = "widget" if n % 3 else "agent"
        abstained = rng.random() < 0.15
        at = start + timedelta(hours=2.5 * n)
        record = InteractionIn.from_answer(
            make_answer(tenant, abstained=abstained),
            tenant=tenant,
            channel=channel,
            cost_usd=round(rng.uniform(0, 0.004), 6),
            created_at=at,
        )
        store.record_interaction(record)
        common: dict[str, Any] = {
            "tenant": tenant,
            "interaction_id": record.id,
            "created_at": at + timedelta(minutes=2),
        }
        if channel == "agent" and not abstained:
            store.record_edit(EditIn(draft=record.answer, sent=_sent(record.answer, rng), **common))
        if rng.random() < (0.6 if abstained else 0.12):
            store.record_escalation(EscalationIn(reason="needs a person", **common))
        elif n % 4 == 0:  # escalated after the deflection window: still deflected
            late = {**common, "created_at": at + timedelta(minutes=45)}
            store.record_escalation(EscalationIn(reason="came back later", **late))
        if rng.random() < 0.4:
            store.record_feedback(FeedbackIn(thumbs=rng.choice(["up", "down"]), **common))  # type: ignore[arg-type]
        if n % 7 == 1:  # a shadow answer: never served, costs money
            shadow = InteractionIn.from_answer(
                make_answer(tenant), tenant=tenant, channel=channel, cost_usd=0.01, shadow_of=record.id, created_at=at
            )
            store.record_interaction(shadow)
    store.record_escalation(EscalationIn(tenant="acme", reason="phoned in, no interaction"))


def _sql(store: FeedbackStore, tenant: str | None, small: float) -> dict[str, float]:
    """The measured figures straight from the tables."""
    scope = "i.shadow_of IS NULL" + (" AND i.tenant = :tenant" if tenant else "")
    args = {"tenant": tenant, "small": small}
    with store.engine.connect() as c:

        def one(sql: str) -> float:
            return float(c.execute(text(sql), args).scalar_one())

        widget = one(f"SELECT COUNT(*) FROM interactions i WHERE {scope} AND i.channel = 'widget'")
        deflected = one(
            f"SELECT COUNT(*) FROM interactions i WHERE {scope} AND i.channel = 'widget' AND NOT i.abstained "
            "AND NOT EXISTS (SELECT 1 FROM escalations e WHERE e.interaction_id = i.id "
            "AND (julianday(e.created_at) - julianday(i.created_at)) * 1440 <= 30) "
            "AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.interaction_id = i.id AND f.thumbs = 'down')"
        )
        edits = one(f"SELECT COUNT(*) FROM edits e JOIN interactions i ON i.id = e.interaction_id WHERE {scope}")
        small_edits = one(
            f"SELECT COUNT(*) FROM edits e JOIN interactions i ON i.id = e.interaction_id WHERE {scope} "
            "AND e.ratio <= :small"
        )
        answers = one(f"SELECT COUNT(*) FROM interactions i WHERE {scope}")
        cost = one(f"SELECT COALESCE(SUM(i.cost_usd), 0) FROM interactions i WHERE {scope}")
        shadow_scope = "i.shadow_of IS NOT NULL" + (" AND i.tenant = :tenant" if tenant else "")
        shadow_cost = one(f"SELECT COALESCE(SUM(i.cost_usd), 0) FROM interactions i WHERE {shadow_scope}")
    return {
        "widget": widget,
        "deflection_rate": deflected / widget,
        "edits": edits,
        "small_edit_share": small_edits / edits,
        "answers": answers,
        "cost_per_answer": cost / answers,
        "shadow_cost": shadow_cost,
    }


@pytest.mark.parametrize("tenant", [None, "acme"])
def test_figures_match_sql_and_intervals_bracket_them(
    store: FeedbackStore, baseline: Baseline, tenant: str | None, tmp_path: Path
) -> None:
    _fill(store)
    roi = measure(store, baseline, baseline_path=str(EXAMPLE_BASELINE), tenant=tenant)
    a = baseline.assumptions
    sql = _sql(store, tenant, a.small_edit_ratio)
    m = roi.measured
    assert 0 < sql["deflection_rate"] < 1 and 0 < sql["small_edit_share"] < 1 and sql["shadow_cost"] > 0
    assert m["deflection_rate"].value == pytest.approx(sql["deflection_rate"])
    assert m["deflection_rate"].n == sql["widget"]
    assert m["small_edit_share"].value == pytest.approx(sql["small_edit_share"])
    assert m["cost_per_answer"].value == pytest.approx(sql["cost_per_answer"])
    assert roi.kpis.interactions == sql["answers"] and roi.shadow_cost_usd == pytest.approx(sql["shadow_cost"])
    assert roi.kpis.deflection_rate == pytest.approx(sql["deflection_rate"])  # the dashboard's own number

    # The savings model, recomputed by hand from the SQL figures.
    n, aht, k, h = (
        baseline.tickets_per_month,
        baseline.avg_handle_time_min,
        baseline.cost_per_ticket_usd,
        baseline.agent_hourly_cost_usd,
    )
    saved = aht * a.handle_time_saved_share * sql["small_edit_share"]
    avoided = n * a.widget_share * (sql["deflection_rate"] - baseline.deflection_rate)
    remaining = n - avoided
    pilot = remaining * (k - saved / 60 * h) + (n * a.widget_share + remaining) * sql["cost_per_answer"]
    f = roi.figures
    assert f["handle_time_delta_min"].value == pytest.approx(-saved)
    assert f["tickets_avoided_per_month"].value == pytest.approx(avoided)
    assert f["cost_per_ticket_delta_usd"].value == pytest.approx(sql["cost_per_answer"] - saved / 60 * h)
    assert f["net_saving_per_month_usd"].value == pytest.approx(n * k - pilot)

    for name, e in [*m.items(), *f.items()]:
        assert e.low <= e.value <= e.high, name
    assert m["deflection_rate"].low < m["deflection_rate"].high
    assert f["net_saving_per_month_usd"].low < f["net_saving_per_month_usd"].high

    paths = write(roi, tmp_path / "report")
    names = {p.name for p in paths}
    assert {"roi.md", "roi.html", "roi.json", "roi_comparison.png", "roi_edit_ratios.png"} <= names
    assert all(p.stat().st_size > 0 for p in paths)
    assert (tmp_path / "report" / "roi_comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "report" / "roi.md").read_text(encoding="utf-8")
    assert "## Assumptions" in md and "EXAMPLE BASELINE" in md and "(roi_comparison.png)" in md
    assert f"small_edit_ratio = {a.small_edit_ratio:g}" in md
    assert f"{sql['deflection_rate'] * 100:,.1f} %" in md
    html = (tmp_path / "report" / "roi.html").read_text(encoding="utf-8")
    assert "<title>deskpilot ROI report</title>" in html and "data:image/png;base64," in html
    data = json.loads((tmp_path / "report" / "roi.json").read_text(encoding="utf-8"))
    assert data["measured"]["cost_per_answer"]["value"] == pytest.approx(sql["cost_per_answer"])


def test_since_until_restrict_the_rows(store: FeedbackStore, baseline: Baseline) -> None:
    _fill(store)
    with store.engine.connect() as c:
        moments = sorted(c.execute(text("SELECT created_at FROM interactions WHERE shadow_of IS NULL")).scalars())
    full = measure(store, baseline)
    part = measure(store, baseline, since=full.first + timedelta(days=3), until=full.first + timedelta(days=6))
    assert 0 < part.kpis.interactions < full.kpis.interactions
    assert part.first >= full.first + timedelta(days=3) and part.last < full.first + timedelta(days=6)
    assert len(moments) == full.kpis.interactions


def test_empty_store_is_no_data_and_writes_nothing(store: FeedbackStore, baseline: Baseline, tmp_path: Path) -> None:
    with pytest.raises(NoData, match="no data"):
        measure(store, baseline)
    settings = AppSettings.load(tmp_path / "state")
    assert roi_main(settings, out=tmp_path / "out") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("label: x\ntickets_per_month: 10\n", "avg_handle_time_min"),
        (
            EXAMPLE_BASELINE.read_text(encoding="utf-8").replace("tickets_per_month: 1200", "tickets_per_month: -5"),
            "tickets_per_month",
        ),
        (
            EXAMPLE_BASELINE.read_text(encoding="utf-8").replace("small_edit_ratio: 0.2", "small_edit_ratio: 1.5"),
            "assumptions.small_edit_ratio",
        ),
        (
            EXAMPLE_BASELINE.read_text(encoding="utf-8").replace(
                "agent_hourly_cost_usd: 32", "agent_hourly_cost_usd: lots"
            ),
            "agent_hourly_cost_usd",
        ),
        (EXAMPLE_BASELINE.read_text(encoding="utf-8") + "tickets_per_year: 3\n", "tickets_per_year"),
    ],
)
def test_a_bad_baseline_names_the_file_and_field(tmp_path: Path, content: str, field: str) -> None:
    path = tmp_path / "baseline.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BaselineError) as error:
        load_baseline(path)
    assert str(path) in str(error.value) and f"field {field!r}" in str(error.value)
    assert roi_main(AppSettings.load(tmp_path / "state"), baseline=path) == 2


def test_unreadable_baselines(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("label: [unclosed\n", encoding="utf-8")
    with pytest.raises(BaselineError, match=r"broken\.yaml: not valid YAML \(line"):
        load_baseline(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(BaselineError, match="expected a mapping"):
        load_baseline(listed)
    with pytest.raises(BaselineError, match="no such file"):
        load_baseline(tmp_path / "missing.yaml")


def test_report_roi_on_demo_data_through_the_cli(samples: Retrieval, tmp_path: Path) -> None:
    """`deskpilot demo seed` (a short one) then `deskpilot report roi`; an empty store exits 1."""
    from ui.console.demo import seed

    state = tmp_path / "state"
    settings = AppSettings.load(state)
    with FeedbackStore.open(settings.feedback) as store:
        report = seed(settings, days=2, per_day=3, retrieval=samples, store=store)
        assert report.interactions > 0
        with store.engine.connect() as c:
            answers = c.execute(text("SELECT COUNT(*) FROM interactions WHERE shadow_of IS NULL")).scalar_one()
    runner = CliRunner()
    out = tmp_path / "roi"
    result = runner.invoke(app, ["report", "roi", "--data-dir", str(state), "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "roi.json").read_text(encoding="utf-8"))
    assert data["answers"] == answers == report.interactions
    assert data["measured"]["cost_per_answer"]["value"] == 0.0  # the extractive demo calls no model
    assert (out / "roi.md").is_file() and (out / "roi.html").is_file()
    empty = runner.invoke(app, ["report", "roi", "--data-dir", str(tmp_path / "empty")])
    assert empty.exit_code == 1 and "no data" in empty.output
