"""Typed records produced by the ingestion stage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["title", "heading", "text", "list", "table"]
DuplicateKind = Literal["exact", "near", "superseded"]


@dataclass(frozen=True)
class ArticleMeta:
    """What a file says about the article it holds (front matter, meta tags, sidecar, export row)."""

    article_id: str | None = None
    title: str | None = None
    url: str | None = None
    tenant: str | None = None
    product: str | None = None
    locale: str | None = None
    section: str | None = None
    updated_at: str | None = None

    def merged_over(self, fallback: ArticleMeta) -> ArticleMeta:
        """Fields of ``self`` where set, else those of ``fallback``."""
        return ArticleMeta(
            **{
                name: getattr(self, name) if getattr(self, name) is not None else getattr(fallback, name)
                for name in self.__dataclass_fields__
            }
        )


@dataclass(frozen=True)
class Block:
    """One element of a document's body, placed under its heading path."""

    kind: BlockKind
    text: str
    section_path: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    """A loaded, normalized article. ``doc_id`` is stable: the source URI (plus ``#id`` in exports)."""

    doc_id: str
    source_path: str
    format: str
    article_id: str
    title: str
    url: str
    tenant: str
    product: str
    locale: str
    section: str
    updated_at: str
    blocks: tuple[Block, ...]
    content_hash: str = ""

    @property
    def text(self) -> str:
        """The body as one string, one block a line."""
        return "\n".join(block.text for block in self.blocks)


@dataclass(frozen=True)
class Chunk:
    """A token-bounded piece of one document section, with everything the index payload needs."""

    doc_id: str
    chunk_no: int
    text: str
    section_path: tuple[str, ...]
    token_count: int
    content_hash: str
    doc_hash: str
    article_id: str
    title: str
    url: str
    tenant: str
    product: str
    locale: str
    updated_at: str
    source_path: str
    format: str

    @property
    def section_label(self) -> str:
        """Section path as shown to people: ``Billing > Refunds``."""
        return " > ".join(self.section_path)


@dataclass(frozen=True)
class SkippedFile:
    """A file that could not be ingested, and why (the reason names the file)."""

    path: str
    reason: str


@dataclass(frozen=True)
class DuplicateRecord:
    """A document dropped in favour of a canonical one; never silently lost."""

    doc_id: str
    source_path: str
    duplicate_of: str
    kind: DuplicateKind
    similarity: float


@dataclass(frozen=True)
class RedactionResult:
    """Redacted text and how many spans of each entity type were replaced."""

    text: str
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class IngestResult:
    """Everything one ingestion run produced, kept or dropped."""

    files_read: int
    documents: tuple[Document, ...]
    chunks: tuple[Chunk, ...]
    skipped: tuple[SkippedFile, ...]
    duplicates: tuple[DuplicateRecord, ...]
    redactions: Mapping[str, int]
