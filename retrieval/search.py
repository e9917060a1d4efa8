"""Hybrid search: one engine call fuses dense and BM25 candidates; hits keep both branches' evidence."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from retrieval.embedder import Embedder
from retrieval.index import HybridRequest, VectorIndex
from retrieval.records import BranchHit, Hit, ScoredChunk, SearchFilter, SearchResult
from retrieval.settings import RetrievalSettings
from retrieval.sparse import Bm25Encoder

QueryRedactor = Callable[[str], str]
"""Turns a raw query into one safe to search, cache and log (PII replaced by placeholders)."""
Exclusions = Callable[[str], tuple[str, ...]]
"""The doc ids of a tenant that no query may return (``retrieval.content.ContentState.excluded``)."""


def _no_redaction(text: str) -> str:
    return text


class Reranker:
    """A sentence-transformers CrossEncoder that rescores (query, chunk) pairs; loaded from a local path."""

    def __init__(self, model: str) -> None:
        from sentence_transformers import CrossEncoder

        try:
            self._model = CrossEncoder(model, local_files_only=True)
        except Exception as exc:
            raise RuntimeError(
                f"DESKPILOT_RERANKER_MODEL={model!r} could not be loaded as a CrossEncoder ({exc}); "
                "give the path of a downloaded model directory, or leave it empty to turn reranking off"
            ) from exc

    def scores(self, query: str, texts: list[str]) -> list[float]:
        """Relevance of each text to the query (higher is better)."""
        if not texts:
            return []
        return [float(s) for s in self._model.predict([(query, t) for t in texts], show_progress_bar=False)]


class HybridSearcher:
    """Query -> redacted query -> dense + BM25 vectors -> one fused engine query -> capped, explained hits."""

    def __init__(
        self,
        index: VectorIndex,
        embedder: Embedder,
        encoder: Bm25Encoder,
        settings: RetrievalSettings,
        redact: QueryRedactor | None = None,
        reranker: Reranker | None = None,
        excluded: Exclusions | None = None,
    ) -> None:
        self.index, self.embedder, self.encoder, self.settings = index, embedder, encoder, settings
        self._redact = redact or _no_redaction
        self.excluded = excluded
        """Disabled and deleted documents per tenant, read at every search (None: none)."""
        self.reranker = reranker
        if reranker is None and settings.reranker_model:
            self.reranker = Reranker(settings.reranker_model)

    def payloads(self) -> Iterator[dict[str, Any]]:
        """Every point's payload except those of excluded documents (what answers may know of the help center)."""
        cache: dict[str, frozenset[str]] = {}
        for payload in self.index.payloads():
            tenant = str(payload.get("tenant", ""))
            if tenant not in cache:
                cache[tenant] = frozenset(self.excluded(tenant)) if self.excluded else frozenset()
            if payload.get("doc_id") not in cache[tenant]:
                yield payload

    def prepare(self, query: str) -> str:
        """The query as it may be searched, cached and logged: PII redacted, whitespace collapsed."""
        return " ".join(self._redact(query).split())

    def search(self, query: str, search_filter: SearchFilter, limit: int | None = None) -> SearchResult:
        """Redact, then search."""
        clock = time.perf_counter()
        prepared = self.prepare(query)
        redact_ms = _lap(clock)
        result = self.search_prepared(prepared, search_filter, limit)
        result.timings_ms["redact"] = redact_ms
        return result

    def search_prepared(
        self,
        query: str,
        search_filter: SearchFilter,
        limit: int | None = None,
        weights: tuple[float, float] | None = None,
        rerank: bool = True,
    ) -> SearchResult:
        """Search an already prepared query; ``weights`` (dense, bm25) overrides the settings, e.g. for ablations;
        ``rerank=False`` skips the reranker (a tenant's ``reranker_enabled`` flag)."""
        s = self.settings
        limit = limit or s.top_k
        if self.excluded is not None:
            hidden = self.excluded(search_filter.tenant)
            if hidden:
                search_filter = replace(
                    search_filter, exclude_doc_ids=tuple(sorted({*search_filter.exclude_doc_ids, *hidden}))
                )
        dense_weight, sparse_weight = weights or (s.dense_weight, s.sparse_weight)
        timings: dict[str, float] = {}
        clock = time.perf_counter()
        vector = self.embedder.encode_uncached([query])[0]
        locale = search_filter.locales[0] if len(search_filter.locales) == 1 else "en"
        sparse = self.encoder.encode_query(query, locale)
        timings["embed"] = _lap(clock)
        clock = time.perf_counter()
        # Ask the engine for more than `limit` so the per-section cap and the floor can still fill it.
        candidates = self.index.hybrid(
            HybridRequest(
                dense=[float(x) for x in vector],
                sparse=sparse,
                filter=search_filter,
                prefetch_limit=max(s.prefetch_limit, limit),
                limit=max(s.prefetch_limit, limit),
                rrf_k=s.rrf_k,
                dense_weight=dense_weight,
                sparse_weight=sparse_weight,
            )
        )
        timings["search"] = _lap(clock)
        clock = time.perf_counter()
        best_possible = (dense_weight + sparse_weight) / s.rrf_k  # Qdrant: w / (k + rank), ranks from 0
        hits = [
            _hit(point, candidates.dense, candidates.sparse, best_possible)
            for point in candidates.fused
            # defence in depth: the engine filtered already
            if point.payload.get("tenant") == search_filter.tenant
            and point.payload.get("doc_id") not in search_filter.exclude_doc_ids
        ]
        hits = [h for h in hits if h.relevance >= s.score_floor]
        hits.sort(key=lambda h: (-h.fused_score, h.id))  # the engine orders equal scores arbitrarily
        timings["fuse"] = _lap(clock)
        if rerank and self.reranker is not None and hits:
            clock = time.perf_counter()
            head, tail = hits[: s.reranker_candidates], hits[s.reranker_candidates :]
            scores = self.reranker.scores(query, [h.text for h in head])
            reranked = [_with_rerank(h, sc) for h, sc in zip(head, scores, strict=True)]
            hits = sorted(reranked, key=lambda h: -(h.rerank_score or 0.0)) + tail
            timings["rerank"] = _lap(clock)
        return SearchResult(query, search_filter, _cap_per_section(hits, s.max_hits_per_section)[:limit], timings)


def _lap(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _hit(point: ScoredChunk, dense: list[BranchHit], sparse: list[BranchHit], best_possible: float) -> Hit:
    p: dict[str, Any] = point.payload
    d = next((b for b in dense if b.id == point.id), None)
    b = next((b for b in sparse if b.id == point.id), None)
    return Hit(
        id=point.id,
        doc_id=str(p.get("doc_id", "")),
        article_id=str(p.get("article_id", "")),
        chunk_no=int(p.get("chunk_no", 0)),
        text=str(p.get("text", "")),
        title=str(p.get("title", "")),
        url=str(p.get("url", "")),
        section=str(p.get("section", "")),
        tenant=str(p.get("tenant", "")),
        product=str(p.get("product", "")),
        locale=str(p.get("locale", "")),
        updated_at=str(p.get("updated_at", "")),
        fused_score=point.score,
        relevance=min(1.0, point.score / best_possible) if best_possible > 0 else 0.0,
        dense_rank=d.rank if d else None,
        dense_score=d.score if d else None,
        sparse_rank=b.rank if b else None,
        sparse_score=b.score if b else None,
    )


def _with_rerank(hit: Hit, score: float) -> Hit:
    return replace(hit, rerank_score=score)


def _cap_per_section(hits: list[Hit], cap: int) -> list[Hit]:
    """Keep at most ``cap`` hits of any one (document, section), preserving order."""
    seen: Counter[tuple[str, str]] = Counter()
    kept = []
    for hit in hits:
        key = (hit.doc_id, hit.section)
        if seen[key] < cap:
            seen[key] += 1
            kept.append(hit)
    return kept
