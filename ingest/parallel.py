"""Redact and chunk in a worker process while the caller embeds what is ready.

PII analysis (spaCy NER, phonenumbers) is single-threaded Python and costs
about half as much as embedding the same text; run in the caller's process it
would add to the embedding time, in a worker it overlaps with it. Documents
whose redaction is cached (unchanged content) are processed in the caller:
starting a worker for them would cost more than it saves.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ingest.pipeline import IngestPipeline, ProcessedDocument
from ingest.records import Document
from ingest.settings import IngestSettings

# Below this many documents to analyse, a worker's start-up (imports, models)
# costs more than the overlap gains.
MIN_DOCUMENTS_FOR_WORKER = 16
_POLL_SECONDS = 1.0


def process_documents(
    pipeline: IngestPipeline,
    documents: Sequence[Document],
    use_worker: bool = True,
    on_worker_start: Callable[[], None] | None = None,
    on_worker_done: Callable[[], None] | None = None,
) -> Iterator[ProcessedDocument]:
    """Processed documents in input order; uncached ones come from a worker process when worthwhile.

    ``on_worker_start`` and ``on_worker_done`` bracket the worker's life, so the
    caller can leave it a core meanwhile and take the core back afterwards.
    """
    pending = [d for d in documents if not pipeline.is_redaction_cached(d)]
    if not use_worker or len(pending) < MIN_DOCUMENTS_FOR_WORKER:
        for document in documents:
            yield pipeline.process(document)
        return
    context = mp.get_context("spawn")  # no fork after torch and spaCy are loaded
    results: Any = context.Queue()
    worker = context.Process(
        target=_work, args=(pipeline.settings, pending, results), name="deskpilot-redact", daemon=True
    )
    worker.start()
    if on_worker_start:
        on_worker_start()
    remaining = {d.doc_id for d in pending}
    try:
        for document in documents:
            if document.doc_id not in remaining:
                yield pipeline.process(document)
                continue
            item = _next(results, worker)
            if item.document.doc_id != document.doc_id:  # pragma: no cover - a bug, not bad input
                raise RuntimeError(f"worker returned {item.document.doc_id}, expected {document.doc_id}")
            remaining.discard(document.doc_id)
            if not remaining and on_worker_done:
                on_worker_done()
            yield item
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join(timeout=10)
        if remaining and on_worker_done:
            on_worker_done()


def _next(results: Any, worker: Any) -> ProcessedDocument:
    while True:
        try:
            item = results.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            if not worker.is_alive():
                raise RuntimeError(
                    f"the redaction worker died (exit code {worker.exitcode}); run with "
                    "DESKPILOT_INGEST_WORKER=false to see the error in this process"
                ) from None
            continue
        if isinstance(item, BaseException):
            raise RuntimeError(f"the redaction worker failed: {item!r}") from item
        if not isinstance(item, ProcessedDocument):  # pragma: no cover
            raise RuntimeError(f"unexpected message from the redaction worker: {item!r}")
        return item


def _work(settings: IngestSettings, documents: list[Document], results: Any) -> None:
    """Worker entry point: process each document and send it back in order."""
    try:
        pipeline = IngestPipeline(settings)
        for document in documents:
            results.put(pipeline.process(document))
    except BaseException as exc:  # sent to the parent, which raises it with context
        results.put(exc)
