"""The guest promise: marks found in the tool, what the bridge replaced, paced comment
refreshes and queue priorities.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("push_state") as table:
        table.add_column(
            sa.Column("comment_absent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        table.add_column(sa.Column("figures_at", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("replaced_label", sa.String(255), nullable=True))
        table.add_column(sa.Column("replaced_field", sa.String(100), nullable=True))
    with op.batch_alter_table("push_queue") as table:
        table.add_column(
            sa.Column("priority", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )
    op.create_index(
        "ix_push_queue_claim",
        "push_queue",
        ["connector", "status", "priority", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_push_queue_claim", table_name="push_queue")
    with op.batch_alter_table("push_queue") as table:
        table.drop_column("priority")
    with op.batch_alter_table("push_state") as table:
        for column in ("replaced_field", "replaced_label", "figures_at", "comment_absent"):
            table.drop_column(column)
