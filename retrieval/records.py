"""Typed records of the retrieval stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class SparseVector:
    """BM25 term weights: hashed token ids and their values."""

    indices: tuple[int, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class IndexPoint:
    """One chunk as stored in the index: id, dense and sparse vectors, payload."""

    id: str
    dense: tuple[float, ...]
    sparse: SparseVector
    payload: dict[str, Any] = field(hash=False)


@dataclass(frozen=True)
class ScoredChunk:
    """A point returned by a single-vector search, with its payload."""

    id: str
    score: float
    payload: dict[str, Any] = field(hash=False)


@dataclass(frozen=True)
class SyncReport:
    """What one sync changed in the index."""

    chunks_added: int = 0
    chunks_updated: int = 0
    chunks_deleted: int = 0
    chunks_unchanged: int = 0
    documents_added: int = 0
    documents_updated: int = 0
    documents_deleted: int = 0
    documents_unchanged: int = 0
    orphans_removed: int = 0
    embeddings_computed: int = 0
    embeddings_cached: int = 0


@dataclass(frozen=True)
class IndexStats:
    """Counts a deployer wants to see: points, documents, per tenant/locale."""

    backend: str
    location: str
    points: int
    documents: int
    by_tenant: dict[str, int]
    by_locale: dict[str, int]
    by_product: dict[str, int]


@dataclass(frozen=True)
class SearchFilter:
    """What a query may see. The tenant is always required; empty tuples mean no restriction."""

    tenant: str
    products: tuple[str, ...] = ()
    locales: tuple[str, ...] = ()
    updated_after: str | None = None
    exclude_doc_ids: tuple[str, ...] = ()
    """Documents the query must not see (disabled or deleted by an admin, ``retrieval.content``)."""

    def __post_init__(self) -> None:
        if not self.tenant:
            raise ValueError("SearchFilter.tenant is required: every query is scoped to one tenant")
        if self.updated_after is not None:
            try:
                datetime.fromisoformat(self.updated_after)
            except ValueError as exc:
                raise ValueError(
                    f"SearchFilter.updated_after={self.updated_after!r} is not an ISO date such as 2026-01-31"
                ) from exc


@dataclass(frozen=True)
class BranchHit:
    """A point as one retrieval branch (dense or BM25) ranked it."""

    id: str
    rank: int
    score: float


@dataclass(frozen=True)
class HybridCandidates:
    """One engine call's answer: the fused ranking with payloads, and each branch's own ranking."""

    fused: list[ScoredChunk]
    dense: list[BranchHit]
    sparse: list[BranchHit]


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with everything needed to cite it and to explain why it was found.

    Ranks are 1-based; ``None`` means the branch did not return the chunk among its candidates.
    ``fused_score`` is the engine's weighted RRF score; ``relevance`` is that score divided by
    its maximum (ranked first by every branch), so 1.0 is the best possible agreement.
    """

    id: str
    doc_id: str
    article_id: str
    chunk_no: int
    text: str
    title: str
    url: str
    section: str
    tenant: str
    product: str
    locale: str
    updated_at: str
    fused_score: float
    relevance: float
    dense_rank: int | None
    dense_score: float | None
    sparse_rank: int | None
    sparse_score: float | None
    rerank_score: float | None = None

    @property
    def found_by(self) -> str:
        """``both``, ``dense`` or ``bm25``: which branches returned this chunk."""
        if self.dense_rank is not None and self.sparse_rank is not None:
            return "both"
        return "dense" if self.dense_rank is not None else "bm25"


@dataclass(frozen=True)
class SearchResult:
    """Hits for one (redacted) query, with the time each stage took."""

    query: str
    filter: SearchFilter
    hits: list[Hit]
    timings_ms: dict[str, float]
