"""`deskpilot serve`: the API over the embedded index and the feedback store, warmed up and with a spool drain."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from assistant.budget import Usage, UsageLedger
from feedback.migrate import upgrade
from feedback.spool import DurableWriter, Spool
from feedback.store import FeedbackStore
from retrieval.index import stats_of
from ui.api.app import create_app
from ui.api.recorder import KeyCache, StoreRecorder
from ui.api.revocation import revocation_epoch
from ui.api.settings import ApiSettings
from ui.canary import for_data_dir
from ui.console.contacts import ContactSealer
from ui.settings import AppSettings
from ui.tracing import NO_TRACER, Tracer, durable_writer, tracer_from
from ui.wiring import Retrieval

log = logging.getLogger("deskpilot.serve")
DEMO_KEY_NAME = "demo-widget"


@dataclass
class Served:
    """A running API's parts, for the CLI and for tests."""

    app: FastAPI
    retrieval: Retrieval
    store: FeedbackStore
    writer: DurableWriter
    demo_keys: dict[str, str]
    tracer: Tracer = NO_TRACER


def demo_widget_keys(store: FeedbackStore, tenants: list[str]) -> dict[str, str]:
    """A fresh widget key per tenant for the demo pages; the previous demo keys are revoked."""
    for key in store.list_api_keys():
        if key.name == DEMO_KEY_NAME and key.active:
            store.revoke_api_key(key.id, actor="deskpilot serve")
    return {t: store.create_api_key(t, "widget", DEMO_KEY_NAME, actor="deskpilot serve")[1] for t in tenants}


def migrate_embedded(settings: AppSettings) -> None:
    """Bring an embedded SQLite store to the current schema; PostgreSQL is migrated by `deskpilot db upgrade`."""
    url = settings.feedback.resolved_database_url()
    if url.startswith("sqlite"):
        upgrade(url)


def seed_budgets(usage: UsageLedger, store: FeedbackStore) -> None:
    """Count today's stored LLM answers per tenant against the daily budgets, so a restart does not reset them."""
    today = usage.today()
    try:
        spent = store.llm_usage_since(datetime(today.year, today.month, today.day, tzinfo=UTC))
    except SQLAlchemyError as exc:
        log.warning("could not read today's LLM usage, budgets start from zero: %s", exc)
        return
    usage.seed({tenant: Usage(requests, tokens) for tenant, (requests, tokens) in spent.items()}, day=today)


def contact_sealer(settings: ApiSettings) -> ContactSealer | None:
    """The sealer of escalation contacts: only with a configured key, which the console shares (a key made per
    process would lock the console, another process, out of the address)."""
    key = settings.console_contact_key
    return ContactSealer(key.get_secret_value()) if key else None


@contextmanager
def serving(settings: AppSettings, demo: bool = True, drain_every_s: float = 10.0) -> Iterator[Served]:
    """Open everything the API needs, warm the models, and close it all afterwards."""
    migrate_embedded(settings)
    store = FeedbackStore.open(settings.feedback)
    store.check_schema()
    retrieval = Retrieval(settings)
    tracer = tracer_from(settings.observability, retrieval.redact)
    writer = durable_writer(store, Spool.from_settings(settings.feedback), tracer, retrieval.redact)
    service = retrieval.assistant()
    seed_budgets(retrieval.usage, store)
    tenants = sorted(stats_of(retrieval.index).by_tenant)
    if tenants:  # load the models now, not on the first customer's question
        service.warm_up(tenants[0])
    keys = demo_widget_keys(store, tenants) if demo else {}
    canary = for_data_dir(service, settings.feedback.data_dir)
    app = create_app(
        service,
        StoreRecorder(store, writer, contact_sealer(settings.api)),
        KeyCache(store, epoch=revocation_epoch(settings.api)),
        settings.api,
        ready=lambda: retrieval.index.count() > 0,
        demo_keys=keys,
        rollout=canary,
        tracer=tracer,
        observability=settings.observability,
    )
    stop = threading.Event()

    def drain() -> None:
        while not stop.wait(drain_every_s):
            if writer.spool.has_pending():
                try:
                    report = writer.replay(limit=1000)
                    log.info("spool replay: %s stored, %s remaining", report.stored, report.remaining)
                except Exception:
                    log.exception("spool replay failed; will retry")

    drainer = threading.Thread(target=drain, name="spool-drain", daemon=True)
    drainer.start()
    try:
        yield Served(app, retrieval, store, writer, keys, tracer)
    finally:
        stop.set()
        drainer.join(timeout=5)
        canary.close()
        tracer.close()
        retrieval.close()
        store.close()
