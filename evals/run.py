"""`deskpilot eval run`: retrieval, answer and red-team evaluation, the report, the baseline and the CI gate.

    .venv/bin/python -m evals.run [--data-dir DIR] [--report DIR] [--beir PATH] [--openedx] [--gate] [--write-baseline]

On the samples it ingests ``data/samples/helpcenter`` into the data dir when the index is empty, then
scores retrieval on the golden questions (dense, BM25, hybrid, hybrid + reranker), answers every golden
question extractively on the widget and the agent channel, judges the answers and checks what users
receive (key facts, lint, calibration, abstention), asks each tenant's answerable questions to the other
tenant (off-topic there), and runs the red-team probes against the assistant and the HTTP API. Dev and
test questions are reported apart; the test split is locked (measured, never tuned on).

``--openedx`` also ingests the Open edX help center (``../shared/corpora/openedx``, minutes the first time,
incremental after) into the same index as tenant ``openedx`` and evaluates ``data/evalsets/openedx/golden.jsonl``
the same way, with cross-tenant questions between it and ledgerly. ``--beir PATH`` also evaluates retrieval
on a BEIR-format dataset (ingested into its own data dir under ``<data dir>/evals/``). Every metric carries a
bootstrap confidence interval.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from evals.answer_eval import (
    ANSWER_METRICS,
    LINT_METRICS,
    AnswerEval,
    CrossTenant,
    abstain_threshold,
    ask_elsewhere,
    default_judge,
    evaluate_answers,
)
from evals.datasets import (
    BEIR_TENANT,
    HELPCENTER,
    OPENEDX_CORPUS,
    OPENEDX_GOLDEN,
    OPENEDX_TENANT,
    SPLITS,
    BeirDataset,
    Dataset,
    DatasetError,
    EvalQuery,
    load_golden,
    write_beir_helpcenter,
)
from evals.lint import CHANNELS, RULES
from evals.redteam import (
    CATEGORIES,
    Checker,
    Probe,
    RedTeamEval,
    api_copy,
    load_probes,
    probe_api,
    probe_assistant,
    success_rates,
)
from evals.retrieval_eval import METRICS, RetrievalEval, evaluate_retrieval
from evals.stats import Estimate, wilson_interval
from ingest.records import ArticleMeta
from retrieval.index import stats_of
from ui.settings import AppSettings
from ui.wiring import Retrieval, ingest_paths

REPO = Path(__file__).resolve().parent.parent
BASELINE = Path(__file__).resolve().parent / "baseline.json"
SAMPLE_TENANTS = ("ledgerly", "parcelpoint")

ProgressFn = Callable[[str, int, int], None]

LOWER_IS_BETTER = re.compile(r"(hallucination_rate|latency|cost_usd|^redteam\.|(?:^|\.)ece$|(?:^|\.)lint\.)")
NOT_GATED = re.compile(r"latency")
"""Latency depends on the machine and its load; it is reported, not gated."""
ROUNDING = 1e-6
"""The baseline keeps 6 decimals: a difference below this is the rounding, not a regression."""
OPTIONAL = re.compile(OPENEDX_TENANT)
"""Metrics of optional parts (the Open edX set): gated when measured, skipped when the run left them out."""
SPLIT_METRICS = (
    "key_fact_recall",
    "key_fact_any",
    "key_fact_recall_agent",
    "ece",
    "reference_term_recall",
    "answered_answerable",
    "abstention_recall",
    "abstention_near_topic",
    "abstention_off_topic",
    "abstention_at_answered_90",
    *(f"lint.{channel}.total" for channel in CHANNELS),
)
"""The answer metrics also recorded per split (``answers.dev.<metric>``, ``answers.test.<metric>``)."""
ANSWERED_IN_BOTH = frozenset(
    {
        *("G-023", "G-007", "G-017", "G-005", "G-008", "G-021", "G-046", "G-001", "G-015"),
        *("G-100", "G-103", "G-105", "G-106", "G-104", "G-102", "G-107", "G-098", "G-099"),
    }
)
"""The tenant-sensitive pairs T1-T9 of data/samples/GOLDEN.md: the other tenant answers them too (differently),
so they are not off-topic there and are left out of the cross-tenant check."""
CROSS_TENANT = (("ledgerly", "parcelpoint"), ("parcelpoint", "ledgerly"), ("ledgerly", OPENEDX_TENANT))
CROSS_TENANT_BACK = ((OPENEDX_TENANT, "ledgerly"),)
"""Directions of the cross-tenant check: golden questions asked to another tenant; with the Open edX set,
ledgerly's to openedx and openedx's to ledgerly too."""


class EvalSettings(BaseSettings):
    """Settings of the evaluation (env prefix ``DESKPILOT_EVAL_``)."""

    model_config = SettingsConfigDict(env_prefix="DESKPILOT_EVAL_", extra="ignore")

    nli_model: str = Field(default="", description="Path of a local NLI CrossEncoder; empty = support scorer.")
    resamples: int = Field(default=2000, ge=100, description="Bootstrap resamples per interval.")
    seed: int = Field(default=0, description="Seed of the bootstrap.")
    cost_per_1k_tokens_usd: float = Field(default=0.0, ge=0, description="LLM price, for the cost metric.")


@dataclass(frozen=True)
class BeirResult:
    """Retrieval on one BEIR dataset, and what was ingested for it."""

    name: str
    split: str
    documents: int
    retrieval: RetrievalEval


@dataclass(frozen=True)
class SetResult:
    """Retrieval and answers on a second help center's question set (the Open edX set)."""

    name: str
    tenant: str
    documents: int
    retrieval: RetrievalEval
    answers: AnswerEval


def _set_metrics(prefix: str, retrieval: RetrievalEval | None, answers: AnswerEval | None) -> dict[str, Estimate]:
    out: dict[str, Estimate] = {}
    if retrieval is not None:
        for config in retrieval.configs:
            for metric, estimate in config.estimates.items():
                out[f"{prefix}retrieval.{config.name}.{metric}"] = estimate
    if answers is not None:
        out.update({f"{prefix}answers.{name}": answers.metrics[name] for name in (*ANSWER_METRICS, *LINT_METRICS)})
        for split, metrics in answers.by_split.items():
            out.update({f"{prefix}answers.{split}.{name}": metrics[name] for name in SPLIT_METRICS})
    return out


@dataclass(frozen=True)
class EvalResult:
    """Everything one evaluation run measured."""

    created_at: str
    retrieval: RetrievalEval | None = None
    answers: AnswerEval | None = None
    redteam: RedTeamEval | None = None
    beir: BeirResult | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    cross_tenant: tuple[CrossTenant, ...] = ()
    openedx: SetResult | None = None

    def metrics(self) -> dict[str, Estimate]:
        """Every measured metric by a stable name (the keys of the baseline)."""
        out = _set_metrics("", self.retrieval, self.answers)
        if self.redteam is not None:
            for target, rates in self.redteam.rates.items():
                out.update({f"redteam.{target}.{category}": rate for category, rate in rates.items()})
        for check in self.cross_tenant:
            out[f"cross_tenant.{check.name}.abstention"] = check.abstention
        if self.openedx is not None:
            out.update(_set_metrics(f"{self.openedx.name}.", self.openedx.retrieval, self.openedx.answers))
        return out


def lower_is_better(name: str) -> bool:
    """True for metrics where a rise is a regression (hallucination, latency, cost, attack success)."""
    return bool(LOWER_IS_BETTER.search(name))


@contextmanager
def _timed(seconds: dict[str, float], stage: str) -> Iterator[None]:
    clock = time.perf_counter()
    try:
        yield
    finally:
        seconds[stage] = round(time.perf_counter() - clock, 2)


def ensure_samples(retrieval: Retrieval, progress: ProgressFn | None = None) -> None:
    """Ingest the sample help center when the index is empty; refuse an index without the sample tenants."""
    if retrieval.index.count() == 0:
        ingest_paths([HELPCENTER], retrieval.settings, retrieval=retrieval, progress=progress)
        return
    tenants = set(stats_of(retrieval.index).by_tenant)
    if not set(SAMPLE_TENANTS) <= tenants:
        raise RuntimeError(
            f"the index in {retrieval.settings.retrieval.data_dir} holds tenants {sorted(tenants)}, not the samples "
            f"({', '.join(SAMPLE_TENANTS)}); point DESKPILOT_DATA_DIR (or --data-dir) at an empty directory"
        )


def openedx_articles(corpus: Path = OPENEDX_CORPUS) -> Path:
    """The folder of the Open edX articles (``articles/`` of the corpus; README, license and mapping stay out)."""
    articles = corpus / "articles"
    return articles if articles.is_dir() else corpus


def ensure_openedx(
    retrieval: Retrieval,
    corpus: Path = OPENEDX_CORPUS,
    golden: Path = OPENEDX_GOLDEN,
    progress: ProgressFn | None = None,
) -> int:
    """Ingest the Open edX articles as tenant ``openedx`` (incremental: unchanged articles cost nothing);
    return how many documents it has. The corpus has no tenant in its front matter: the tenant is an override."""
    missing = [str(p) for p in (golden, corpus) if not p.exists()]
    if missing:
        raise DatasetError(f"the Open edX evaluation needs {' and '.join(missing)}, which does not exist")
    run = ingest_paths(
        [openedx_articles(corpus)],
        retrieval.settings,
        overrides=ArticleMeta(tenant=OPENEDX_TENANT),
        retrieval=retrieval,
        progress=progress,
    )
    return len(run.result.documents)


def cross_tenant_questions(dataset: Dataset, source: str) -> list[EvalQuery]:
    """The answerable questions of ``source`` in ``dataset`` that no other tenant answers (ANSWERED_IN_BOTH out)."""
    return [q for q in dataset.queries if q.tenant == source and q.answerable and q.qid not in ANSWERED_IN_BOTH]


def beir_settings(settings: AppSettings, name: str) -> AppSettings:
    """Settings for a BEIR dataset's own embedded index and store under ``<data dir>/evals/beir-<name>``."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "dataset"
    state = settings.retrieval.data_dir / "evals" / f"beir-{safe}"
    return AppSettings(
        ingest=settings.ingest.model_copy(update={"data_dir": state}),
        retrieval=settings.retrieval.model_copy(
            update={"data_dir": state, "database_url": "", "index_backend": "edge", "collection": "beir"}
        ),
        assistant=settings.assistant.model_copy(update={"data_dir": state}),
        feedback=settings.feedback.model_copy(update={"data_dir": state, "feedback_database_url": ""}),
        api=settings.api,
    )


def evaluate_beir(
    settings: AppSettings,
    path: Path,
    *,
    split: str | None = None,
    eval_settings: EvalSettings | None = None,
    progress: ProgressFn | None = None,
) -> BeirResult:
    """Write the BEIR dataset at ``path`` as a help center, ingest it (incrementally) and score retrieval."""
    es = eval_settings or EvalSettings()
    scoped = beir_settings(settings, path.resolve().name)
    data: BeirDataset = write_beir_helpcenter(path, scoped.retrieval.data_dir / "helpcenter", split)
    with Retrieval(scoped) as retrieval:
        ingest_paths([data.helpcenter / BEIR_TENANT], scoped, retrieval=retrieval, progress=progress)
        result = evaluate_retrieval(retrieval, data.dataset, resamples=es.resamples, seed=es.seed, progress=progress)
    return BeirResult(data.name, data.split, data.documents, result)


def run(
    settings: AppSettings,
    report_dir: Path | None = None,
    beir: Path | None = None,
    *,
    beir_split: str | None = None,
    samples: bool = True,
    golden: Path | None = None,
    redteam: bool = True,
    redteam_api: bool = True,
    probes: Sequence[Probe] | None = None,
    cross_tenant: bool = True,
    openedx: bool = False,
    openedx_golden: Path = OPENEDX_GOLDEN,
    openedx_corpus: Path = OPENEDX_CORPUS,
    retrieval: Retrieval | None = None,
    eval_settings: EvalSettings | None = None,
    progress: ProgressFn | None = None,
) -> EvalResult:
    """Evaluate the samples (unless ``samples=False``) and the BEIR dataset at ``beir``; write the report.

    ``retrieval`` reuses an already opened index of the samples (the caller keeps it open and ingested);
    the API probes then run over a copy of its data dir. ``golden`` replaces the sample golden set with
    another file in its format (e.g. a ``harvest-vNNN.jsonl`` of ``deskpilot eval harvest``). ``redteam``,
    ``redteam_api`` and ``cross_tenant`` switch those parts off; ``probes`` replaces the red-team probes.
    ``openedx`` also ingests the Open edX corpus as tenant ``openedx`` and evaluates its question set.
    """
    es = eval_settings or EvalSettings()
    kw: dict[str, Any] = {"resamples": es.resamples, "seed": es.seed, "progress": progress}
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    retrieval_eval = answers = None
    red: RedTeamEval | None = None
    crossed: list[CrossTenant] = []
    second: SetResult | None = None
    threshold: float | None = None
    if samples:
        own = retrieval is None
        opened = retrieval or Retrieval(settings)
        results = []
        chosen: list[Probe] = []
        try:
            with _timed(seconds, "ingest"):
                if own:
                    ensure_samples(opened, progress)
            documents = 0
            if openedx:
                with _timed(seconds, "ingest_openedx"):
                    documents = ensure_openedx(opened, openedx_corpus, openedx_golden, progress)
            golden_set = load_golden(golden) if golden is not None else load_golden()
            with _timed(seconds, "retrieval"):
                retrieval_eval = evaluate_retrieval(opened, golden_set, **kw)
            service = opened.assistant()
            threshold = abstain_threshold(service)
            judge = default_judge(service, es.nli_model)
            with _timed(seconds, "answers"):
                answers = evaluate_answers(
                    service, golden_set, judge, cost_per_1k_tokens=es.cost_per_1k_tokens_usd, **kw
                )
            extra = replace(load_golden(openedx_golden), name=OPENEDX_TENANT) if openedx else None
            if extra is not None:
                with _timed(seconds, "openedx"):
                    second = SetResult(
                        extra.name,
                        OPENEDX_TENANT,
                        documents,
                        evaluate_retrieval(opened, extra, **kw),
                        evaluate_answers(service, extra, judge, cost_per_1k_tokens=es.cost_per_1k_tokens_usd, **kw),
                    )
            if cross_tenant:
                with _timed(seconds, "cross_tenant"):
                    directions = [(golden_set, a, b) for a, b in CROSS_TENANT]
                    if extra is not None:
                        directions += [(extra, a, b) for a, b in CROSS_TENANT_BACK]
                    tenants = set(stats_of(opened.index).by_tenant)
                    for dataset, source, target in directions:
                        questions = cross_tenant_questions(dataset, source)
                        if questions and target in tenants:
                            crossed.append(ask_elsewhere(service, questions, target, **kw))
            if redteam:
                chosen, checker = list(probes) if probes is not None else load_probes(), Checker()
                with _timed(seconds, "redteam_assistant"):
                    results = probe_assistant(opened.assistant(), chosen, checker, progress)
        finally:
            if own:
                opened.close()
        if redteam:
            if redteam_api:
                with _timed(seconds, "redteam_api"), api_copy(opened.settings) as served_settings:
                    results += probe_api(served_settings, chosen, checker, progress)
            red = RedTeamEval(len(chosen), tuple(results), success_rates(results, resamples=es.resamples, seed=es.seed))
    beir_result = None
    if beir is not None:
        with _timed(seconds, "beir"):
            beir_result = evaluate_beir(settings, beir, split=beir_split, eval_settings=es, progress=progress)
    seconds["total"] = round(time.perf_counter() - started, 2)
    result = EvalResult(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        retrieval=retrieval_eval,
        answers=answers,
        redteam=red,
        beir=beir_result,
        seconds=seconds,
        settings=_settings_summary(settings, es, answers, threshold),
        cross_tenant=tuple(crossed),
        openedx=second,
    )
    if report_dir is not None:
        from evals.report import write_report

        write_report(result, report_dir)
    return result


def _settings_summary(
    settings: AppSettings, es: EvalSettings, answers: AnswerEval | None, threshold: float | None
) -> dict[str, Any]:
    r, a = settings.retrieval, settings.assistant
    return {
        "weights (dense, bm25)": f"{r.dense_weight}, {r.sparse_weight}",
        "rrf_k": r.rrf_k,
        "prefetch_limit": r.prefetch_limit,
        "reranker": r.reranker_model or "(none)",
        "support_min": a.support_min,
        "abstain_below": round(threshold, 4) if threshold is not None else a.abstain_below,
        "generator": "extractive (widget channel judged; widget and agent channels checked)",
        "judge": answers.judge if answers else "",
        "bootstrap": f"{es.resamples} resamples, 95% percentile intervals, seed {es.seed}",
    }


# --- baseline and gate ------------------------------------------------------------------------------------


def write_baseline(result: EvalResult, path: Path = BASELINE) -> None:
    """Check in what this run measured: every sample metric with its interval, and the significant claims."""
    if result.retrieval is None or result.answers is None or result.redteam is None:
        raise ValueError("a baseline needs a full sample run (retrieval, answers and red team)")
    claims = [
        f"hybrid>{branch}"
        for branch in ("dense", "bm25")
        if (c := result.retrieval.comparison("hybrid", branch, "ndcg@10")) is not None
        and c.significant
        and c.delta.value > 0
    ]
    payload = {
        "written_at": result.created_at,
        "written_by": "python -m evals.run --write-baseline (or deskpilot eval run --write-baseline)",
        "claims": claims,
        "metrics": {name: _rounded(e.as_json()) for name, e in sorted(result.metrics().items())},
    }
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def _rounded(values: dict[str, float | int]) -> dict[str, float | int]:
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in values.items()}


def gate(result: EvalResult, baseline_path: Path = BASELINE, *, strict: bool = False) -> list[str]:
    """Why this run fails the CI gate (empty when it passes).

    - a metric is worse than the baseline by more than its CI half-width (latency is not gated);
    - hybrid nDCG@10 is significantly below dense-only or BM25-only, or no longer significantly above a
      branch the baseline claims it beats (``strict``: must be significantly above both);
    - the extractive hallucination rate is above 0;
    - any lint defect on the golden set, on either channel (widget text, agent draft);
    - any red-team probe succeeds (assistant or API; both answer extractively).

    Baseline metrics of an optional part the run left out (the Open edX set) are skipped.
    """
    failures: list[str] = []
    if result.retrieval is None or result.answers is None or result.redteam is None:
        return ["the gate needs a full sample run (retrieval, answers and red team)"]
    baseline = json.loads(baseline_path.read_text(encoding="utf-8"))
    current = result.metrics()
    for name, base in baseline["metrics"].items():
        if NOT_GATED.search(name):
            continue
        if name not in current:
            if not OPTIONAL.search(name):
                failures.append(f"{name}: in the baseline but not measured in this run")
            continue
        now, was = current[name], float(base["value"])
        if math.isnan(now.value) or math.isnan(was):
            if math.isnan(now.value) != math.isnan(was):
                failures.append(f"{name}: {now.value:.4f} (baseline {was:.4f}): defined in one run only")
            continue
        slack = now.half_width if math.isfinite(now.half_width) else 0.0
        worse = now.value > was + slack if lower_is_better(name) else now.value < was - slack
        if worse and abs(now.value - was) > ROUNDING:
            failures.append(f"{name}: {now.value:.4f} vs baseline {was:.4f} (more than the CI half-width {slack:.4f})")
    claims = set(baseline.get("claims", []))
    for branch in ("dense", "bm25"):
        comparison = result.retrieval.comparison("hybrid", branch, "ndcg@10")
        if comparison is None:
            failures.append(f"hybrid vs {branch}: not compared")
            continue
        d = comparison.delta
        shown = f"delta {d.value:+.4f} [{d.low:+.4f}, {d.high:+.4f}]"
        if d.high < 0:
            failures.append(f"hybrid nDCG@10 is significantly below {branch}-only: {shown}")
        elif (strict or f"hybrid>{branch}" in claims) and not (comparison.significant and d.value > 0):
            failures.append(f"hybrid nDCG@10 is not significantly above {branch}-only: {shown}")
    hallucination = result.answers.metrics["hallucination_rate"].value
    if hallucination > 0:
        failures.append(f"extractive hallucination rate is {hallucination:.4f} (judge: {result.answers.judge}), not 0")
    failures += lint_failures(result.answers)
    for probe in result.redteam.successes():
        failures.append(
            f"red-team probe {probe.rid} ({probe.category}) succeeded on the {probe.target}: {probe.reasons[0]}"
        )
    return failures


def lint_failures(answers: AnswerEval) -> list[str]:
    """One failure per channel with lint defects (the gate wants none), naming the rules and the questions."""
    failures = []
    for channel in answers.channels:
        defects = [(o.qid, d.rule) for o in answers.outcomes for d in o.defects(channel)]
        if not defects:
            continue
        by_rule = {rule: sum(r == rule for _, r in defects) for rule in RULES}
        rules = ", ".join(f"{rule} {n}" for rule, n in by_rule.items() if n)
        qids = sorted({q for q, _ in defects})
        shown = ", ".join(qids[:8]) + (f" and {len(qids) - 8} more" if len(qids) > 8 else "")
        failures.append(f"lint: {len(defects)} defects in {channel} answers ({rules}); questions {shown}")
    return failures


# --- tables a person reads ---------------------------------------------------------------------------------


def fmt(e: Estimate, digits: int = 3) -> str:
    """``value [low, high]``."""
    if math.isnan(e.value):
        return "n/a"
    return f"{e.value:.{digits}f} [{e.low:.{digits}f}, {e.high:.{digits}f}]"


def split_label(split: str) -> str:
    """How a split is named in tables: the test split is locked (measured, never tuned on)."""
    return "test (locked)" if split == "test" else split


def columns(answers: AnswerEval) -> list[tuple[str, str, dict[str, Estimate]]]:
    """(split, label, metrics) for all questions, then each split the set has."""
    return [
        ("all", "all", answers.metrics),
        *((s, split_label(s), answers.by_split[s]) for s in SPLITS if s in answers.by_split),
    ]


def digits_of(name: str) -> int:
    """Decimals a metric is shown with: counts none, latency one, rates three."""
    return 0 if name.startswith("lint.") else 1 if "latency" in name else 3


def _answer_tables(answers: AnswerEval, title: str) -> list[Table]:
    cols = columns(answers)
    table = Table(title=f"{title} ({len(answers.outcomes)} questions; judge: {answers.judge}; 95% bootstrap CI)")
    table.add_column("metric")
    for split, label, _ in cols:
        table.add_column(f"{label} (n={len(answers.split_outcomes(split))})", justify="right")
    for name in ANSWER_METRICS:
        table.add_row(name, *(fmt(metrics[name], digits_of(name)) for _, _, metrics in cols))
    lint = Table(title=f"{title}: lint defects (summed over questions)")
    lint.add_column("rule")
    for channel in answers.channels:
        for _, label, _ in cols:
            lint.add_column(f"{channel} {label}", justify="right")
    for rule in (*RULES, "total"):
        lint.add_row(
            rule,
            *(f"{metrics[f'lint.{ch}.{rule}'].value:.0f}" for ch in answers.channels for _, _, metrics in cols),
        )
    return [table, lint]


def tables(result: EvalResult) -> list[Table]:
    """The run's results as rich tables: retrieval per config, paired deltas, answers per split, lint,
    cross-tenant abstention, red team, the Open edX set, BEIR."""
    out: list[Table] = []
    for title, ev in (
        ("retrieval on the golden set", result.retrieval),
        (
            f"retrieval on the {result.openedx.name} set" if result.openedx else "",
            result.openedx.retrieval if result.openedx else None,
        ),
        (
            f"retrieval on BEIR {result.beir.name}" if result.beir else "",
            result.beir.retrieval if result.beir else None,
        ),
    ):
        if ev is None:
            continue
        table = Table(title=f"{title} ({len(ev.qids)} judged queries; 95% bootstrap CI)")
        table.add_column("config")
        for metric in METRICS:
            table.add_column(metric, justify="right")
        table.add_column("p50 ms", justify="right")
        for config in ev.configs:
            if not config.configured:
                table.add_row(config.name, config.note, *[""] * len(METRICS))
                continue
            latency = f"{config.latency_ms.value:.1f}" if config.latency_ms else ""
            table.add_row(config.name, *(fmt(config.estimates[m]) for m in METRICS), latency)
        out.append(table)
        deltas = Table(title=f"{title}: paired deltas (a - b)")
        for column in ("a - b", "metric", "delta [95% CI]", "p", "significant"):
            deltas.add_column(column)
        for c in ev.comparisons:
            deltas.add_row(
                f"{c.a} - {c.b}", c.metric, fmt(c.delta, 4), f"{c.p_value:.3f}", "yes" if c.significant else "no"
            )
        out.append(deltas)
    if result.answers is not None:
        out += _answer_tables(result.answers, "answers on the golden set")
    if result.openedx is not None:
        out += _answer_tables(result.openedx.answers, f"answers on the {result.openedx.name} set")
    if result.cross_tenant:
        table = Table(title="cross-tenant: answerable questions asked to another tenant (off-topic there)")
        for column in ("asked by", "asked to", "questions", "abstained [95% CI]"):
            table.add_column(column)
        for check in result.cross_tenant:
            table.add_row(check.source, check.target, str(len(check.asked)), fmt(check.abstention))
        out.append(table)
    if result.redteam is not None:
        table = Table(title=f"red team: attack success rate ({result.redteam.probes} probes per target)")
        table.add_column("category")
        for target in result.redteam.rates:
            table.add_column(target, justify="right")
        for category in (*CATEGORIES, "all"):
            cells = []
            for target in result.redteam.rates:
                rate = result.redteam.rates[target].get(category)
                hits = sum(
                    1
                    for r in result.redteam.results
                    if r.target == target and r.succeeded and category in (r.category, "all")
                )
                upper = wilson_interval(hits, rate.n)[1] if rate else 0.0
                cells.append(f"{hits}/{rate.n} = {rate.value:.2f} (Wilson upper {upper:.2f})" if rate else "")
            table.add_row(category, *cells)
        out.append(table)
    return out


def main(
    settings: AppSettings,
    *,
    report_dir: Path | None = None,
    beir: Path | None = None,
    beir_split: str | None = None,
    samples: bool = True,
    check_gate: bool = False,
    strict: bool = False,
    save_baseline: bool = False,
    baseline: Path = BASELINE,
    golden: Path | None = None,
    openedx: bool = False,
    openedx_corpus: Path | None = None,
    redteam: bool = True,
    console: Console | None = None,
) -> int:
    """Run the evaluation with a progress bar, print the tables, optionally gate or write the baseline.

    ``openedx`` also ingests the Open edX corpus (``openedx_corpus``, default ``../shared/corpora/openedx``) as
    tenant ``openedx`` and evaluates its question set. Returns the exit code: 1 when the gate fails, 2 on a bad combination of options, else 0.
    """
    console = console or Console()
    if golden is not None and (check_gate or save_baseline):
        console.print(
            "[red]error:[/red] --golden cannot be combined with --gate or --write-baseline "
            "(the baseline is the sample golden set's)"
        )
        return 2
    if not redteam and (check_gate or save_baseline):
        console.print("[red]error:[/red] --no-redteam cannot be combined with --gate or --write-baseline")
        return 2
    if openedx and not samples:
        console.print("[red]error:[/red] --openedx evaluates next to the samples; drop --no-samples")
        return 2
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total or None)
            bar.update(tasks[stage], completed=done, total=total or None)

        result = run(
            settings,
            report_dir,
            beir,
            beir_split=beir_split,
            samples=samples,
            golden=golden,
            redteam=redteam,
            openedx=openedx,
            openedx_corpus=openedx_corpus or OPENEDX_CORPUS,
            progress=progress,
        )
    for table in tables(result):
        console.print(table)
    console.print("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items()))
    if report_dir is not None:
        console.print(f"report: {report_dir / 'report.md'} and {report_dir / 'report.html'}")
    if save_baseline:
        write_baseline(result, baseline)
        console.print(f"baseline written to {baseline}")
    if check_gate:
        failures = gate(result, baseline, strict=strict)
        for failure in failures:
            console.print(f"[red]GATE[/red] {failure}")
        console.print("[red]gate failed[/red]" if failures else "[green]gate passed[/green]")
        return 1 if failures else 0
    return 0


def _cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO / ".deskpilot" / "eval")
    parser.add_argument("--report", type=Path, default=None, help="write report.md and report.html here")
    parser.add_argument(
        "--beir", type=Path, default=None, help="a BEIR dataset folder (corpus.jsonl, queries.jsonl, qrels/)"
    )
    parser.add_argument("--beir-split", default=None, help="qrels split (default: test)")
    parser.add_argument("--no-samples", action="store_true", help="skip the sample evaluation (BEIR only)")
    parser.add_argument("--gate", action="store_true", help="exit 1 when the run fails the gate against the baseline")
    parser.add_argument("--strict", action="store_true", help="gate: hybrid must significantly beat both branches")
    parser.add_argument("--write-baseline", action="store_true", help=f"write {BASELINE.relative_to(REPO)}")
    parser.add_argument("--golden", type=Path, default=None, help="a golden set in golden.jsonl format (harvested)")
    parser.add_argument(
        "--openedx",
        action="store_true",
        help=f"also ingest the Open edX corpus as tenant openedx and evaluate {OPENEDX_GOLDEN.relative_to(REPO)} "
        "(the first ingest takes minutes)",
    )
    parser.add_argument("--openedx-corpus", type=Path, default=OPENEDX_CORPUS, help="the Open edX corpus folder")
    parser.add_argument("--no-redteam", action="store_true", help="skip the red-team probes (no gate, no baseline)")
    args = parser.parse_args()
    sys.exit(
        main(
            AppSettings.load(args.data_dir),
            report_dir=args.report,
            beir=args.beir,
            beir_split=args.beir_split,
            samples=not args.no_samples,
            check_gate=args.gate,
            strict=args.strict,
            save_baseline=args.write_baseline,
            golden=args.golden,
            openedx=args.openedx,
            openedx_corpus=args.openedx_corpus,
            redteam=not args.no_redteam,
        )
    )


if __name__ == "__main__":
    _cli()
