"""Retrieval metrics per configuration (dense, BM25, hybrid, hybrid + reranker), computed by ranx.

Every configuration searches the same engine with the same filters; only the branch weights (and the
reranker) change. Rankings are scored at article level: the chunks of an article collapse to the rank
of its first chunk, and the article ids (BEIR document ids) are matched against the qrels.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import groupby

from ranx import Qrels, Run, evaluate

from evals.datasets import Dataset, EvalQuery
from evals.stats import Comparison, Estimate, bootstrap_mean, bootstrap_percentile, paired_bootstrap
from retrieval.records import Hit, SearchFilter, SearchResult
from retrieval.search import HybridSearcher
from retrieval.sparse import Bm25Encoder
from ui.wiring import Retrieval

METRICS = ("recall@5", "precision@5", "mrr@10", "ndcg@10")
DEPTH = 10
"""Articles per ranking that are scored (the deepest cut-off of METRICS)."""
NO_RESULT = "__no_result__"

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Config:
    """One retrieval configuration: branch weights (None = the settings') and whether to rerank."""

    name: str
    weights: tuple[float, float] | None
    rerank: bool = False


@dataclass(frozen=True)
class ConfigResult:
    """One configuration's per-query scores, their means with intervals, rankings and latencies."""

    name: str
    configured: bool
    note: str = ""
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    """Metric -> query id -> score."""
    estimates: dict[str, Estimate] = field(default_factory=dict)
    rankings: dict[str, list[str]] = field(default_factory=dict)
    """Query id -> article ids, best first (at most DEPTH)."""
    latency_ms: Estimate | None = None
    """Median search latency (query embedding included)."""

    def per_query(self, metric: str, qids: Sequence[str]) -> list[float]:
        """Scores of ``metric`` in the order of ``qids``."""
        return [self.scores[metric][q] for q in qids]


@dataclass(frozen=True)
class RetrievalEval:
    """All configurations on one dataset, with paired comparisons of hybrid against each branch."""

    dataset: str
    qids: tuple[str, ...]
    qrels: dict[str, dict[str, int]]
    questions: dict[str, str]
    configs: tuple[ConfigResult, ...]
    comparisons: tuple[Comparison, ...]

    def config(self, name: str) -> ConfigResult:
        """The result of the configuration called ``name``."""
        for result in self.configs:
            if result.name == name:
                return result
        raise KeyError(name)

    def comparison(self, a: str, b: str, metric: str) -> Comparison | None:
        """The paired comparison ``a - b`` on ``metric``, if it was run."""
        return next((c for c in self.comparisons if (c.a, c.b, c.metric) == (a, b, metric)), None)


CONFIGS = (
    Config("dense", (1.0, 0.0)),
    Config("bm25", (0.0, 1.0)),
    Config("hybrid", None),
    Config("hybrid+reranker", None, rerank=True),
)
"""dense-only, BM25-only, hybrid with the settings' weights, and hybrid + the configured reranker."""


def plain_searcher(retrieval: Retrieval) -> HybridSearcher:
    """The hybrid searcher of ``retrieval`` without a reranker, whatever the settings say."""
    r = retrieval.settings.retrieval.model_copy(update={"reranker_model": ""})
    return HybridSearcher(
        retrieval.index,
        retrieval.embedder,
        Bm25Encoder(r.bm25_k1, r.bm25_b, r.bm25_avg_len),
        r,
        redact=retrieval.redact,
    )


def _ties_by_id(hits: Sequence[Hit]) -> list[Hit]:
    """``hits`` with each run of equal scores ordered by point id.

    Weighted RRF often gives two chunks the same fused score (rank 3 + rank 7 = rank 7 + rank 3), and the
    engine returns such ties in no fixed order; ordering them by id makes every run score the same.
    """
    ordered: list[Hit] = []
    for _, group in groupby(hits, key=lambda h: (h.rerank_score, round(h.fused_score, 12))):
        ordered += sorted(group, key=lambda h: h.id)
    return ordered


def article_ranking(result: SearchResult, depth: int = DEPTH) -> list[str]:
    """Article ids in the order of their first chunk (ties by chunk id), at most ``depth`` of them."""
    ranked: list[str] = []
    for hit in _ties_by_id(result.hits):
        if hit.article_id and hit.article_id not in ranked:
            ranked.append(hit.article_id)
            if len(ranked) == depth:
                break
    return ranked


def score_rankings(qrels: dict[str, dict[str, int]], rankings: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    """ranx per-query scores of METRICS: metric -> query id -> score."""
    run_dict = {
        qid: ({doc: float(len(ranked) - i) for i, doc in enumerate(ranked)} if ranked else {NO_RESULT: 0.0})
        for qid, ranked in ((q, rankings.get(q, [])) for q in qrels)
    }
    run = Run(run_dict, name="run")
    evaluate(Qrels(qrels), run, list(METRICS), return_mean=False, save_results_in_run=True, threads=1)
    return {m: {qid: float(run.scores[m][qid]) for qid in qrels} for m in METRICS}


def _search_all(
    searcher: HybridSearcher,
    queries: Sequence[tuple[EvalQuery, str]],
    weights: tuple[float, float] | None,
    limit: int,
    tick: Callable[[], None],
) -> tuple[dict[str, list[str]], list[float]]:
    rankings: dict[str, list[str]] = {}
    latencies: list[float] = []
    for query, prepared in queries:
        flt = SearchFilter(tenant=query.tenant, locales=(query.locale,) if query.locale else ())
        clock = time.perf_counter()
        result = searcher.search_prepared(prepared, flt, limit=limit, weights=weights)
        latencies.append((time.perf_counter() - clock) * 1000)
        rankings[query.qid] = article_ranking(result)
        tick()
    return rankings, latencies


def evaluate_retrieval(
    retrieval: Retrieval,
    dataset: Dataset,
    *,
    resamples: int = 2000,
    seed: int = 0,
    progress: Progress | None = None,
) -> RetrievalEval:
    """Run every configuration over the judged questions of ``dataset`` and score them with ranx."""
    judged = dataset.judged
    if not judged:
        raise ValueError(f"{dataset.name}: no question has a relevant article")
    qrels = dataset.qrels()
    qids = tuple(q.qid for q in judged)
    base = plain_searcher(retrieval)
    prepared = [(q, base.prepare(q.text)) for q in judged]
    # Ask for as many chunks as the engine fetches anyway, so DEPTH distinct articles remain after collapsing.
    limit = max(retrieval.settings.retrieval.prefetch_limit, DEPTH)
    configs = CONFIGS
    results: list[ConfigResult] = []
    done, total = 0, len(prepared) * len(configs)

    def tick() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(f"retrieval {dataset.name}", done, total)

    for config in configs:
        searcher = base
        if config.rerank:
            if not retrieval.settings.retrieval.reranker_model:
                results.append(ConfigResult(config.name, False, "not configured (set DESKPILOT_RERANKER_MODEL)"))
                for _ in prepared:
                    tick()
                continue
            searcher = retrieval.searcher()
        rankings, latencies = _search_all(searcher, prepared, config.weights, limit, tick)
        scores = score_rankings(qrels, rankings)
        estimates = {m: bootstrap_mean([scores[m][q] for q in qids], resamples=resamples, seed=seed) for m in METRICS}
        latency = bootstrap_percentile(latencies, 50, resamples=resamples, seed=seed)
        results.append(ConfigResult(config.name, True, "", scores, estimates, rankings, latency))
    by_name = {r.name: r for r in results if r.configured}
    pairs = [("hybrid", "dense"), ("hybrid", "bm25"), ("hybrid+reranker", "hybrid")]
    comparisons = tuple(
        paired_bootstrap(
            by_name[a].per_query(m, qids),
            by_name[b].per_query(m, qids),
            names=(a, b),
            metric=m,
            resamples=resamples,
            seed=seed,
        )
        for a, b in pairs
        if a in by_name and b in by_name
        for m in METRICS
    )
    return RetrievalEval(
        dataset.name,
        qids,
        qrels,
        {q.qid: q.text for q in judged},
        tuple(results),
        comparisons,
    )
