"""The analyst dashboard: its KPIs must equal the same numbers counted with plain SQL on the store."""

from __future__ import annotations

import json
import re
import sqlite3
import statistics
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from streamlit.proto.Metric_pb2 import Metric as MetricProto
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


SETTLED = (
    "(i.abstained OR (julianday(:now) - julianday(i.created_at)) * 1440 >= 30 "
    "OR EXISTS (SELECT 1 FROM escalations e WHERE e.interaction_id = i.id "
    "AND (julianday(e.created_at) - julianday(i.created_at)) * 1440 <= 30) "
    "OR EXISTS (SELECT 1 FROM feedback f WHERE f.interaction_id = i.id AND f.thumbs = 'down'))"
)
DEFLECTED = (
    "(NOT i.abstained AND (julianday(:now) - julianday(i.created_at)) * 1440 >= 30 "
    "AND NOT EXISTS (SELECT 1 FROM escalations e WHERE e.interaction_id = i.id "
    "AND (julianday(e.created_at) - julianday(i.created_at)) * 1440 <= 30) "
    "AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.interaction_id = i.id AND f.thumbs = 'down'))"
)
"""The README's deflection definition in SQL: a 30-minute window (the default), pending answers left out."""


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")


def _sql_kpis(db: Path, tenant: str | None = None, channel: str | None = None) -> dict[str, object]:
    """The dashboard's KPIs counted straight from the tables."""
    since, until = _window()
    where = "i.created_at >= :since AND i.created_at < :until"
    args: dict[str, object] = {"since": since, "until": until, "now": _now()}
    if tenant:
        where += " AND i.tenant = :tenant"
        args["tenant"] = tenant
    if channel:
        where += " AND i.channel = :channel"
        args["channel"] = channel
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
        settled, deflected, resolved = sql.execute(
            f"SELECT COALESCE(SUM({SETTLED}), 0), COALESCE(SUM({DEFLECTED}), 0), COALESCE(SUM({SETTLED} AND EXISTS "
            "(SELECT 1 FROM feedback f WHERE f.interaction_id = i.id AND f.thumbs = 'up')), 0) "
            f"FROM interactions i WHERE {where} AND i.channel = 'widget'",
            args,
        ).fetchone()
        yes, responses = sql.execute(
            "SELECT COALESCE(SUM(f.thumbs = 'up'), 0), COUNT(*) FROM feedback f "
            f"JOIN interactions i ON i.id = f.interaction_id WHERE {where} AND i.channel = 'widget'",
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
        "Deflection rate": pct(deflected, settled),
        "Resolution rate": pct(resolved, settled),
        "CSAT": pct(yes, responses),
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
    shown = ("Answers", "Deflection rate", "Resolution rate", "CSAT", "Thumbs-up rate", "Abstain rate")
    assert {k: _shown(dashboard)[k] for k in shown} == {
        k: v for k, v in _sql_kpis(seeded.db, tenant="ledgerly", channel="widget").items() if k in shown
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


def _metric(at: AppTest, label: str) -> Any:
    return next(m for m in at.metric if m.label == label)


def test_deltas_show_whenever_both_periods_have_data(seeded: Console, dashboard: AppTest) -> None:
    # The 21 days before the default range are empty (the seed covers 3 days): the figures show, with no delta.
    for label in ("Answers", "Abstain rate", "Escalation rate"):  # defined whenever there are answers
        assert _metric(dashboard, label).delta == "no data in previous period", label
    assert any("no data to compare with" in c.value for c in dashboard.caption)
    # Today against yesterday: both have data, so every delta with a figure on both sides is shown.
    today = datetime.now(UTC).date()
    dashboard.date_input(key="f_dates").set_value((today - timedelta(days=1), today)).run()
    assert not dashboard.exception, dashboard.exception
    answers = _metric(dashboard, "Answers")
    assert answers.delta not in ("", None, "no data in previous period")
    assert int(answers.delta) == int(answers.value) - _count(
        seeded.db, today - timedelta(days=3), today - timedelta(days=1)
    )
    assert _metric(dashboard, "Abstain rate").delta.endswith(" pp")
    assert _metric(dashboard, "Escalation rate").delta.endswith(" pp")
    tiles_coloured_by_meaning(dashboard)


def _count(db: Path, first: date, until: date) -> int:
    with sqlite3.connect(db) as sql:
        (n,) = sql.execute(
            "SELECT COUNT(*) FROM interactions WHERE created_at >= ? AND created_at < ?",
            [datetime.combine(first, time()).isoformat(sep=" "), datetime.combine(until, time()).isoformat(sep=" ")],
        ).fetchone()
    return int(n)


def test_definitions_are_on_the_page(dashboard: AppTest) -> None:
    text = " ".join(m.value for m in dashboard.markdown)
    assert "not escalated within 30 minutes and not voted down" in text
    assert "confirmed by a thumbs-up" in text
    assert "Did this answer your question?" in text
    assert "not escalated within 30 minutes" in (_metric(dashboard, "Deflection rate").help or "")
    assert not any("query parameter" in m.value or "Colours by meaning" in m.value for m in dashboard.markdown), (
        "no code comment reaches the page through Streamlit's magic"
    )


def _specs(at: AppTest) -> list[dict[str, Any]]:
    """The Vega-Lite specs of the page's Altair charts."""
    return [json.loads(e.proto.spec) for e in at.get("vega_lite_chart")]


def _encodings(spec: dict[str, Any]) -> list[dict[str, Any]]:
    found = [spec.get("encoding", {})]
    for part in spec.get("layer", []):
        found.extend(_encodings(part))
    return found


def test_charts_have_day_ticks_whole_counts_and_colours_by_meaning(dashboard: AppTest) -> None:
    specs = _specs(dashboard)
    assert specs
    day_axes = [
        enc["x"]["axis"]
        for spec in specs
        for enc in _encodings(spec)
        if enc.get("x", {}).get("timeUnit") == "yearmonthdate"
    ]
    assert len(day_axes) >= 2, "the daily charts"
    for axis in day_axes:
        assert axis["format"] == "%b %d" and axis["tickCount"] == {"interval": "day", "step": 1}, axis
    counts = [
        enc[side]
        for spec in specs
        for enc in _encodings(spec)
        for side in ("x", "y")
        if enc.get(side, {}).get("title") in ("votes", "answers", "responses", "drafts")
    ]
    assert {c["title"] for c in counts} >= {"votes", "answers"}
    for count in counts:
        assert count["axis"]["format"] == "d" and count["axis"]["tickMinStep"] == 1, count
    rates = next(
        enc["color"]["scale"]
        for spec in specs
        for enc in _encodings(spec)
        if "deflection rate" in enc.get("color", {}).get("scale", {}).get("domain", [])
    )
    colour = dict(zip(rates["domain"], rates["range"], strict=True))
    assert colour["deflection rate"] == colour_of("GOOD") and colour["escalation rate"] == colour_of("BAD")
    csat = next(
        enc["color"]["scale"]
        for spec in specs
        for enc in _encodings(spec)
        if enc.get("color", {}).get("scale", {}).get("domain") == ["Yes", "No"]
    )
    assert csat["range"] == [colour_of("GOOD"), colour_of("BAD")], "Yes is green, No is red"
    tiles_coloured_by_meaning(dashboard)


def tiles_coloured_by_meaning(at: AppTest) -> None:
    """A rise is green on tiles where up is good and red where up is bad; no comparison is grey."""
    up, down = MetricProto.MetricDirection.UP, MetricProto.MetricDirection.DOWN
    green, red, grey = MetricProto.MetricColor.GREEN, MetricProto.MetricColor.RED, MetricProto.MetricColor.GRAY
    for labels, rise in (
        (("Deflection rate", "Resolution rate", "CSAT", "Thumbs-up rate"), green),
        (("Escalation rate", "Abstain rate", "Edit rate"), red),
    ):
        for label in labels:
            tile = _metric(at, label)
            if tile.delta == "no data in previous period" or not tile.delta:
                assert tile.proto.color == grey, label
            elif tile.proto.direction in (up, down):
                fall = red if rise == green else green
                assert tile.proto.color == (rise if tile.proto.direction == up else fall), label


def colour_of(name: str) -> str:
    return {"GOOD": "#1a7f37", "BAD": "#cf222e"}[name]


def test_csat_agents_and_articles_match_plain_sql(seeded: Console, dashboard: AppTest) -> None:
    since, until = _window()
    with sqlite3.connect(seeded.db) as sql:
        yes, responses = sql.execute(
            "SELECT COALESCE(SUM(f.thumbs = 'up'), 0), COUNT(*) FROM feedback f JOIN interactions i "
            "ON i.id = f.interaction_id WHERE i.channel = 'widget' AND i.created_at >= ? AND i.created_at < ?",
            [since, until],
        ).fetchone()
        agents = dict(
            sql.execute(
                "SELECT e.editor, COUNT(*) FROM edits e JOIN interactions i ON i.id = e.interaction_id "
                "WHERE i.created_at >= ? AND i.created_at < ? GROUP BY e.editor",
                [since, until],
            ).fetchall()
        )
        cited = {
            (tenant, title): n
            for tenant, title, n in sql.execute(
                "SELECT i.tenant, json_extract(c.value, '$.title'), COUNT(DISTINCT i.id) "
                "FROM interactions i, json_each(i.citations) c WHERE i.created_at >= ? AND i.created_at < ? "
                "GROUP BY i.tenant, json_extract(c.value, '$.doc_id')",
                [since, until],
            )
        }
    assert responses > 0 and _metric(dashboard, "Responses").value == str(responses)
    assert _metric(dashboard, "CSAT (Yes)").value == f"{yes / responses * 100:.1f}%"
    table = next(f.value for f in dashboard.dataframe if "drafts sent" in f.value.columns)
    assert dict(zip(table["agent"], table["drafts sent"], strict=True)) == agents
    # Actor ids (door:username), never a display name: other tests of the session may have sent from the console.
    assert agents and all(re.fullmatch(r"(demo|console):[a-z]+", agent) for agent in agents), agents
    assert (table["as drafted"] + table["light edit"] + table["rewritten"] == table["drafts sent"]).all()
    articles = next(f.value for f in dashboard.dataframe if "answers citing it" in f.value.columns)
    assert (
        dict(zip(zip(articles["tenant"], articles["article"], strict=True), articles["answers citing it"], strict=True))
        == cited
    )
    assert list(articles["answers citing it"]) == sorted(articles["answers citing it"], reverse=True)


def test_content_gaps_are_ordered_as_the_caption_says_and_name_no_files(dashboard: AppTest) -> None:
    caption = next(c.value for c in dashboard.caption if "grouped by meaning" in c.value)
    assert "most escalated first, then most voted down" in caption
    table = next(f.value for f in dashboard.dataframe if "topic" in f.value.columns)
    keys = list(zip(-table["escalated"], -table["votes down"], -table["abstained"], -table["questions"], strict=True))
    assert keys == sorted(keys), "in the order the caption states"
    assert not any("(no words)" in t or not t.strip() for t in table["topic"])
    for name in table["closest article"]:
        assert "/" not in name and "\\" not in name and not name.endswith(".md"), name


def test_an_opened_interaction_keeps_the_tab(seeded: Console) -> None:
    interaction = seeded.store.list_interactions(None, page_size=1).items[0]
    at = AppTest.from_file(str(ENTRY), default_timeout=TIMEOUT)
    at.query_params["tab"] = "Interactions"
    at.run()
    at.text_input(key="login_username").input("nora")
    at.text_input(key="login_password").input(PASSWORD)
    at.button(key="login_submit").click().run()
    assert not at.exception, at.exception
    assert at.session_state["tab"] == "Interactions"
    at.query_params["interaction"] = str(interaction.id)  # what selecting a row of the table does
    at.run()
    assert any(f"Interaction {interaction.id}" in m.value for m in at.markdown)
    assert at.session_state["tab"] == "Interactions", "opening an interaction keeps the tab"
    at.button(key="close_interaction").click().run()
    assert at.session_state["tab"] == "Interactions", "closing it too"
