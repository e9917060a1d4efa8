"""`deskpilot demo seed`: real answers, grounded outcomes, deterministic given the seed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from feedback.settings import FeedbackSettings
from feedback.store import FeedbackStore
from tests.console.support import Console
from ui.console import demo, kpis

NOW = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)


def test_seed_is_deterministic_and_idempotent(console: Console, tmp_path: Path) -> None:
    services = console.services
    stores = [FeedbackStore.open(FeedbackSettings(data_dir=tmp_path / name)) for name in ("a", "b")]
    try:
        reports = [
            demo.seed(services.settings, days=3, seed=21, per_day=2, now=NOW, retrieval=services.retrieval, store=s)
            for s in stores
        ]
        first, second = (kpis.load(s, None) for s in stores)
        assert reports[0].interactions == reports[1].interactions == len(first.interactions) > 0
        assert reports[0].questions <= reports[0].interactions and reports[0].duplicates == 0

        def plan(data: kpis.Dataset) -> list[tuple[object, ...]]:
            return sorted((i.id, i.created_at, i.channel, i.tenant, i.question) for i in data.interactions)

        def outcomes(data: kpis.Dataset, answer: str, interaction_id: object) -> list[tuple[object, ...]]:
            return sorted(
                [(v.id, v.thumbs, v.reason_codes, v.comment) for v in data.votes if v.interaction_id == interaction_id]
                + [(e.id, e.sent) for e in data.edits if e.interaction_id == interaction_id]
                + [(x.id, x.queue, x.status) for x in data.escalations if x.interaction_id == interaction_id]
                + [(answer,)],
                key=str,
            )

        assert plan(first) == plan(second), "the same seed plans the same interactions"
        answers = {i.id: i.answer for i in second.interactions}
        same = [i for i in first.interactions if answers[i.id] == i.answer]
        # The real assistant very rarely words an answer differently once its embedding cache is warm
        # (seen for 1 of 37 sample questions); the outcomes of every identical answer must be identical.
        assert len(same) >= 0.75 * len(first.interactions)
        for i in same:
            assert outcomes(first, i.answer, i.id) == outcomes(second, i.answer, i.id), "same answer, same outcome"
        again = demo.seed(
            services.settings, days=3, seed=21, per_day=2, now=NOW, retrieval=services.retrieval, store=stores[0]
        )
        written = reports[0].interactions + reports[0].votes + reports[0].edits + reports[0].escalations
        assert again.interactions == again.votes == again.edits == again.escalations == 0
        assert again.duplicates == written, "seeding again adds nothing"

        assert all(NOW - timedelta(days=3) < i.created_at <= NOW for i in first.interactions)
        assert {i.channel for i in first.interactions} <= {"agent", "widget"}
        assert all(i.question and (i.abstained or i.citations) for i in first.interactions), "real answers"
        by_id = {i.id: i for i in first.interactions}
        assert all(by_id[e.interaction_id].channel == "agent" for e in first.edits), "only agents edit drafts"
        assert all(not v.reason_codes for v in first.votes if v.thumbs == "up")
        assert all(v.reason_codes for v in first.votes if v.thumbs == "down")
        assert all(v.created_at > by_id[v.interaction_id].created_at for v in first.votes)
    finally:
        for s in stores:
            s.close()


def test_seed_refuses_bad_arguments(console: Console) -> None:
    with pytest.raises(ValueError, match="days and per_day"):
        demo.seed(console.services.settings, days=0, retrieval=console.services.retrieval, store=console.store)
