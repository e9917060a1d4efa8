"""Make the index match a set of chunks, incrementally and crash-safely.

Per group of documents: upsert their new points, commit their manifest rows
in one transaction, then delete the old points they no longer have. The
manifest therefore never names a point that is not in the index; a run killed
in between can leave extra points, which the next run finds (index ids not in
the manifest) and deletes first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.records import Chunk
from retrieval.embedder import Embedder
from retrieval.index import VectorIndex, point_id
from retrieval.records import IndexPoint, SyncReport
from retrieval.sparse import Bm25Encoder
from retrieval.store import Manifest, ManifestEntry

Progress = Callable[[str, int, int], None]


_LAYOUT = re.compile(r"^(?:\d{1,3}\.|-) (?=\S)|^\| | \|$", re.MULTILINE)


def embedding_text(chunk: Chunk) -> str:
    """What the dense model sees: title and section path give the chunk its context. The layout marks ingest
    writes for the answer's sake (``3. `` steps, ``- `` bullets, ``| `` rows) are left out: they carry no
    meaning and move the vectors."""
    return embedding_text_of(chunk.title, chunk.section_label, chunk.text)


def embedding_text_of(title: str, section: str, text: str) -> str:
    """``embedding_text`` from a stored payload's ``title``, ``section`` and ``text``."""
    return "\n".join(part for part in (title, section, _LAYOUT.sub("", text)) if part)


def payload_of(chunk: Chunk) -> dict[str, Any]:
    """The stored payload: everything a Hit needs to cite and filter."""
    return {
        "doc_id": chunk.doc_id,
        "article_id": chunk.article_id,
        "chunk_no": chunk.chunk_no,
        "text": chunk.text,
        "title": chunk.title,
        "url": chunk.url,
        "section_path": list(chunk.section_path),
        "section": chunk.section_label,
        "tenant": chunk.tenant,
        "product": chunk.product,
        "locale": chunk.locale,
        "updated_at": chunk.updated_at,
        "source_path": chunk.source_path,
        "format": chunk.format,
        "token_count": chunk.token_count,
        "content_hash": chunk.content_hash,
    }


@dataclass
class _DocPlan:
    doc_id: str
    chunks: Sequence[Chunk]
    ids: tuple[str, ...]
    previous: ManifestEntry | None

    @property
    def stale(self) -> list[str]:
        """The document's old point ids that it no longer has."""
        return sorted(set(self.previous.point_ids) - set(self.ids)) if self.previous else []

    def entry(self) -> ManifestEntry:
        """The manifest row this plan commits."""
        first = self.chunks[0]
        return ManifestEntry(
            self.doc_id, first.doc_hash, str(Path(first.source_path).resolve()), first.tenant, self.ids
        )


def _plan_of(chunks: Sequence[Chunk], entries: dict[str, ManifestEntry]) -> _DocPlan:
    doc_id = chunks[0].doc_id
    ids = tuple(point_id(c.doc_id, c.chunk_no, c.content_hash) for c in chunks)
    return _DocPlan(doc_id, chunks, ids, entries.get(doc_id))


class IndexSync:
    """Applies chunk sets to one index + manifest pair."""

    def __init__(
        self,
        index: VectorIndex,
        manifest: Manifest,
        embedder: Embedder,
        sparse: Bm25Encoder,
        write_batch: int = 1024,
    ) -> None:
        self.index, self.manifest, self.embedder, self.sparse = index, manifest, embedder, sparse
        self.write_batch = write_batch

    def sync(
        self,
        documents: Iterable[Sequence[Chunk]],
        scope: Iterable[Path] = (),
        keep_sources: Iterable[str] = (),
        progress: Progress | None = None,
        expected_documents: int = 0,
    ) -> SyncReport:
        """Index each document's chunks as they arrive; then delete documents under ``scope`` that are gone.

        ``documents`` yields one chunk list per document and may be lazy. Chunks
        of changed documents are gathered until ``write_batch`` of them wait,
        then embedded and written as one group: a large group lets the embedder
        batch texts of like length together.
        ``keep_sources`` lists source files that failed to load this run: their
        documents keep their last good chunks instead of disappearing.
        """
        entries = self.manifest.entries()
        orphans = self._remove_orphans(entries)
        computed_before, cached_before = self.embedder.computed, self.embedder.cached
        report = dict.fromkeys(
            (
                "chunks_added",
                "chunks_updated",
                "chunks_deleted",
                "chunks_unchanged",
                "documents_added",
                "documents_updated",
                "documents_deleted",
                "documents_unchanged",
            ),
            0,
        )
        present: set[str] = set()
        batch: list[_DocPlan] = []
        batch_chunks = 0
        for seen, chunks in enumerate(documents, start=1):
            if not chunks:
                continue
            plan = _plan_of(chunks, entries)
            present.add(plan.doc_id)
            if plan.previous is not None and plan.previous.point_ids == plan.ids:
                report["documents_unchanged"] += 1
                report["chunks_unchanged"] += len(plan.ids)
            else:
                batch.append(plan)
                batch_chunks += len(plan.chunks)
            if batch_chunks >= self.write_batch:
                self._write(batch, report)
                batch, batch_chunks = [], 0
            if progress:
                progress("embed+index", seen, max(expected_documents, seen))
        self._write(batch, report)
        self._remove_missing(present, entries, scope, keep_sources, report)
        return SyncReport(
            **report,
            orphans_removed=orphans,
            embeddings_computed=self.embedder.computed - computed_before,
            embeddings_cached=self.embedder.cached - cached_before,
        )

    def _remove_orphans(self, entries: dict[str, ManifestEntry]) -> int:
        known = {pid for entry in entries.values() for pid in entry.point_ids}
        orphans = sorted(self.index.ids() - known)
        self.index.delete(orphans)
        return len(orphans)

    def _write(self, plans: list[_DocPlan], report: dict[str, int]) -> None:
        """Embed a group of documents, upsert their points, commit their rows, then drop their stale points."""
        if not plans:
            return
        chunks = [c for p in plans for c in p.chunks]
        ids = [pid for p in plans for pid in p.ids]
        texts = [embedding_text(c) for c in chunks]
        vectors = self.embedder.encode(texts).tolist()
        self.index.upsert(
            [
                IndexPoint(
                    id=pid,
                    dense=tuple(vector),
                    sparse=self.sparse.encode_document(text, chunk.locale),
                    payload=payload_of(chunk),
                )
                for pid, chunk, text, vector in zip(ids, chunks, texts, vectors, strict=True)
            ]
        )
        self.manifest.put_many([plan.entry() for plan in plans])
        self.index.delete(sorted(pid for plan in plans for pid in plan.stale))
        for plan in plans:
            if plan.previous is None:
                report["documents_added"] += 1
                report["chunks_added"] += len(plan.ids)
                continue
            # A new chunk that takes the place of a stale one is an update.
            old = set(plan.previous.point_ids)
            fresh = len(set(plan.ids) - old)
            replaced = min(fresh, len(plan.stale))
            report["documents_updated"] += 1
            report["chunks_updated"] += replaced
            report["chunks_added"] += fresh - replaced
            report["chunks_deleted"] += len(plan.stale) - replaced
            report["chunks_unchanged"] += len(set(plan.ids) & old)

    def _remove_missing(
        self,
        present: set[str],
        entries: dict[str, ManifestEntry],
        scope: Iterable[Path],
        keep_sources: Iterable[str],
        report: dict[str, int],
    ) -> None:
        roots = [Path(p).resolve() for p in scope]
        kept = {str(Path(s).resolve()) for s in keep_sources}
        gone = [
            entry
            for doc_id, entry in sorted(entries.items())
            if doc_id not in present
            and str(Path(entry.source_path).resolve()) not in kept
            and any(_is_under(Path(entry.source_path).resolve(), root) for root in roots)
        ]
        # Forget first, then delete: a kill in between leaves orphans, never a dangling manifest row.
        self.manifest.remove([entry.doc_id for entry in gone])
        self.index.delete(sorted(pid for entry in gone for pid in entry.point_ids))
        report["documents_deleted"] += len(gone)
        report["chunks_deleted"] += sum(len(entry.point_ids) for entry in gone)


def _is_under(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)
