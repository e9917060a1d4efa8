"""Alembic environment of the feedback store; run it through :mod:`feedback.migrate`, no alembic.ini needed."""
