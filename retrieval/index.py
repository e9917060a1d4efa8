"""One small index interface, two backends, one collection schema.

- `EdgeIndex`: Qdrant Edge, the Qdrant engine in-process, on disk (default).
- `ServerIndex`: a Qdrant server (or qdrant-client's in-process mode, for tests).

Schema: a named dense vector ``dense`` (cosine) and a named sparse vector
``bm25`` with Qdrant's IDF modifier; keyword payload indexes on tenant,
product, locale and doc_id.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from retrieval.records import (
    BranchHit,
    HybridCandidates,
    IndexPoint,
    IndexStats,
    ScoredChunk,
    SearchFilter,
    SparseVector,
)
from retrieval.settings import RetrievalSettings

DENSE = "dense"
SPARSE = "bm25"
INDEXED_FIELDS = ("tenant", "product", "locale", "doc_id")
DATETIME_FIELDS = ("updated_at",)
_POINT_NAMESPACE = uuid.UUID("5b0c3a9e-8f1d-4c6e-9a57-2d1f6e8b4c01")


def point_id(doc_id: str, chunk_no: int, content_hash: str) -> str:
    """Deterministic point id (UUIDv5) from doc id, chunk number and chunk content hash."""
    return str(uuid.uuid5(_POINT_NAMESPACE, f"{doc_id}\x1f{chunk_no}\x1f{content_hash}"))


class VectorIndex(Protocol):
    """What sync and search need from an index backend."""

    backend: str
    location: str

    def upsert(self, points: Sequence[IndexPoint]) -> None: ...
    def delete(self, ids: Sequence[str]) -> None: ...
    def ids(self) -> set[str]: ...
    def payloads(self) -> Iterator[dict[str, Any]]: ...
    def count(self) -> int: ...
    def compact(self) -> None: ...
    def search_dense(self, vector: Sequence[float], limit: int, tenant: str) -> list[ScoredChunk]: ...
    def hybrid(self, request: HybridRequest) -> HybridCandidates: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class HybridRequest:
    """One hybrid query: both vectors, the filter, and the fusion parameters."""

    dense: Sequence[float]
    sparse: SparseVector
    filter: SearchFilter
    prefetch_limit: int
    limit: int
    rrf_k: int
    dense_weight: float
    sparse_weight: float


def _filter_terms(search_filter: SearchFilter) -> list[tuple[str, str, Any]]:
    """The filter as (kind, field, value) terms, shared by both backends' filter builders."""
    terms: list[tuple[str, str, Any]] = [("match", "tenant", search_filter.tenant)]
    if search_filter.products:
        terms.append(("any", "product", list(search_filter.products)))
    if search_filter.locales:
        terms.append(("any", "locale", list(search_filter.locales)))
    if search_filter.updated_after:
        terms.append(("after", "updated_at", search_filter.updated_after))
    if search_filter.exclude_doc_ids:
        terms.append(("none", "doc_id", list(search_filter.exclude_doc_ids)))
    return terms


def _branches(results: Sequence[Sequence[Any]]) -> tuple[list[BranchHit], list[BranchHit]]:
    dense, sparse = (
        [BranchHit(str(p.id), rank, float(p.score)) for rank, p in enumerate(points, start=1)] for points in results
    )
    return dense, sparse


def stats_of(index: VectorIndex) -> IndexStats:
    """Point and document counts, overall and per tenant, locale and product."""
    tenants: Counter[str] = Counter()
    locales: Counter[str] = Counter()
    products: Counter[str] = Counter()
    docs: set[str] = set()
    points = 0
    for payload in index.payloads():
        points += 1
        tenants[str(payload.get("tenant", ""))] += 1
        locales[str(payload.get("locale", ""))] += 1
        products[str(payload.get("product", ""))] += 1
        docs.add(str(payload.get("doc_id", "")))
    return IndexStats(
        backend=index.backend,
        location=index.location,
        points=points,
        documents=len(docs),
        by_tenant=dict(sorted(tenants.items())),
        by_locale=dict(sorted(locales.items())),
        by_product=dict(sorted(products.items())),
    )


_PAGE = 1000
_SERVER_UPSERT_POINTS = 256


class _ScrollingIndex:
    """ids() and payloads() for any backend that pages through its points with ``_page``."""

    def _page(self, offset: Any, with_payload: bool) -> tuple[list[Any], Any]:
        """One page of records and the offset of the next (None at the end)."""
        raise NotImplementedError

    def _scroll(self, with_payload: bool) -> Iterator[Any]:
        offset = None
        while True:
            records, offset = self._page(offset, with_payload)
            yield from records
            if offset is None:
                return

    def ids(self) -> set[str]:
        """Every point id."""
        return {str(record.id) for record in self._scroll(with_payload=False)}

    def payloads(self) -> Iterator[dict[str, Any]]:
        """Every point's payload."""
        for record in self._scroll(with_payload=True):
            yield dict(record.payload or {})


class EdgeIndex(_ScrollingIndex):
    """Qdrant Edge shard on disk under the data directory."""

    backend = "edge"

    def __init__(self, path: Path, dimension: int) -> None:
        import qdrant_edge as qe

        self._qe = qe
        self.location = str(path)
        # Held around every use of the shard, so that ``compact`` can swap it under concurrent searches.
        self._guard = threading.RLock()
        config = qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=dimension, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )
        self._config = config
        _finish_compaction(path)
        segments = path / "segments"
        if segments.is_dir() and any(segments.iterdir()):
            try:
                self._shard = qe.EdgeShard.load(str(path), config)
            except Exception as exc:
                raise RuntimeError(
                    f"cannot open the Qdrant Edge index at {path} ({exc}); if the embedding model "
                    "changed, delete that directory and re-ingest"
                ) from exc
        else:
            path.mkdir(parents=True, exist_ok=True)
            self._shard = qe.EdgeShard.create(str(path), config)
        self._index_fields(self._shard)

    def _index_fields(self, shard: Any) -> None:
        qe = self._qe
        schema = set(shard.info().payload_schema)
        for field in INDEXED_FIELDS:
            if field not in schema:
                shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Keyword))
        for field in DATETIME_FIELDS:
            if field not in schema:
                shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Datetime))

    def compact(self) -> None:
        """Rewrite the shard with only its live points, so nothing of deleted points stays on disk.

        Qdrant keeps a deleted point's payload in its segment files until the optimizer vacuums them, and in
        its write-ahead log until that is rewritten. Deleting an article must leave none of its text, so the
        live points are copied into a new shard beside this one, which then takes its place: the old
        directory is renamed ``.old`` and removed (a crash in between is finished at the next open)."""
        qe = self._qe
        path = Path(self.location)
        fresh, old = _sibling(path, "rewrite"), _sibling(path, "old")
        with self._guard:
            shutil.rmtree(fresh, ignore_errors=True)
            shard = qe.EdgeShard.create(str(fresh), self._config)
            try:
                self._index_fields(shard)
                offset = None
                while True:
                    records, offset = self._shard.scroll(
                        qe.ScrollRequest(offset=offset, limit=_PAGE, with_payload=True, with_vector=True)
                    )
                    if records:
                        shard.update(
                            qe.UpdateOperation.upsert_points(
                                [qe.Point(id=r.id, vector=r.vector, payload=r.payload) for r in records]
                            )
                        )
                    if offset is None:
                        break
                shard.flush()
            finally:
                shard.close()
            self._shard.flush()
            self._shard.close()
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(fresh, path)
            shutil.rmtree(old, ignore_errors=True)
            self._shard = qe.EdgeShard.load(str(path), self._config)

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        """Insert or replace points."""
        if not points:
            return
        with self._guard:
            self._upsert(points)

    def _upsert(self, points: Sequence[IndexPoint]) -> None:
        qe = self._qe
        self._shard.update(
            qe.UpdateOperation.upsert_points(
                [
                    qe.Point(
                        id=p.id,
                        vector={
                            DENSE: list(p.dense),
                            SPARSE: qe.SparseVector(indices=list(p.sparse.indices), values=list(p.sparse.values)),
                        },
                        payload=p.payload,
                    )
                    for p in points
                ]
            )
        )

    def delete(self, ids: Sequence[str]) -> None:
        """Delete points by id (missing ids are ignored)."""
        if ids:
            with self._guard:
                self._shard.update(self._qe.UpdateOperation.delete_points(list(ids)))

    def _page(self, offset: Any, with_payload: bool) -> tuple[list[Any], Any]:
        with self._guard:
            return self._shard.scroll(  # type: ignore[no-any-return]
                self._qe.ScrollRequest(offset=offset, limit=_PAGE, with_payload=with_payload, with_vector=False)
            )

    def count(self) -> int:
        """Number of points."""
        with self._guard:
            return int(self._shard.count(self._qe.CountRequest(exact=True)))

    def search_dense(self, vector: Sequence[float], limit: int, tenant: str) -> list[ScoredChunk]:
        """Nearest chunks of one tenant by the dense vector."""
        qe = self._qe
        tenant_filter = qe.Filter(must=[qe.FieldCondition(key="tenant", match=qe.MatchValue(tenant))])
        with self._guard:
            points = self._shard.query(
                qe.QueryRequest(
                    limit=limit,
                    query=qe.Query.Nearest(list(vector), using=DENSE),
                    filter=tenant_filter,
                    with_payload=True,
                    with_vector=False,
                )
            )
        return [ScoredChunk(str(p.id), float(p.score), dict(p.payload or {})) for p in points]

    def _filter(self, search_filter: SearchFilter) -> Any:
        qe = self._qe
        conditions, excluded = [], []
        for kind, key, value in _filter_terms(search_filter):
            if kind == "match":
                conditions.append(qe.FieldCondition(key=key, match=qe.MatchValue(value)))
            elif kind == "any":
                conditions.append(qe.FieldCondition(key=key, match=qe.MatchAny(value)))
            elif kind == "none":
                excluded.append(qe.FieldCondition(key=key, match=qe.MatchAny(value)))
            else:
                conditions.append(qe.FieldCondition(key=key, range=qe.RangeDateTime(gt=value)))
        return qe.Filter(must=conditions, must_not=excluded or None)

    def hybrid(self, request: HybridRequest) -> HybridCandidates:
        """Dense and BM25 prefetches fused by weighted RRF, plus each branch's ranking, in one planned batch."""
        qe = self._qe
        flt = self._filter(request.filter)
        dense_query = qe.Query.Nearest(list(request.dense), using=DENSE)
        sparse_query = qe.Query.Nearest(
            qe.SparseVector(indices=list(request.sparse.indices), values=list(request.sparse.values)), using=SPARSE
        )
        fused = qe.QueryRequest(
            limit=request.limit,
            prefetches=[
                qe.Prefetch(limit=request.prefetch_limit, query=dense_query, filter=flt),
                qe.Prefetch(limit=request.prefetch_limit, query=sparse_query, filter=flt),
            ],
            query=qe.Fusion.Rrf(k=request.rrf_k, weights=[request.dense_weight, request.sparse_weight]),
            filter=flt,
            with_payload=True,
            with_vector=False,
        )
        branches = [
            qe.QueryRequest(limit=request.prefetch_limit, query=q, filter=flt, with_payload=False, with_vector=False)
            for q in (dense_query, sparse_query)
        ]
        with self._guard:
            fused_points, *branch_points = self._shard.query_batch(qe.QueryBatchRequest([fused, *branches]))
        dense, sparse = _branches(branch_points)
        return HybridCandidates(
            fused=[ScoredChunk(str(p.id), float(p.score), dict(p.payload or {})) for p in fused_points],
            dense=dense,
            sparse=sparse,
        )

    def close(self) -> None:
        """Flush and release the shard."""
        with self._guard:
            self._shard.flush()
            self._shard.close()


class ServerIndex(_ScrollingIndex):
    """A collection on a Qdrant server through qdrant-client (same schema as Edge)."""

    backend = "server"

    def __init__(self, client: Any, collection: str, dimension: int, location: str) -> None:
        from qdrant_client import models

        self._client, self._models, self.collection, self.location = (
            client,
            models,
            collection,
            location,
        )
        if not client.collection_exists(collection):
            client.create_collection(
                collection_name=collection,
                vectors_config={DENSE: models.VectorParams(size=dimension, distance=models.Distance.COSINE)},
                sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            )
            for field in INDEXED_FIELDS:
                client.create_payload_index(collection, field, models.PayloadSchemaType.KEYWORD)
            for field in DATETIME_FIELDS:
                client.create_payload_index(collection, field, models.PayloadSchemaType.DATETIME)

    @classmethod
    def connect(cls, settings: RetrievalSettings, dimension: int) -> ServerIndex:
        """Connect to the server named by DESKPILOT_QDRANT_URL."""
        from qdrant_client import QdrantClient

        if not settings.qdrant_url:
            raise RuntimeError("DESKPILOT_INDEX_BACKEND=server needs DESKPILOT_QDRANT_URL (e.g. http://localhost:6333)")
        key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        client = QdrantClient(url=settings.qdrant_url, api_key=key, timeout=30)
        return cls(client, settings.collection, dimension, settings.qdrant_url)

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        """Insert or replace points (waits for the write)."""
        if not points:
            return
        models = self._models
        # Requests of a few hundred points stay far below the server's request size limit.
        for start in range(0, len(points), _SERVER_UPSERT_POINTS):
            self._client.upsert(
                collection_name=self.collection,
                wait=True,
                points=[
                    models.PointStruct(
                        id=p.id,
                        vector={
                            DENSE: list(p.dense),
                            SPARSE: models.SparseVector(indices=list(p.sparse.indices), values=list(p.sparse.values)),
                        },
                        payload=p.payload,
                    )
                    for p in points[start : start + _SERVER_UPSERT_POINTS]
                ],
            )

    def delete(self, ids: Sequence[str]) -> None:
        """Delete points by id."""
        if ids:
            self._client.delete(
                collection_name=self.collection,
                points_selector=self._models.PointIdsList(points=list(ids)),
                wait=True,
            )

    def _page(self, offset: Any, with_payload: bool) -> tuple[list[Any], Any]:
        return self._client.scroll(  # type: ignore[no-any-return]
            collection_name=self.collection, limit=_PAGE, offset=offset, with_payload=with_payload, with_vectors=False
        )

    def count(self) -> int:
        """Number of points."""
        return int(self._client.count(collection_name=self.collection, exact=True).count)

    def search_dense(self, vector: Sequence[float], limit: int, tenant: str) -> list[ScoredChunk]:
        """Nearest chunks of one tenant by the dense vector."""
        models = self._models
        response = self._client.query_points(
            collection_name=self.collection,
            query=list(vector),
            using=DENSE,
            limit=limit,
            query_filter=models.Filter(
                must=[models.FieldCondition(key="tenant", match=models.MatchValue(value=tenant))]
            ),
            with_payload=True,
        )
        return [ScoredChunk(str(p.id), float(p.score), dict(p.payload or {})) for p in response.points]

    def _filter(self, search_filter: SearchFilter) -> Any:
        m = self._models
        conditions, excluded = [], []
        for kind, key, value in _filter_terms(search_filter):
            if kind == "match":
                conditions.append(m.FieldCondition(key=key, match=m.MatchValue(value=value)))
            elif kind == "any":
                conditions.append(m.FieldCondition(key=key, match=m.MatchAny(any=value)))
            elif kind == "none":
                excluded.append(m.FieldCondition(key=key, match=m.MatchAny(any=value)))
            else:
                conditions.append(m.FieldCondition(key=key, range=m.DatetimeRange(gt=value)))
        return m.Filter(must=conditions, must_not=excluded or None)

    def hybrid(self, request: HybridRequest) -> HybridCandidates:
        """Dense and BM25 prefetches fused by weighted RRF, plus each branch's ranking, in one round trip."""
        m = self._models
        flt = self._filter(request.filter)
        sparse = m.SparseVector(indices=list(request.sparse.indices), values=list(request.sparse.values))
        fused = m.QueryRequest(
            prefetch=[
                m.Prefetch(query=list(request.dense), using=DENSE, limit=request.prefetch_limit, filter=flt),
                m.Prefetch(query=sparse, using=SPARSE, limit=request.prefetch_limit, filter=flt),
            ],
            query=m.RrfQuery(rrf=m.Rrf(k=request.rrf_k, weights=[request.dense_weight, request.sparse_weight])),
            filter=flt,
            limit=request.limit,
            with_payload=True,
        )
        branches = [
            m.QueryRequest(query=list(request.dense), using=DENSE, limit=request.prefetch_limit, filter=flt),
            m.QueryRequest(query=sparse, using=SPARSE, limit=request.prefetch_limit, filter=flt),
        ]
        fused_response, *branch_responses = self._client.query_batch_points(
            collection_name=self.collection, requests=[fused, *branches]
        )
        dense, sparse_hits = _branches([r.points for r in branch_responses])
        return HybridCandidates(
            fused=[ScoredChunk(str(p.id), float(p.score), dict(p.payload or {})) for p in fused_response.points],
            dense=dense,
            sparse=sparse_hits,
        )

    def compact(self) -> None:
        """Nothing to do here: the server's optimizer vacuums deleted points, on the server's disk."""

    def close(self) -> None:
        """Close the client."""
        self._client.close()


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(f"{path.name}.{suffix}")


def _finish_compaction(path: Path) -> None:
    """Complete or undo a ``compact`` a crash interrupted: the shard is ``path`` when it exists, else the
    ``.old`` copy (the rewrite had not taken its place); leftovers go."""
    old, fresh = _sibling(path, "old"), _sibling(path, "rewrite")
    if old.exists() and not path.exists():
        os.replace(old, path)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(fresh, ignore_errors=True)


def open_index(settings: RetrievalSettings, dimension: int) -> VectorIndex:
    """The index backend the settings name."""
    if settings.index_backend == "server":
        return ServerIndex.connect(settings, dimension)
    return EdgeIndex(settings.edge_path(), dimension)
