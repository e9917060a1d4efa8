"""`deskpilot serve`: the API over the embedded index and the feedback store, warmed up and with a spool drain."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from feedback.migrate import upgrade
from feedback.spool import DurableWriter, Spool
from feedback.store import FeedbackStore
from retrieval.index import stats_of
from ui.api.app import create_app
from ui.api.recorder import KeyCache, StoreRecorder
from ui.settings import AppSettings
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


def demo_widget_keys(store: FeedbackStore, tenants: list[str]) -> dict[str, str]:
    """A fresh widget key per tenant for the demo pages; the previous demo keys are revoked."""
    for key in store.list_api_keys():
        if key.name == DEMO_KEY_NAME and key.active:
            store.revoke_api_key(key.id, actor="deskpilot serve")
    return {t: store.create_api_key(t, "widget", DEMO_KEY_NAME, actor="deskpilot serve")[1] for t in tenants}


@contextmanager
def serving(settings: AppSettings, demo: bool = True, drain_every_s: float = 10.0) -> Iterator[Served]:
    """Open everything the API needs, warm the models, and close it all afterwards."""
    url = settings.feedback.resolved_database_url()
    if url.startswith("sqlite"):
        upgrade(url)  # the embedded default migrates itself; PostgreSQL needs `deskpilot db upgrade`
    store = FeedbackStore.open(settings.feedback)
    store.check_schema()
    writer = DurableWriter(store, Spool.from_settings(settings.feedback))
    retrieval = Retrieval(settings)
    service = retrieval.assistant()
    tenants = sorted(stats_of(retrieval.index).by_tenant)
    if tenants:  # load the models now, not on the first customer's question
        service.warm_up(tenants[0])
    keys = demo_widget_keys(store, tenants) if demo else {}
    app = create_app(
        service,
        StoreRecorder(store, writer),
        KeyCache(store),
        settings.api,
        ready=lambda: retrieval.index.count() > 0,
        demo_keys=keys,
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
        yield Served(app, retrieval, store, writer, keys)
    finally:
        stop.set()
        drainer.join(timeout=5)
        retrieval.close()
        store.close()
