"""The hot path of a rollout: which arm answers a request, and the candidate's shadow answers in the background.

:class:`Canary` stats the rollout file on every request (microseconds) and re-reads it only when it changed,
so ``deskpilot rollout advance|rollback`` takes effect on the next request without a restart. A file that
became invalid is logged and ignored: every request goes to control until it is fixed. The candidate's
:class:`AnswerService` shares the control's searcher (one index, one copy of the models) and is rebuilt only
when the candidate's overrides change.

Shadow answers run in one background thread fed by a bounded queue: the live answer is already computed
when its shadow is queued, the worker never takes the doors' answer lock (a slow candidate cannot hold up
live requests), a full queue drops the shadow, and a failing shadow is logged and dropped, never surfaced.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from assistant.records import Answer, Question
from assistant.service import AnswerService
from assistant.settings import AssistantSettings
from ui.rollout import (
    CONTROL,
    RolloutFileError,
    RolloutSettings,
    RolloutState,
    candidate_settings,
    in_candidate,
    in_shadow,
    load,
    save,
    unit_key,
)

log = logging.getLogger("deskpilot.rollout")
_LLM_FIELDS = frozenset(name for name in AssistantSettings.model_fields if name.startswith("llm_"))

Record = Callable[[Answer, str], object]
"""Records a shadow answer under its variant (the door knows the tenant, actor and live interaction)."""


@dataclass(frozen=True)
class Arm:
    """The service that answers a request and the variant its interaction records ("" = no rollout)."""

    service: AnswerService
    variant: str


def candidate_service(control: AnswerService, settings: AssistantSettings) -> AnswerService:
    """An answer service with the candidate's settings over the control's searcher; a new LLM chain only
    when the candidate changes an LLM setting (else it shares the control's, breakers included)."""
    llm = control.llm
    if any(getattr(settings, f) != getattr(control.settings, f) for f in _LLM_FIELDS):
        llm = None
        if settings.llm_base_url or (settings.llm_kind == "gguf" and settings.llm_gguf_path):
            from assistant.llm import build_llm_chain

            llm = build_llm_chain(settings)
    # One flag store, one usage ledger and one cheap model for every arm: a tenant's budget is not split
    # between control and candidate.
    return AnswerService(
        control.searcher,
        settings,
        control.index_version,
        control.redact,
        llm,
        cheap_llm=control.cheap_llm,
        flags=control.flags,
        usage=control.usage,
    )


class ShadowRunner:
    """One daemon thread answering queued shadow questions; nothing it does reaches a customer."""

    def __init__(self, max_queued: int) -> None:
        self._queue: queue.Queue[tuple[Arm, Question, Record] | None] = queue.Queue(max_queued)
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self.dropped = 0
        self.failed = 0

    def submit(self, arm: Arm, question: Question, record: Record) -> bool:
        """Queue a shadow answer; False (logged) when the queue is full."""
        with self._start:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="shadow-answers", daemon=True)
                self._thread.start()
        try:
            self._queue.put_nowait((arm, question, record))
        except queue.Full:
            self.dropped += 1
            log.warning("shadow queue full (%d waiting): shadow answer dropped", self._queue.maxsize)
            return False
        return True

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                arm, question, record = job
                record(arm.service.answer(question), arm.variant)
            except Exception:
                self.failed += 1
                log.exception("shadow answer failed and was dropped")
            finally:
                self._queue.task_done()

    def wait(self) -> None:
        """Block until every queued shadow answer is done (tests, shutdown)."""
        self._queue.join()

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop the worker after what is queued."""
        with self._start:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout_s)


class Canary:
    """Routes each request to control or the candidate by its cohort, and queues the candidate's shadows.

    A candidate's service is built in the background when its overrides first appear (a new LLM chain
    takes seconds to import and set up); until it is ready its cohorts are served, and recorded, as control.
    """

    def __init__(self, control: AnswerService, settings: RolloutSettings) -> None:
        self.control, self.settings = control, settings
        self.path = settings.resolved_rollout_file()
        self.shadows = ShadowRunner(settings.shadow_queue_max)
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None
        self._state: RolloutState | None = None
        self._candidate: tuple[str, AnswerService] | None = None
        self._building: dict[str, threading.Thread] = {}

    def state(self) -> RolloutState | None:
        """The rollout now in force; re-read only when the file's mtime, size or inode changed."""
        try:
            st = os.stat(self.path)
            seen: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            seen = None
        with self._lock:
            if seen == self._seen:
                return self._state
            self._seen, self._state = seen, None
            if seen is None:
                return None
            try:
                state = load(self.path)
                if state is not None:
                    self._prepare(state, candidate_settings(self.control.settings, state, self.path))
            except RolloutFileError as exc:
                log.error("%s; serving control only until it is fixed", exc)
                return None
            if state is not None:
                log.info("rollout %s: %d%% live, shadow %s", state.name, state.percent, "on" if state.shadow else "off")
            self._state = state
            return state

    @staticmethod
    def _key(state: RolloutState) -> str:
        return json.dumps(state.overrides, sort_keys=True, default=str)

    def _prepare(self, state: RolloutState, settings: AssistantSettings) -> None:
        """Start building the candidate's service unless it is built or being built (lock held)."""
        key = self._key(state)
        if (self._candidate is not None and self._candidate[0] == key) or key in self._building:
            return

        def build() -> None:
            service: AnswerService | None = None
            try:
                service = candidate_service(self.control, settings)
            except Exception:
                log.exception("the candidate %s could not be built; its cohorts stay on control", state.name)
            with self._lock:
                self._building.pop(key, None)
                if service is not None:
                    self._candidate = (key, service)

        thread = threading.Thread(target=build, name=f"rollout-build-{state.name}", daemon=True)
        self._building[key] = thread
        thread.start()

    def _service(self, state: RolloutState) -> AnswerService | None:
        with self._lock:
            built = self._candidate
        return built[1] if built is not None and built[0] == self._key(state) else None

    def wait_ready(self, timeout_s: float = 60.0) -> bool:
        """Wait until the current candidate's service is built (startup, tests); True when it is."""
        state = self.state()
        if state is None:
            return False
        with self._lock:
            thread = self._building.get(self._key(state))
        if thread is not None:
            thread.join(timeout_s)
        return self._service(state) is not None

    def route(self, *, tenant: str, actor: str, request_id: str) -> Arm:
        """The arm that answers this request live."""
        state = self.state()
        if state is None:
            return Arm(self.control, "")
        unit = unit_key(self.settings.rollout_unit, actor=actor, tenant=tenant, request_id=request_id)
        if in_candidate(state, tenant, unit):
            service = self._service(state)
            if service is not None:
                return Arm(service, state.candidate)
        return Arm(self.control, CONTROL)

    def shadow(self, question: Question, served: Arm, *, actor: str, request_id: str, record: Record) -> bool:
        """Queue the candidate's shadow answer to a question control served; True when queued."""
        state = self.state()
        if state is None or served.variant != CONTROL:
            return False
        unit = unit_key(self.settings.rollout_unit, actor=actor, tenant=question.tenant, request_id=request_id)
        service = self._service(state) if in_shadow(state, question.tenant, unit) else None
        if service is None:
            return False
        return self.shadows.submit(Arm(service, state.shadow_variant), question, record)

    def close(self) -> None:
        """Finish queued shadows and stop the worker."""
        self.shadows.close()


def for_data_dir(control: AnswerService, data_dir: Path) -> Canary:
    """The canary of a data dir's rollout file (``DESKPILOT_ROLLOUT_*`` settings from the environment), with
    the candidate of a rollout already in force built now, like the models, not on the first request."""
    canary = Canary(control, RolloutSettings(data_dir=data_dir))
    canary.wait_ready()
    return canary


DEMO_CANDIDATE = RolloutState(
    name="demo-fewer-sources",
    overrides={"max_sources": 3, "agent_max_sentences": 3},
    percent=5,
    reason="demo seed: a candidate with fewer sources per answer, on 5% of traffic",
    updated_by="deskpilot demo seed",
)


class DemoArms:
    """Control and the rollout candidate for `deskpilot demo seed`, split per interaction (request cohorts).

    Uses the data dir's rollout file; when there is none, writes :data:`DEMO_CANDIDATE` (5%, its window
    opening at ``start``) so that `deskpilot rollout status` has both arms to compare.
    """

    def __init__(self, control: AnswerService, data_dir: Path, start: datetime) -> None:
        path = RolloutSettings(data_dir=data_dir).resolved_rollout_file()
        self.control = Arm(control, CONTROL)
        try:
            state = load(path)
            if state is None:
                state = DEMO_CANDIDATE.model_copy(update={"started_at": start, "updated_at": start})
                save(path, state)
            settings = candidate_settings(control.settings, state, path)
        except RolloutFileError as exc:
            log.warning("%s; the demo seed uses control only", exc)
            state, settings = RolloutState(name=DEMO_CANDIDATE.name, percent=0), control.settings
        self.state = state
        self.candidate = Arm(candidate_service(control, settings), state.candidate)

    def pick(self, tenant: str, key: str) -> Arm:
        """The arm of demo interaction ``key``."""
        return self.candidate if in_candidate(self.state, tenant, f"request:{key}") else self.control
