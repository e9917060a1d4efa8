"""The API with its feedback store on the machine's real PostgreSQL, which the test stops mid-run.

Answers keep flowing while the database is down; votes are accepted into the local durable spool and
replayed when it is back, and the counts match exactly. The test restarts PostgreSQL whatever happens.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from feedback.migrate import upgrade
from feedback.settings import FeedbackSettings
from tests.feedback.conftest import pg_admin, pg_cluster, pg_unreachable
from ui.serve import serving
from ui.settings import AppSettings


@pytest.fixture()
def pg_schema_url() -> Iterator[str]:
    reason = pg_unreachable()
    if reason is not None:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 not reachable: {reason}")
    schema = "api_outage_test"
    pg_admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    pg_admin(f"CREATE SCHEMA {schema}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    finally:
        if pg_unreachable() is None:
            pg_admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.mark.postgres
def test_postgres_stopped_mid_run_answers_flow_votes_spool_and_replay(
    sample_state: Path, tmp_path: Path, pg_schema_url: str
) -> None:
    """Stop PostgreSQL: /v1/answer still answers (its interaction spooled), votes get 202 "spooled";
    start it again: the spool replays and the database holds exactly what was sent."""
    state = tmp_path / "state"
    shutil.copytree(sample_state, state)
    base = AppSettings.load(state)
    feedback = FeedbackSettings(data_dir=state, feedback_database_url=pg_schema_url, feedback_db_timeout_s=2)
    upgrade(pg_schema_url)
    settings = AppSettings(base.ingest, base.retrieval, base.assistant, feedback, base.api)
    question = {"question": "How long does the password reset link stay valid?"}
    with serving(settings, demo=False, drain_every_s=3600) as served:
        key = served.store.create_api_key("ledgerly", "widget", "outage test")[1]
        client = TestClient(served.app)
        headers = {"X-API-Key": key}
        first = client.post("/v1/answer", json=question, headers=headers)
        assert first.status_code == 200
        sent_votes = 0
        try:
            pg_cluster("stop")
            assert pg_unreachable() is not None
            for n in range(3):
                answer = client.post(
                    "/v1/answer", json={"question": f"How do I reset my password? ({n})"}, headers=headers
                )
                assert answer.status_code == 200, answer.text
                vote = client.post(
                    "/v1/feedback",
                    json={"interaction_id": answer.json()["interaction_id"], "thumbs": "up"},
                    headers=headers,
                )
                assert vote.status_code == 202 and vote.json()["status"] == "spooled", vote.text
                sent_votes += 1
            assert client.get("/readyz").json()["store"] is False
        finally:
            pg_cluster("start")
        report = served.writer.replay(limit=1000)
        assert report.remaining == 0 and report.rejected == 0
        counts = served.store.counts("ledgerly")
        assert counts.interactions == 4 and counts.votes_up == sent_votes == 3
        assert served.writer.replay(limit=1000).stored == 0, "a second replay stores nothing twice"
