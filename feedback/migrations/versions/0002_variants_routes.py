"""Interactions learn which rollout arm served them, how they were routed, why generation fell back,
and which live interaction a shadow answer accompanied.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add variant, route, fallback_reason and shadow_of to interactions."""
    with op.batch_alter_table("interactions") as table:
        table.add_column(sa.Column("variant", sa.String(64), nullable=False, server_default=""))
        table.add_column(sa.Column("route", sa.String(128), nullable=False, server_default=""))
        table.add_column(sa.Column("fallback_reason", sa.Text(), nullable=False, server_default=""))
        table.add_column(sa.Column("shadow_of", sa.String(36), nullable=True))
    op.create_index("ix_interactions_shadow_of", "interactions", ["shadow_of"])


def downgrade() -> None:
    """Drop the columns again."""
    op.drop_index("ix_interactions_shadow_of", table_name="interactions")
    with op.batch_alter_table("interactions") as table:
        for column in ("shadow_of", "fallback_reason", "route", "variant"):
            table.drop_column(column)
