"""Initial schema: OKR definitions, tasks, history and the sync machinery.

Revision ID: 0001
Revises:
Create Date: 2026-05-09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    """Timestamps are stored timezone-aware (the models normalize them to UTC)."""
    return sa.DateTime(timezone=True)


def _task_id() -> sa.types.TypeEngine[int]:
    """64-bit task ids on PostgreSQL; SQLite needs INTEGER for its rowid primary key."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    _definitions()
    _tasks()
    _history()
    _sync_machinery()


def downgrade() -> None:
    for table in (
        "leases",
        "webhook_inbox",
        "audit_log",
        "push_queue",
        "push_state",
        "sync_runs",
        "cursors",
        "objective_history",
        "initiative_history",
        "key_result_history",
        "checkins",
        "task_initiatives",
        "tasks",
        "initiative_key_results",
        "initiatives",
        "key_results",
        "objectives",
    ):
        op.drop_table(table)


def _definitions() -> None:
    op.create_table(
        "objectives",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "key_results",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("objective_id", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["objective_id"], ["objectives.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "initiatives",
        sa.Column("id", sa.String(200), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "initiative_key_results",
        sa.Column("initiative_id", sa.String(200), nullable=False),
        sa.Column("key_result_id", sa.String(200), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["initiative_id"], ["initiatives.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["key_result_id"], ["key_results.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("initiative_id", "key_result_id"),
    )


def _tasks() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", _task_id(), nullable=False),
        sa.Column("connector", sa.String(100), nullable=False),
        sa.Column("external_id", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("container", sa.String(200), nullable=False),
        sa.Column("status_name", sa.String(200), nullable=False),
        sa.Column("status_category", sa.String(20), nullable=False),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("assignees", sa.JSON(), nullable=False),
        sa.Column("estimate", sa.Float(), nullable=True),
        sa.Column("parent", sa.String(200), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", _utc(), nullable=False),
        sa.Column("last_seen_at", _utc(), nullable=False),
        sa.Column("last_seen_run", sa.Integer(), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("connector", "external_id", name="uq_tasks_connector_external_id"),
    )
    op.create_index(
        "ix_tasks_connector_last_seen_run", "tasks", ["connector", "last_seen_run"], unique=False
    )
    op.create_table(
        "task_initiatives",
        sa.Column("task_id", _task_id(), nullable=False),
        sa.Column("initiative_id", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task_id", "initiative_id"),
    )
    op.create_index(
        "ix_task_initiatives_initiative_id", "task_initiatives", ["initiative_id"], unique=False
    )


def _history() -> None:
    op.create_table(
        "checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_result_id", sa.String(200), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("confidence", sa.String(30), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_checkins_key_result_id", "checkins", ["key_result_id"], unique=False)
    op.create_table(
        "key_result_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_result_id", sa.String(200), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("expected_progress", sa.Float(), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("forecast_value", sa.Float(), nullable=True),
        sa.Column("forecast_date", sa.Date(), nullable=True),
        sa.Column("sync_run_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_kr_history_kr_at", "key_result_history", ["key_result_id", "at"], unique=False
    )
    op.create_table(
        "initiative_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("initiative_id", sa.String(200), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("todo", sa.Integer(), nullable=False),
        sa.Column("in_progress", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_initiative_history_at", "initiative_history", ["initiative_id", "at"], unique=False
    )
    op.create_table(
        "objective_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("objective_id", sa.String(200), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_objective_history_at", "objective_history", ["objective_id", "at"], unique=False
    )


def _sync_machinery() -> None:
    _runs_and_cursors()
    _push()
    _inbox_and_leases()


def _runs_and_cursors() -> None:
    op.create_table(
        "cursors",
        sa.Column("connector", sa.String(100), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("last_full_pass_at", _utc(), nullable=True),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("connector"),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("started_at", _utc(), nullable=False),
        sa.Column("finished_at", _utc(), nullable=True),
        sa.Column("pulled", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("mapped", sa.Integer(), nullable=False),
        sa.Column("status_changes", sa.Integer(), nullable=False),
        sa.Column("writes_planned", sa.Integer(), nullable=False),
        sa.Column("writes_made", sa.Integer(), nullable=False),
        sa.Column("writes_failed", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_sync_runs_connector_started", "sync_runs", ["connector", "started_at"], unique=False
    )


def _push() -> None:
    op.create_table(
        "push_state",
        sa.Column("task_id", _task_id(), nullable=False),
        sa.Column("connector", sa.String(100), nullable=False),
        sa.Column("label", sa.String(255), nullable=True),
        sa.Column("comment_id", sa.String(200), nullable=True),
        sa.Column("comment_hash", sa.String(64), nullable=True),
        sa.Column("field_value", sa.String(100), nullable=True),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task_id"),
    )
    op.create_index("ix_push_state_connector", "push_state", ["connector"], unique=False)
    op.create_table(
        "push_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector", sa.String(100), nullable=False),
        sa.Column("task_id", _task_id(), nullable=False),
        sa.Column("change", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_push_queue_connector_status",
        "push_queue",
        ["connector", "status", "id"],
        unique=False,
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("connector", sa.String(100), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("task_key", sa.String(200), nullable=False),
        sa.Column("phase", sa.String(20), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("sync_run_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_connector_at", "audit_log", ["connector", "at"], unique=False)


def _inbox_and_leases() -> None:
    op.create_table(
        "webhook_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connector", sa.String(100), nullable=False),
        sa.Column("delivery_id", sa.String(200), nullable=False),
        sa.Column("received_at", _utc(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _utc(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("locked_by", sa.String(100), nullable=True),
        sa.Column("locked_until", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("connector", "delivery_id", name="uq_inbox_connector_delivery"),
    )
    op.create_index(
        "ix_inbox_status_next", "webhook_inbox", ["status", "next_attempt_at"], unique=False
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
