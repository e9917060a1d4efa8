"""Wire ingest into retrieval: files -> chunks -> index, with the manifest in the SQL store."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.budget import UsageLedger
from assistant.flags import FlagStore
from assistant.keywords import KeyTerms
from assistant.service import AnswerService, LlmChain
from ingest.parallel import prepare_and_process
from ingest.pipeline import IngestPipeline, Prepared, ProcessedDocument, collect
from ingest.records import ArticleMeta, IngestResult, SkippedFile
from ingest.redact import Redactor
from retrieval.content import ContentState
from retrieval.embedder import Embedder
from retrieval.index import VectorIndex, open_index
from retrieval.records import SyncReport
from retrieval.search import HybridSearcher
from retrieval.sparse import Bm25Encoder
from retrieval.store import EmbeddingCache, Manifest, engine_for
from retrieval.sync import IndexSync
from ui.settings import AppSettings

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class IngestRun:
    """One `deskpilot ingest`: what the pipeline found and what the sync changed."""

    result: IngestResult
    sync: SyncReport
    seconds: float


class Retrieval:
    """The index, its manifest and the embedder, opened once and closed together."""

    def __init__(self, settings: AppSettings) -> None:
        engine = engine_for(settings.retrieval.resolved_database_url())
        self.settings = settings
        self.embedder = Embedder(
            settings.retrieval.embedding_model or settings.ingest.embedding_model,
            EmbeddingCache(engine),
            settings.retrieval.embedding_batch_size,
        )
        self.manifest = Manifest(engine, settings.retrieval.collection)
        # Disabled and deleted articles (a JSON file in the data dir, re-read when it changes): every search of
        # every process sharing the data dir leaves them out from the next answer on.
        self.content = ContentState.in_data_dir(settings.retrieval.data_dir)
        # One flag store and one usage ledger per process, shared by every answer service built here
        # (the API's and the console's), so a switch and a budget mean the same to all of them.
        self.flags = FlagStore(settings.assistant.resolved_flags_file())
        self.usage = UsageLedger()
        self._index: VectorIndex | None = None
        self._redactor: Redactor | None = None

    @property
    def index(self) -> VectorIndex:
        """The vector index (opened on first use; needs the model's dimension)."""
        if self._index is None:
            self._index = open_index(self.settings.retrieval, self.embedder.dimension)
        return self._index

    def sync(self) -> IndexSync:
        """A sync bound to this index."""
        r = self.settings.retrieval
        return IndexSync(
            self.index,
            self.manifest,
            self.embedder,
            Bm25Encoder(r.bm25_k1, r.bm25_b, r.bm25_avg_len),
            write_batch=r.index_write_batch,
        )

    def searcher(self) -> HybridSearcher:
        """Hybrid search over this index; queries are redacted with the ingest redactor first."""
        r = self.settings.retrieval
        return HybridSearcher(
            self.index,
            self.embedder,
            Bm25Encoder(r.bm25_k1, r.bm25_b, r.bm25_avg_len),
            r,
            redact=self.redact,
            excluded=self.content.excluded,
        )

    def version(self) -> str:
        """What answer caches key on: the index version and the generation of the disabled/deleted set."""
        return f"{self.manifest.version()}+content@{self.content.generation()}"

    def redact(self, text: str, locale: str = "en") -> str:
        """``text`` with PII replaced by typed placeholders, with the locale's recognizers (loaded on first use)."""
        if self._redactor is None:
            self._redactor = Redactor(self.settings.ingest)
        return self._redactor.redact(text, locale).text

    def redact_content(self, text: str, locale: str = "en") -> str:
        """``text`` redacted with the help-center policy (precision first: product words stay)."""
        if self._redactor is None:
            self._redactor = Redactor(self.settings.ingest)
        return self._redactor.redact(text, locale, kind="content").text

    def assistant(self, llm: LlmChain | None = None) -> AnswerService:
        """The answer service over this index, with the configured LLM chain unless ``llm`` is given."""
        return AnswerService(
            self.searcher(),
            self.settings.assistant,
            index_version=self.version,
            redact=self.redact,
            llm=llm if llm is not None else configured_llm(self.settings),
            cheap_llm=configured_cheap_llm(self.settings),
            flags=self.flags,
            usage=self.usage,
            key_terms=KeyTerms(self._tagger),
            redact_output=self.redact_content,
        )

    def _tagger(self) -> Any:
        """spaCy's small English pipeline with only its part-of-speech tagger (for assistant.keywords)."""
        from ingest.offline import load_spacy, resolve_spacy_model

        path = resolve_spacy_model(self.settings.ingest.spacy_model)
        return load_spacy(str(path), exclude=("ner", "parser", "lemmatizer"))

    def close(self) -> None:
        """Close the index."""
        if self._index is not None:
            self._index.close()
            self._index = None

    def __enter__(self) -> Retrieval:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def configured_llm(settings: AppSettings) -> LlmChain | None:
    """The resilient LLM chain when an endpoint or a GGUF file is configured, else None (extractive only)."""
    a = settings.assistant
    if not (a.llm_base_url or (a.llm_kind == "gguf" and a.llm_gguf_path)):
        return None
    from assistant.llm import build_llm_chain

    return build_llm_chain(a)


def configured_cheap_llm(settings: AppSettings) -> LlmChain | None:
    """The cheap model's chain for budget downgrades when DESKPILOT_LLM_CHEAP_MODEL is set (on
    DESKPILOT_LLM_CHEAP_BASE_URL, else the primary endpoint), else None."""
    a = settings.assistant
    base_url = a.llm_cheap_base_url or (a.llm_base_url if a.llm_kind == "openai_like" else "")
    if not (a.llm_cheap_model and base_url):
        return None
    from assistant.llm import LlmGenerator
    from assistant.resilience import ResilientGenerator

    hint = "DESKPILOT_LLM_CHEAP_BASE_URL / DESKPILOT_LLM_CHEAP_MODEL"
    cheap = LlmGenerator.openai_like(a, base_url=base_url, model=a.llm_cheap_model, setting_hint=hint)
    return ResilientGenerator([cheap], a)


def ingest_paths(
    paths: Iterable[Path],
    settings: AppSettings,
    overrides: ArticleMeta | None = None,
    progress: Progress | None = None,
    pipeline: IngestPipeline | None = None,
    retrieval: Retrieval | None = None,
) -> IngestRun:
    """Run the ingestion pipeline over ``paths`` and sync its chunks into the index."""
    started = time.perf_counter()
    path_list = [Path(p) for p in paths]
    pipeline = pipeline or IngestPipeline(settings.ingest)
    prepared, processed = prepare_and_process(pipeline, path_list, overrides, progress=progress)
    prepared, processed = _without_deleted(prepared, processed, pipeline, settings)
    own = retrieval is None
    retrieval = retrieval or Retrieval(settings)
    try:
        report = retrieval.sync().sync(
            (item.chunks for item in processed),
            scope=path_list,
            keep_sources=[s.path for s in prepared.skipped],
            progress=progress,
            expected_documents=len(prepared.documents),
        )
    finally:
        if own:
            retrieval.close()
    return IngestRun(result=collect(prepared, processed), sync=report, seconds=time.perf_counter() - started)


def _without_deleted(
    prepared: Prepared, processed: list[ProcessedDocument], pipeline: IngestPipeline, settings: AppSettings
) -> tuple[Prepared, list[ProcessedDocument]]:
    """Leave out the documents an admin deleted (``ui.content``): they are reported as skipped, never indexed
    again until restored, and the ingest cache entries this run wrote for their files go again."""
    tombstones = ContentState.in_data_dir(settings.retrieval.data_dir).deleted()
    if not tombstones:
        return prepared, processed
    gone = [item for item in processed if item.document.doc_id in tombstones]
    if not gone:
        return prepared, processed
    sources = {str(Path(item.document.source_path).resolve()) for item in gone}
    pipeline.cache.purge(lambda source: source not in sources)
    skipped = tuple(
        SkippedFile(
            path=item.document.source_path,
            reason=(
                f"{item.document.source_path}: article {item.document.doc_id} was deleted by "
                f"{tombstones[item.document.doc_id].by} on {tombstones[item.document.doc_id].at[:10]}; "
                f"restore it (`deskpilot content restore {item.document.doc_id}` or the console) to ingest it again"
            ),
        )
        for item in gone
    )
    kept_documents = tuple(d for d in prepared.documents if d.doc_id not in tombstones)
    return (
        dataclasses.replace(prepared, documents=kept_documents, skipped=prepared.skipped + skipped),
        [item for item in processed if item.document.doc_id not in tombstones],
    )
