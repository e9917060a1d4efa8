"""SQL tables owned by retrieval: the index manifest and the embedding cache."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, Integer, LargeBinary, String, Text, create_engine, delete, event, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the retrieval tables."""


class ManifestRow(Base):
    """Which chunks (point ids) a document produced, and from which source file."""

    __tablename__ = "index_manifest"

    collection: Mapped[str] = mapped_column(String(128), primary_key=True)
    doc_id: Mapped[str] = mapped_column(String(1024), primary_key=True)
    doc_hash: Mapped[str] = mapped_column(String(64))
    source_path: Mapped[str] = mapped_column(Text, index=True)
    tenant: Mapped[str] = mapped_column(String(128))
    point_ids: Mapped[str] = mapped_column(Text, doc="JSON list of point ids, in chunk order")


class IndexStateRow(Base):
    """A counter bumped by every manifest change: the index version that answer caches key on."""

    __tablename__ = "index_state"

    collection: Mapped[str] = mapped_column(String(128), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)


class EmbeddingRow(Base):
    """A cached embedding, keyed by model and the exact text embedded."""

    __tablename__ = "embedding_cache"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


@dataclass(frozen=True)
class ManifestEntry:
    """One document's row of the manifest."""

    doc_id: str
    doc_hash: str
    source_path: str
    tenant: str
    point_ids: tuple[str, ...]


@cache
def engine_for(url: str) -> Engine:
    """One engine per URL; SQLite files get WAL and their directory created."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):  # type: ignore[no-untyped-def]
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    Base.metadata.create_all(engine)
    return engine


class Manifest:
    """The manifest of one collection."""

    def __init__(self, engine: Engine, collection: str) -> None:
        self.engine, self.collection = engine, collection

    def entries(self) -> dict[str, ManifestEntry]:
        """Every document of the collection, by doc id."""
        with Session(self.engine) as session:
            rows = session.scalars(select(ManifestRow).where(ManifestRow.collection == self.collection))
            return {
                row.doc_id: ManifestEntry(
                    row.doc_id,
                    row.doc_hash,
                    row.source_path,
                    row.tenant,
                    tuple(json.loads(row.point_ids)),
                )
                for row in rows
            }

    def put(self, entry: ManifestEntry) -> None:
        """Record (or replace) a document's chunks; committed at once."""
        self.put_many([entry])

    def put_many(self, entries: Sequence[ManifestEntry]) -> None:
        """Record (or replace) several documents' chunks in one transaction."""
        if not entries:
            return
        with Session(self.engine) as session, session.begin():
            for entry in entries:
                session.merge(
                    ManifestRow(
                        collection=self.collection,
                        doc_id=entry.doc_id,
                        doc_hash=entry.doc_hash,
                        source_path=entry.source_path,
                        tenant=entry.tenant,
                        point_ids=json.dumps(list(entry.point_ids)),
                    )
                )
            self._bump(session)

    def remove(self, doc_ids: Iterable[str]) -> None:
        """Forget documents; committed at once."""
        ids = list(doc_ids)
        if not ids:
            return
        with Session(self.engine) as session, session.begin():
            session.execute(
                delete(ManifestRow).where(ManifestRow.collection == self.collection, ManifestRow.doc_id.in_(ids))
            )
            self._bump(session)

    def _bump(self, session: Session) -> None:
        bumped = session.execute(
            update(IndexStateRow)
            .where(IndexStateRow.collection == self.collection)
            .values(generation=IndexStateRow.generation + 1)
        )
        if not bumped.rowcount:  # type: ignore[attr-defined]
            session.add(IndexStateRow(collection=self.collection, generation=1))

    def version(self) -> str:
        """The index version: changes whenever a document is added, replaced or removed."""
        with Session(self.engine) as session:
            generation = session.scalar(
                select(IndexStateRow.generation).where(IndexStateRow.collection == self.collection)
            )
        return f"{self.collection}@{generation or 0}"


class EmbeddingCache:
    """float32 vectors by key; reads and writes in batches."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors among ``keys``."""
        found: dict[str, np.ndarray] = {}
        with Session(self.engine) as session:
            for start in range(0, len(keys), 500):
                batch = list(keys[start : start + 500])
                for row in session.scalars(select(EmbeddingRow).where(EmbeddingRow.key.in_(batch))):
                    found[row.key] = np.frombuffer(row.vector, dtype=np.float32)
        return found

    def delete_many(self, keys: Sequence[str]) -> int:
        """Forget the vectors of ``keys`` (e.g. of a deleted article's chunks); returns how many there were."""
        removed = 0
        with Session(self.engine) as session, session.begin():
            for start in range(0, len(keys), 500):
                batch = list(keys[start : start + 500])
                result = session.execute(delete(EmbeddingRow).where(EmbeddingRow.key.in_(batch)))
                removed += int(getattr(result, "rowcount", 0) or 0)
        return removed

    def put_many(self, vectors: dict[str, np.ndarray]) -> None:
        """Store vectors; existing keys are left as they are."""
        if not vectors:
            return
        with Session(self.engine) as session, session.begin():
            existing = set(session.scalars(select(EmbeddingRow.key).where(EmbeddingRow.key.in_(list(vectors)))))
            session.add_all(
                EmbeddingRow(key=key, vector=np.asarray(vector, dtype=np.float32).tobytes())
                for key, vector in vectors.items()
                if key not in existing
            )
