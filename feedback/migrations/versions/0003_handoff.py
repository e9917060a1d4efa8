"""The hand-off reaches a person: interactions learn their conversation; escalations learn where they came
from, the customer's contact, the conversation they hand over and who has them; statuses become new,
assigned, resolved and dismissed (open -> new, in_progress -> assigned).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_RENAMES = (("open", "new"), ("in_progress", "assigned"))


def upgrade() -> None:
    """Add the columns and the conversation index; rename the two open statuses."""
    with op.batch_alter_table("interactions") as table:
        table.add_column(sa.Column("conversation_id", sa.String(64), nullable=False, server_default=""))
    op.create_index("ix_interactions_tenant_conversation", "interactions", ["tenant", "conversation_id"])
    with op.batch_alter_table("escalations") as table:
        table.add_column(sa.Column("channel", sa.String(16), nullable=False, server_default=""))
        table.add_column(sa.Column("contact", sa.Text(), nullable=False, server_default=""))
        table.add_column(sa.Column("conversation_id", sa.String(64), nullable=False, server_default=""))
        table.add_column(sa.Column("assignee", sa.String(256), nullable=False, server_default=""))
    escalations = sa.table("escalations", sa.column("status", sa.String(16)))
    for old, new in _RENAMES:
        op.execute(escalations.update().where(escalations.c.status == old).values(status=new))


def downgrade() -> None:
    """Rename the statuses back and drop the columns (contacts are lost)."""
    escalations = sa.table("escalations", sa.column("status", sa.String(16)))
    for old, new in _RENAMES:
        op.execute(escalations.update().where(escalations.c.status == new).values(status=old))
    with op.batch_alter_table("escalations") as table:
        for column in ("assignee", "conversation_id", "contact", "channel"):
            table.drop_column(column)
    op.drop_index("ix_interactions_tenant_conversation", table_name="interactions")
    with op.batch_alter_table("interactions") as table:
        table.drop_column("conversation_id")
