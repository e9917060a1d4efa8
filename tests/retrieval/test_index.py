"""The index contract on both backends: Qdrant Edge on disk, and the server adapter.

The server backend runs against qdrant-client's in-process mode: a Qdrant
server cannot run on this machine (no Docker engine). compose.yaml carries the
real server for deployments.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.index import EdgeIndex, ServerIndex, VectorIndex, point_id, stats_of
from retrieval.records import IndexPoint
from retrieval.sparse import Bm25Encoder, token_id, tokenize

DIM = 4


def _point(doc: str, n: int, tenant: str, vector: tuple[float, ...]) -> IndexPoint:
    text = f"{doc} chunk {n} about refunds"
    return IndexPoint(
        id=point_id(doc, n, f"hash{n}"),
        dense=vector,
        sparse=Bm25Encoder().encode_document(text),
        payload={"doc_id": doc, "tenant": tenant, "locale": "en", "product": "p", "text": text},
    )


@pytest.fixture(params=["edge", "server"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorIndex]:
    if request.param == "edge":
        ix: VectorIndex = EdgeIndex(tmp_path / "edge", DIM)
    else:
        from qdrant_client import QdrantClient

        ix = ServerIndex(QdrantClient(location=":memory:"), "test", DIM, ":memory:")
    yield ix
    ix.close()


def test_upsert_search_delete_and_stats(index: VectorIndex) -> None:
    points = [
        _point("a", 0, "t1", (1.0, 0.0, 0.0, 0.0)),
        _point("a", 1, "t1", (0.0, 1.0, 0.0, 0.0)),
        _point("b", 0, "t2", (1.0, 0.0, 0.0, 0.0)),
    ]
    index.upsert(points)
    index.upsert(points[:1])  # idempotent
    assert index.count() == 3
    assert index.ids() == {p.id for p in points}
    hits = index.search_dense((1.0, 0.0, 0.0, 0.0), 5, tenant="t1")
    assert [h.id for h in hits] == [points[0].id, points[1].id], "tenant filter applied in the engine"
    assert hits[0].payload["text"] == points[0].payload["text"]
    index.delete([points[1].id, "00000000-0000-0000-0000-000000000000"])
    stats = stats_of(index)
    assert (stats.points, stats.documents, stats.by_tenant) == (2, 2, {"t1": 1, "t2": 1})


def test_edge_index_survives_close_and_reopen(tmp_path: Path) -> None:
    first = EdgeIndex(tmp_path / "edge", DIM)
    first.upsert([_point("a", 0, "t1", (1.0, 0.0, 0.0, 0.0)), _point("a", 1, "t1", (0.0, 1.0, 0.0, 0.0))])
    first.close()
    again = EdgeIndex(tmp_path / "edge", DIM)
    try:
        assert again.count() == 2
        assert again.search_dense((0.0, 1.0, 0.0, 0.0), 1, tenant="t1")[0].payload["doc_id"] == "a"
    finally:
        again.close()


def test_point_ids_are_deterministic_and_content_sensitive() -> None:
    assert point_id("d", 0, "h") == point_id("d", 0, "h")
    assert (
        len(
            {
                point_id("d", 0, "h"),
                point_id("d", 1, "h"),
                point_id("d", 0, "h2"),
                point_id("e", 0, "h"),
            }
        )
        == 4
    )


def test_bm25_tokens_are_stemmed_lowercase_and_stable() -> None:
    assert tokenize("Refunds REFUNDED refunding") == ["refund", "refund", "refund"]
    assert tokenize("Erstattungen für Zahlungen", "de") == ["erstatt", "fur", "zahlung"]
    assert token_id("refund") == int.from_bytes(hashlib.blake2b(b"refund", digest_size=4).digest(), "big") & 0x7FFFFFFF
    vector = Bm25Encoder().encode_document("refund refund invoice")
    weights = dict(zip(vector.indices, vector.values, strict=True))
    assert weights[token_id("refund")] > weights[token_id("invoic")] > 0
    assert Bm25Encoder().encode_query("Refunds invoice").values == (1.0, 1.0)
