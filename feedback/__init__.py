"""feedback: the SQL store of interactions, votes, edits, escalations, the hash-chained audit log and API keys.

SQLite by default, PostgreSQL by URL (Alembic migrations in :mod:`feedback.migrate`); retention in
:mod:`feedback.retention`; writes that must survive a database outage go through
:class:`feedback.spool.DurableWriter`.
"""
