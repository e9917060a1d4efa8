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


def test_hybrid_fuses_in_the_engine_and_reports_each_branch(index: VectorIndex) -> None:
    """Both backends: weighted RRF in the engine, filters inside it, and each branch's own ranking."""
    from retrieval.index import HybridRequest
    from retrieval.records import SearchFilter

    encoder = Bm25Encoder()
    texts = ["refunds for annual plans", "password reset link", "refunds and invoices", "shipping labels"]
    points = [
        IndexPoint(
            id=point_id(f"d{i}", 0, "h"),
            dense=vec,
            sparse=encoder.encode_document(text),
            payload={
                "doc_id": f"d{i}",
                "tenant": "t1" if i < 3 else "t2",
                "locale": "en",
                "product": "p",
                "text": text,
                "updated_at": f"2026-0{i + 1}-01",
            },
        )
        for i, (text, vec) in enumerate(
            zip(texts, [(1.0, 0, 0, 0), (0.9, 0.1, 0, 0), (0, 1.0, 0, 0), (1.0, 0, 0, 0)], strict=True)
        )
    ]
    index.upsert(points)
    request = HybridRequest(
        dense=(1.0, 0.0, 0.0, 0.0),
        sparse=encoder.encode_query("refunds"),
        filter=SearchFilter(tenant="t1"),
        prefetch_limit=10,
        limit=10,
        rrf_k=60,
        dense_weight=1.0,
        sparse_weight=1.0,
    )
    got = index.hybrid(request)
    ids = {p.id: p.payload["doc_id"] for p in points}
    assert {ids[p.id] for p in got.fused} == {"d0", "d1", "d2"}, "tenant t2 never appears"
    assert [ids[b.id] for b in got.sparse] == ["d0", "d2"] or [ids[b.id] for b in got.sparse] == ["d2", "d0"]
    assert [ids[b.id] for b in got.dense][:2] == ["d0", "d1"]
    # The engine's fused score is the weighted RRF of the branch ranks it reported.
    ranks = {b.id: b.rank for b in got.dense}, {b.id: b.rank for b in got.sparse}
    for p in got.fused:
        expected = sum(1.0 / (60 + r[p.id] - 1) for r in ranks if p.id in r)  # Qdrant counts ranks from 0
        assert p.score == pytest.approx(expected, rel=1e-4)
    newer = index.hybrid(
        HybridRequest(**{**request.__dict__, "filter": SearchFilter(tenant="t1", updated_after="2026-01-15")})
    )
    assert {ids[p.id] for p in newer.fused} == {"d1", "d2"}, "updated_after is applied in the engine"


def test_excluded_documents_are_filtered_inside_the_engine(index: VectorIndex) -> None:
    """Both backends: ``exclude_doc_ids`` (disabled or deleted articles) never reach fusion or either branch."""
    from retrieval.index import HybridRequest
    from retrieval.records import SearchFilter

    encoder = Bm25Encoder()
    points = [_point(doc, 0, "t1", vec) for doc, vec in (("a", (1.0, 0, 0, 0)), ("b", (0.9, 0.1, 0, 0)))]
    index.upsert(points)
    request = HybridRequest(
        dense=(1.0, 0.0, 0.0, 0.0),
        sparse=encoder.encode_query("refunds"),
        filter=SearchFilter(tenant="t1", exclude_doc_ids=("a",)),
        prefetch_limit=10,
        limit=10,
        rrf_k=60,
        dense_weight=1.0,
        sparse_weight=1.0,
    )
    got = index.hybrid(request)
    only_b = [points[1].id]
    assert [p.id for p in got.fused] == only_b
    assert [b.id for b in got.dense] == only_b and [b.id for b in got.sparse] == only_b


def _segment_bytes(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file())


def test_edge_compact_leaves_no_byte_of_deleted_points(tmp_path: Path) -> None:
    ix = EdgeIndex(tmp_path / "edge", DIM)
    keep, gone = _point("a", 0, "t1", (1.0, 0.0, 0.0, 0.0)), _point("zzgone", 0, "t1", (0.0, 1.0, 0.0, 0.0))
    ix.upsert([keep, gone])
    ix.delete([gone.id])
    ix.close()
    ix = EdgeIndex(tmp_path / "edge", DIM)
    assert b"zzgone chunk" in _segment_bytes(tmp_path / "edge"), "Qdrant keeps a deleted payload until vacuumed"
    ix.compact()
    try:
        assert b"zzgone chunk" not in _segment_bytes(tmp_path)
        assert ix.ids() == {keep.id}
        assert ix.search_dense((1.0, 0.0, 0.0, 0.0), 5, tenant="t1")[0].payload["doc_id"] == "a"
        ix.upsert([_point("c", 0, "t1", (0.0, 0.0, 1.0, 0.0))])  # the swapped-in shard takes writes
        assert ix.count() == 2
    finally:
        ix.close()
    again = EdgeIndex(tmp_path / "edge", DIM)
    try:
        assert again.count() == 2 and not (tmp_path / "edge.old").exists()
    finally:
        again.close()


def test_edge_open_finishes_an_interrupted_compaction(tmp_path: Path) -> None:
    """Killed after the shard was moved aside but before the rewrite took its place: the old one is used."""
    ix = EdgeIndex(tmp_path / "edge", DIM)
    ix.upsert([_point("a", 0, "t1", (1.0, 0.0, 0.0, 0.0))])
    ix.close()
    (tmp_path / "edge").rename(tmp_path / "edge.old")
    (tmp_path / "edge.rewrite").mkdir()
    again = EdgeIndex(tmp_path / "edge", DIM)
    try:
        assert again.count() == 1
        assert not (tmp_path / "edge.old").exists() and not (tmp_path / "edge.rewrite").exists()
    finally:
        again.close()
