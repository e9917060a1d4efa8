"""Alembic environment: :mod:`feedback.migrate` hands over an open connection in ``config.attributes``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from feedback.migrate import VERSION_TABLE
from feedback.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # A table of our own, so the feedback schema can share a database with other Alembic users.
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    if context.is_offline_mode():
        raise RuntimeError("offline (--sql) migrations are not supported; use feedback.migrate.upgrade(url)")
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run migrations through feedback.migrate.upgrade(url), which provides the connection")
    _run(connection)


_main()
