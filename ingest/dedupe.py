"""Drop exact duplicates, superseded versions and near duplicates; record every drop.

Documents are compared only within one (tenant, product, locale) scope, so
one tenant's article never hides another's. Within a scope the canonical copy
is the most recently updated one (ties: the smallest doc id), so the choice
does not depend on the order files were read in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH

from ingest.records import Document, DuplicateRecord

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class DedupeResult:
    """Canonical documents (in input order) and the recorded drops."""

    kept: tuple[Document, ...]
    duplicates: tuple[DuplicateRecord, ...]


def shingles(document: Document, size: int) -> set[str]:
    """Word n-grams of the title and body, lowercased."""
    words = _WORD.findall(f"{document.title}\n{document.text}".lower())
    if len(words) <= size:
        return {" ".join(words)}
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    """Exact Jaccard similarity of two shingle sets."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def _scope(document: Document) -> tuple[str, str, str]:
    return (document.tenant, document.product, document.locale)


def _canonical_order(documents: Iterable[Document]) -> list[Document]:
    # Newest first (ISO dates sort as strings); the stable sort keeps doc-id order on ties.
    ordered = sorted(documents, key=lambda d: d.doc_id)
    return sorted(ordered, key=lambda d: d.updated_at, reverse=True)


def deduplicate(
    documents: list[Document], threshold: float, permutations: int = 128, shingle_words: int = 5
) -> DedupeResult:
    """Keep one document per exact/superseded/near-duplicate group and record the rest."""
    dropped: dict[str, DuplicateRecord] = {}
    kept_by_hash: dict[tuple[tuple[str, str, str], str], Document] = {}
    kept_by_article: dict[tuple[tuple[str, str, str], str], Document] = {}
    signatures: dict[str, set[str]] = {}
    lsh = MinHashLSH(threshold=threshold, num_perm=permutations)
    canonical: dict[str, Document] = {}

    for document in _canonical_order(documents):
        scope = _scope(document)
        twin = kept_by_hash.get((scope, document.content_hash))
        if twin is not None:
            dropped[document.doc_id] = _record(document, twin, "exact", 1.0)
            continue
        grams = shingles(document, shingle_words)
        older = kept_by_article.get((scope, document.article_id))
        if older is not None:
            similarity = jaccard(grams, signatures[older.doc_id])
            dropped[document.doc_id] = _record(document, older, "superseded", similarity)
            continue
        minhash = MinHash(num_perm=permutations, seed=1)
        minhash.update_batch([gram.encode() for gram in sorted(grams)])
        near = _closest(lsh.query(minhash), canonical, scope, grams, signatures, threshold)
        if near is not None:
            twin, similarity = near
            dropped[document.doc_id] = _record(document, twin, "near", similarity)
            continue
        kept_by_hash[(scope, document.content_hash)] = document
        kept_by_article[(scope, document.article_id)] = document
        signatures[document.doc_id] = grams
        canonical[document.doc_id] = document
        lsh.insert(document.doc_id, minhash)

    kept = tuple(d for d in documents if d.doc_id not in dropped)
    records = tuple(dropped[d.doc_id] for d in documents if d.doc_id in dropped)
    return DedupeResult(kept=kept, duplicates=records)


def _closest(
    candidate_ids: list[str],
    canonical: dict[str, Document],
    scope: tuple[str, str, str],
    grams: set[str],
    signatures: dict[str, set[str]],
    threshold: float,
) -> tuple[Document, float] | None:
    """The most similar LSH candidate in the same scope whose exact Jaccard reaches the threshold."""
    best: tuple[Document, float] | None = None
    for candidate_id in sorted(candidate_ids):
        candidate = canonical[candidate_id]
        if _scope(candidate) != scope:
            continue
        similarity = jaccard(grams, signatures[candidate_id])
        if similarity >= threshold and (best is None or similarity > best[1]):
            best = (candidate, similarity)
    return best


def _record(document: Document, canonical: Document, kind: str, similarity: float) -> DuplicateRecord:
    return DuplicateRecord(
        doc_id=document.doc_id,
        source_path=document.source_path,
        duplicate_of=canonical.doc_id,
        kind=kind,  # type: ignore[arg-type]
        similarity=round(similarity, 4),
    )
