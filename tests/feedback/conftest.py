"""Fixtures of the feedback tests: a real SQLite file and a real PostgreSQL schema per test, and hand-made answers."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from sqlalchemy import Engine

from assistant.records import Answer, Channel, Citation, Confidence, Sentence, Source
from feedback.records import InteractionIn
from feedback.settings import FeedbackSettings
from feedback.store import FeedbackStore
from retrieval.records import Hit

PG_CONNINFO = "postgresql://postgres@127.0.0.1:5432/test"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CLOSED_PORT_URL = "postgresql+psycopg://postgres@127.0.0.1:1/test"


def pg_unreachable() -> str | None:
    """Why the machine's PostgreSQL cannot be used, or None when it can."""
    try:
        with psycopg.connect(PG_CONNINFO, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {exc}".strip()
    return None


def pg_admin(sql: str) -> None:
    """Run one statement on the test database outside any schema of a test."""
    with psycopg.connect(PG_CONNINFO, autocommit=True, connect_timeout=5) as connection:
        connection.execute(sql)  # type: ignore[arg-type]


def pg_cluster(action: str) -> None:
    """Start or stop the local PostgreSQL cluster (``pg_ctlcluster``), waiting until it answers after a start."""
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action]
    if action == "stop":
        command += ["-m", "fast"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if action == "start":
        deadline = time.monotonic() + 30
        while pg_unreachable() is not None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not come back: {result.stderr.strip()}")
            time.sleep(0.2)
    elif result.returncode != 0:
        raise RuntimeError(f"pg_ctlcluster {action} failed: {result.stderr.strip()}")


@pytest.fixture()
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema (dropped afterwards) as a SQLAlchemy URL; skipped if the server is not reachable."""
    reason = pg_unreachable()
    if reason is not None:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 (database 'test') not reachable: {reason}")
    schema = f"fb_{uuid4().hex[:12]}"
    pg_admin(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        pg_admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a fresh schema on the machine's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'feedback.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def is_pg(engine: Engine) -> bool:
    """True on PostgreSQL."""
    return engine.dialect.name == "postgresql"


@pytest.fixture()
def settings(db_url: str, tmp_path: Path) -> FeedbackSettings:
    """Settings pointing at the test database, migrated on open, spool under the temp dir."""
    return FeedbackSettings(data_dir=tmp_path / "state", feedback_database_url=db_url, feedback_auto_upgrade=True)


@pytest.fixture()
def store(settings: FeedbackSettings) -> Iterator[FeedbackStore]:
    """A migrated store on the test database."""
    with FeedbackStore.open(settings) as opened:
        yield opened


def make_hit(n: int, tenant: str = "acme") -> Hit:
    """A retrieved chunk as the retrieval stage would return it."""
    return Hit(
        id=f"chunk-{tenant}-{n}",
        doc_id=f"{tenant}/billing/refunds-{n}.md",
        article_id=f"art-{n}",
        chunk_no=n,
        text=f"Refunds are issued within {n + 4} business days.",
        title=f"Refund policy {n}",
        url=f"https://help.example.com/{tenant}/refunds-{n}",
        section="Billing > Refunds",
        tenant=tenant,
        product="ledgerly",
        locale="en",
        updated_at="2025-01-10",
        fused_score=0.03,
        relevance=0.9 - n / 10,
        dense_rank=n,
        dense_score=0.8,
        sparse_rank=n,
        sparse_score=7.5,
    )


def make_answer(tenant: str = "acme", *, abstained: bool = False, generator: str = "extractive") -> Answer:
    """An answer with two numbered sources, one cited sentence each, built by hand (no index needed)."""
    sources = (Source(1, make_hit(1, tenant)), Source(2, make_hit(2, tenant)))
    citations = tuple(
        Citation(
            n=s.n,
            doc_id=s.hit.doc_id,
            title=s.hit.title,
            url=s.hit.url,
            section=s.hit.section,
            snippet=s.hit.text,
            support=0.8,
        )
        for s in sources
    )
    sentences = (
        Sentence("Refunds are issued within 5 business days [1].", (1,), 0.9),
        Sentence("Card refunds can take 6 business days [2].", (2,), 0.7),
    )
    return Answer(
        text=" ".join(s.text for s in sentences),
        abstained=abstained,
        confidence=Confidence("high" if not abstained else "low", 0.82 if not abstained else 0.1, "two sources agree"),
        citations=() if abstained else citations,
        sentences=() if abstained else sentences,
        sources=sources,
        question="How long does a refund take for <EMAIL_ADDRESS>?",
        generator=generator,
        model="" if generator == "extractive" else "gemma3",
        prompt_version="p1",
        index_version="helpcenter@7",
        escalation_reason="weak evidence" if abstained else "",
        flags=("question:none",),
        timings_ms={"retrieve": 12.5, "generate": 3.25, "total": 18.0},
        prompt_tokens=120,
        completion_tokens=40,
    )


def make_interaction(
    tenant: str = "acme",
    *,
    channel: Channel = "agent",
    created_at: datetime | None = None,
    generator: str = "extractive",
    abstained: bool = False,
) -> InteractionIn:
    """An interaction record of a hand-made answer."""
    return InteractionIn.from_answer(
        make_answer(tenant, abstained=abstained, generator=generator),
        tenant=tenant,
        channel=channel,
        actor="agent-17",
        trace_id=uuid4().hex,
        cost_usd=0.0004,
        created_at=created_at,
    )
