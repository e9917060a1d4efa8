"""Alembic migrations up from an empty database on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from feedback.migrate import VERSION_TABLE, current, downgrade, head, upgrade
from feedback.models import Base, make_engine
from feedback.records import MigrationStatus
from feedback.settings import FeedbackSettings
from feedback.store import FeedbackStore, SchemaOutOfDate

TABLES = {"interactions", "feedback", "feedback_reasons", "edits", "escalations", "audit_events", "api_keys"}


def _schema_drift(url: str) -> list[Any]:
    """Differences between the migrated schema and the models (the version table aside)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "include_object": lambda obj, name, kind, reflected, other: name != VERSION_TABLE,
                },
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_upgrade_from_empty_to_head_then_noop(db_url: str) -> None:
    assert current(db_url) is None
    first = upgrade(db_url)
    assert (first.before, first.after, first.head) == (None, head(), head()) and first.changed
    assert current(db_url) == head()
    second = upgrade(db_url)
    assert (second.before, second.after) == (head(), head()) and not second.changed
    engine = make_engine(db_url)
    try:
        assert TABLES | {VERSION_TABLE} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert _schema_drift(db_url) == [], "migrations and models disagree: write a new revision"


def test_downgrade_to_base_and_up_again(db_url: str) -> None:
    upgrade(db_url)
    down = downgrade(db_url, "base")
    assert down.after is None and current(db_url) is None
    engine = make_engine(db_url)
    try:
        assert not TABLES & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert upgrade(db_url).after == head()


def test_concurrent_upgrades_apply_once(db_url: str) -> None:
    """Two processes' workers starting together: one migrates, the other finds the schema at head."""
    results: list[MigrationStatus] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(upgrade(db_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert sorted(r.changed for r in results) == [False, True]


def test_unmigrated_database_is_reported_with_the_fix(db_url: str, tmp_path: Any) -> None:
    settings = FeedbackSettings(data_dir=tmp_path, feedback_database_url=db_url, feedback_auto_upgrade=False)
    with FeedbackStore.open(settings) as store:
        with pytest.raises(SchemaOutOfDate, match="deskpilot db upgrade"):
            store.check_schema()
        upgrade(store.engine)
        store.check_schema()
