"""What the console opens once per process and shares across sessions and clicks (``st.cache_resource``).

The embedded Qdrant Edge index has one owner at a time. ``deskpilot console`` started through
:func:`ui.console.launch.run` hosts the API in the same process and hands its opened index, models and
store to the console with :func:`host`, so both share one index and one copy of the models. A plain
``streamlit run ui/console/app.py`` opens its own (and then the API must not hold the same data dir).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from assistant.service import AnswerService
from feedback.spool import DurableWriter, Spool
from feedback.store import FeedbackStore
from ingest.pipeline import IngestPipeline
from retrieval.index import stats_of
from retrieval.records import IndexStats
from ui.api.revocation import announce_revocations, revocation_epoch
from ui.canary import Arm, Canary, for_data_dir
from ui.console.contacts import ContactSealer
from ui.console.flags import FlagStore
from ui.console.ingestlog import IngestLog
from ui.console.settings import ConsoleSettings
from ui.console.tickets import TicketStore
from ui.content import ContentAdmin
from ui.delivery import Delivery, RecordOnly, delivery_from
from ui.serve import migrate_embedded
from ui.settings import AppSettings
from ui.tracing import NO_TRACER, Tracer, durable_writer, tracer_from
from ui.wiring import Retrieval


@dataclass
class Services:
    """The opened index, answer services, feedback store and the console's own files, shared by every session."""

    settings: AppSettings
    console: ConsoleSettings
    retrieval: Retrieval
    assistant: AnswerService
    fresh: AnswerService
    """The same pipeline without the answer cache: Regenerate really answers again."""
    store: FeedbackStore
    writer: DurableWriter
    tickets: TicketStore
    flags: FlagStore
    ingest_log: IngestLog
    index_lock: threading.Lock = field(default_factory=threading.Lock)
    """Held while an ingest writes to the index."""
    tracer: Tracer = NO_TRACER
    """Traces drafts and sends votes as scores (Langfuse, when its keys are set)."""
    canary: Canary | None = None
    """Routes drafts to the rollout candidate by cohort, as the API does (None: no rollout routing)."""
    fresh_canary: Canary | None = None
    """The same routing over ``fresh``, for Regenerate."""
    delivery: Delivery = field(default_factory=RecordOnly)
    """Where Send delivers an agent's reply (ui/delivery.py): SMTP, a helpdesk webhook, or nowhere."""
    _pipeline: IngestPipeline | None = None
    _stats: tuple[str, IndexStats] | None = None
    _content: ContentAdmin | None = None

    def content(self) -> ContentAdmin:
        """Article administration (list, disable, enable, delete) over this index, under the ingest lock."""
        if self._content is None:
            self._content = ContentAdmin(self.retrieval, self.store, self.index_lock)
        return self._content

    def pipeline(self) -> IngestPipeline:
        """The ingest pipeline (loaded on the first upload)."""
        if self._pipeline is None:
            self._pipeline = IngestPipeline(self.settings.ingest)
        return self._pipeline

    def index_stats(self) -> IndexStats:
        """Point and document counts of the index, recomputed only when the index version changes."""
        version = self.retrieval.manifest.version()
        if self._stats is None or self._stats[0] != version:
            self._stats = (version, stats_of(self.retrieval.index))
        return self._stats[1]

    def tenants(self) -> list[str]:
        """Tenants with indexed content or tickets, sorted."""
        indexed = set(self.index_stats().by_tenant)
        return sorted((indexed | {t.tenant for t in self.tickets.all()}) - {""})

    def arm(self, *, tenant: str, actor: str, request_id: str, regenerate: bool = False) -> Arm:
        """The service that drafts for ``actor`` and the rollout variant its interaction records."""
        canary = self.fresh_canary if regenerate else self.canary
        if canary is None:
            return Arm(self.fresh if regenerate else self.assistant, "")
        return canary.route(tenant=tenant, actor=actor, request_id=request_id)

    def close(self) -> None:
        """Close the index and the store (only for services this module opened)."""
        for canary in (self.canary, self.fresh_canary):
            if canary is not None:
                canary.close()
        self.tracer.close()
        self.retrieval.close()
        self.store.close()


_hosted: Services | None = None


def build(
    settings: AppSettings,
    console: ConsoleSettings,
    retrieval: Retrieval,
    store: FeedbackStore,
    writer: DurableWriter | None = None,
    tracer: Tracer | None = None,
) -> Services:
    """Services over an already opened index and store (warmed up, tickets seeded); ``writer`` and ``tracer``
    are the API's when the console is hosted with it (one spool, one Langfuse client), else opened here."""
    tracer = tracer if tracer is not None else tracer_from(settings.observability, retrieval.redact)
    no_cache = settings.assistant.model_copy(update={"cache_ttl_s": 0.0})
    service = retrieval.assistant()
    fresh = AnswerService(
        service.searcher,
        no_cache,
        retrieval.version,
        retrieval.redact,
        service.llm,
        cheap_llm=service.cheap_llm,
        flags=service.flags,
        usage=service.usage,
    )
    directory = console.resolved_console_dir()
    key = console.console_contact_key
    tickets = TicketStore(
        directory / "tickets.json", retrieval.redact, ContactSealer(key.get_secret_value() if key else None)
    )
    tickets.seed(console.sample_tickets())
    tenants = sorted(stats_of(retrieval.index).by_tenant)
    if tenants:  # load the models now, not on the first agent's click
        service.warm_up(tenants[0])
    return Services(
        settings=settings,
        console=console,
        retrieval=retrieval,
        assistant=service,
        fresh=fresh,
        store=store,
        writer=writer or durable_writer(store, Spool.from_settings(settings.feedback), tracer, retrieval.redact),
        tickets=tickets,
        flags=service.flags,
        ingest_log=IngestLog(directory / "ingest_runs.jsonl"),
        tracer=tracer,
        canary=for_data_dir(service, settings.feedback.data_dir),
        fresh_canary=for_data_dir(fresh, settings.feedback.data_dir),
        delivery=delivery_from(settings.delivery),
    )


def host(services: Services | None) -> None:
    """Serve these (already opened) services to every session instead of opening our own; None to stop."""
    global _hosted
    _hosted = services


def _release(services: Services) -> None:
    services.close()


@st.cache_resource(show_spinner="Opening the index and loading the models…", on_release=_release)
def _open(data_dir: str) -> Services:
    settings = AppSettings.load(Path(data_dir))
    console = ConsoleSettings(data_dir=Path(data_dir))
    migrate_embedded(settings)
    store = FeedbackStore.open(settings.feedback)
    announce_revocations(store, revocation_epoch(settings.api))  # the API runs elsewhere: tell it through Redis
    try:
        store.check_schema()
        retrieval = Retrieval(settings)
    except Exception:
        store.close()
        raise
    try:
        return build(settings, console, retrieval, store)
    except Exception:
        retrieval.close()
        store.close()
        raise


def services() -> Services:
    """The shared services: the hosted ones, else opened once per data dir for this process."""
    if _hosted is not None:
        return _hosted
    data_dir = ConsoleSettings().data_dir.resolve()
    try:
        return _open(str(data_dir))
    except RuntimeError as exc:
        if "WouldBlock" in str(exc) or "failed to open WAL" in str(exc):
            st.error(
                f"The search index under {data_dir} is open in another process (probably `deskpilot serve`). "
                "The embedded index has one owner at a time: start the console together with the API "
                "(`deskpilot console`), stop the other process, or use a Qdrant server "
                "(DESKPILOT_INDEX_BACKEND=server)."
            )
            st.stop()
        raise
