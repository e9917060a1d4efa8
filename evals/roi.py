"""`deskpilot report roi`: what the pilot saves against the pre-pilot baseline, with 95% bootstrap intervals.

The baseline (tickets per month, handle time, cost per ticket, agent hourly cost and the parameters of
the savings model) comes from a YAML file (example: ``data/samples/roi_baseline.yaml``); the measured
figures come from the feedback store, with the dashboard's definitions (``ui.console.kpis``):

- deflection rate D: settled widget answers that answered, were not escalated within the deflection window
  (``DESKPILOT_DEFLECTION_WINDOW_MIN``, default 30 minutes) and were not voted down, over settled widget
  answers (an answer younger than the window, with no escalation or down vote yet, is pending and left out);
- small-edit share S: sent agent drafts whose edit ratio is at most ``small_edit_ratio``;
- cost per answer C: summed ``cost_usd`` over answers.

Savings model (its parameters are in the baseline file and repeated in the report): a draft sent with a
small edit saves ``handle_time_saved_share`` of the average handle time (AHT), any other draft saves
nothing, so the time saved per ticket is ``T = AHT * share * S``. Of the monthly tickets N, a share
``widget_share`` reaches the widget first, and the deflection gained over the baseline's D0 avoids
``A = N * widget_share * (D - D0)`` tickets. Every widget contact and every remaining ticket costs one
answer. Net monthly saving = ``A * cost_per_ticket + (N - A) * T / 60 * hourly_cost - answers * C``.

Intervals: D, S and C are bootstrapped over their own rows (widget answers, sent drafts, answers) with
``evals.stats``; the derived figures resample the three together (independently), so each interval is
the 95% percentile interval of the figure itself. Shadow answers (``shadow_of`` set) were never served:
they are left out of every figure, and their spend is reported on its own line.

An empty store (no served answer in the range) is an error (:class:`NoData`; the CLI exits 1) and no
report is written: a report of zeros would read like a measured result.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from matplotlib.figure import Figure as MplFigure
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rich.console import Console
from rich.table import Table

from evals.harvest import parse_when
from evals.report import Block, Figure, Heading, Paragraph, TableBlock, to_html, to_markdown
from evals.stats import CONFIDENCE, RESAMPLES, Estimate, bootstrap_mean
from feedback.records import InteractionRecord, utcnow
from feedback.store import MAX_PAGE_SIZE, FeedbackStore
from ui.console import kpis
from ui.settings import AppSettings

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_BASELINE = REPO / "data" / "samples" / "roi_baseline.yaml"


class BaselineError(ValueError):
    """A baseline file that cannot be used; the message names the file and the field."""


class NoData(LookupError):
    """The feedback store holds no served answer in the requested range."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Assumptions(_Strict):
    """The parameters of the savings model."""

    small_edit_ratio: float = Field(
        ge=0, le=1, description="A sent draft with an edit ratio up to this is a small edit."
    )
    handle_time_saved_share: float = Field(
        ge=0, le=1, description="Share of the average handle time a draft sent with a small edit saves."
    )
    widget_share: float = Field(ge=0, le=1, description="Share of the monthly contacts that reach the widget first.")


class Baseline(_Strict):
    """The pre-pilot figures of a support team."""

    label: str = Field(min_length=1)
    example: bool = Field(default=False, description="True for illustrative figures (the checked-in sample).")
    period: str = ""
    tickets_per_month: float = Field(gt=0)
    avg_handle_time_min: float = Field(gt=0)
    cost_per_ticket_usd: float = Field(ge=0)
    agent_hourly_cost_usd: float = Field(ge=0)
    deflection_rate: float = Field(default=0.0, ge=0, le=1, description="Self-service rate before the pilot.")
    assumptions: Assumptions


def load_baseline(path: Path) -> Baseline:
    """The baseline in the YAML file at ``path``; :class:`BaselineError` names the file and field at fault."""
    if not path.is_file():
        raise BaselineError(
            f"{path}: no such file; copy {EXAMPLE_BASELINE.relative_to(REPO)} and fill in your pre-pilot figures"
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise BaselineError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(raw, dict):
        raise BaselineError(f"{path}: expected a mapping of baseline fields, got {type(raw).__name__}")
    try:
        return Baseline.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "(top level)"
            got = f" (got {error['input']!r})" if error["type"] != "missing" else ""
            problems.append(f"field {field!r}: {error['msg']}{got}")
        raise BaselineError(f"{path}: " + "; ".join(problems)) from exc


@dataclass(frozen=True)
class Samples:
    """The per-row values the measured figures are means of."""

    deflected: tuple[float, ...]
    """One per settled widget answer: 1 when deflected (kpis definition), else 0."""
    small_edit: tuple[float, ...]
    """One per sent draft: 1 when its edit ratio is at most the small-edit ratio."""
    cost: tuple[float, ...]
    """One per answer: its ``cost_usd``."""
    edit_ratios: tuple[float, ...]


@dataclass(frozen=True)
class Roi:
    """Every figure of the report."""

    baseline: Baseline
    baseline_path: str
    created_at: str
    tenant: str | None
    since: datetime | None
    until: datetime | None
    first: datetime
    last: datetime
    kpis: kpis.Kpis
    samples: Samples
    shadow_answers: int
    shadow_cost_usd: float
    measured: dict[str, Estimate]
    """deflection_rate, small_edit_share, cost_per_answer."""
    figures: dict[str, Estimate]
    """Derived figures (per ticket and per month)."""
    fallbacks: tuple[str, ...]
    """Where a measured figure was missing and the baseline value was used instead."""

    def as_json(self) -> dict[str, Any]:
        """The machine-readable figures (``roi.json``)."""
        return {
            "created_at": self.created_at,
            "baseline_file": self.baseline_path,
            "baseline": self.baseline.model_dump(),
            "tenant": self.tenant,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "first_interaction": self.first.isoformat(),
            "last_interaction": self.last.isoformat(),
            "answers": self.kpis.interactions,
            "widget_answers": self.kpis.widget_interactions,
            "deflected": self.kpis.deflected,
            "sent_drafts": self.kpis.sent,
            "cost_usd": self.kpis.cost_usd,
            "shadow_answers": self.shadow_answers,
            "shadow_cost_usd": self.shadow_cost_usd,
            "measured": {k: e.as_json() for k, e in self.measured.items()},
            "figures": {k: e.as_json() for k, e in self.figures.items()},
            "fallbacks": list(self.fallbacks),
        }


def _served(data: kpis.Dataset) -> tuple[kpis.Dataset, list[InteractionRecord]]:
    shadows = [i for i in data.interactions if i.shadow_of is not None]
    served = tuple(i for i in data.interactions if i.shadow_of is None)
    return kpis.attach(data, served, keep_unattached=False), shadows


def _deflected_flags(
    data: kpis.Dataset, now: datetime | None = None, window: timedelta = kpis.DEFLECTION_WINDOW
) -> list[float]:
    """Per settled widget answer, 1 when the dashboard's definition counts it as deflected, else 0."""
    outcomes = kpis.widget_outcomes(data, now=now, window=window)
    return [float(outcome == "deflected") for outcome in outcomes.values() if outcome != "pending"]


def _draws(values: Sequence[float], resamples: int, seed: int) -> NDArray[np.float64] | None:
    """Bootstrap means of ``values`` (the same draws ``bootstrap_mean`` makes with this seed); None if empty."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return None
    idx = np.random.default_rng(seed).integers(0, x.size, size=(resamples, x.size), dtype=np.intp)
    return np.asarray(x[idx].mean(axis=1), dtype=np.float64)


def _interval(draws: NDArray[np.float64], value: float, n: int) -> Estimate:
    finite = draws[np.isfinite(draws)]
    if finite.size == 0:
        return Estimate(value, value, value, n)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return Estimate(value, float(low), float(high), n)


Model = Callable[[Any, Any, Any], Any]


def _models(b: Baseline) -> dict[str, Model]:
    """Each derived figure as a function of (D, S, C): scalars or arrays of bootstrap draws."""
    a = b.assumptions
    n, aht, k, h = b.tickets_per_month, b.avg_handle_time_min, b.cost_per_ticket_usd, b.agent_hourly_cost_usd
    widget = n * a.widget_share

    def saved(s: Any) -> Any:  # minutes per ticket
        return aht * a.handle_time_saved_share * s

    def avoided(d: Any) -> Any:
        return widget * (d - b.deflection_rate)

    def remaining(d: Any) -> Any:
        return n - avoided(d)

    def pilot_cost(d: Any, s: Any, c: Any) -> Any:
        return remaining(d) * (k - saved(s) / 60 * h) + (widget + remaining(d)) * c

    return {
        "deflection_rate_delta": lambda d, s, c: d - b.deflection_rate,
        "handle_time_min": lambda d, s, c: aht - saved(s),
        "handle_time_delta_min": lambda d, s, c: -saved(s),
        "cost_per_ticket_usd": lambda d, s, c: k - saved(s) / 60 * h + c,
        "cost_per_ticket_delta_usd": lambda d, s, c: c - saved(s) / 60 * h,
        "tickets_per_month": lambda d, s, c: remaining(d),
        "tickets_avoided_per_month": lambda d, s, c: avoided(d),
        "agent_hours_per_month": lambda d, s, c: remaining(d) * (aht - saved(s)) / 60,
        "agent_hours_saved_per_month": lambda d, s, c: n * aht / 60 - remaining(d) * (aht - saved(s)) / 60,
        "answer_cost_per_month_usd": lambda d, s, c: (widget + remaining(d)) * c,
        "support_cost_per_month_usd": pilot_cost,
        "net_saving_per_month_usd": lambda d, s, c: n * k - pilot_cost(d, s, c),
    }


def compute(
    data: kpis.Dataset,
    baseline: Baseline,
    *,
    baseline_path: str = "",
    tenant: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    resamples: int = RESAMPLES,
    seed: int = 0,
    now: datetime | None = None,
    window: timedelta = kpis.DEFLECTION_WINDOW,
) -> Roi:
    """Every figure of the ROI report from the store's rows in ``data`` and the ``baseline``; ``now`` and
    ``window`` decide which widget answers are still pending (the dashboard's deflection definition)."""
    served, shadows = _served(data)
    if not served.interactions:
        raise NoData("no served answers")
    now = now or utcnow()
    k = kpis.compute(served, now=now, window=window)
    samples = Samples(
        deflected=tuple(_deflected_flags(served, now, window)),
        small_edit=tuple(float(e.ratio <= baseline.assumptions.small_edit_ratio) for e in served.edits),
        cost=tuple(i.cost_usd for i in served.interactions),
        edit_ratios=tuple(e.ratio for e in served.edits),
    )
    fallbacks = []
    d_draws = _draws(samples.deflected, resamples, seed)
    s_draws = _draws(samples.small_edit, resamples, seed + 1)
    c_draws = _draws(samples.cost, resamples, seed + 2)
    measured = {
        "deflection_rate": bootstrap_mean(samples.deflected, resamples=resamples, seed=seed),
        "small_edit_share": bootstrap_mean(samples.small_edit, resamples=resamples, seed=seed + 1),
        "cost_per_answer": bootstrap_mean(samples.cost, resamples=resamples, seed=seed + 2),
    }
    d = measured["deflection_rate"].value
    if d_draws is None:
        d = baseline.deflection_rate
        fallbacks.append("no widget answers in the range: deflection taken as the baseline's (no tickets avoided)")
    s = measured["small_edit_share"].value
    if s_draws is None:
        s = 0.0
        fallbacks.append("no sent agent drafts in the range: no handle time saved")
    c = measured["cost_per_answer"].value
    figures = {}
    for name, model in _models(baseline).items():
        value = float(model(d, s, c))
        draws = np.asarray(
            model(
                d_draws if d_draws is not None else d,
                s_draws if s_draws is not None else s,
                c_draws if c_draws is not None else c,
            ),
            dtype=np.float64,
        )
        figures[name] = _interval(np.broadcast_to(draws, (resamples,)), value, len(served.interactions))
    moments = [i.created_at for i in served.interactions]
    return Roi(
        baseline=baseline,
        baseline_path=baseline_path,
        created_at=utcnow().isoformat(timespec="seconds"),
        tenant=tenant,
        since=since,
        until=until,
        first=min(moments),
        last=max(moments),
        kpis=k,
        samples=samples,
        shadow_answers=len(shadows),
        shadow_cost_usd=sum(i.cost_usd for i in shadows),
        measured=measured,
        figures=figures,
        fallbacks=tuple(fallbacks),
    )


def _shadow_answers(
    store: FeedbackStore, tenant: str | None, since: datetime | None, until: datetime | None
) -> tuple[InteractionRecord, ...]:
    """The shadow answers in the range (the store's listings leave them out by default)."""
    found: list[InteractionRecord] = []
    page = 1
    while True:
        got = store.list_interactions(tenant, since=since, until=until, shadow=True, page=page, page_size=MAX_PAGE_SIZE)
        found.extend(got.items)
        if page >= got.pages:
            return tuple(found)
        page += 1


def measure(
    store: FeedbackStore,
    baseline: Baseline,
    *,
    baseline_path: str = "",
    tenant: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    resamples: int = RESAMPLES,
    seed: int = 0,
    window: timedelta = kpis.DEFLECTION_WINDOW,
) -> Roi:
    """Read the store's rows of ``tenant`` in [since, until) and compute the report's figures."""
    data = kpis.load(store, tenant, since, until)
    shadows = _shadow_answers(store, tenant, since, until)
    try:
        return compute(
            kpis.Dataset(data.interactions + shadows, data.votes, data.edits, data.escalations),
            baseline,
            baseline_path=baseline_path,
            tenant=tenant,
            since=since,
            until=until,
            resamples=resamples,
            seed=seed,
            window=window,
        )
    except NoData:
        url = store.engine.url.render_as_string(hide_password=True)
        scope = f"tenant {tenant!r}" if tenant else "any tenant"
        span = f" between {since.isoformat() if since else 'the start'} and {until.isoformat() if until else 'now'}"
        raise NoData(
            f"no data: the feedback store {url} holds no served answers of {scope}{span}; nothing to report. "
            "Serve some traffic (or run `deskpilot demo seed`) and try again."
        ) from None


# --- the report --------------------------------------------------------------------------------------------


def _num(value: float, digits: int = 2, unit: str = "") -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:,.{digits}f}{unit}"


def _est(e: Estimate, digits: int = 2, pct: bool = False) -> str:
    if math.isnan(e.value):
        return "n/a"
    scale, unit = (100.0, " %") if pct else (1.0, "")
    return (
        f"{e.value * scale:,.{digits}f}{unit} [{e.low * scale:,.{digits}f}, {e.high * scale:,.{digits}f}]"
        if e.low != e.high
        else f"{e.value * scale:,.{digits}f}{unit}"
    )


def _signed(e: Estimate, digits: int = 2, pct: bool = False) -> str:
    scale, unit = (100.0, " pp") if pct else (1.0, "")
    if math.isnan(e.value):
        return "n/a"
    body = f"{e.value * scale:+,.{digits}f}{unit}"
    return body if e.low == e.high else f"{body} [{e.low * scale:+,.{digits}f}, {e.high * scale:+,.{digits}f}]"


def comparison_plot(roi: Roi, name: str) -> Figure:
    """Baseline vs pilot for deflection, handle time and cost per ticket; whiskers are the 95% intervals."""
    b, f = roi.baseline, roi.figures
    panels = [
        ("deflection rate", b.deflection_rate, _deflection(roi)),
        ("handle time per ticket (min)", b.avg_handle_time_min, f["handle_time_min"]),
        ("cost per ticket (USD)", b.cost_per_ticket_usd, f["cost_per_ticket_usd"]),
    ]
    fig = MplFigure(figsize=(9, 3))
    for n, (title, before, after) in enumerate(panels, start=1):
        ax = fig.add_subplot(1, 3, n)
        err = [[max(0.0, after.value - after.low)], [max(0.0, after.high - after.value)]]
        ax.bar([0], [before], color="tab:gray", label="baseline")
        ax.bar([1], [after.value], yerr=err, capsize=4, color="tab:blue", label="pilot")
        ax.set_xticks([0, 1], ["baseline", "pilot"])
        ax.set_title(title, fontsize=9)
    fig.suptitle("baseline vs pilot (pilot: 95% bootstrap CI)", fontsize=10, y=1.04)
    return Figure(name, "baseline vs pilot: deflection rate, handle time and cost per ticket", _png(fig))


def _deflection(roi: Roi) -> Estimate:
    delta = roi.figures["deflection_rate_delta"]
    d0 = roi.baseline.deflection_rate
    return Estimate(delta.value + d0, delta.low + d0, delta.high + d0, delta.n)


def edit_ratio_plot(roi: Roi, name: str) -> Figure:
    """Histogram of the sent drafts' edit ratios with the small-edit threshold."""
    fig = MplFigure(figsize=(7, 3))
    ax = fig.add_subplot()
    ax.hist(roi.samples.edit_ratios, bins=20, range=(0, 1), color="tab:blue")
    cut = roi.baseline.assumptions.small_edit_ratio
    ax.axvline(cut, color="tab:red", linestyle="--", label=f"small edit ≤ {cut:g}")
    ax.set_xlabel("edit ratio (0 = sent as drafted, 1 = rewritten)")
    ax.set_ylabel("sent drafts")
    ax.legend(fontsize=8)
    ax.set_title(f"{len(roi.samples.edit_ratios)} sent agent drafts", fontsize=9)
    return Figure(name, "edit ratios of the sent agent drafts", _png(fig))


def _png(fig: MplFigure) -> bytes:
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> TableBlock:
    return TableBlock(tuple(headers), tuple(tuple(r) for r in rows))


def build(roi: Roi) -> list[Block]:
    """The report as blocks, in reading order."""
    b, a, f, m, k = roi.baseline, roi.baseline.assumptions, roi.figures, roi.measured, roi.kpis
    window = f"{roi.first.date().isoformat()} to {roi.last.date().isoformat()}"
    scope = f"tenant {roi.tenant}" if roi.tenant else "all tenants"
    blocks: list[Block] = [Heading(1, "deskpilot ROI report")]
    if b.example:
        blocks.append(
            Paragraph(
                f"EXAMPLE BASELINE: {roi.baseline_path} holds illustrative figures, not a real team's. Copy it, "
                "fill in your pre-pilot numbers and pass it with --baseline."
            )
        )
    net = f["net_saving_per_month_usd"]
    blocks += [
        Paragraph(
            f"Baseline: {b.label}{f' ({b.period})' if b.period else ''}, from {roi.baseline_path}. Measured: "
            f"{k.interactions} answers of {scope}, {window} (report made {roi.created_at}). "
            f"Estimated net saving per month: {_signed(net, 0)} USD (95% bootstrap CI)."
        ),
        Heading(2, "Baseline vs pilot"),
        _table(
            ["measure", "baseline", "pilot [95% CI]", "delta [95% CI]"],
            [
                [
                    "deflection rate",
                    _num(b.deflection_rate * 100, 1, " %"),
                    _est(_deflection(roi), 1, pct=True),
                    _signed(f["deflection_rate_delta"], 1, pct=True),
                ],
                [
                    "handle time per ticket (min)",
                    _num(b.avg_handle_time_min, 2),
                    _est(f["handle_time_min"]),
                    _signed(f["handle_time_delta_min"]),
                ],
                [
                    "cost per ticket (USD)",
                    _num(b.cost_per_ticket_usd, 2),
                    _est(f["cost_per_ticket_usd"]),
                    _signed(f["cost_per_ticket_delta_usd"]),
                ],
                [
                    "tickets per month",
                    _num(b.tickets_per_month, 0),
                    _est(f["tickets_per_month"], 0),
                    _signed(_neg(f["tickets_avoided_per_month"]), 0),
                ],
                [
                    "agent hours per month",
                    _num(b.tickets_per_month * b.avg_handle_time_min / 60, 1),
                    _est(f["agent_hours_per_month"], 1),
                    _signed(_neg(f["agent_hours_saved_per_month"]), 1),
                ],
                [
                    "support cost per month (USD)",
                    _num(b.tickets_per_month * b.cost_per_ticket_usd, 0),
                    _est(f["support_cost_per_month_usd"], 0),
                    _signed(_neg(net), 0),
                ],
            ],
        ),
        comparison_plot(roi, "roi_comparison.png"),
        Heading(2, "Measured in the feedback store"),
        _table(
            ["figure", "value [95% CI]", "n", "definition"],
            [
                [
                    "deflection rate",
                    _est(m["deflection_rate"], 1, pct=True),
                    str(k.settled),
                    f"{k.deflected} of {k.settled} settled widget answers answered, were not escalated within "
                    "the deflection window and were not voted down"
                    + (f" ({k.pending} younger than the window left out as pending)" if k.pending else ""),
                ],
                [
                    "small-edit share",
                    _est(m["small_edit_share"], 1, pct=True),
                    str(k.sent),
                    f"sent agent drafts with an edit ratio ≤ {a.small_edit_ratio:g}",
                ],
                [
                    "median edit ratio",
                    _num(k.median_edit_ratio, 3) if k.median_edit_ratio is not None else "n/a",
                    str(k.sent),
                    "0 = sent as drafted, 1 = rewritten (Levenshtein, normalized)",
                ],
                [
                    "edit rate",
                    _num(k.edit_rate * 100, 1, " %") if k.edit_rate is not None else "n/a",
                    str(k.sent),
                    "sent drafts the agent changed at all",
                ],
                [
                    "cost per answer (USD)",
                    _est(m["cost_per_answer"], 5),
                    str(k.interactions),
                    f"summed cost_usd {k.cost_usd:.4f} over {k.interactions} answers",
                ],
                [
                    "shadow answers (excluded)",
                    str(roi.shadow_answers),
                    str(roi.shadow_answers),
                    f"evaluation spend not in the figures: {roi.shadow_cost_usd:.4f} USD",
                ],
            ],
        ),
    ]
    if roi.samples.edit_ratios:
        blocks.append(edit_ratio_plot(roi, "roi_edit_ratios.png"))
    blocks += [
        Heading(2, "Assumptions"),
        Paragraph(
            "The savings are a model, not a measurement: its parameters come from the baseline file; change them "
            "there and rerun to see how sensitive the result is."
        ),
        _table(
            ["assumption", "value", "where it enters"],
            [
                [
                    "a draft sent with an edit ratio ≤ small_edit_ratio saves handle_time_saved_share of the "
                    "average handle time; any other draft saves nothing",
                    f"small_edit_ratio = {a.small_edit_ratio:g}, handle_time_saved_share = "
                    f"{a.handle_time_saved_share:g}",
                    f"time saved per ticket T = AHT × share × small-edit share = {_num(-f['handle_time_delta_min'].value)} min",
                ],
                [
                    "a share of the monthly contacts reaches the widget first; a deflected widget answer is a "
                    "ticket avoided",
                    f"widget_share = {a.widget_share:g}",
                    "tickets avoided = tickets_per_month × widget_share × (deflection − baseline deflection)",
                ],
                [
                    "deflection before the pilot",
                    f"deflection_rate = {b.deflection_rate:g}",
                    "the baseline the deflection delta is measured against",
                ],
                [
                    "an avoided ticket saves its whole cost; a remaining ticket saves T minutes of agent time",
                    f"cost_per_ticket_usd = {b.cost_per_ticket_usd:g}, agent_hourly_cost_usd = "
                    f"{b.agent_hourly_cost_usd:g}",
                    "net saving = avoided × cost per ticket + remaining × T / 60 × hourly cost − answers × cost per answer",
                ],
                [
                    "every widget contact and every remaining ticket costs one answer at the measured cost per answer",
                    f"{_num(m['cost_per_answer'].value, 5)} USD per answer",
                    "answer cost per month",
                ],
                [
                    "the measured window is representative of a month",
                    window,
                    "rates measured here are applied to the baseline's monthly volume",
                ],
            ],
        ),
        Paragraph(
            "Intervals: 95% percentile bootstrap (2,000 resamples unless configured). Deflection, small-edit share "
            "and cost per answer are resampled over their own rows; every derived figure resamples the three "
            "together. Shadow answers were never served and are left out."
        ),
    ]
    if roi.fallbacks:
        blocks += [Heading(3, "Missing measurements"), Paragraph("; ".join(roi.fallbacks) + ".")]
    return blocks


def _neg(e: Estimate) -> Estimate:
    return Estimate(-e.value, -e.high, -e.low, e.n)


def write(roi: Roi, out_dir: Path) -> list[Path]:
    """Write ``roi.md`` (with its PNGs), ``roi.html`` and ``roi.json`` into ``out_dir``; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    blocks = build(roi)
    written = []
    for block in blocks:
        if isinstance(block, Figure):
            path = out_dir / block.name
            path.write_bytes(block.png)
            written.append(path)
    md, page, data = out_dir / "roi.md", out_dir / "roi.html", out_dir / "roi.json"
    md.write_text(to_markdown(blocks), encoding="utf-8")
    page.write_text(
        to_html(blocks).replace("<title>deskpilot evaluation</title>", "<title>deskpilot ROI report</title>", 1),
        encoding="utf-8",
    )
    data.write_text(json.dumps(roi.as_json(), indent=2) + "\n", encoding="utf-8")
    return [md, page, data, *written]


def main(
    settings: AppSettings,
    *,
    baseline: Path | None = None,
    out: Path | None = None,
    since: str | None = None,
    until: str | None = None,
    tenant: str | None = None,
    console: Console | None = None,
) -> int:
    """`deskpilot report roi`: the exit code is 2 for a bad baseline or date, 1 when there is no data."""
    console = console or Console()
    err = Console(stderr=True, soft_wrap=True)
    path = baseline or EXAMPLE_BASELINE
    try:
        base = load_baseline(path)
        since_at = parse_when(since, "--since")
        until_at = parse_when(until, "--until", end=True)
    except ValueError as exc:
        err.print(f"error: {exc}", markup=False)
        return 2
    with FeedbackStore.open(settings.feedback) as store:
        try:
            roi = measure(
                store,
                base,
                baseline_path=str(path),
                tenant=tenant,
                since=since_at,
                until=until_at,
                window=settings.feedback.deflection_window(),
            )
        except NoData as exc:
            err.print(f"error: {exc}", markup=False)
            return 1
    out_dir = out or settings.feedback.data_dir / "reports" / "roi"
    paths = write(roi, out_dir)
    table = Table(title=f"ROI against {path.name}" + (" (EXAMPLE baseline)" if base.example else ""))
    table.add_column("figure")
    table.add_column("value [95% CI]", justify="right")
    f = roi.figures
    table.add_row("deflection rate", _est(_deflection(roi), 1, pct=True))
    table.add_row("handle time per ticket (min)", _est(f["handle_time_min"]))
    table.add_row("cost per answer (USD)", _est(roi.measured["cost_per_answer"], 5))
    table.add_row("net saving per month (USD)", _signed(f["net_saving_per_month_usd"], 0))
    console.print(table)
    console.print(f"report: {paths[0]} and {paths[1]} (figures in {paths[2].name})", markup=False, soft_wrap=True)
    return 0
