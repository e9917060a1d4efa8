"""Load, redact and chunk new files in a pool of processes, before embedding starts.

Partitioning (unstructured), PII analysis and chunking are single-threaded
Python, and the embedding model, which uses every core, waits for them. With
one process per core they finish that many times sooner. Work the caches
already hold (unchanged files on a re-run) stays in the caller, and so does a
handful of new files: starting the processes (imports, models) would cost
more than it saves.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import repeat
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from ingest.loaders import discover
from ingest.pipeline import IngestPipeline, LoadedFile, Prepared, ProcessedDocument, Progress, common_root
from ingest.records import ArticleMeta, Document
from ingest.settings import IngestSettings

# Below this many files to load (or documents to redact), a pool's start-up
# costs more than it saves.
MIN_TASKS_FOR_POOL = 24

T = TypeVar("T")


def default_processes() -> int:
    """One process per core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class Workers:
    """A spawn pool started on first use; each process holds its own IngestPipeline."""

    def __init__(self, settings: IngestSettings, processes: int) -> None:
        self.settings, self.processes = settings, processes
        self._executor: Executor | None = None

    def worthwhile(self, tasks: int) -> bool:
        """True when ``tasks`` pieces of work are enough to pay for the pool."""
        return self.processes > 1 and tasks >= MIN_TASKS_FOR_POOL

    def map(self, function: Callable[..., T], items: Sequence[Any], *constants: Any) -> Iterator[T]:
        """``function(item, *constants)`` for each item, in the processes, results in input order."""
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.processes,
                mp_context=mp.get_context("spawn"),  # no fork after torch and spaCy are loaded
                initializer=_start_worker,
                initargs=(self.settings,),
            )
        chunksize = max(1, len(items) // (self.processes * 8))
        try:
            yield from self._executor.map(function, items, *(repeat(c) for c in constants), chunksize=chunksize)
        except BrokenProcessPool as exc:
            raise RuntimeError(
                f"an ingest worker process died ({exc}); set DESKPILOT_INGEST_PROCESSES=1 to ingest in this "
                "process and see the error"
            ) from exc

    def close(self) -> None:
        """Stop the processes (if any were started)."""
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
            self._executor = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


def prepare_and_process(
    pipeline: IngestPipeline,
    paths: Iterable[Path],
    overrides: ArticleMeta | None = None,
    progress: Progress | None = None,
) -> tuple[Prepared, list[ProcessedDocument]]:
    """What ``pipeline.prepare`` then ``pipeline.process`` of each document give, with new work in a pool.

    The pool has ``DESKPILOT_INGEST_PROCESSES`` processes (0: one per core);
    with 1 everything runs in this process.
    """
    overrides = overrides or ArticleMeta()
    path_list = [Path(p) for p in paths]
    root = common_root(path_list)
    files = discover(path_list)
    processes = pipeline.settings.ingest_processes or default_processes()
    with Workers(pipeline.settings, processes) as workers:
        loaded = {path: pipeline.load_cached(path, root, overrides) for path in files}
        pending = [path for path, item in loaded.items() if item is None]
        fresh: Iterable[LoadedFile] = (
            workers.map(_load, pending, root, overrides)
            if workers.worthwhile(len(pending))
            else (pipeline.load(path, root, overrides) for path in pending)
        )
        done = len(files) - len(pending)
        if progress:
            progress("load", done, len(files))
        for path, item in zip(pending, fresh, strict=True):
            loaded[path] = item
            done += 1
            if progress:
                progress("load", done, len(files))
        prepared = pipeline.deduplicate([_known(loaded[path]) for path in files])
        documents = prepared.documents
        todo = [i for i, document in enumerate(documents) if not pipeline.is_redaction_cached(document)]
        processed: dict[int, ProcessedDocument] = {}
        if workers.worthwhile(len(todo)):
            for i, done_document in zip(todo, workers.map(_process, [documents[i] for i in todo]), strict=True):
                processed[i] = done_document
                if progress:
                    progress("redact+chunk", len(processed), len(todo))
    return prepared, [processed[i] if i in processed else pipeline.process(d) for i, d in enumerate(documents)]


def _known(item: LoadedFile | None) -> LoadedFile:
    if item is None:  # pragma: no cover - every pending file was loaded above
        raise RuntimeError("a file was neither cached nor loaded")
    return item


_pipeline: IngestPipeline | None = None


def _start_worker(settings: IngestSettings) -> None:
    global _pipeline
    _pipeline = IngestPipeline(settings)


def _worker_pipeline() -> IngestPipeline:
    if _pipeline is None:  # pragma: no cover - the pool's initializer sets it
        raise RuntimeError("ingest worker used before it was started")
    return _pipeline


def _load(path: Path, root: Path, overrides: ArticleMeta) -> LoadedFile:
    return _worker_pipeline().load(path, root, overrides)


def _process(document: Document) -> ProcessedDocument:
    return _worker_pipeline().process(document)
