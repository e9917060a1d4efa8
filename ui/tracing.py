"""Langfuse tracing of answers and votes: one trace per answer, a span per pipeline stage, votes as scores.

The pipeline opens its spans through ``assistant.tracing.stage``; this module is the door's side: it opens
the trace (root span) of each answer, nests the stages' spans under it with their real start and end times,
records the generator's draft as a Langfuse *generation* (model, prompt version, token usage, cost), and
sends agents' and customers' votes as scores on the answer's trace. Without both Langfuse keys the door
gets :data:`NO_TRACER`: nothing is imported, nothing is sent, nothing can fail.

Nothing sent carries raw PII: the question is the redacted one, the answer is the PII-filtered one, and
drafts and vote comments go through the ingest redactor first.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Protocol, TypeVar
from uuid import UUID

from sqlalchemy.exc import SQLAlchemyError

from assistant.records import Answer, Draft, Question
from assistant.tracing import NULL_SPAN, Span, SpanKind, Trace, active, describe_search
from feedback.records import FeedbackIn, InteractionIn, WriteOutcome
from feedback.spool import DurableWriter, Spool, SpoolRecord
from feedback.store import FeedbackStore
from retrieval.records import SearchResult
from ui.observability import ObservabilitySettings

if TYPE_CHECKING:
    from langfuse import Langfuse
    from langfuse._client.span import LangfuseObservationWrapper

log = logging.getLogger("deskpilot.tracing")
Redact = Callable[[str, str], str]
_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
T = TypeVar("T")


def is_trace_id(value: str) -> bool:
    """Whether ``value`` is a W3C/Langfuse trace id (32 lowercase hex digits)."""
    return bool(_TRACE_ID.match(value))


class AnswerTrace(Trace, Protocol):
    """The trace of one answer as a door holds it: the pipeline's :class:`Trace`, and its conclusion."""

    def finish(self, answer: Answer, cost_usd: float | None = None) -> None:
        """Put the (redacted) question, the answer and its provenance on the trace."""
        ...


class Tracer(Protocol):
    """What a door traces: answers and votes."""

    enabled: bool

    def answer(self, question: Question, *, request_id: str, actor: str) -> AbstractContextManager[AnswerTrace]:
        """Open (and at the end of the block, close) the trace of one answer. The pipeline's stages become its
        spans where they run inside :func:`activate` of it."""
        ...

    def vote(self, trace_id: str, vote: FeedbackIn) -> None:
        """Send a vote as scores on the trace of the answer it is about."""
        ...

    def flush(self) -> None:
        """Send everything queued now (blocks until sent or failed)."""
        ...

    def close(self) -> None:
        """Flush and stop the background senders."""
        ...


class _NoTrace:
    trace_id = ""

    def span(self, name: str, kind: SpanKind, metadata: Mapping[str, object]) -> AbstractContextManager[Span]:
        return nullcontext(NULL_SPAN)

    def finish(self, answer: Answer, cost_usd: float | None = None) -> None:
        return None


class NullTracer:
    """Tracing off: every call returns at once and the pipeline sees no current trace."""

    enabled = False

    @contextmanager
    def answer(self, question: Question, *, request_id: str, actor: str) -> Iterator[AnswerTrace]:
        yield _NoTrace()

    def vote(self, trace_id: str, vote: FeedbackIn) -> None:
        return None

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None


NO_TRACER: Tracer = NullTracer()


class _LangfuseSpan:
    """An open Langfuse observation, as the pipeline's :class:`assistant.tracing.Span`."""

    def __init__(self, observation: LangfuseObservationWrapper, tracer: LangfuseTracer, locale: str) -> None:
        self.observation, self.tracer, self.locale = observation, tracer, locale

    def annotate(self, **metadata: object) -> None:
        self.observation.update(metadata=metadata)

    def retrieved(self, result: SearchResult) -> None:
        self.observation.update(metadata=describe_search(result))

    def generated(self, draft: Draft) -> None:
        usage = {
            "input": draft.prompt_tokens,
            "output": draft.completion_tokens,
            "total": draft.prompt_tokens + draft.completion_tokens,
        }
        model = draft.model or draft.generator
        cost = self.tracer.settings.cost_usd(model, draft.prompt_tokens, draft.completion_tokens)
        price = self.tracer.settings.llm_prices.get(model)
        text = " ".join(s.text for s in draft.sentences)
        self.observation.update(
            model=model,
            version=draft.prompt_version or None,
            usage_details=usage,
            cost_details=(
                {
                    "input": draft.prompt_tokens * price.prompt / 1000,
                    "output": draft.completion_tokens * price.completion / 1000,
                    "total": cost,
                }
                if price is not None and cost is not None
                else None
            ),
            output=self.tracer.redact(text, self.locale) if text else "",
            metadata={
                "generator": draft.generator,
                "prompt_version": draft.prompt_version,
                "sentences": len(draft.sentences),
            },
        )


class _LangfuseTrace:
    """One answer's trace: a root observation and a stack of the open stage spans under it.

    Spans are parented explicitly (not through the OpenTelemetry context), so a streamed answer whose stages
    run on different worker threads still nests correctly.
    """

    def __init__(self, tracer: LangfuseTracer, root: LangfuseObservationWrapper, trace_id: str, locale: str) -> None:
        self.tracer, self.root, self._trace_id, self.locale = tracer, root, trace_id, locale
        self._open: list[LangfuseObservationWrapper] = [root]

    @property
    def trace_id(self) -> str:
        return self._trace_id

    @contextmanager
    def span(self, name: str, kind: SpanKind, metadata: Mapping[str, object]) -> Iterator[Span]:
        observation = self._open[-1].start_observation(name=name, as_type=kind, metadata=dict(metadata) or None)
        self._open.append(observation)
        try:
            yield _LangfuseSpan(observation, self.tracer, self.locale)
        except BaseException as exc:
            if not isinstance(exc, GeneratorExit):
                observation.update(level="ERROR", status_message=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self._open.remove(observation)
            observation.end()

    def finish(self, answer: Answer, cost_usd: float | None = None) -> None:
        self.root.update(
            input={"question": answer.question},
            output={
                "answer": answer.text,
                "abstained": answer.abstained,
                "escalation_reason": answer.escalation_reason,
                "citations": [{"n": c.n, "doc_id": c.doc_id, "title": c.title} for c in answer.citations],
            },
            metadata={
                "confidence": answer.confidence.as_json(),
                "generator": answer.generator,
                "model": answer.model,
                "prompt_version": answer.prompt_version,
                "index_version": answer.index_version,
                "route": answer.route,
                "fallback_reason": answer.fallback_reason,
                "flags": list(answer.flags),
                "cached": answer.cached,
                "timings_ms": {k: round(v, 3) for k, v in answer.timings_ms.items()},
                "prompt_tokens": answer.prompt_tokens,
                "completion_tokens": answer.completion_tokens,
                "cost_usd": cost_usd,
            },
        )

    def end(self, error: BaseException | None) -> None:
        for observation in reversed(self._open[1:]):  # a stage left open by an error in the door
            observation.end()
        if error is not None:
            self.root.update(level="ERROR", status_message=f"{type(error).__name__}: {error}")
        self.root.end()


class LangfuseTracer:
    """Answers and votes traced in Langfuse through its Python SDK (OpenTelemetry underneath).

    The SDK batches and sends from background threads; an unreachable Langfuse costs log lines, never an answer.
    """

    enabled = True

    def __init__(self, client: Langfuse, settings: ObservabilitySettings, redact: Redact | None = None) -> None:
        self.client, self.settings = client, settings
        self._redact = redact

    @classmethod
    def from_settings(cls, settings: ObservabilitySettings, redact: Redact | None = None) -> LangfuseTracer:
        """A tracer for the configured Langfuse project; ValueError naming the setting when one is missing."""
        if not settings.tracing_enabled():
            raise ValueError("set DESKPILOT_LANGFUSE_PUBLIC_KEY and DESKPILOT_LANGFUSE_SECRET_KEY to trace to Langfuse")
        if not settings.langfuse_host:
            raise ValueError(
                "DESKPILOT_LANGFUSE_HOST is empty: set it to your Langfuse server "
                "(e.g. http://localhost:3000 from compose.yaml, or https://cloud.langfuse.com)"
            )
        from langfuse import Langfuse
        from opentelemetry.sdk.trace import TracerProvider

        client = Langfuse(
            public_key=settings.langfuse_public_key,
            secret_key=settings.langfuse_secret_key,
            base_url=settings.langfuse_host.rstrip("/"),
            environment=settings.langfuse_environment or None,
            sample_rate=settings.langfuse_sample_rate,
            # Our own provider: the app's global OpenTelemetry setup (if any) is left alone.
            tracer_provider=TracerProvider(),
        )
        return cls(client, settings, redact)

    def redact(self, text: str, locale: str) -> str:
        """``text`` with PII replaced; without a redactor, a note that the text was withheld."""
        if self._redact is None:
            return "<withheld: no redactor configured>"
        return self._redact(text, locale)

    @contextmanager
    def answer(self, question: Question, *, request_id: str, actor: str) -> Iterator[AnswerTrace]:
        from langfuse import propagate_attributes

        trace_id = request_id if is_trace_id(request_id) else self.client.create_trace_id(seed=request_id)
        attributes = {"tenant": question.tenant, "channel": question.channel, "request_id": request_id}
        with propagate_attributes(
            trace_name="answer",
            user_id=actor or None,
            tags=[f"tenant:{question.tenant}", f"channel:{question.channel}"],
            metadata=attributes,
        ):
            root = self.client.start_observation(
                trace_context={"trace_id": trace_id},
                name="answer",
                metadata={
                    **attributes,
                    "products": list(question.products),
                    "locale": question.locale,
                    "generator_asked": question.generator,
                },
            )
        trace = _LangfuseTrace(self, root, trace_id, question.locale or "en")
        error: BaseException | None = None
        try:
            yield trace
        except BaseException as exc:
            error = exc
            raise
        finally:
            trace.end(error)

    def vote(self, trace_id: str, vote: FeedbackIn) -> None:
        """``thumbs`` (1 up, 0 down; the comment, redacted, as its comment) and one ``reason`` score per reason code.

        Score ids derive from the vote's id, so a vote sent twice is one score."""
        metadata = {"tenant": vote.tenant, "interaction_id": str(vote.interaction_id), "reviewer": vote.reviewer}
        self.client.create_score(
            name="thumbs",
            value=1.0 if vote.thumbs == "up" else 0.0,
            data_type="BOOLEAN",
            trace_id=trace_id,
            score_id=f"{vote.id}-thumbs",
            comment=self.redact(vote.comment, "en") if vote.comment.strip() else None,
            metadata=metadata,
        )
        for code in vote.reason_codes:
            self.client.create_score(
                name="reason",
                value=code,
                data_type="CATEGORICAL",
                trace_id=trace_id,
                score_id=f"{vote.id}-reason-{code}",
                metadata=metadata,
            )

    def flush(self) -> None:
        self.client.flush()

    def close(self) -> None:
        self.client.shutdown()


def tracer_from(settings: ObservabilitySettings, redact: Redact | None = None) -> Tracer:
    """The Langfuse tracer when both keys are set, else :data:`NO_TRACER` (no import, no network)."""
    if not settings.tracing_enabled():
        return NO_TRACER
    tracer = LangfuseTracer.from_settings(settings, redact)
    log.info("tracing answers to Langfuse at %s", settings.langfuse_host)
    return tracer


class ScoringWriter(DurableWriter):
    """The durable writer that also sends each new vote as scores on its answer's trace.

    The answer's trace id comes from the interactions this writer recorded (remembered, so a vote still finds
    it while the database is down), else from the stored interaction. Interactions without a Langfuse trace
    id (tracing was off, or another door wrote them) get no score.
    """

    def __init__(
        self,
        store: FeedbackStore,
        spool: Spool,
        tracer: Tracer,
        replay_batch: int = 200,
        remember: int = 10_000,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__(store, spool, replay_batch, redact)
        self.tracer, self._remember = tracer, remember
        self._traces: OrderedDict[UUID, str] = OrderedDict()
        self._lock = threading.Lock()

    def write(self, record: SpoolRecord) -> WriteOutcome:
        outcome = super().write(record)
        if isinstance(record, InteractionIn) and is_trace_id(record.trace_id):
            with self._lock:
                self._traces[record.id] = record.trace_id
                while len(self._traces) > self._remember:
                    self._traces.popitem(last=False)
        elif isinstance(record, FeedbackIn) and outcome.status != "duplicate":
            trace_id = self._trace_of(record)
            if trace_id:
                try:
                    self.tracer.vote(trace_id, record)
                except Exception:  # a tracing failure never loses or fails a vote
                    log.exception("vote %s could not be sent to the tracer", record.id)
        return outcome

    def _trace_of(self, vote: FeedbackIn) -> str:
        with self._lock:
            known = self._traces.get(vote.interaction_id)
        if known is not None:
            return known
        try:
            found = self.store.get_interaction(vote.interaction_id, vote.tenant)
        except SQLAlchemyError:
            return ""
        return found.trace_id if found is not None and is_trace_id(found.trace_id) else ""


def activate(trace: AnswerTrace) -> AbstractContextManager[object]:
    """Make ``trace`` current for the pipeline's stages run inside the block (nothing to do when it records
    nothing). A streamed answer activates it around each step, since each step may run on another thread."""
    return nullcontext() if isinstance(trace, _NoTrace) else active(trace)


def stepwise(trace: AnswerTrace, steps: Iterator[T]) -> Iterator[T]:
    """``steps`` (a streamed answer's events) with ``trace`` current while each one is computed."""
    while True:
        with activate(trace):
            try:
                item = next(steps)
            except StopIteration:
                return
        yield item


def durable_writer(
    store: FeedbackStore, spool: Spool, tracer: Tracer, redact: Callable[[str], str] | None = None
) -> DurableWriter:
    """The writer a door records through: scoring votes when tracing is on, the plain durable writer otherwise;
    ``redact`` redacts what people typed (comments, replies, escalations) before it is stored or spooled."""
    if tracer.enabled:
        return ScoringWriter(store, spool, tracer, redact=redact)
    return DurableWriter(store, spool, redact=redact)
