"""Analyst dashboard: KPIs with trends, charts, CSAT, agent adoption, article performance, content gaps and the
interactions behind them, CSV export. Every figure follows the definitions in ``ui/console/kpis.py`` (README,
"Dashboard definitions"), and the page says them: under the tiles and in each tile's help."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from feedback.store import FeedbackStore
from ui.api.roles import Role
from ui.console import auth, gaps, kpis, view
from ui.console.resources import Services, services

LOW_CONFIDENCE = 0.7
CHANNELS = ("widget", "agent", "api")
TABS = ("Overview", "Customer satisfaction", "Agents", "Articles", "Content gaps", "Interactions")
TAB_KEY = "tab"  # the tabs' key and query parameter: the open tab survives reruns, links and an opened interaction
NO_PREVIOUS = "no data in previous period"
# Colours by meaning: green for figures where up is good, red where up is bad.
GOOD, BAD, NEUTRAL, INFO = "#1a7f37", "#cf222e", "#8c959f", "#2457d6"
RATE_COLOURS = {
    "deflection rate": GOOD,
    "resolution rate": "#4ac26b",
    "CSAT": INFO,
    "escalation rate": BAD,
}
# Daily charts: one tick per day at most, labelled by date (never "12 PM").
DAY_AXIS = alt.Axis(format="%b %d", tickCount=alt.TimeIntervalStep(interval="day", step=1), labelOverlap=True)


def _count_axis() -> alt.Axis:
    """Counts (votes, answers, drafts) have whole-number ticks only."""
    return alt.Axis(format="d", tickMinStep=1)


def definitions(window_min: float) -> dict[str, str]:
    """The figures' definitions in words, as README states them (``kpis`` computes them)."""
    window = f"{window_min:g} minutes"
    return {
        "Deflection rate": f"Widget answers that were not escalated within {window} and not voted down, over "
        f"settled widget interactions (abstentions count as not deflected). An answer younger than {window} with "
        "no escalation or down vote yet is pending and counts in neither part; an escalation after the window "
        "does not undo a deflection.",
        "Resolution rate": "Settled widget interactions confirmed by a thumbs-up (the customer answered Yes to "
        '"Did this answer your question?"), over settled widget interactions.',
        "CSAT": 'The widget\'s one question after an answer, "Did this answer your question?": Yes over responses. '
        "Response rate: widget interactions with a response over widget interactions.",
        "Escalation rate": "Interactions with at least one escalation (at any time), over interactions.",
        "Edit rate": "Sent drafts the agent changed before sending (edit distance above 0), over sent drafts.",
        "Thumbs-up rate": "Up votes over all votes (customers' and agents').",
        "Abstain rate": "Questions the assistant declined to answer, over interactions.",
    }


def _fingerprint(store: FeedbackStore, tenant: str | None, since: datetime, until: datetime) -> tuple[int, ...]:
    """Row counts that change whenever something is written in the range (the cache key of a load)."""
    c = store.counts(tenant, since=since, until=until)
    return (c.interactions, c.votes_up, c.votes_down, c.edits, sum(c.escalations_by_status.values()))


@st.cache_data(ttl=600, show_spinner=False, max_entries=32)
def _load(_store: FeedbackStore, tenant: str | None, since: datetime, until: datetime, _key: object) -> kpis.Dataset:
    return kpis.load(_store, tenant, since, until)


def dataset(svc: Services, tenant: str | None, since: datetime, until: datetime) -> kpis.Dataset:
    """The interactions of the range, cached until a row in the range changes."""
    key = (str(svc.settings.feedback.resolved_database_url()), _fingerprint(svc.store, tenant, since, until))
    return _load(svc.store, tenant, since, until, key)


@st.cache_data(ttl=600, show_spinner="Grouping weak questions into topics…", max_entries=16)
def _topics(_svc: Services, _data: kpis.Dataset, key: object) -> list[gaps.Topic]:
    return gaps.topics(_data, _svc.retrieval.embedder.encode, low_confidence=LOW_CONFIDENCE)


def _day_range(start: date, end: date) -> tuple[datetime, datetime]:
    return datetime.combine(start, time(), UTC), datetime.combine(end + timedelta(days=1), time(), UTC)


def filters(svc: Services, identity: auth.Identity) -> tuple[str | None, date, date, list[str], list[str] | None]:
    """Tenant, date range, channels and versions chosen by the analyst."""
    today = datetime.now(UTC).date()
    cols = st.columns([1.1, 1.4, 1.4, 2])
    with cols[0]:
        if identity.all_tenants:
            options = ["All tenants", *svc.tenants()]
            chosen = st.selectbox("Tenant", options, key="f_tenant")
            tenant = None if chosen == "All tenants" else chosen
        else:
            tenant = identity.tenant
            st.selectbox("Tenant", [tenant], key="f_tenant", disabled=True)
    with cols[1]:
        picked = st.date_input("Dates (UTC)", value=(today - timedelta(days=20), today), key="f_dates", max_value=today)
    start, end = _dates(picked, today)
    with cols[2]:
        channels = st.multiselect("Channel", list(CHANNELS), default=list(CHANNELS), key="f_channels")
    since, until = _day_range(start, end)
    versions_known = kpis.versions(dataset(svc, tenant, since, until).interactions)
    with cols[3]:
        versions = st.multiselect(
            "Model / prompt version", versions_known, key="f_versions", placeholder="All versions"
        )
    return tenant, start, end, channels, (versions or None)


def _dates(picked: object, today: date) -> tuple[date, date]:
    if isinstance(picked, Sequence) and len(picked) == 2:
        return picked[0], picked[1]
    if isinstance(picked, Sequence) and len(picked) == 1:
        return picked[0], picked[0]
    if isinstance(picked, date):
        return picked, picked
    return today - timedelta(days=20), today


def _delta_points(now: float | None, before: float | None) -> str | None:
    """The change in percentage points; :data:`NO_PREVIOUS` when only this period has the figure."""
    if now is None:
        return None
    if before is None:
        return NO_PREVIOUS
    return f"{(now - before) * 100:+.1f} pp"


def _delta_style(delta: object, colour: str) -> dict[str, Any]:
    """``delta_color`` and ``delta_arrow`` of a tile: grey and no arrow when there is nothing to compare with."""
    if delta == NO_PREVIOUS:
        return {"delta_color": "off", "delta_arrow": "off"}
    return {"delta_color": colour}


def _series(days: list[tuple[date, kpis.Kpis]], attribute: str) -> list[float]:
    values = [getattr(k, attribute) for _, k in days]
    return [float(v) for v in values if v is not None]


def kpi_tiles(
    current: kpis.Kpis,
    previous: kpis.Kpis,
    days: list[tuple[date, kpis.Kpis]],
    trend: list[tuple[date, kpis.Kpis]],
    words: dict[str, str],
) -> None:
    """The KPI tiles: value, change against the previous period of the same length (or "no data in previous
    period"), a sparkline (answers per day; rates over a rolling 7-day window)."""
    row = st.columns(6)
    answers_delta: int | str = current.interactions - previous.interactions if previous.interactions else NO_PREVIOUS
    row[0].metric(
        "Answers",
        f"{current.interactions}",
        delta=answers_delta,
        chart_data=_series(days, "interactions"),
        border=True,
        help="Interactions (answers and abstentions) on every selected channel.",
        **_delta_style(answers_delta, "off"),
    )
    rates = (
        ("Deflection rate", "deflection_rate", "normal"),
        ("Resolution rate", "resolution_rate", "normal"),
        ("CSAT", "csat_rate", "normal"),
        ("Escalation rate", "escalation_rate", "inverse"),
        ("Abstain rate", "abstain_rate", "inverse"),
    )
    for col, (label, attribute, colour) in zip(row[1:], rates, strict=True):
        delta = _delta_points(getattr(current, attribute), getattr(previous, attribute))
        col.metric(
            label,
            view.percent(getattr(current, attribute), 1),
            delta=delta,
            chart_data=_series(trend, attribute),
            border=True,
            help=words[label],
            **_delta_style(delta, colour),
        )
    row = st.columns(6)
    for col, (label, attribute, colour) in zip(
        row[:2], (("Thumbs-up rate", "thumbs_up_rate", "normal"), ("Edit rate", "edit_rate", "inverse")), strict=True
    ):
        delta = _delta_points(getattr(current, attribute), getattr(previous, attribute))
        col.metric(
            label,
            view.percent(getattr(current, attribute), 1),
            delta=delta,
            chart_data=_series(trend, attribute),
            border=True,
            help=words[label],
            **_delta_style(delta, colour),
        )
    row[2].metric(
        "Median edit distance",
        "—" if current.median_edit_distance is None else f"{current.median_edit_distance:.0f} chars",
        delta=None if current.median_edit_ratio is None else f"ratio {current.median_edit_ratio:.2f}",
        delta_color="off",
        delta_arrow="off",
        border=True,
        help="Levenshtein distance between draft and sent reply (ratio: 0 = unchanged, 1 = rewritten).",
    )
    total = current.latency_ms.get("total")
    before = previous.latency_ms.get("total")
    row[3].metric(
        "Latency p50",
        "—" if total is None else f"{total[0]:,.0f} ms",
        delta=None
        if total is None
        else f"p95 {total[1]:,.0f} ms" + (f" · {NO_PREVIOUS}" if before is None else f" · p50 was {before[0]:,.0f} ms"),
        delta_color="off",
        delta_arrow="off",
        border=True,
        help="Whole answer, cache hits included; per stage on the Overview tab.",
    )
    row[4].metric(
        "Cost per answer",
        "—" if current.cost_per_answer is None else f"${current.cost_per_answer:.4f}",
        delta=f"{current.tokens:,} tokens",
        delta_color="off",
        delta_arrow="off",
        border=True,
        help="LLM cost over all answers (extractive answers cost nothing).",
    )
    row[5].metric(
        "Votes",
        f"{current.votes_up + current.votes_down}",
        delta=f"{current.votes_up} up · {current.votes_down} down",
        delta_color="off",
        delta_arrow="off",
        border=True,
    )


def definitions_note(current: kpis.Kpis, words: dict[str, str], window_min: float) -> None:
    """The definitions, on the page: one line each, and what is still pending."""
    with st.expander("How these figures are counted", icon=":material/rule:"):
        st.markdown("\n".join(f"- **{name}**: {text}" for name, text in words.items()))
    if current.pending:
        st.caption(
            f"{current.pending} widget answer{'s are' if current.pending != 1 else ' is'} younger than "
            f"{window_min:g} minutes with no escalation or down vote yet: pending, in no deflection or resolution "
            "figure until the window has passed."
        )


def _day_x(field: str = "day") -> alt.X:
    return alt.X(f"yearmonthdate({field}):T", title=None, axis=DAY_AXIS)


def charts(data: kpis.Dataset, current: kpis.Kpis, trend: list[tuple[date, kpis.Kpis]]) -> None:
    """Volume per day, rates over a rolling week, reasons, latency by stage."""
    daily = pd.DataFrame(
        [
            {
                "day": pd.Timestamp(d),
                "deflection rate": k.deflection_rate,
                "resolution rate": k.resolution_rate,
                "CSAT": k.csat_rate,
                "escalation rate": k.escalation_rate,
            }
            for d, k in trend
        ],
        columns=["day", *RATE_COLOURS],
    )
    volume = pd.DataFrame(
        [{"day": pd.Timestamp(i.created_at.date()), "channel": i.channel} for i in data.interactions],
        columns=["day", "channel"],
    )
    left, right = st.columns(2, gap="medium")
    with left, st.container(border=True):
        st.markdown("**Answers per day, by channel**")
        if volume.empty:
            st.caption("No interactions in this range.")
        else:
            bars = (
                alt.Chart(volume)
                .mark_bar()
                .encode(
                    x=_day_x(),
                    y=alt.Y("count():Q", title="answers", axis=_count_axis()),
                    color=alt.Color(
                        "channel:N",
                        legend=alt.Legend(orient="top", title=None),
                        scale=alt.Scale(domain=list(CHANNELS), range=[INFO, "#8250df", NEUTRAL]),
                    ),
                    tooltip=[alt.Tooltip("yearmonthdate(day):T", title="day"), "channel:N", "count():Q"],
                )
                .properties(height=230)
            )
            st.altair_chart(bars, width="stretch")
    with right, st.container(border=True):
        st.markdown("**Rates, rolling 7 days**")
        long = daily.melt("day", var_name="rate", value_name="value").dropna()
        if long.empty:
            st.caption("No rates yet.")
        else:
            lines = (
                alt.Chart(long)
                .mark_line(point=True)
                .encode(
                    x=_day_x(),
                    y=alt.Y("value:Q", title=None, axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
                    color=alt.Color(
                        "rate:N",
                        legend=alt.Legend(orient="top", title=None),
                        scale=alt.Scale(domain=list(RATE_COLOURS), range=list(RATE_COLOURS.values())),
                    ),
                    tooltip=[
                        alt.Tooltip("yearmonthdate(day):T", title="day"),
                        "rate:N",
                        alt.Tooltip("value:Q", format=".0%"),
                    ],
                )
                .properties(height=230)
            )
            st.altair_chart(lines, width="stretch")
    left, right = st.columns(2, gap="medium")
    with left, st.container(border=True):
        st.markdown("**Why answers were voted down**")
        reasons = pd.DataFrame(
            [{"reason": code.replace("_", " "), "votes": n} for code, n in current.reasons.items() if n],
            columns=["reason", "votes"],
        )
        if reasons.empty:
            st.caption("No reason codes in this range.")
        else:
            st.altair_chart(
                alt.Chart(reasons)
                .mark_bar(color=BAD)
                .encode(
                    x=alt.X("votes:Q", title="votes", axis=_count_axis()),
                    y=alt.Y("reason:N", sort="-x", title=None),
                    tooltip=["reason:N", "votes:Q"],
                )
                .properties(height=230),
                width="stretch",
            )
    with right, st.container(border=True):
        st.markdown("**Latency by stage (ms)**")
        stages = pd.DataFrame(
            [
                {"stage": stage, "percentile": name, "ms": value}
                for stage, (p50, p95) in current.latency_ms.items()
                for name, value in (("p50", p50), ("p95", p95))
            ],
            columns=["stage", "percentile", "ms"],
        )
        if stages.empty:
            st.caption("No latency recorded.")
        else:
            order = list(current.latency_ms)
            base = alt.Chart(stages).encode(
                x=alt.X("ms:Q", title="ms (dark: p50, light: p95)"),
                y=alt.Y("stage:N", sort=order, title=None, axis=alt.Axis(labelOverlap=False)),
                tooltip=["stage:N", "percentile:N", alt.Tooltip("ms:Q", format=".1f")],
            )
            p95 = base.transform_filter(alt.datum.percentile == "p95").mark_bar(color="#a9c4f5", height=14)
            p50 = base.transform_filter(alt.datum.percentile == "p50").mark_bar(color=INFO, height=7)
            st.altair_chart(
                (p95 + p50).encode(x=alt.X("ms:Q", title="ms (dark: p50, light: p95)")).properties(height=alt.Step(22)),
                width="stretch",
            )


def satisfaction(data: kpis.Dataset, current: kpis.Kpis, previous: kpis.Kpis, words: dict[str, str]) -> None:
    """CSAT: the customers' answers to the widget's one question, per day and per tenant."""
    st.caption(words["CSAT"])
    row = st.columns(4)
    delta = _delta_points(current.csat_rate, previous.csat_rate)
    row[0].metric(
        "CSAT (Yes)", view.percent(current.csat_rate, 1), delta=delta, border=True, **_delta_style(delta, "normal")
    )
    row[1].metric("Responses", f"{current.csat_responses}", border=True)
    row[2].metric("Response rate", view.percent(current.csat_response_rate, 1), border=True)
    row[3].metric(
        "Resolved",
        view.percent(current.resolution_rate, 1),
        delta=f"{current.resolved} of {current.settled} settled",
        delta_color="off",
        delta_arrow="off",
        border=True,
        help=words["Resolution rate"],
    )
    widget = {i.id: i for i in data.interactions if i.channel == "widget"}
    responses = pd.DataFrame(
        [
            {
                "day": pd.Timestamp(widget[v.interaction_id].created_at.date()),
                "tenant": widget[v.interaction_id].tenant,
                "answer": "Yes" if v.thumbs == "up" else "No",
            }
            for v in data.votes
            if v.interaction_id in widget
        ],
        columns=["day", "tenant", "answer"],
    )
    if responses.empty:
        st.info("No customer has answered the widget's question in this range.")
        return
    left, right = st.columns([3, 2], gap="medium")
    with left, st.container(border=True):
        st.markdown("**Did this answer your question? Responses per day**")
        st.altair_chart(
            alt.Chart(responses)
            .mark_bar()
            .encode(
                x=_day_x(),
                y=alt.Y("count():Q", title="responses", axis=_count_axis()),
                color=alt.Color(
                    "answer:N",
                    legend=alt.Legend(orient="top", title=None),
                    scale=alt.Scale(domain=["Yes", "No"], range=[GOOD, BAD]),
                ),
                order=alt.Order("answer:N", sort="descending"),
                tooltip=[alt.Tooltip("yearmonthdate(day):T", title="day"), "answer:N", "count():Q"],
            )
            .properties(height=230),
            width="stretch",
        )
    with right, st.container(border=True):
        st.markdown("**By tenant**")
        per = responses.groupby("tenant")["answer"].agg(responses="count", yes=lambda a: int((a == "Yes").sum()))
        per["CSAT"] = per["yes"] / per["responses"]
        st.dataframe(
            per.reset_index(),
            hide_index=True,
            width="stretch",
            key="csat_table",
            column_config={
                "CSAT": st.column_config.ProgressColumn("CSAT", min_value=0.0, max_value=1.0, format="percent")
            },
        )


def agents(data: kpis.Dataset) -> None:
    """Draft adoption per agent (pseudonymous ids, as the store keeps them)."""
    st.caption(
        "Drafts each agent sent: as drafted, with a light edit (edit ratio up to "
        f"{kpis.LIGHT_EDIT_RATIO:.0%} of the draft) or rewritten (more). Adoption = as drafted + light edits, over "
        "drafts sent. Agents are the pseudonymous ids the feedback store keeps."
    )
    rows = kpis.adoption_by_agent(data)
    if not rows:
        st.info("No drafts were sent in this range.")
        return
    table = pd.DataFrame(
        [
            {
                "agent": r.agent,
                "drafts sent": r.sent,
                "as drafted": r.unchanged,
                "light edit": r.light,
                "rewritten": r.rewritten,
                "adoption": r.adoption_rate,
                "median edit ratio": r.median_ratio,
            }
            for r in rows
        ]
    )
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            key="agents_table",
            column_config={
                "adoption": st.column_config.ProgressColumn("adoption", min_value=0.0, max_value=1.0, format="percent"),
                "median edit ratio": st.column_config.NumberColumn("median edit ratio", format="%.2f"),
            },
        )
    with right, st.container(border=True):
        st.markdown("**What each agent did with the drafts**")
        kinds = {"as drafted": GOOD, "light edit": "#4ac26b", "rewritten": BAD}
        long = table.melt("agent", value_vars=list(kinds), var_name="sent", value_name="drafts")
        st.altair_chart(
            alt.Chart(long)
            .mark_bar()
            .encode(
                y=alt.Y("agent:N", title=None, sort=list(table["agent"])),
                x=alt.X("drafts:Q", title="drafts", axis=_count_axis()),
                color=alt.Color(
                    "sent:N",
                    legend=alt.Legend(orient="top", title=None),
                    scale=alt.Scale(domain=list(kinds), range=list(kinds.values())),
                ),
                order=alt.Order("order:Q"),
                tooltip=["agent:N", "sent:N", "drafts:Q"],
            )
            .transform_calculate(order="indexof(['as drafted', 'light edit', 'rewritten'], datum.sent)")
            .properties(height=alt.Step(30)),
            width="stretch",
        )


def articles(data: kpis.Dataset) -> None:
    """Per cited article: answers citing it, their votes and escalations."""
    st.caption(
        "Each article the answers cited: how many answers cited it, their votes and how many of them were "
        "escalated. The most cited first."
    )
    rows = kpis.article_performance(data)
    if not rows:
        st.info("No answer cited an article in this range.")
        return
    table = pd.DataFrame(
        [
            {
                "tenant": r.tenant,
                "article": r.title,
                "answers citing it": r.answers,
                "thumbs up": r.votes_up,
                "thumbs down": r.votes_down,
                "thumbs-up rate": r.thumbs_up_rate,
                "escalated": r.escalated,
                "escalation rate": r.escalation_rate,
                "link": r.url or None,
            }
            for r in rows
        ]
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=min(420, 38 + 35 * len(table)),
        key="articles_table",
        column_config={
            "article": st.column_config.TextColumn("article", width="large"),
            "thumbs-up rate": st.column_config.NumberColumn("thumbs-up rate", format="percent"),
            "escalation rate": st.column_config.NumberColumn("escalation rate", format="percent"),
            "link": st.column_config.LinkColumn("link", display_text="open"),
        },
    )


def content_gaps(svc: Services, data: kpis.Dataset, key: object) -> None:
    """Topics of weak questions, each with the interactions behind it."""
    found = _topics(svc, data, key)
    st.caption(
        f"Questions that abstained, scored below {LOW_CONFIDENCE:.2f}, were escalated or voted down, grouped by "
        f"meaning (MiniLM embeddings, average-linkage clustering per tenant). Order: {gaps.ORDER}. These are the "
        "articles to write or fix; the closest article is the one retrieved first most often."
    )
    if not found:
        st.info("No weak questions in this range.")
        return
    table = pd.DataFrame(
        [
            {
                "tenant": t.tenant,
                "topic": t.label,
                "example question": t.example[:160],
                "escalated": t.escalated,
                "votes down": t.down_votes,
                "abstained": t.abstained,
                "questions": t.size,
                "mean confidence": round(t.mean_confidence, 2),
                "closest article": t.top_titles[0] if t.top_titles else "",
            }
            for t in found
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch", height=300, key="gaps_table")
    for n, topic in enumerate(found[:12]):
        title = view.literal(f"{topic.tenant} · {topic.label}")
        plural = "" if topic.size == 1 else "s"
        with st.expander(f"{title} · {topic.escalated} escalated, {topic.size} question{plural}"):
            for item in topic.interactions[:20]:
                label = f"{item.created_at:%b %d %H:%M} · {item.channel} · {item.confidence:.2f} · {item.question[:90]}"
                st.page_link(
                    "pages/analyst.py",
                    label=view.literal(label),
                    query_params={"interaction": str(item.id), TAB_KEY: "Content gaps"},
                    icon=":material/open_in_new:",
                )
            if topic.size > 20:
                st.caption(f"… and {topic.size - 20} more (see the Interactions tab).")
            if n == 0:
                st.caption("Open an interaction to see its answer, sources, votes, edits and escalations.")


def interactions_tab(data: kpis.Dataset, days: list[tuple[date, kpis.Kpis]], now: datetime, window: timedelta) -> None:
    """The interactions table with a CSV export of it and of the daily KPIs."""
    rows = kpis.interaction_rows(data, now=now, window=window)
    frame = pd.DataFrame(rows)
    with st.container(horizontal=True):
        st.download_button(
            "Interactions (CSV)",
            frame.to_csv(index=False).encode("utf-8"),
            file_name="deskpilot-interactions.csv",
            mime="text/csv",
            icon=":material/download:",
            key="csv_interactions",
        )
        daily = pd.DataFrame(
            [
                {
                    "day": d.isoformat(),
                    "answers": k.interactions,
                    "deflection_rate": k.deflection_rate,
                    "pending": k.pending,
                    "resolution_rate": k.resolution_rate,
                    "csat_rate": k.csat_rate,
                    "csat_responses": k.csat_responses,
                    "thumbs_up_rate": k.thumbs_up_rate,
                    "edit_rate": k.edit_rate,
                    "escalation_rate": k.escalation_rate,
                    "abstain_rate": k.abstain_rate,
                    "latency_p50_ms": k.latency_ms.get("total", (np.nan, np.nan))[0],
                    "latency_p95_ms": k.latency_ms.get("total", (np.nan, np.nan))[1],
                    "cost_usd": k.cost_usd,
                }
                for d, k in days
            ]
        )
        st.download_button(
            "KPIs per day (CSV)",
            daily.to_csv(index=False).encode("utf-8"),
            file_name="deskpilot-kpis-daily.csv",
            mime="text/csv",
            icon=":material/download:",
            key="csv_daily",
        )
    if frame.empty:
        st.info("No interactions in this range.")
        return
    shown = frame[
        [
            "created_at",
            "tenant",
            "channel",
            "question",
            "confidence",
            "abstained",
            "votes_up",
            "votes_down",
            "edit_ratio",
            "escalations",
            "outcome",
            "id",
        ]
    ].iloc[::-1]
    st.session_state["interaction_ids"] = [str(i) for i in shown["id"]]
    st.caption("Select a row to open the interaction.")
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        height=420,
        on_select=_open_selected,
        selection_mode="single-row",
        key="interactions_table",
        column_order=[c for c in shown.columns if c != "id"],
        column_config={
            "created_at": st.column_config.DatetimeColumn("when (UTC)", format="YYYY-MM-DD HH:mm"),
            "votes_up": st.column_config.NumberColumn("up"),
            "votes_down": st.column_config.NumberColumn("down"),
            "edit_ratio": st.column_config.NumberColumn("edit ratio", format="%.2f"),
            "outcome": st.column_config.TextColumn("widget outcome", help="Deflection outcome of a widget answer."),
            "confidence": st.column_config.ProgressColumn("confidence", min_value=0.0, max_value=1.0, format="%.2f"),
            "question": st.column_config.TextColumn("question", width="large"),
        },
    )


def _open_selected() -> None:
    """Open the interaction of the selected table row (the table's selection callback)."""
    rows = st.session_state["interactions_table"].selection.rows
    ids = st.session_state.get("interaction_ids", [])
    if rows and rows[0] < len(ids):
        st.query_params["interaction"] = ids[rows[0]]


def interaction_detail(data: kpis.Dataset, interaction_id: str) -> None:
    """One interaction in full: question, answer, citations, votes, edits, escalations."""
    item = next((i for i in data.interactions if str(i.id) == interaction_id), None)
    with st.container(border=True):
        head, close = st.columns([6, 1])
        if close.button("Close", key="close_interaction", icon=":material/close:"):
            del st.query_params["interaction"]
            st.rerun()
        if item is None:
            head.warning("That interaction is not in the selected tenant and dates.")
            return
        head.markdown(f"**Interaction {item.id}**")
        st.html(
            view.meta(
                f"{item.created_at:%Y-%m-%d %H:%M} UTC · {item.tenant} · {item.channel} · {kpis.version_of(item)} · "
                f"confidence {item.confidence:.2f} ({item.confidence_reason}) · {item.latency_ms.get('total', 0):.0f} ms"
            )
        )
        left, right = st.columns(2, gap="medium")
        with left:
            st.markdown("**Question (redacted)**")
            st.html(view.prose(item.question[:3000]))
        with right:
            st.markdown("**Answer**")
            st.html(view.draft(item.answer, item.citations))
            for c in item.citations:
                st.html(view.meta(f"[{c.n}] {c.title} › {c.section}"))
        votes = [v for v in data.votes if v.interaction_id == item.id]
        edits = [e for e in data.edits if e.interaction_id == item.id]
        escalations = [e for e in data.escalations if e.interaction_id == item.id]
        # Votes, edits and escalations are customer or agent text: shown escaped, never as Markdown.
        for v in votes:
            reasons = ", ".join(c.replace("_", " ") for c in v.reason_codes) or "no reason given"
            st.markdown(
                f"{':material/thumb_up:' if v.thumbs == 'up' else ':material/thumb_down:'} {view.literal(reasons)}"
            )
            if v.comment:
                st.html(view.prose(f"“{v.comment}”"))
        for e in edits:
            st.markdown(f"Sent with edit distance {e.distance} (ratio {e.ratio:.2f}):")
            st.html(view.prose(e.sent))
        for x in escalations:
            st.markdown(f"Escalated to **{view.literal(x.queue)}** ({view.literal(x.status)}):")
            st.html(view.prose(x.reason))


def main() -> None:
    """The analyst dashboard."""
    identity = auth.require({Role.analyst, Role.admin})
    svc = services()
    view.style()
    st.title("Support dashboard", anchor=False)
    tenant, start, end, channels, versions = filters(svc, identity)
    since, until = _day_range(start, end)
    span = until - since
    window = svc.settings.feedback.deflection_window()
    window_min = svc.settings.feedback.deflection_window_min
    now = datetime.now(UTC)
    everything = dataset(svc, tenant, since, until)
    data = kpis.restrict(everything, channels=channels, versions=versions)
    previous_data = kpis.restrict(dataset(svc, tenant, since - span, since), channels=channels, versions=versions)
    current = kpis.compute(data, now=now, window=window)
    previous = kpis.compute(previous_data, now=now, window=window)
    days = kpis.by_day(data, start, end, now=now, deflection_window=window)
    trend = kpis.by_day(data, start, end, window=7, now=now, deflection_window=window)
    words = definitions(window_min)
    # Always one slot above the tiles, so opening or closing an interaction never moves the tabs.
    detail = st.container()
    opened = st.query_params.get("interaction")
    if opened:
        with detail:
            interaction_detail(data, opened)
    kpi_tiles(current, previous, days, trend, words)
    compared = (
        f"compared with the {span.days} days before"
        if previous.interactions
        else f"the {span.days} days before have no data to compare with"
    )
    st.caption(
        f"{start:%b %d} – {end:%b %d}, {compared}. "
        f"{current.escalations} escalations, {current.sent} drafts sent, {current.votes_up + current.votes_down} votes."
    )
    definitions_note(current, words, window_min)
    tabs = dict(zip(TABS, st.tabs(list(TABS), key=TAB_KEY, bind="query-params"), strict=True))
    with tabs["Overview"]:
        charts(data, current, trend)
    with tabs["Customer satisfaction"]:
        satisfaction(data, current, previous, words)
    with tabs["Agents"]:
        agents(data)
    with tabs["Articles"]:
        articles(data)
    with tabs["Content gaps"]:
        size = (len(data.interactions), len(data.votes), len(data.escalations))
        content_gaps(svc, data, (tenant, since, until, tuple(channels), tuple(versions or ()), size))
    with tabs["Interactions"]:
        interactions_tab(data, days, now, window)


main()
