"""Sweep reciprocal rank fusion's k and branch weights on the golden set against dense-only retrieval.

    .venv/bin/python -m evals.sweep_fusion [--data-dir DIR]

Ingests ``data/samples/helpcenter`` into the data dir if its index is empty, then scores nDCG@10 (ranx,
article level, as ``deskpilot eval run`` does) for dense-only and for each (k, dense weight, BM25 weight),
with the paired bootstrap delta against dense. The two half-set columns (golden questions in even and
odd positions) show whether a setting's gain holds on both halves or is noise of one of them. Picking
the fusion settings on the same questions that then judge them would overfit: read this as evidence of
whether any fusion setting beats dense here, not as a tuner.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.table import Table

from evals.datasets import load_golden
from evals.retrieval_eval import article_ranking, plain_searcher, score_rankings
from evals.stats import paired_bootstrap
from retrieval.records import SearchFilter
from retrieval.search import HybridSearcher
from retrieval.sparse import Bm25Encoder
from ui.settings import AppSettings
from ui.wiring import Retrieval, ingest_paths

REPO = Path(__file__).resolve().parent.parent
HELPCENTER = REPO / "data" / "samples" / "helpcenter"
KS = (10, 30, 60, 100)
WEIGHTS = ((1.0, 1.0), (1.0, 0.7), (1.0, 0.5), (1.0, 0.3), (0.7, 1.0))


def main() -> None:
    """Print the sweep table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO / ".deskpilot" / "tune")
    args = parser.parse_args()
    settings = AppSettings.load(args.data_dir)
    console = Console(width=150)
    dataset = load_golden()
    judged, qrels = dataset.judged, dataset.qrels()
    qids = [q.qid for q in judged]
    halves = (qids[0::2], qids[1::2])
    with Retrieval(settings) as retrieval:
        if retrieval.index.count() == 0:
            console.print(f"indexing {HELPCENTER} into {args.data_dir} ...")
            ingest_paths([HELPCENTER], settings, retrieval=retrieval)
        base = plain_searcher(retrieval)
        prepared = [(q, base.prepare(q.text)) for q in judged]

        def ndcg(k: int, weights: tuple[float, float]) -> dict[str, float]:
            r = base.settings.model_copy(update={"rrf_k": k})
            searcher = HybridSearcher(
                retrieval.index,
                retrieval.embedder,
                Bm25Encoder(r.bm25_k1, r.bm25_b, r.bm25_avg_len),
                r,
                redact=retrieval.redact,
            )
            rankings: dict[str, list[str]] = {}
            for query, text in prepared:
                flt = SearchFilter(tenant=query.tenant, locales=(query.locale,) if query.locale else ())
                result = searcher.search_prepared(text, flt, limit=max(r.prefetch_limit, 10), weights=weights)
                rankings[query.qid] = article_ranking(result)
            return score_rankings(qrels, rankings)["ndcg@10"]

        dense = ndcg(base.settings.rrf_k, (1.0, 0.0))
        table = Table(title=f"nDCG@10 on {len(qids)} judged golden questions; dense-only = {_mean(dense, qids):.4f}")
        for column in ("k", "dense w", "BM25 w", "nDCG@10", "delta vs dense [95% CI]", "p", "even half", "odd half"):
            table.add_column(column, justify="right")
        for k in KS:
            for weights in WEIGHTS:
                scores = ndcg(k, weights)
                c = paired_bootstrap([scores[q] for q in qids], [dense[q] for q in qids])
                d = c.delta
                table.add_row(
                    str(k),
                    f"{weights[0]:.1f}",
                    f"{weights[1]:.1f}",
                    f"{_mean(scores, qids):.4f}",
                    f"{d.value:+.4f} [{d.low:+.4f}, {d.high:+.4f}]",
                    f"{c.p_value:.3f}",
                    *(f"{_mean(scores, h) - _mean(dense, h):+.4f}" for h in halves),
                )
    console.print(table)


def _mean(scores: dict[str, float], qids: list[str]) -> float:
    return sum(scores[q] for q in qids) / len(qids)


if __name__ == "__main__":
    main()
