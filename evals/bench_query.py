"""Query benchmark (not a test): p50/p95 latency of deskpilot's retrieval and answers against llama-index's stock recipe.

    python evals/bench_query.py                        # 10k and 100k: ~13 min the first time, ~5 min after
    python evals/bench_query.py --sizes 2000 5000      # a quick run
    python evals/bench_query.py --skip-baseline

What is timed, per question, at each index size:

- ours, retrieval: ``HybridSearcher.search_prepared`` on the embedded Qdrant Edge
  index (``EdgeIndex``), filtered on one tenant; the query embedding is included.
- ours, answer: the extractive answer through ``assistant.service.AnswerService``
  (filled only when that module imports).
- baseline: the same question through llama-index's stock hybrid recipe:
  ``QdrantVectorStore`` on qdrant-client's local (in-memory) mode behind a
  ``VectorStoreIndex`` retriever, plus ``BM25Retriever`` (bm25s), fused by
  ``QueryFusionRetriever`` (reciprocal_rerank, num_queries=1, so no LLM), with
  the same tenant filter on both branches, the same candidates per branch and
  the same top-k. Its nodes carry our precomputed vectors, and its query
  embedding goes through the same sentence-transformers model as ours.

The systems take turns in blocks of ``--block`` questions (the order rotating
from block to block), so that load from other work on the machine falls on
all alike; the ratios (baseline / ours) are the figures to quote, absolute
times on a shared machine are not. Each side's time is also shown less its
query embedding, to compare the engines alone.

``EdgeIndex`` never calls Qdrant Edge's ``optimize()``, so its points stay in
appendable segments that are searched by brute force (no HNSW graph);
``--edge-optimize`` adds, at the largest size, what ``optimize()`` costs and
what the same questions take afterwards.

Corpus: the synthetic help center of ``evals/bench_ingest.py`` (sentences of
the sample articles recombined), run through the real ingest pipeline; every
article is assigned to one of four tenants. Up to ``--real-chunks`` (10k)
chunks get real embeddings, cached in the project's embedding cache under the
data dir, so reruns skip the model. Larger sizes (100k) are filled with
DERIVED points: copies of the real chunks whose dense vector gets small
Gaussian noise (then re-normalized), whose text gets a suffix of three
vocabulary words (so their BM25 vectors differ a little), and whose doc ids are
new. Embedding 100k chunks for real would take about half an hour here.

Query embedding runs with ``--torch-threads 1`` by default, on both sides: on
two cores shared with other work, torch's default of two threads makes a single
short query take 30-500 ms instead of 13 ms (its threads wait for each other
while the other work holds a core), which would bury the engines' difference in
noise. ``--torch-threads 0`` keeps torch's default.

Questions: the golden set's (``data/samples/golden.jsonl``), each filtered on
its own tenant; the baseline at large sizes is slow (qdrant-client's local mode
is a brute-force Python stand-in), so it runs as many of them as fit in
``--baseline-seconds`` per size (at least ``--baseline-min-queries``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import shutil
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from evals.bench_ingest import synthetic_corpus  # noqa: E402
from ingest.pipeline import IngestPipeline  # noqa: E402
from ingest.records import Chunk  # noqa: E402
from ingest.settings import IngestSettings  # noqa: E402
from retrieval.embedder import Embedder  # noqa: E402
from retrieval.index import EdgeIndex, point_id  # noqa: E402
from retrieval.records import IndexPoint, SearchFilter, SparseVector  # noqa: E402
from retrieval.search import HybridSearcher  # noqa: E402
from retrieval.settings import RetrievalSettings  # noqa: E402
from retrieval.sparse import Bm25Encoder  # noqa: E402
from retrieval.store import EmbeddingCache, engine_for  # noqa: E402
from retrieval.sync import embedding_text, payload_of  # noqa: E402

GOLDEN = REPO / "data" / "samples" / "golden.jsonl"
TENANTS = ("ledgerly", "parcelpoint", "northwind", "globex")
NOISE_SIGMA = 0.02
"""Per-dimension noise of derived vectors: cosine to the original is about 0.93 for 384 dimensions."""
BATCH = 1000

console = Console(width=180)


# --------------------------------------------------------------------------- corpus


@dataclass(frozen=True)
class Question:
    """A benchmark question and the tenant it is asked for."""

    text: str
    tenant: str


@dataclass
class Corpus:
    """Every point of the largest size, in order: the first ``real`` ones carry real embeddings."""

    ids: list[str]
    texts: list[str]
    """What the dense model saw (and what BM25 indexes, on both sides)."""
    payloads: list[dict[str, Any]]
    dense: np.ndarray
    sparse: list[SparseVector]
    real: int


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def real_chunks(data_dir: Path, wanted: int) -> list[Chunk]:
    """``wanted`` chunks of the synthetic help center through the real ingest pipeline (its caches make reruns fast)."""
    target = data_dir / f"corpus-{wanted}"
    # About 12 chunks per article (bench_ingest measured it); ask for a margin and cut.
    articles = max(1, int(wanted * 1.15) // 12)
    if len(list(target.glob("*.md"))) != articles:
        shutil.rmtree(target, ignore_errors=True)
        synthetic_corpus(target, articles * 12)
    pipeline = IngestPipeline(IngestSettings(data_dir=data_dir))
    started = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task("ingest synthetic corpus (load, redact, chunk)", total=None)

        def report(stage: str, done: int, total: int) -> None:
            progress.update(task, description=f"ingest synthetic corpus: {stage}", completed=done, total=total)

        prepared = pipeline.prepare([target], progress=report)
        chunks: list[Chunk] = []
        for n, document in enumerate(prepared.documents):
            tenant = TENANTS[n % len(TENANTS)]
            chunks += [dataclasses.replace(c, tenant=tenant) for c in pipeline.process(document).chunks]
            progress.update(task, description="ingest synthetic corpus: redact+chunk", completed=n + 1)
            progress.update(task, total=len(prepared.documents))
            if len(chunks) >= wanted:
                break
    if len(chunks) < wanted:
        raise SystemExit(f"the synthetic corpus gave {len(chunks)} chunks, fewer than {wanted}")
    console.print(f"ingest: {wanted} chunks in {time.perf_counter() - started:.0f} s")
    return chunks[:wanted]


def embed_real(chunks: Sequence[Chunk], embedder: Embedder) -> np.ndarray:
    """Real embeddings, from the embedding cache where present (written batch by batch, so an interrupt keeps work)."""
    texts = [embedding_text(c) for c in chunks]
    out = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    started = time.perf_counter()
    computed_before = embedder.computed
    with _progress() as progress:
        task = progress.add_task("embed real chunks (cached)", total=len(texts))
        for start in range(0, len(texts), 512):
            out[start : start + 512] = embedder.encode(texts[start : start + 512])
            progress.update(task, completed=min(len(texts), start + 512))
    computed = embedder.computed - computed_before
    console.print(
        f"embeddings: {len(texts)} in {time.perf_counter() - started:.0f} s "
        f"({computed} computed, {len(texts) - computed} from the cache)"
    )
    return out


def build_corpus(chunks: Sequence[Chunk], vectors: np.ndarray, total: int, encoder: Bm25Encoder, seed: int) -> Corpus:
    """The real points, then derived copies until ``total`` (see the module docstring)."""
    rng = np.random.default_rng(seed)
    vocabulary = sorted({w for c in chunks[:2000] for w in c.text.split() if w.isalpha() and len(w) > 3})
    ids: list[str] = []
    texts: list[str] = []
    payloads: list[dict[str, Any]] = []
    sparse: list[SparseVector] = []
    dense = np.zeros((total, vectors.shape[1]), dtype=np.float32)
    real = min(len(chunks), total)
    started = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task("build points (BM25 vectors, derived copies)", total=total)
        for n in range(total):
            chunk = chunks[n % len(chunks)]
            copy = n // len(chunks)
            if copy:
                suffix = " ".join(vocabulary[int(i)] for i in rng.integers(0, len(vocabulary), 3))
                doc_id = f"{chunk.doc_id}~copy{copy}"
                chunk = dataclasses.replace(
                    chunk,
                    doc_id=doc_id,
                    article_id=f"{chunk.article_id}~copy{copy}",
                    text=f"{chunk.text} {suffix}",
                    content_hash=f"{chunk.content_hash}~{copy}",
                    # derived documents spread over the tenants like real ones
                    tenant=TENANTS[(TENANTS.index(chunk.tenant) + copy) % len(TENANTS)],
                )
                noisy = vectors[n % len(chunks)] + np.asarray(
                    rng.normal(0.0, NOISE_SIGMA, size=(vectors.shape[1],)), dtype=np.float32
                )
                dense[n] = noisy / np.linalg.norm(noisy)
            else:
                dense[n] = vectors[n]
            text = embedding_text(chunk)
            ids.append(point_id(chunk.doc_id, chunk.chunk_no, chunk.content_hash))
            texts.append(text)
            payloads.append(payload_of(chunk))
            sparse.append(encoder.encode_document(text, chunk.locale))
            if n % 2000 == 0:
                progress.update(task, completed=n)
        progress.update(task, completed=total)
    console.print(f"points: {total} ({real} real, {total - real} derived) in {time.perf_counter() - started:.0f} s")
    return Corpus(ids, texts, payloads, dense, sparse, real)


def golden_questions() -> list[Question]:
    """The golden set's questions with their tenants."""
    rows = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Question(str(r["question"]), str(r["tenant"])) for r in rows]


# --------------------------------------------------------------------------- measurement


@dataclass
class Timings:
    """Latencies of one system at one size, in milliseconds."""

    samples: list[float] = field(default_factory=list)
    embed: list[float] = field(default_factory=list)
    """The query-embedding part of each sample (empty where not measured)."""

    def add(self, ms: float, embed_ms: float | None = None) -> None:
        """One sample, and its embedding part when known."""
        self.samples.append(ms)
        if embed_ms is not None:
            self.embed.append(embed_ms)

    def values(self, engine_only: bool = False) -> list[float]:
        """The samples, or with ``engine_only`` each sample less its query embedding."""
        if not engine_only:
            return self.samples
        return [t - e for t, e in zip(self.samples, self.embed, strict=True)] if self.embed else []

    def pct(self, q: float, engine_only: bool = False) -> float:
        """The q-th percentile (numpy's linear interpolation)."""
        values = self.values(engine_only)
        return float(np.percentile(values, q)) if values else float("nan")

    def cell(self, engine_only: bool = False) -> str:
        """``p50 / p95`` for a table."""
        if not self.values(engine_only):
            return "—"
        return f"{self.pct(50, engine_only):.1f} / {self.pct(95, engine_only):.1f}"


def _rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return (time.perf_counter() - started) * 1000, result


# --------------------------------------------------------------------------- ours


class Ours:
    """The Edge index, grown to each size in turn, and the searcher over it."""

    def __init__(self, path: Path, embedder: Embedder, settings: RetrievalSettings) -> None:
        shutil.rmtree(path, ignore_errors=True)
        self.index = EdgeIndex(path, embedder.dimension)
        self.settings = settings
        self.encoder = Bm25Encoder(settings.bm25_k1, settings.bm25_b, settings.bm25_avg_len)
        self.searcher = HybridSearcher(self.index, embedder, self.encoder, settings)
        self.size = 0

    def grow(self, corpus: Corpus, size: int) -> float:
        """Upsert points ``self.size .. size``; returns the seconds it took."""
        started = time.perf_counter()
        with _progress() as progress:
            task = progress.add_task(f"Edge upsert to {size}", total=size - self.size)
            for start in range(self.size, size, BATCH):
                stop = min(size, start + BATCH)
                self.index.upsert(
                    [
                        IndexPoint(corpus.ids[n], tuple(corpus.dense[n].tolist()), corpus.sparse[n], corpus.payloads[n])
                        for n in range(start, stop)
                    ]
                )
                progress.update(task, completed=stop - self.size)
        self.index._shard.flush()
        self.size = size
        return time.perf_counter() - started

    def info(self) -> str:
        """Segments and how many dense vectors sit in an HNSW graph."""
        info = self.index._shard.info()
        # indexed_vectors_count counts the sparse vectors too (always in an inverted index: measured,
        # it is 0 on a dense-only shard before optimize() and equals the points after it)
        dense_hnsw = max(0, info.indexed_vectors_count - info.points_count)
        return f"{info.segments_count} segment(s), dense in HNSW: {dense_hnsw:,} of {info.points_count:,}"

    def optimize(self) -> float:
        """Run Edge's segment optimizers (builds HNSW where a segment passes the indexing threshold); seconds."""
        started = time.perf_counter()
        self.index._shard.optimize()
        return time.perf_counter() - started

    def search(self, question: Question) -> tuple[float, float, list[str]]:
        """(total ms, embed ms, hit ids) of one retrieval."""
        prepared = self.searcher.prepare(question.text)
        ms, result = _timed(lambda: self.searcher.search_prepared(prepared, SearchFilter(tenant=question.tenant)))
        if any(hit.tenant != question.tenant for hit in result.hits):
            raise AssertionError(f"ours returned another tenant's chunk for {question.tenant}")
        return ms, float(result.timings_ms.get("embed", 0.0)), [hit.id for hit in result.hits]


AnswerFn = Callable[[Question], Any]


def answer_factory(ours: Ours, data_dir: Path) -> tuple[Callable[[Path], AnswerFn] | None, str]:
    """Builds extractive answerers over ``ours`` (``assistant.service.AnswerService``), or None and why not.

    Wired as ``ui.wiring.Retrieval.assistant`` does: the ingest redactor (Presidio) redacts the
    question and filters the answer's output; the answer cache is off so every question is answered.
    The extractive generator embeds the sources' sentences through the embedding cache, so each
    answerer gets the fresh cache file it is given: the first pass over the questions meets a cold
    cache (sources answered from for the first time), a second pass a warm one.
    """
    try:
        from assistant.records import Question as AssistantQuestion
        from assistant.service import AnswerService
        from assistant.settings import AssistantSettings
        from ingest.redact import Redactor
    except Exception as exc:
        return None, f"assistant.service not importable ({type(exc).__name__}: {exc})"
    try:
        redactor = Redactor(IngestSettings(data_dir=data_dir))
        redactor.redact("warm the NER model up, Jane Doe")
    except Exception as exc:
        return None, f"the redactor could not be built here ({type(exc).__name__}: {exc})"

    def redact(text: str, locale: str = "en") -> str:
        return redactor.redact(text, locale).text

    def build(cache_db: Path) -> AnswerFn:
        cache_db.unlink(missing_ok=True)
        embedder = ours.searcher.embedder
        fresh = Embedder(embedder.model_name, EmbeddingCache(engine_for(f"sqlite:///{cache_db}")), embedder.batch_size)
        settings = AssistantSettings(data_dir=data_dir, generator="extractive", cache_ttl_s=0)
        searcher = HybridSearcher(ours.index, fresh, ours.encoder, ours.settings, redact=redact)
        service = AnswerService(searcher, settings, index_version=lambda: "bench", redact=redact)

        def answer(question: Question) -> Any:
            return service.answer(AssistantQuestion(text=question.text, tenant=question.tenant, generator="extractive"))

        return answer

    try:
        build(data_dir / "answer-cache" / "probe.db")
    except Exception as exc:
        return None, f"AnswerService could not be built here ({type(exc).__name__}: {exc})"
    return build, (
        "extractive answer via assistant.service.AnswerService: question redaction (Presidio), screening, "
        "retrieval, sentence selection, citation validation, output PII filter; answer cache off; "
        "cold = source sentences not yet in the embedding cache, warm = the same questions again"
    )


# --------------------------------------------------------------------------- baseline


class Baseline:
    """llama-index's stock hybrid recipe over the same points (see the module docstring)."""

    def __init__(self, embedder: Embedder, prefetch: int, top_k: int) -> None:
        from llama_index.core import StorageContext, VectorStoreIndex
        from llama_index.core.base.embeddings.base import BaseEmbedding
        from llama_index.vector_stores.qdrant import QdrantVectorStore
        from qdrant_client import QdrantClient

        class SameModel(BaseEmbedding):  # type: ignore[misc]
            """The very sentence-transformers model deskpilot uses, as a llama-index embedding."""

            def _get_query_embedding(self, query: str) -> list[float]:
                return [float(x) for x in embedder.encode_uncached([query])[0]]

            def _get_text_embedding(self, text: str) -> list[float]:
                return self._get_query_embedding(text)

            async def _aget_query_embedding(self, query: str) -> list[float]:
                return self._get_query_embedding(query)

        self.embed_ms: list[float] = []
        embed_ms = self.embed_ms

        class TimedModel(SameModel):
            """Records how long each query embedding took, to split it out of the fused latency."""

            def _get_query_embedding(self, query: str) -> list[float]:
                started = time.perf_counter()
                vector = super()._get_query_embedding(query)
                embed_ms.append((time.perf_counter() - started) * 1000)
                return vector

        self.embed_model = TimedModel(model_name=embedder.model_id)
        # qdrant-client says its local mode ignores payload indexes; that is what is measured here
        warnings.filterwarnings("ignore", message="Payload indexes have no effect")
        self.client = QdrantClient(location=":memory:")
        self.store = QdrantVectorStore(collection_name="bench", client=self.client)
        self.index = VectorStoreIndex(
            [], storage_context=StorageContext.from_defaults(vector_store=self.store), embed_model=self.embed_model
        )
        self.prefetch, self.top_k = prefetch, top_k
        self.size = 0
        self.fusions: dict[str, Any] = {}
        self.bm25_nodes: list[Any] = []

    @staticmethod
    def _node(corpus: Corpus, n: int, with_vector: bool) -> Any:
        from llama_index.core.schema import TextNode

        metadata = {k: v for k, v in corpus.payloads[n].items() if k not in ("text", "section_path")}
        return TextNode(
            id_=corpus.ids[n],
            text=corpus.texts[n],
            metadata=metadata,
            embedding=corpus.dense[n].tolist() if with_vector else None,
            # what BM25 and the model see is the text alone, as on our side
            excluded_embed_metadata_keys=list(metadata),
            excluded_llm_metadata_keys=list(metadata),
        )

    def grow(self, corpus: Corpus, size: int, tenants: Sequence[str]) -> float:
        """Add points ``self.size .. size`` to the vector store, rebuild BM25 (bm25s has no incremental add)."""
        from llama_index.core.llms import MockLLM
        from llama_index.core.retrievers import QueryFusionRetriever
        from llama_index.core.vector_stores import MetadataFilter, MetadataFilters
        from llama_index.retrievers.bm25 import BM25Retriever

        started = time.perf_counter()
        with _progress() as progress:
            task = progress.add_task(f"baseline: qdrant-client local add to {size}", total=size - self.size)
            for start in range(self.size, size, BATCH):
                stop = min(size, start + BATCH)
                self.index.insert_nodes([self._node(corpus, n, True) for n in range(start, stop)])
                self.bm25_nodes += [self._node(corpus, n, False) for n in range(start, stop)]
                progress.update(task, completed=stop - self.size)
        console.print(f"baseline: vector store at {size} in {time.perf_counter() - started:.0f} s; building BM25")
        self.fusions = {}
        bm25: Any = None
        for tenant in tenants:
            filters = MetadataFilters(filters=[MetadataFilter(key="tenant", value=tenant)])
            if bm25 is None:
                first = BM25Retriever.from_defaults(
                    nodes=self.bm25_nodes, similarity_top_k=self.prefetch, filters=filters
                )
                bm25 = first.bm25
                bm25.corpus = first.corpus
                keyword = first
            else:
                # the same bm25s index, with this tenant's filter mask (as from_defaults would build it)
                keyword = BM25Retriever(existing_bm25=bm25, similarity_top_k=self.prefetch, filters=filters)
            self.fusions[tenant] = QueryFusionRetriever(
                [self.index.as_retriever(similarity_top_k=self.prefetch, filters=filters), keyword],
                llm=MockLLM(),
                mode="reciprocal_rerank",  # type: ignore[arg-type]
                num_queries=1,
                similarity_top_k=self.top_k,
                use_async=False,
            )
        self.size = size
        return time.perf_counter() - started

    def search(self, question: Question) -> tuple[float, float, list[str]]:
        """(total ms, embed ms, hit ids) of one fused retrieval."""
        self.embed_ms.clear()
        ms, nodes = _timed(lambda: self.fusions[question.tenant].retrieve(question.text))
        if any(n.node.metadata.get("tenant") != question.tenant for n in nodes):
            raise AssertionError(f"the baseline returned another tenant's chunk for {question.tenant}")
        return ms, sum(self.embed_ms), [n.node.node_id for n in nodes]


# --------------------------------------------------------------------------- run


@dataclass
class Row:
    """Everything measured at one size."""

    size: int
    real: int
    ours: Timings
    answer: Timings
    answer_warm: Timings
    baseline: Timings
    edge_build_s: float
    edge_rss_mb: float
    edge_info: str
    baseline_build_s: float = float("nan")
    baseline_rss_mb: float = float("nan")
    hits: list[int] = field(default_factory=list)
    overlap: list[float] = field(default_factory=list)
    """Share of the baseline's top-k that ours returned too, per question (a sanity check, not a quality metric)."""
    answer_stages: dict[str, list[float]] = field(default_factory=dict)
    optimized: Timings | None = None
    optimize_s: float = float("nan")
    optimized_info: str = ""


def measure(
    size: int,
    corpus: Corpus,
    ours: Ours,
    baseline: Baseline | None,
    answer: Callable[[Question], Any] | None,
    questions: Sequence[Question],
    args: argparse.Namespace,
    optimize: bool = False,
) -> Row:
    """Grow both indexes to ``size``, warm up, then time the questions in turn on each side."""
    rss = _rss_mb()
    edge_s = ours.grow(corpus, size)
    row = Row(
        size, min(size, corpus.real), Timings(), Timings(), Timings(), Timings(), edge_s, _rss_mb() - rss, ours.info()
    )
    if baseline is not None:
        rss = _rss_mb()
        row.baseline_build_s = baseline.grow(corpus, size, sorted({q.tenant for q in questions}))
        row.baseline_rss_mb = _rss_mb() - rss
    warm, timed = questions[-args.warmup :], questions[: args.queries]
    for q in warm:
        ours.search(q)
        if answer is not None:
            answer(q)
    baseline_n = 0
    if baseline is not None:
        one = [baseline.search(q)[0] for q in warm[:3]]
        per_query_s = statistics.median(one) / 1000
        baseline_n = max(args.baseline_min_queries, min(len(timed), int(args.baseline_seconds / per_query_s)))
        console.print(f"baseline at {size}: ~{per_query_s * 1000:.0f} ms per query after warm-up -> {baseline_n} timed")
    with _progress() as progress:
        task = progress.add_task(f"queries at {size}", total=len(timed))
        ids: dict[str, dict[int, list[str]]] = {"ours": {}, "baseline": {}}

        def run_ours(n: int, q: Question) -> None:
            ms, embed_ms, ids["ours"][n] = ours.search(q)
            row.ours.add(ms, embed_ms)
            row.hits.append(len(ids["ours"][n]))
            progress.update(task, completed=n + 1)

        def run_answer(n: int, q: Question) -> None:
            assert answer is not None
            ms, result = _timed(lambda: answer(q))
            row.answer.add(ms)
            for stage, stage_ms in getattr(result, "timings_ms", {}).items():
                row.answer_stages.setdefault(stage, []).append(float(stage_ms))

        def run_baseline(n: int, q: Question) -> None:
            assert baseline is not None
            if n < baseline_n:
                ms, embed_ms, ids["baseline"][n] = baseline.search(q)
                row.baseline.add(ms, embed_ms)

        systems: list[Callable[[int, Question], None]] = [run_ours]
        if answer is not None:
            systems.append(run_answer)
        if baseline is not None:
            systems.append(run_baseline)
        # Blocks of a few questions, each system in turn, the order rotating from block to block: load
        # from other work falls on all systems alike, and so does whatever one system's call leaves
        # behind for the next (freed memory, cold caches), which only the first call of a block meets.
        for b, start in enumerate(range(0, len(timed), args.block)):
            for system in systems[b % len(systems) :] + systems[: b % len(systems)]:
                for n in range(start, min(len(timed), start + args.block)):
                    system(n, timed[n])
        if answer is not None:
            for q in timed:
                row.answer_warm.add(_timed(lambda q=q: answer(q))[0])  # type: ignore[misc]
        for n, baseline_ids in ids["baseline"].items():
            if baseline_ids:
                row.overlap.append(len(set(ids["ours"][n]) & set(baseline_ids)) / len(baseline_ids))
    if optimize:
        row.optimize_s = ours.optimize()
        row.optimized_info = ours.info()
        row.optimized = Timings()
        for q in warm:
            ours.search(q)
        for q in timed:
            ms, embed_ms, _ = ours.search(q)
            row.optimized.add(ms, embed_ms)
    return row


def _ratio(baseline: Timings, ours: Timings, q: float, engine_only: bool = False) -> str:
    if not baseline.values(engine_only) or not ours.values(engine_only):
        return "—"
    return f"{baseline.pct(q, engine_only) / ours.pct(q, engine_only):.1f}x"


def print_tables(rows: Sequence[Row], answer_note: str, skip_baseline: bool, threads: int) -> None:
    """The latency table, the ratio table, the build/memory table (and the optimize() table if asked)."""
    derived = any(r.size > r.real for r in rows)
    caption = (
        "chunks above the real ones are DERIVED: copies of real chunks with noisy re-normalized vectors, "
        "a 3-word text suffix and new doc ids (see the script's docstring)"
        if derived
        else "all chunks embedded for real"
    )
    table = Table(
        title=f"query latency, ms, p50 / p95 (one tenant filter per question; torch threads: {threads})",
        caption=caption,
    )
    for column in (
        "chunks",
        "ours: retrieval",
        "ours: less query embed",
        "ours: answer (cold)",
        "ours: answer (warm)",
        "baseline: llama-index",
        "baseline: less query embed",
        "queries ours / baseline",
    ):
        table.add_column(column, justify="right", no_wrap=column == "chunks")
    for r in rows:
        table.add_row(
            f"{r.size:,} ({r.real:,} real)" if r.size > r.real else f"{r.size:,}",
            r.ours.cell(),
            r.ours.cell(engine_only=True),
            r.answer.cell() if r.answer.samples else "— (see note)",
            r.answer_warm.cell() if r.answer_warm.samples else "—",
            r.baseline.cell() if r.baseline.samples else ("skipped" if skip_baseline else "—"),
            r.baseline.cell(engine_only=True) if r.baseline.samples else "",
            f"{len(r.ours.samples)} / {len(r.baseline.samples)}",
        )
    console.print(table)
    console.print(f"answer column: {answer_note}")
    for r in rows:
        stages = ", ".join(f"{k} {statistics.median(v):.1f}" for k, v in r.answer_stages.items() if k != "total")
        overlap = f"{statistics.mean(r.overlap):.0%}" if r.overlap else "—"
        console.print(
            f"{r.size:,} chunks: ours returned {statistics.mean(r.hits):.1f} hits per question; "
            f"top-k shared with the baseline: {overlap}" + (f"; cold answer stages p50 ms: {stages}" if stages else "")
        )
    if not skip_baseline:
        ratios = Table(title="baseline / ours, measured in the same run (the figures to quote)")
        for column in (
            "chunks",
            "retrieval p50",
            "retrieval p95",
            "less query embed p50",
            "less query embed p95",
            "baseline retrieval / our cold answer p50",
            "p95",
        ):
            ratios.add_column(column, justify="right")
        for r in rows:
            ratios.add_row(
                f"{r.size:,}",
                _ratio(r.baseline, r.ours, 50),
                _ratio(r.baseline, r.ours, 95),
                _ratio(r.baseline, r.ours, 50, engine_only=True),
                _ratio(r.baseline, r.ours, 95, engine_only=True),
                _ratio(r.baseline, r.answer, 50),
                _ratio(r.baseline, r.answer, 95),
            )
        console.print(ratios)
    build = Table(title="index build and memory (RSS this process gained while building)")
    for column in ("chunks", "Edge upsert s", "Edge RSS +MB", "Edge shard", "baseline build s", "baseline RSS +MB"):
        build.add_column(column, justify="right")
    for r in rows:
        build.add_row(
            f"{r.size:,}",
            f"{r.edge_build_s:.1f}",
            f"{r.edge_rss_mb:.0f}",
            r.edge_info,
            f"{r.baseline_build_s:.1f}" if r.baseline.samples else "—",
            f"{r.baseline_rss_mb:.0f}" if r.baseline.samples else "—",
        )
    console.print(build)
    if any(r.optimized for r in rows):
        opt = Table(title="Edge after shard.optimize() (EdgeIndex does not call it today): ours retrieval, ms")
        for column in (
            "chunks",
            "optimize() s",
            "shard after",
            "p50 / p95 before",
            "p50 / p95 after",
            "less embed, after",
        ):
            opt.add_column(column, justify="right")
        for r in rows:
            if r.optimized:
                opt.add_row(
                    f"{r.size:,}",
                    f"{r.optimize_s:.1f}",
                    r.optimized_info,
                    r.ours.cell(),
                    r.optimized.cell(),
                    r.optimized.cell(engine_only=True),
                )
        console.print(opt)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(f"peak RSS of this process: {peak_mb:.0f} MB (all sizes, both systems, the model and the corpus)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000], help="index sizes, in chunks")
    parser.add_argument("--real-chunks", type=int, default=10_000, help="chunks embedded for real (the rest derived)")
    parser.add_argument("--queries", type=int, default=60, help="timed questions per size (ours)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up questions per size (not timed)")
    parser.add_argument(
        "--baseline-seconds", type=float, default=120.0, help="time budget of the baseline's timed queries per size"
    )
    parser.add_argument("--baseline-min-queries", type=int, default=15)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--block", type=int, default=5, help="questions per system turn (systems take turns)")
    parser.add_argument(
        "--edge-optimize",
        action="store_true",
        help="at the largest size, also time Edge after shard.optimize() (builds HNSW)",
    )
    parser.add_argument("--data-dir", type=Path, default=REPO / ".deskpilot" / "bench", help="corpus, caches, index")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--torch-threads",
        type=int,
        default=1,
        help="torch intra-op threads for query embedding on both sides (0 = torch's default); see the docstring",
    )
    args = parser.parse_args()
    import torch

    started = time.perf_counter()
    sizes = sorted(set(args.sizes))
    data_dir: Path = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)

    questions = golden_questions()
    if args.queries + args.warmup > len(questions):
        raise SystemExit(f"{len(questions)} golden questions: --queries + --warmup must not exceed that")
    settings = RetrievalSettings(data_dir=data_dir)
    embedder = Embedder(
        settings.embedding_model,
        EmbeddingCache(engine_for(settings.resolved_database_url())),
        settings.embedding_batch_size,
    )
    chunks = real_chunks(data_dir, min(args.real_chunks, sizes[-1]))
    vectors = embed_real(chunks, embedder)  # with torch's default threads: batches use both cores well
    embedder.limit_threads(args.torch_threads or None)
    threads = int(torch.get_num_threads())
    encoder = Bm25Encoder(settings.bm25_k1, settings.bm25_b, settings.bm25_avg_len)
    corpus = build_corpus(chunks, vectors, sizes[-1], encoder, args.seed)
    del chunks, vectors

    ours = Ours(data_dir / "edge", embedder, settings)
    build_answerer, answer_note = answer_factory(ours, data_dir)
    console.print(f"answers: {answer_note}")
    baseline = None if args.skip_baseline else Baseline(embedder, settings.prefetch_limit, settings.top_k)
    rows = []
    for size in sizes:
        console.rule(f"{size:,} chunks")
        last = size == sizes[-1]
        rows.append(
            measure(
                size,
                corpus,
                ours,
                baseline,
                build_answerer(data_dir / "answer-cache" / f"{size}.db") if build_answerer else None,
                questions,
                args,
                optimize=args.edge_optimize and last,
            )
        )
    ours.index.close()
    print_tables(rows, answer_note, args.skip_baseline, threads)
    console.print(f"total run time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
