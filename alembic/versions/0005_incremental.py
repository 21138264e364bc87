"""Incremental evaluation: task-counting key-result links, changed tasks, contributions, tallies.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _task_id() -> sa.types.TypeEngine[int]:
    """64-bit task ids on PostgreSQL; SQLite needs INTEGER for its rowid primary key."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "task_key_results",
        sa.Column("task_id", _task_id(), nullable=False),
        sa.Column("key_result_id", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task_id", "key_result_id"),
    )
    op.create_index(
        "ix_task_key_results_key_result_id", "task_key_results", ["key_result_id"], unique=False
    )
    op.create_table(
        "task_changes",
        sa.Column("seq", _task_id(), autoincrement=True, nullable=False),
        sa.Column("connector", sa.String(100), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sqlite_autoincrement=True,  # numbers only grow: the compute keeps watermarks
    )
    op.create_table(
        "task_contributions",
        sa.Column("task_id", _task_id(), nullable=False),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.Column("estimate", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task_id"),
    )
    counts = ("excluded", "todo", "in_progress", "done")
    sums = ("todo_estimate", "in_progress_estimate", "done_estimate")
    missing = ("todo_missing", "in_progress_missing", "done_missing")
    op.create_table(
        "target_tallies",
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("target_id", sa.String(200), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in counts),
        *(sa.Column(name, sa.Float(), nullable=False) for name in sums),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in missing),
        sa.PrimaryKeyConstraint("kind", "target_id"),
    )
    op.create_table(
        "tally_state",
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("seq", _task_id(), nullable=False),
        sa.Column("statuses", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    for table in (
        "tally_state",
        "target_tallies",
        "task_contributions",
        "task_changes",
        "task_key_results",
    ):
        op.drop_table(table)
