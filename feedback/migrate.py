"""Schema migrations of the feedback store, run programmatically (no alembic.ini): `deskpilot db upgrade`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from feedback.models import make_engine
from feedback.records import MigrationStatus

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "feedback_alembic_version"
# Serializes concurrent upgrades on PostgreSQL (two API workers starting at once); any constant will do.
_PG_LOCK_KEY = 0x64706662
_MIGRATION_LOCK_WAIT_S = 120.0


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@contextmanager
def _engine(target: str | Engine) -> Iterator[Engine]:
    if isinstance(target, Engine):
        yield target
        return
    # A second worker's upgrade waits for the first to finish, however slow the machine, instead of failing.
    engine = make_engine(target, sqlite_busy_timeout_s=_MIGRATION_LOCK_WAIT_S)
    try:
        yield engine
    finally:
        engine.dispose()


def _revision(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def head() -> str:
    """The newest revision shipped with this code."""
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    if revision is None:
        raise RuntimeError(f"no migrations found under {MIGRATIONS_DIR}; the installed package is incomplete")
    return revision


def current(target: str | Engine) -> str | None:
    """The revision the database at ``target`` (URL or engine) is at; None = never migrated."""
    with _engine(target) as engine, engine.connect() as connection:
        return _revision(connection)


def _migrate(target: str | Engine, action: str, revision: str) -> MigrationStatus:
    with _engine(target) as engine, engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        before = _revision(connection)
        config = _config(connection)
        if action == "upgrade":
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)
        after = _revision(connection)
        return MigrationStatus(url=_url(engine), before=before, after=after, head=head())


def upgrade(target: str | Engine, revision: str = "head") -> MigrationStatus:
    """Migrate the database at ``target`` up to ``revision``, in one transaction; a no-op when already there."""
    return _migrate(target, "upgrade", revision)


def downgrade(target: str | Engine, revision: str) -> MigrationStatus:
    """Migrate the database at ``target`` down to ``revision`` (``base`` drops every feedback table)."""
    return _migrate(target, "downgrade", revision)
