"""No vote lost: with the database down writes are spooled durably and replayed exactly once when it returns."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedback.models import make_engine
from feedback.records import EditIn, EscalationIn, FeedbackIn, InteractionIn
from feedback.settings import FeedbackSettings
from feedback.spool import DurableWriter, Spool, SpoolFull, SpoolRecord, SpoolUnavailable, replay_configured
from feedback.store import FeedbackStore, UnknownInteraction
from tests.feedback.conftest import CLOSED_PORT_URL, make_interaction, pg_cluster, pg_unreachable

VOTES = 6


@pytest.fixture()
def down() -> Iterator[FeedbackStore]:
    """A store whose database cannot be reached (PostgreSQL URL on a closed port)."""
    with FeedbackStore(make_engine(CLOSED_PORT_URL, connect_timeout_s=2)) as unreachable:
        yield unreachable


@pytest.fixture()
def spool(settings: FeedbackSettings) -> Spool:
    return Spool.from_settings(settings)


def _votes(interaction: InteractionIn, n: int) -> list[FeedbackIn]:
    return [
        # One reviewer each: a reviewer's later vote would replace their earlier one.
        FeedbackIn(
            tenant=interaction.tenant,
            interaction_id=interaction.id,
            thumbs="up" if i % 3 else "down",
            reviewer=f"reviewer-{i}",
        )
        for i in range(n)
    ]


def test_votes_spooled_while_down_then_replayed_exactly_once(
    store: FeedbackStore, down: FeedbackStore, spool: Spool
) -> None:
    interaction = make_interaction()
    store.record_interaction(interaction)
    votes = _votes(interaction, VOTES)
    offline = DurableWriter(down, spool)
    assert [offline.write(v).status for v in votes] == ["spooled"] * VOTES
    assert spool.pending() == {"interaction": 0, "escalation": 0, "feedback": VOTES, "edit": 0}
    assert store.counts("acme").votes_up + store.counts("acme").votes_down == 0

    # A crash after the entries were stored but before the spool was rewritten replays them all again.
    crash_copy = spool.path("feedback").with_suffix(".copy")
    shutil.copy(spool.path("feedback"), crash_copy)
    first = DurableWriter(store, spool).replay()
    assert (first.stored, first.duplicates, first.rejected, first.remaining) == (VOTES, 0, 0, 0)
    assert not spool.has_pending()
    shutil.move(crash_copy, spool.path("feedback"))
    second = DurableWriter(store, spool).replay()
    assert (second.stored, second.duplicates, second.remaining) == (0, VOTES, 0)

    counts = store.counts("acme")
    assert counts.votes_up + counts.votes_down == VOTES
    assert counts.votes_down == sum(v.thumbs == "down" for v in votes)
    assert {f.id for f in store.list_feedback("acme", page_size=100).items} == {v.id for v in votes}


def test_everything_spooled_replays_in_dependency_order(
    store: FeedbackStore, down: FeedbackStore, spool: Spool
) -> None:
    """The interaction itself was spooled too: replay stores it before its vote, edit and escalation."""
    interaction = make_interaction()
    offline = DurableWriter(down, spool)
    records: list[SpoolRecord] = [
        FeedbackIn(tenant="acme", interaction_id=interaction.id, thumbs="down", reason_codes=("tone",), reviewer="a"),
        EditIn(tenant="acme", interaction_id=interaction.id, draft="kitten", sent="sitting"),
        EscalationIn(tenant="acme", interaction_id=interaction.id, reason="weak evidence"),
        interaction,
    ]
    assert {offline.write(r).status for r in records} == {"spooled"}
    # The next write finds the database back: it replays the spool first, then stores itself.
    later = FeedbackIn(tenant="acme", interaction_id=interaction.id, thumbs="up", reviewer="b")
    assert DurableWriter(store, spool).write(later).status == "stored"
    assert not spool.has_pending()
    stored = store.get_interaction(interaction.id, "acme")
    assert stored is not None and stored.model_dump(exclude={"anonymized_at"}) == interaction.model_dump()
    counts = store.counts("acme")
    assert (counts.votes_up, counts.votes_down, counts.edits, counts.reasons) == (1, 1, 1, {"tone": 1})
    assert sum(counts.escalations_by_status.values()) == 1


def test_write_waits_behind_older_spooled_writes(store: FeedbackStore, down: FeedbackStore, spool: Spool) -> None:
    interaction = make_interaction()
    store.record_interaction(interaction)
    votes = _votes(interaction, 5)
    offline = DurableWriter(down, spool)
    for vote in votes[:4]:
        offline.write(vote)
    # The database is back but only 2 older entries replay per write: the new vote queues behind the rest.
    assert DurableWriter(store, spool, replay_batch=2).write(votes[4]).status == "spooled"
    assert spool.pending()["feedback"] == 3
    assert DurableWriter(store, spool).replay().stored == 3
    assert store.list_feedback("acme").total == 5


def test_unstorable_entries_are_set_aside_not_dropped(store: FeedbackStore, down: FeedbackStore, spool: Spool) -> None:
    interaction = make_interaction()
    store.record_interaction(interaction)
    orphan = FeedbackIn(tenant="acme", interaction_id=make_interaction().id, thumbs="up")
    good = _votes(interaction, 2)
    offline = DurableWriter(down, spool)
    offline.write(good[0])
    offline.write(orphan)
    # A crash in the middle of an append leaves a torn line; the next append must not be swallowed by it.
    with open(spool.path("feedback"), "ab") as handle:
        handle.write(b'{"v":1,"kind":"feedb')
    offline.write(good[1])
    report = DurableWriter(store, spool).replay()
    assert (report.stored, report.rejected, report.remaining) == (2, 2, 0)
    rejected = [json.loads(line) for line in spool.rejected_path("feedback").read_text().splitlines()]
    assert {r["why"].split(":")[0] for r in rejected} == {"UnknownInteraction", "unreadable entry"}
    assert any(str(orphan.id) in r["line"] for r in rejected)
    assert store.list_feedback("acme").total == 2


def test_record_errors_are_raised_not_spooled(store: FeedbackStore, spool: Spool) -> None:
    writer = DurableWriter(store, spool)
    with pytest.raises(UnknownInteraction):
        writer.write(FeedbackIn(tenant="acme", interaction_id=make_interaction().id, thumbs="up"))
    assert not spool.has_pending()
    interaction = make_interaction()
    assert writer.write(interaction).status == "stored"
    assert writer.write(interaction).status == "duplicate"


def test_spool_that_cannot_be_written_is_a_clear_error(tmp_path: Path, down: FeedbackStore) -> None:
    interaction = make_interaction()
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the spool directory should be")
    with pytest.raises(SpoolUnavailable, match="DESKPILOT_SPOOL_DIR"):
        DurableWriter(down, Spool(blocker / "spool")).write(interaction)
    small = Spool(tmp_path / "small", max_bytes=3000)
    writer = DurableWriter(down, small)
    with pytest.raises(SpoolFull, match="DESKPILOT_SPOOL_MAX_BYTES"):
        for vote in _votes(interaction, 100):
            writer.write(vote)
    assert 0 < small.pending()["feedback"] < 100 and small.size() <= 3000


def test_spool_files_are_private(down: FeedbackStore, spool: Spool) -> None:
    DurableWriter(down, spool).write(make_interaction())
    assert spool.path("interaction").stat().st_mode & 0o077 == 0


@pytest.mark.postgres
def test_postgresql_stopped_mid_test(pg_url: str, tmp_path: Path) -> None:
    """The real outage: PostgreSQL is stopped between votes, then started again; counts match exactly."""
    settings = FeedbackSettings(
        data_dir=tmp_path, feedback_database_url=pg_url, feedback_auto_upgrade=True, feedback_db_timeout_s=2
    )
    interaction = make_interaction()
    votes = _votes(interaction, 2 * VOTES)
    with FeedbackStore.open(settings) as store:
        writer = DurableWriter(store, Spool.from_settings(settings))
        assert writer.write(interaction).status == "stored"
        assert {writer.write(v).status for v in votes[:VOTES]} == {"stored"}
        try:
            pg_cluster("stop")
            assert pg_unreachable() is not None
            assert {writer.write(v).status for v in votes[VOTES:]} == {"spooled"}
        finally:
            pg_cluster("start")
        assert writer.spool.pending()["feedback"] == VOTES
        report = replay_configured(settings)
        assert (report.stored, report.duplicates, report.remaining) == (VOTES, 0, 0)
        assert replay_configured(settings).stored == 0, "replaying twice does not double count"
        counts = store.counts("acme")
        assert counts.votes_up + counts.votes_down == 2 * VOTES
        assert {f.id for f in store.list_feedback("acme", page_size=100).items} == {v.id for v in votes}
