"""Resilience of the LLM path: circuit breakers, retries with backoff, per-call timeouts, an answer deadline,
and an ordered chain of endpoints (primary -> secondary) that fails over from one to the next.

Every call runs in a worker thread that the caller waits for at most the call's timeout, so the deadline holds
even when an endpoint hangs mid-response; the generator is also handed the timeout so that its own HTTP call
gives up at about the same time instead of lingering in the background.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from assistant.generator import GenerationError
from assistant.records import Channel, Draft, Source
from assistant.settings import AssistantSettings

log = logging.getLogger(__name__)

Clock = Callable[[], float]
BreakerState = Literal["closed", "open", "half_open"]
T = TypeVar("T")

SWITCHED_OFF = "LLM generation is switched off (DESKPILOT_LLM_ENABLED=false); answers are extractive"


class EndpointError(GenerationError):
    """A failed call to one endpoint, saying whether retrying it can help and whether it is the endpoint's fault.

    ``retryable``: a connection error, timeout or 5xx may pass; a 4xx (bad key, unknown model) will not.
    ``endpoint_fault``: False for failures that say nothing about the endpoint's health (e.g. an empty
    answer), which therefore do not count towards its circuit breaker.
    """

    def __init__(
        self,
        endpoint: str,
        message: str,
        *,
        detail: str | None = None,
        retryable: bool = True,
        endpoint_fault: bool = True,
    ) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.detail = detail or message
        """What happened, without the endpoint and advice (e.g. ``timed out (...)``)."""
        self.retryable = retryable
        self.endpoint_fault = endpoint_fault


class ChainError(GenerationError):
    """Every endpoint of the chain failed (or the deadline passed); ``reasons`` has one line per endpoint."""

    def __init__(self, reasons: Sequence[str]) -> None:
        self.reasons = tuple(reasons)
        super().__init__("no LLM endpoint produced an answer: " + "; ".join(self.reasons))


class EndpointGenerator(Protocol):
    """A streaming generator bound to one endpoint that accepts a per-call timeout (LlmGenerator is one)."""

    name: str
    endpoint: str

    def generate(
        self, question: str, sources: Sequence[Source], channel: Channel, locale: str, *, timeout: float | None = None
    ) -> Draft:
        """A complete draft; raises GenerationError (preferably EndpointError) when it cannot."""
        ...

    def stream(
        self, question: str, sources: Sequence[Source], channel: Channel, locale: str, *, timeout: float | None = None
    ) -> Iterator[str]:
        """Text deltas of the raw answer; raises GenerationError when it cannot."""
        ...

    def draft_from(self, raw: str) -> Draft:
        """The draft a complete raw text (e.g. a finished stream) stands for."""
        ...


class CircuitBreaker:
    """Stops calling an endpoint that keeps failing: closed -> open after ``failures`` consecutive failures,
    half-open once ``cooldown_s`` has passed (one trial call is let through), closed again on a success.
    """

    def __init__(self, name: str, failures: int, cooldown_s: float, clock: Clock = time.monotonic) -> None:
        if failures < 1 or cooldown_s <= 0:
            raise ValueError(f"breaker {name}: failures must be >= 1 and cooldown_s > 0")
        self.name = name
        self.failures = failures
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._consecutive = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        """``closed``, ``open`` or ``half_open`` (open and the cool-down has passed)."""
        with self._lock:
            return self._state()

    def _state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        return "half_open" if self._clock() - self._opened_at >= self.cooldown_s else "open"

    @property
    def consecutive_failures(self) -> int:
        """Failures since the last success."""
        return self._consecutive

    def retry_after(self) -> float:
        """Seconds until an open breaker lets a trial call through (0 when it would now)."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self._opened_at + self.cooldown_s - self._clock())

    def allow(self) -> bool:
        """May a call start now? In half-open state only one trial call at a time is allowed."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            if state == "half_open" and not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            return False

    def record_success(self) -> None:
        """A call succeeded: close the breaker and forget past failures."""
        with self._lock:
            self._consecutive = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self) -> None:
        """A call failed: a failed trial reopens at once; otherwise open after ``failures`` in a row."""
        with self._lock:
            self._consecutive += 1
            if self._trial_in_flight or self._consecutive >= self.failures:
                self._opened_at = self._clock()
            self._trial_in_flight = False

    def release(self) -> None:
        """A call ended in a way that says nothing about the endpoint's health: let the next one try."""
        with self._lock:
            self._trial_in_flight = False


class Deadline:
    """An overall time budget: no call starts after it, and each call gets at most the time left."""

    def __init__(self, budget_s: float, clock: Clock = time.monotonic) -> None:
        self.budget_s = budget_s
        self._clock = clock
        self._ends = clock() + budget_s

    def left(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self._ends - self._clock())

    def expired(self) -> bool:
        """True once the budget is spent."""
        return self.left() <= 0.0

    def call_timeout(self, per_call_s: float) -> float:
        """A call's timeout: the per-call timeout or the time left, whichever is shorter."""
        return min(per_call_s, self.left())


def backoff_delay(attempt: int, base_s: float) -> float:
    """Wait before retry number ``attempt`` (1-based): base, 2x base, 4x base, ..."""
    return base_s * 2.0 ** (attempt - 1)


def call_with_timeout(fn: Callable[[], T], timeout: float, endpoint: str) -> T:
    """``fn()`` in a daemon thread, waited for at most ``timeout`` seconds (then EndpointError, retryable)."""
    box: list[T] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            box.append(fn())
        except BaseException as exc:
            error.append(exc)

    worker = threading.Thread(target=run, name=f"llm-call {endpoint}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        detail = f"no answer within {timeout:.1f}s (timed out)"
        raise EndpointError(endpoint, f"LLM endpoint {endpoint}: {detail}", detail=detail)
    if error:
        raise error[0]
    return box[0]


def _as_endpoint_error(exc: BaseException, endpoint: str) -> EndpointError:
    if isinstance(exc, EndpointError):
        return exc
    if isinstance(exc, GenerationError):
        return EndpointError(endpoint, str(exc) if endpoint in str(exc) else f"LLM endpoint {endpoint}: {exc}")
    return EndpointError(endpoint, f"LLM endpoint {endpoint}: {type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class ChainResult:
    """The first draft the chain produced, which endpoint produced it, and why the ones before it failed."""

    draft: Draft
    endpoint: str
    failures: tuple[str, ...] = ()


class ResilientGenerator:
    """An ordered chain of LLM endpoints (primary, then secondary ...) behind breakers, retries and a deadline.

    ``generate()`` returns ``(draft, failure reasons)`` (the answer service's LlmChain protocol), ``try_generate()``
    also names the endpoint that answered, ``stream()`` / ``open_stream()`` stream with the same fail-over.

    Breakers are kept per endpoint for the life of this object (share ``breakers`` between instances to share
    them). ``breaker_clock`` drives the breakers' cool-down only; deadlines always use the real monotonic clock.
    """

    name = "llm"

    def __init__(
        self,
        chain: Sequence[EndpointGenerator],
        settings: AssistantSettings,
        *,
        breaker_clock: Clock = time.monotonic,
        breakers: dict[str, CircuitBreaker] | None = None,
    ) -> None:
        self.chain = tuple(chain)
        self.settings = settings
        self._breaker_clock = breaker_clock
        self.breakers: dict[str, CircuitBreaker] = {} if breakers is None else breakers
        self._breakers_lock = threading.Lock()

    def breaker(self, endpoint: str) -> CircuitBreaker:
        """The circuit breaker of ``endpoint`` (created closed on first use)."""
        with self._breakers_lock:
            if endpoint not in self.breakers:
                self.breakers[endpoint] = CircuitBreaker(
                    endpoint, self.settings.breaker_failures, self.settings.breaker_cooldown_s, self._breaker_clock
                )
            return self.breakers[endpoint]

    def _check_enabled(self) -> None:
        if not self.settings.llm_enabled:
            raise GenerationError(SWITCHED_OFF)
        if not self.chain:
            raise GenerationError(
                "no LLM endpoint is configured: set DESKPILOT_LLM_BASE_URL (or DESKPILOT_LLM_GGUF_PATH)"
            )

    def generate(
        self, question: str, sources: Sequence[Source], channel: Channel, locale: str
    ) -> tuple[Draft, list[str]]:
        """The first draft the chain produces and the reasons the endpoints before it failed (the answer
        service's LlmChain protocol); raises GenerationError (a ChainError) with every endpoint's reason."""
        result = self.try_generate(question, sources, channel, locale)
        return result.draft, list(result.failures)

    def try_generate(
        self,
        question: str,
        sources: Sequence[Source],
        channel: Channel,
        locale: str,
        *,
        budget_s: float | None = None,
    ) -> ChainResult:
        """Like generate(), also saying which endpoint answered.

        ``budget_s`` is the time left for this answer (default: settings.answer_deadline_s).
        """
        self._check_enabled()
        deadline = Deadline(self.settings.answer_deadline_s if budget_s is None else budget_s)
        failures: list[str] = []
        for link in self.chain:
            if deadline.expired():
                failures.append(
                    f"LLM endpoint {link.endpoint}: not tried, the answer deadline ({deadline.budget_s:g}s) had passed"
                )
                continue
            try:
                draft = self._generate_on(link, question, sources, channel, locale, deadline)
            except EndpointError as exc:
                log.warning("LLM endpoint failed: %s", exc)
                failures.append(str(exc))
                continue
            return ChainResult(draft, link.endpoint, tuple(failures))
        raise ChainError(failures)

    def _generate_on(
        self,
        link: EndpointGenerator,
        question: str,
        sources: Sequence[Source],
        channel: Channel,
        locale: str,
        deadline: Deadline,
    ) -> Draft:
        def attempt(timeout: float) -> Draft:
            call = functools.partial(link.generate, question, sources, channel, locale, timeout=timeout)
            return call_with_timeout(call, timeout, link.endpoint)

        draft = self._retrying(link, deadline, attempt)
        self.breaker(link.endpoint).record_success()
        return draft

    def _retrying(self, link: EndpointGenerator, deadline: Deadline, attempt: Callable[[float], T]) -> T:
        """``attempt(timeout)`` behind ``link``'s breaker, retried with exponential backoff while it may help and
        the deadline allows. Failures are charged to the breaker; recording the success is the caller's job."""
        breaker = self.breaker(link.endpoint)
        first: EndpointError | None = None
        last: EndpointError | None = None
        attempts = 0
        for n in range(self.settings.llm_retries + 1):
            if n:
                delay = backoff_delay(n, self.settings.llm_backoff_s)
                if delay >= deadline.left():
                    break
                time.sleep(delay)
            if deadline.expired():
                break
            if not breaker.allow():
                raise self._breaker_open(link.endpoint, breaker, last)
            attempts += 1
            try:
                return attempt(deadline.call_timeout(self.settings.llm_timeout_s))
            except Exception as exc:
                last = _as_endpoint_error(exc, link.endpoint)
                first = first or last
                self._charge(breaker, last)
                if not last.retryable:
                    break
        raise self._gave_up(link.endpoint, first, last, attempts, deadline)

    def _charge(self, breaker: CircuitBreaker, error: EndpointError) -> None:
        if error.endpoint_fault:
            breaker.record_failure()
        else:
            breaker.release()

    def _breaker_open(self, endpoint: str, breaker: CircuitBreaker, last: EndpointError | None) -> EndpointError:
        if last is not None:
            return EndpointError(
                endpoint, f"{last} (circuit breaker now open: no more calls for {breaker.retry_after():.0f}s)"
            )
        return EndpointError(
            endpoint,
            f"LLM endpoint {endpoint}: circuit breaker open after {breaker.failures} consecutive failures, not called; "
            f"next trial in {breaker.retry_after():.0f}s",
            retryable=False,
        )

    def _gave_up(
        self,
        endpoint: str,
        first: EndpointError | None,
        last: EndpointError | None,
        attempts: int,
        deadline: Deadline,
    ) -> EndpointError:
        if last is None:
            return EndpointError(
                endpoint, f"LLM endpoint {endpoint}: not tried, the answer deadline ({deadline.budget_s:g}s) had passed"
            )
        note = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        if last.retryable and attempts <= self.settings.llm_retries:
            note += f", no retry within the answer deadline ({deadline.budget_s:g}s)"
        if first is not None and first.detail != last.detail:
            note += f"; attempt 1: {first.detail}"
        return EndpointError(
            endpoint,
            f"{last} ({note})",
            detail=last.detail,
            retryable=last.retryable,
            endpoint_fault=last.endpoint_fault,
        )

    def stream(self, question: str, sources: Sequence[Source], channel: Channel, locale: str) -> Iterator[str]:
        """Text deltas from the first endpoint that starts answering; see open_stream()."""
        return iter(self.open_stream(question, sources, channel, locale))

    def open_stream(
        self,
        question: str,
        sources: Sequence[Source],
        channel: Channel,
        locale: str,
        *,
        budget_s: float | None = None,
    ) -> ResilientStream:
        """A stream that fails over while nothing has been yielded and raises GenerationError after that.

        Raises at once when generation is switched off; endpoints are called on first iteration.
        """
        self._check_enabled()
        deadline = Deadline(self.settings.answer_deadline_s if budget_s is None else budget_s)
        return ResilientStream(self, question, sources, channel, locale, deadline)


_END = object()


class ResilientStream:
    """Iterates text deltas; afterwards ``endpoint``, ``failures``, ``text`` and ``draft()`` tell what happened."""

    def __init__(
        self,
        owner: ResilientGenerator,
        question: str,
        sources: Sequence[Source],
        channel: Channel,
        locale: str,
        deadline: Deadline,
    ) -> None:
        self._owner = owner
        self._args = (question, tuple(sources), channel, locale)
        self.deadline = deadline
        self.failures: list[str] = []
        self.endpoint: str | None = None
        self.finished = False
        self._link: EndpointGenerator | None = None
        self._parts: list[str] = []
        self._iterator: Iterator[str] | None = None

    @property
    def text(self) -> str:
        """The raw text streamed so far."""
        return "".join(self._parts)

    def draft(self) -> Draft:
        """The draft of the finished stream (parsed by the endpoint that produced it)."""
        if not self.finished or self._link is None:
            raise GenerationError("the stream has not finished: iterate it to the end before asking for its draft")
        return self._link.draft_from(self.text)

    def __iter__(self) -> Iterator[str]:
        if self._iterator is None:
            self._iterator = self._run()
        return self._iterator

    def __next__(self) -> str:
        return next(iter(self))

    def _run(self) -> Iterator[str]:
        for link in self._owner.chain:
            if self.deadline.expired():
                self.failures.append(
                    f"LLM endpoint {link.endpoint}: not tried, the answer deadline ({self.deadline.budget_s:g}s) had passed"
                )
                continue
            try:
                pump, first = self._start_on(link)
            except EndpointError as exc:
                log.warning("LLM endpoint failed before streaming: %s", exc)
                self.failures.append(str(exc))
                continue
            self._link, self.endpoint = link, link.endpoint
            self._parts.append(first)
            yield first
            yield from self._rest(link, pump)
            self.finished = True
            return
        raise ChainError(self.failures)

    def _start_on(self, link: EndpointGenerator) -> tuple[_Pump, str]:
        """Start streaming on ``link``, with retries, until its first delta arrives."""

        def attempt(timeout: float) -> tuple[_Pump, str]:
            pump = _Pump(link, self._args, timeout)
            try:
                first = pump.next_delta()
            except BaseException:
                pump.stop()
                raise
            if first is None:
                pump.stop()
                raise EndpointError(
                    link.endpoint,
                    f"LLM endpoint {link.endpoint} returned an empty answer",
                    detail="empty answer",
                    retryable=False,
                    endpoint_fault=False,
                )
            return pump, first

        return self._owner._retrying(link, self.deadline, attempt)

    def _rest(self, link: EndpointGenerator, pump: _Pump) -> Iterator[str]:
        breaker = self._owner.breaker(link.endpoint)
        settled = False
        try:
            while True:
                try:
                    delta = pump.next_delta()
                except EndpointError as exc:
                    settled = True
                    self._owner._charge(breaker, exc)
                    raise EndpointError(
                        link.endpoint,
                        f"{exc} (failed mid-stream after {len(self.text)} characters; the partial answer is unusable)",
                        retryable=False,
                    ) from exc
                if delta is None:
                    settled = True
                    breaker.record_success()
                    return
                self._parts.append(delta)
                yield delta
        finally:
            pump.stop()
            if not settled:
                # the consumer stopped reading: no verdict on the endpoint, but a half-open trial must end
                breaker.release()


class _Pump:
    """Runs one endpoint's stream in a daemon thread and hands its deltas over a queue, so waiting for the
    next delta can be bounded by the call's timeout even when the connection stalls."""

    def __init__(
        self, link: EndpointGenerator, args: tuple[str, tuple[Source, ...], Channel, str], timeout: float
    ) -> None:
        self.endpoint = link.endpoint
        self.timeout = timeout
        self._ends = time.monotonic() + timeout
        self._queue: queue.Queue[tuple[object, str | BaseException | None]] = queue.Queue()
        self._stop = threading.Event()
        question, sources, channel, locale = args

        def run() -> None:
            try:
                deltas = link.stream(question, sources, channel, locale, timeout=timeout)
                try:
                    for delta in deltas:
                        if self._stop.is_set():
                            return
                        if delta:
                            self._queue.put(("delta", delta))
                finally:
                    close = getattr(deltas, "close", None)
                    if callable(close):
                        close()
                self._queue.put((_END, None))
            except BaseException as exc:
                self._queue.put(("error", exc))

        self._thread = threading.Thread(target=run, name=f"llm-stream {link.endpoint}", daemon=True)
        self._thread.start()

    def next_delta(self) -> str | None:
        """The next delta, None at the end; EndpointError on failure or when the call's timeout passes."""
        left = self._ends - time.monotonic()
        try:
            kind, value = self._queue.get(timeout=max(0.0, left))
        except queue.Empty:
            self.stop()
            detail = f"streamed answer not complete within {self.timeout:.1f}s (timed out)"
            raise EndpointError(self.endpoint, f"LLM endpoint {self.endpoint}: {detail}", detail=detail) from None
        if kind is _END:
            return None
        if kind == "error":
            assert isinstance(value, BaseException)
            raise _as_endpoint_error(value, self.endpoint)
        assert isinstance(value, str)
        return value

    def stop(self) -> None:
        """Tell the worker to drop the stream at its next delta."""
        self._stop.set()
