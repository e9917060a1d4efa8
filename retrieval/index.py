"""One small index interface, two backends, one collection schema.

- `EdgeIndex`: Qdrant Edge, the Qdrant engine in-process, on disk (default).
- `ServerIndex`: a Qdrant server (or qdrant-client's in-process mode, for tests).

Schema: a named dense vector ``dense`` (cosine) and a named sparse vector
``bm25`` with Qdrant's IDF modifier; keyword payload indexes on tenant,
product, locale and doc_id.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from retrieval.records import IndexPoint, IndexStats, ScoredChunk
from retrieval.settings import RetrievalSettings

DENSE = "dense"
SPARSE = "bm25"
INDEXED_FIELDS = ("tenant", "product", "locale", "doc_id")
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
    def search_dense(self, vector: Sequence[float], limit: int, tenant: str) -> list[ScoredChunk]: ...
    def close(self) -> None: ...


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
        config = qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=dimension, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )
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
        schema = set(self._shard.info().payload_schema)
        for field in INDEXED_FIELDS:
            if field not in schema:
                self._shard.update(qe.UpdateOperation.create_field_index(field, qe.PayloadSchemaType.Keyword))

    def upsert(self, points: Sequence[IndexPoint]) -> None:
        """Insert or replace points."""
        if not points:
            return
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
            self._shard.update(self._qe.UpdateOperation.delete_points(list(ids)))

    def _page(self, offset: Any, with_payload: bool) -> tuple[list[Any], Any]:
        return self._shard.scroll(  # type: ignore[no-any-return]
            self._qe.ScrollRequest(offset=offset, limit=_PAGE, with_payload=with_payload, with_vector=False)
        )

    def count(self) -> int:
        """Number of points."""
        return int(self._shard.count(self._qe.CountRequest(exact=True)))

    def search_dense(self, vector: Sequence[float], limit: int, tenant: str) -> list[ScoredChunk]:
        """Nearest chunks of one tenant by the dense vector."""
        qe = self._qe
        tenant_filter = qe.Filter(must=[qe.FieldCondition(key="tenant", match=qe.MatchValue(tenant))])
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

    def close(self) -> None:
        """Flush and release the shard."""
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
                for p in points
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

    def close(self) -> None:
        """Close the client."""
        self._client.close()


def open_index(settings: RetrievalSettings, dimension: int) -> VectorIndex:
    """The index backend the settings name."""
    if settings.index_backend == "server":
        return ServerIndex.connect(settings, dimension)
    return EdgeIndex(settings.edge_path(), dimension)
