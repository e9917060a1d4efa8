"""Tracing hooks of the answer pipeline: a door opens a trace per answer, the pipeline's stages open spans in it.

The pipeline never knows which backend records the trace (Langfuse lives in ``ui.tracing``). A door makes a
:class:`Trace` current with :func:`active`; each stage runs inside :func:`stage`, which times it into the
answer's ``timings_ms`` and, only while a trace is current, opens a span of that trace around it. With no
trace current (the default, and always when no tracer is configured) a stage costs one context-variable
lookup and nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Literal, Protocol

from assistant.records import Draft
from retrieval.records import SearchResult

SpanKind = Literal["span", "generation", "guardrail", "retriever"]


class Span(Protocol):
    """One open span: metadata and, for a generation, what the model produced and used."""

    def annotate(self, **metadata: object) -> None:
        """Attach metadata to the span (values must already be free of PII)."""
        ...

    def generated(self, draft: Draft) -> None:
        """Record a generator's draft on a generation span: model, prompt version, token usage, output."""
        ...

    def retrieved(self, result: SearchResult) -> None:
        """Record what a search found (see :func:`describe_search`) on a retrieval span."""
        ...


class Trace(Protocol):
    """The trace of one answer."""

    @property
    def trace_id(self) -> str:
        """The backend's id of this trace ("" when nothing is recorded)."""
        ...

    def span(self, name: str, kind: SpanKind, metadata: Mapping[str, object]) -> AbstractContextManager[Span]:
        """Open a child of the innermost open span (the trace's root when none is open)."""
        ...


class _NullSpan:
    def annotate(self, **metadata: object) -> None:
        return None

    def generated(self, draft: Draft) -> None:
        return None

    def retrieved(self, result: SearchResult) -> None:
        return None


NULL_SPAN: Span = _NullSpan()
_current: ContextVar[Trace | None] = ContextVar("deskpilot_trace", default=None)


def current() -> Trace | None:
    """The trace the current answer is recorded in, if any."""
    return _current.get()


def current_trace_id() -> str:
    """The id of the current trace ("" when none), e.g. for log lines."""
    trace = _current.get()
    return trace.trace_id if trace is not None else ""


@contextmanager
def active(trace: Trace) -> Iterator[Trace]:
    """Make ``trace`` the current one for the stages run inside this block (this thread/context only)."""
    token = _current.set(trace)
    try:
        yield trace
    finally:
        _current.reset(token)


class stage:  # used like a function: `with stage("redact", timings):`
    """Time one pipeline stage into ``timings[name]`` (milliseconds) and trace it as a span when a trace is current.

    The timing and the span measure the same block, so ``timings_ms`` and the trace agree.
    """

    __slots__ = ("_kind", "_metadata", "_name", "_span", "_started", "_timings")

    def __init__(
        self,
        name: str,
        timings: MutableMapping[str, float] | None = None,
        kind: SpanKind = "span",
        **metadata: object,
    ) -> None:
        self._name, self._timings, self._kind, self._metadata = name, timings, kind, metadata
        self._started = 0.0
        self._span: AbstractContextManager[Span] | None = None

    def __enter__(self) -> Span:
        trace = _current.get()
        opened = NULL_SPAN
        if trace is not None:
            self._span = trace.span(self._name, self._kind, self._metadata)
            opened = self._span.__enter__()
        self._started = time.perf_counter()
        return opened

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._timings is not None:
            self._timings[self._name] = (time.perf_counter() - self._started) * 1000
        if self._span is not None:
            self._span.__exit__(exc_type, exc, tb)
            self._span = None


def describe_search(result: SearchResult) -> dict[str, object]:
    """What a retrieval span says about one hybrid search, without any text of the hits.

    Dense and BM25 retrieval and their fusion run in ONE engine query (two prefetches fused by weighted
    RRF inside Qdrant), so they have no separate timings; their per-step times are the searcher's own.
    """
    hits = result.hits
    return {
        "engine_call": "one Qdrant query: dense prefetch + BM25 prefetch, fused by weighted RRF in the engine",
        "steps_ms": {k: round(v, 3) for k, v in result.timings_ms.items()},
        "hits": len(hits),
        "dense_hits": sum(1 for h in hits if h.dense_rank is not None),
        "bm25_hits": sum(1 for h in hits if h.sparse_rank is not None),
        "both_branches": sum(1 for h in hits if h.dense_rank is not None and h.sparse_rank is not None),
        "top": [
            {
                "doc_id": h.doc_id,
                "section": h.section,
                "fused": round(h.fused_score, 5),
                "dense_rank": h.dense_rank,
                "bm25_rank": h.sparse_rank,
            }
            for h in hits[:5]
        ],
    }
