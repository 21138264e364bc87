"""Tasks keep the other ways a person writes their container (`container_aliases`).

A Trello card's board is matched by its id or its short link, a GitHub item by its repository
or its project; match rules compare their `container` with each of them.

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        empty = sa.text("'[]'")
        batch.add_column(
            sa.Column("container_aliases", sa.JSON(), nullable=False, server_default=empty)
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("container_aliases")
