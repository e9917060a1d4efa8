"""Typed records of the retrieval stage."""

from __future__ import annotations

from dataclasses import dataclass, field
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
