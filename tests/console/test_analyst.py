"""The analyst dashboard: its KPIs must equal the same numbers counted with plain SQL on the store."""

from __future__ import annotations

import sqlite3
import statistics
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.console.support import PASSWORD, TIMEOUT, Console, login
from ui.console import ENTRY, demo


@pytest.fixture(scope="module")
def seeded(console: Console) -> Console:
    """A few days of demo interactions made by the real assistant, in the console's store."""
    report = demo.seed(
        console.services.settings,
        days=3,
        seed=3,
        per_day=4,
        retrieval=console.services.retrieval,
        store=console.store,
    )
    assert report.interactions > 0 and report.votes + report.escalations + report.edits > 0
    return console


def _window(days: int = 21) -> tuple[str, str]:
    today = datetime.now(UTC).date()
    start = datetime.combine(today - timedelta(days=days - 1), time())
    end = datetime.combine(today + timedelta(days=1), time())
    return start.isoformat(sep=" "), end.isoformat(sep=" ")


def _sql_kpis(db: Path, tenant: str | None = None, channel: str | None = None) -> dict[str, object]:
    """The dashboard's KPIs counted straight from the tables."""
    since, until = _window()
    where = "i.created_at >= ? AND i.created_at < ?"
    args: list[object] = [since, until]
    if tenant:
        where += " AND i.tenant = ?"
        args.append(tenant)
    if channel:
        where += " AND i.channel = ?"
        args.append(channel)
    with sqlite3.connect(db) as sql:
        total, abstained = sql.execute(
            f"SELECT COUNT(*), COALESCE(SUM(abstained), 0) FROM interactions i WHERE {where}", args
        ).fetchone()
        up, votes = sql.execute(
            f"SELECT COALESCE(SUM(f.thumbs = 'up'), 0), COUNT(*) FROM feedback f "
            f"JOIN interactions i ON i.id = f.interaction_id WHERE {where}",
            args,
        ).fetchone()
        escalated = sql.execute(
            f"SELECT COUNT(DISTINCT i.id) FROM interactions i JOIN escalations e ON e.interaction_id = i.id WHERE {where}",
            args,
        ).fetchone()[0]
        widget, deflected = sql.execute(
            f"SELECT COUNT(*), COALESCE(SUM(NOT i.abstained AND NOT EXISTS "
            f"(SELECT 1 FROM escalations e WHERE e.interaction_id = i.id)), 0) "
            f"FROM interactions i WHERE {where} AND i.channel = 'widget'",
            args,
        ).fetchone()
        distances = [
            row[0]
            for row in sql.execute(
                f"SELECT e.distance FROM edits e JOIN interactions i ON i.id = e.interaction_id WHERE {where}", args
            )
        ]
    edited = sum(1 for d in distances if d > 0)

    def pct(part: int, whole: int) -> str:
        return "—" if not whole else f"{part / whole * 100:.1f}%"

    return {
        "Answers": str(total),
        "Abstain rate": pct(abstained, total),
        "Thumbs-up rate": pct(up, votes),
        "Escalation rate": pct(escalated, total),
        "Deflection rate": pct(deflected, widget),
        "Edit rate": pct(edited, len(distances)),
        "Median edit distance": "—" if not distances else f"{statistics.median(distances):.0f} chars",
        "Votes": str(votes),
    }


def _shown(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.fixture()
def dashboard(seeded: Console) -> Iterator[AppTest]:
    at = login("nora")
    assert not at.exception, at.exception
    yield at


def test_kpis_match_plain_sql(seeded: Console, dashboard: AppTest) -> None:
    shown = _shown(dashboard)
    expected = _sql_kpis(seeded.db)
    assert int(shown["Answers"]) > 0
    assert {k: shown[k] for k in expected} == expected


def test_filters_narrow_the_kpis_like_sql(seeded: Console, dashboard: AppTest) -> None:
    dashboard.selectbox(key="f_tenant").set_value("ledgerly").run()
    dashboard.multiselect(key="f_channels").set_value(["widget"]).run()
    assert not dashboard.exception, dashboard.exception
    assert {k: _shown(dashboard)[k] for k in ("Answers", "Deflection rate", "Thumbs-up rate", "Abstain rate")} == {
        k: v
        for k, v in _sql_kpis(seeded.db, tenant="ledgerly", channel="widget").items()
        if k in ("Answers", "Deflection rate", "Thumbs-up rate", "Abstain rate")
    }
    today = datetime.now(UTC).date()
    dashboard.date_input(key="f_dates").set_value((today, today)).run()
    assert not dashboard.exception, dashboard.exception
    since, _ = _window(1)
    with sqlite3.connect(seeded.db) as sql:
        (today_count,) = sql.execute(
            "SELECT COUNT(*) FROM interactions WHERE created_at >= ? AND tenant = 'ledgerly' AND channel = 'widget'",
            [since],
        ).fetchone()
    assert _shown(dashboard)["Answers"] == str(today_count)


def test_content_gaps_and_csv_export(seeded: Console, dashboard: AppTest) -> None:
    gaps = next(f.value for f in dashboard.dataframe if "topic" in f.value.columns)
    assert len(gaps) > 0 and {"topic", "example question", "escalated", "closest article"} <= set(gaps.columns)
    buttons = {b.key for b in dashboard.get("download_button")}
    assert {"csv_interactions", "csv_daily"} <= buttons
    table = next(f.value for f in dashboard.dataframe if f.key == "interactions_table")
    assert len(table) == int(_shown(dashboard)["Answers"])
    assert sum(t for t in gaps["questions"]) <= len(table)


def test_an_interaction_opens_from_its_link(seeded: Console) -> None:
    interaction = seeded.store.list_interactions(None, page_size=1).items[0]
    at = AppTest.from_file(str(ENTRY), default_timeout=TIMEOUT)
    at.query_params["interaction"] = str(interaction.id)
    at.run()
    at.text_input(key="login_username").input("nora")
    at.text_input(key="login_password").input(PASSWORD)
    at.button(key="login_submit").click().run()
    assert not at.exception, at.exception
    assert any(f"Interaction {interaction.id}" in m.value for m in at.markdown)
    assert any("Question (redacted)" in m.value for m in at.markdown)
    at.button(key="close_interaction").click().run()
    assert not any("Question (redacted)" in m.value for m in at.markdown)
