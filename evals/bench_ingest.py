"""Ingest benchmark (not a test): prints a table of throughput ratios and peak memory.

    python evals/bench_ingest.py                 # samples + synthetic 10k-chunk corpus
    python evals/bench_ingest.py --chunks 2000   # a smaller synthetic corpus
    python evals/bench_ingest.py --samples-only

For each corpus it runs, alternately and twice: a first ingest end to end
(each in a fresh data dir) and the embedding model alone on the very chunks
that ingest produced; then a re-ingest of the unchanged corpus. Rates are the
means of the two rounds, so drift of the shared machine between the two
kinds of run cancels out. Figures are ratios within one run, so they hold on
a noisy shared machine where absolute times do not.
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ingest.loaders import discover  # noqa: E402
from ingest.pipeline import IngestPipeline  # noqa: E402
from retrieval.sync import embedding_text  # noqa: E402
from ui.settings import AppSettings  # noqa: E402
from ui.wiring import IngestRun, Retrieval, ingest_paths  # noqa: E402

SAMPLES = REPO / "data" / "samples" / "helpcenter"


def synthetic_corpus(target: Path, chunks: int, seed: int = 7) -> Path:
    """Markdown articles recombined from the sample help center's sentences (deterministic)."""
    sentences: list[str] = []
    for path in discover([SAMPLES]):
        if path.suffix == ".md":
            body = path.read_text(encoding="utf-8").split("---", 2)[-1]
            sentences += [s.strip() for s in re.split(r"(?<=[.!?])\s+", body) if 40 < len(s.strip()) < 300]
    rng = random.Random(seed)
    target.mkdir(parents=True, exist_ok=True)
    # Sentences drawn from real articles carry their own headings and lists, so an
    # article of 8 sections of ~50-100 words yields about 12 chunks (measured).
    for n in range(max(1, chunks // 12)):
        lines = [
            "---",
            f"id: SYN-{n:05d}",
            f"title: Synthetic article {n}",
            "tenant: bench",
            "product: books",
            "locale: en",
            "section: Benchmark",
            "updated_at: 2026-01-01",
            "---",
            f"# Synthetic article {n}",
        ]
        for section in range(8):
            lines.append(f"\n## Part {section}\n")
            words = 0
            while words < 50:
                sentence = rng.choice(sentences)
                lines.append(sentence)
                words += len(sentence.split())
        (target / f"article-{n:05d}.md").write_text("\n".join(lines), encoding="utf-8")
    return target


def _first_ingest(corpus: Path, state: Path) -> tuple[IngestRun, float, Retrieval]:
    """A first ingest into a fresh data dir, models warmed so that only ingest work is timed."""
    settings = AppSettings.load(state)
    pipeline = IngestPipeline(settings.ingest)
    retrieval = Retrieval(settings)
    _ = retrieval.embedder.model, retrieval.index, pipeline.redactor, pipeline.token_counter
    started = time.perf_counter()
    run = ingest_paths([corpus], settings, pipeline=pipeline, retrieval=retrieval)
    return run, time.perf_counter() - started, retrieval


def bench(name: str, corpus: Path, rounds: int = 2) -> dict[str, float | str]:
    """Rounds of (first ingest, embedding alone on its chunks), then an unchanged re-ingest."""
    first_seconds: list[float] = []
    embed_seconds: list[float] = []
    with tempfile.TemporaryDirectory() as states:
        for round_no in range(rounds):
            first, seconds, retrieval = _first_ingest(corpus, Path(states) / str(round_no))
            first_seconds.append(seconds)
            chunks = first.result.chunks
            started = time.perf_counter()
            retrieval.embedder.encode_uncached([embedding_text(c) for c in chunks])
            embed_seconds.append(time.perf_counter() - started)
            if round_no < rounds - 1:
                retrieval.close()
        started = time.perf_counter()
        again = ingest_paths([corpus], retrieval.settings, retrieval=retrieval)
        again_seconds = time.perf_counter() - started
        retrieval.close()
    assert again.sync.embeddings_computed == 0 and again.sync.chunks_unchanged == len(chunks)
    first_mean = sum(first_seconds) / rounds
    embed_rate = len(chunks) / (sum(embed_seconds) / rounds)
    e2e_rates = [len(chunks) / s for s in first_seconds]
    embed_rates = [len(chunks) / s for s in embed_seconds]
    return {
        "corpus": name,
        "chunks": len(chunks),
        "embed_rate": embed_rate,
        "e2e_rate": len(chunks) / first_mean,
        "ratio": len(chunks) / first_mean / embed_rate,
        "rounds": " ".join(f"{e / b:.2f}" for e, b in zip(e2e_rates, embed_rates, strict=True)),
        "reingest_ratio": again_seconds / first_mean,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=10_000, help="size of the synthetic corpus")
    parser.add_argument("--samples-only", action="store_true")
    args = parser.parse_args()
    console = Console(width=160)
    rows = [bench("data/samples", SAMPLES)]
    if not args.samples_only:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(bench("synthetic", synthetic_corpus(Path(tmp), args.chunks)))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    table = Table(title="deskpilot ingest benchmark (ratios within one run)")
    columns = (
        "corpus",
        "chunks",
        "embedding-only chunks/s",
        "end-to-end chunks/s",
        "e2e / embed",
        "e2e / embed per round",
        "re-ingest / first",
    )
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            str(row["corpus"]),
            f"{row['chunks']:.0f}",
            f"{row['embed_rate']:.1f}",
            f"{row['e2e_rate']:.1f}",
            f"{row['ratio']:.2f}",
            str(row["rounds"]),
            f"{row['reingest_ratio']:.3f} ({1 / float(row['reingest_ratio']):.0f}x faster)",
        )
    console.print(table)
    console.print(f"peak RSS of this process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
