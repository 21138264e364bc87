"""SQLAlchemy models of the store. Alembic migrations in `alembic/versions` create them.

Timestamps are timezone-aware UTC (`UTCDateTime` normalizes SQLite's naive values).
JSON columns hold plain data; secrets are never stored.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "AuditEntry",
    "Base",
    "CheckInRow",
    "CursorRow",
    "InboxRow",
    "InitiativeHistoryRow",
    "InitiativeKeyResultRow",
    "InitiativeRow",
    "KeyResultHistoryRow",
    "KeyResultRow",
    "LeaseRow",
    "ObjectiveHistoryRow",
    "ObjectiveRow",
    "PushQueueRow",
    "PushStateRow",
    "SyncRunRow",
    "TaskInitiativeRow",
    "TaskRow",
    "UTCDateTime",
    "utcnow",
]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[str]: JSON}


# -- OKR definitions (upserted from the config on each run) ----------------------------------


class ObjectiveRow(Base):
    __tablename__ = "objectives"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(200), default="")
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    """False once the objective disappeared from the config (history is kept)."""


class KeyResultRow(Base):
    __tablename__ = "key_results"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    objective_id: Mapped[str] = mapped_column(ForeignKey("objectives.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(Text)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class InitiativeRow(Base):
    __tablename__ = "initiatives"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class InitiativeKeyResultRow(Base):
    __tablename__ = "initiative_key_results"

    initiative_id: Mapped[str] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True
    )
    key_result_id: Mapped[str] = mapped_column(
        ForeignKey("key_results.id", ondelete="CASCADE"), primary_key=True
    )
    weight: Mapped[float] = mapped_column(Float, default=1.0)


# -- Tasks ----------------------------------------------------------------------------------


class TaskRow(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("connector", "external_id", name="uq_tasks_connector_external_id"),
        Index("ix_tasks_connector_last_seen_run", "connector", "last_seen_run"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    connector: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str] = mapped_column(Text, default="")
    container: Mapped[str] = mapped_column(String(200), default="")
    container_aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Other ways a person writes the container (migration 0005)."""
    status_name: Mapped[str] = mapped_column(String(200), default="")
    status_category: Mapped[str] = mapped_column(String(20), default="todo")
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    assignees: Mapped[list[str]] = mapped_column(JSON, default=list)
    estimate: Mapped[float | None] = mapped_column(Float, nullable=True)
    parent: Mapped[str | None] = mapped_column(String(200), nullable=True)
    due: Mapped[date | None] = mapped_column(Date, nullable=True)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_run: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """Id of the last sync run that saw the task; a full pass marks the unseen as deleted."""
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """Digest of the normalized task as last stored: an upsert rewrites only changed rows."""


class TaskInitiativeRow(Base):
    __tablename__ = "task_initiatives"

    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    initiative_id: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


# -- Check-ins and computed history ----------------------------------------------------------


class CheckInRow(Base):
    __tablename__ = "checkins"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_result_id: Mapped[str] = mapped_column(String(200), index=True)
    value: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confidence: Mapped[str | None] = mapped_column(String(30), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class KeyResultHistoryRow(Base):
    __tablename__ = "key_result_history"
    __table_args__ = (Index("ix_kr_history_kr_at", "key_result_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_result_id: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    progress: Mapped[float] = mapped_column(Float)
    expected_progress: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
    forecast_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    forecast_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    sync_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class InitiativeHistoryRow(Base):
    __tablename__ = "initiative_history"
    __table_args__ = (Index("ix_initiative_history_at", "initiative_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    initiative_id: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    progress: Mapped[float] = mapped_column(Float)
    todo: Mapped[int] = mapped_column(Integer, default=0)
    in_progress: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)


class ObjectiveHistoryRow(Base):
    __tablename__ = "objective_history"
    __table_args__ = (Index("ix_objective_history_at", "objective_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    objective_id: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    progress: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)


# -- Sync machinery --------------------------------------------------------------------------


class CursorRow(Base):
    __tablename__ = "cursors"

    connector: Mapped[str] = mapped_column(String(100), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_full_pass_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncRunRow(Base):
    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_connector_started", "connector", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connector: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    """`incremental`, `full`, `webhook` or `cleanup`."""
    status: Mapped[str] = mapped_column(String(20), default="running")
    """`running`, `ok`, `failed` or `interrupted` (stopped, or its process died)."""
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    pulled: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    mapped: Mapped[int] = mapped_column(Integer, default=0)
    status_changes: Mapped[int] = mapped_column(Integer, default=0)
    writes_planned: Mapped[int] = mapped_column(Integer, default=0)
    writes_made: Mapped[int] = mapped_column(Integer, default=0)
    writes_failed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PushStateRow(Base):
    """What the bridge last wrote to a task (the 'pushed state' the plan subtracts)."""

    __tablename__ = "push_state"

    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    connector: Mapped[str] = mapped_column(String(100), index=True)
    label: Mapped[str | None] = mapped_column(String(255), nullable=True)
    comment_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    comment_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    field_value: Mapped[str | None] = mapped_column(String(100), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    comment_absent: Mapped[bool] = mapped_column(Boolean, default=False)
    """The last read of the tool looked and found no bridge comment on the task."""
    figures_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """When the comment's figures were last written (their refresh is paced from here)."""
    replaced_label: Mapped[str | None] = mapped_column(String(255), nullable=True)
    """A person's `<prefix><status>` label found at first contact; cleanup gives it back."""
    replaced_field: Mapped[str | None] = mapped_column(String(100), nullable=True)
    """The project field's value found at first contact; cleanup puts it back."""


class PushQueueRow(Base):
    """A durable, paced write: one per task and desired state; survives restarts."""

    __tablename__ = "push_queue"
    __table_args__ = (
        Index("ix_push_queue_connector_status", "connector", "status", "id"),
        Index("ix_push_queue_claim", "connector", "status", "priority", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connector: Mapped[str] = mapped_column(String(100))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    change: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The planned writes: label to add, labels to remove, comment action/body, field value."""
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    """`pending`, `in_flight` (attempt started: outcome uncertain), `done`, `failed`."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    """A retried write is not claimed before this time (None: at once)."""
    priority: Mapped[int] = mapped_column(Integer, default=1)
    """Claim order: 0 the tasks that triggered the push, 1 real changes, 2 figure refreshes."""


class AuditEntry(Base):
    """Every write the bridge planned, made or failed, with its reason."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_connector_at", "connector", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    connector: Mapped[str] = mapped_column(String(100))
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    task_key: Mapped[str] = mapped_column(String(200), default="")
    phase: Mapped[str] = mapped_column(String(20))
    """`planned`, `made`, `failed` or `skipped`."""
    action: Mapped[str] = mapped_column(String(40))
    """`add_label`, `remove_label`, `create_comment`, `update_comment`, `delete_comment`,
    `set_field`."""
    detail: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    sync_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class InboxRow(Base):
    """A verified webhook delivery, stored before it is acknowledged."""

    __tablename__ = "webhook_inbox"
    __table_args__ = (
        UniqueConstraint("connector", "delivery_id", name="uq_inbox_connector_delivery"),
        Index("ix_inbox_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connector: Mapped[str] = mapped_column(String(100))
    delivery_id: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(100), default="", server_default="")
    """The tool's event name, as the request path screened it."""
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    headers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Only the allowed headers (`okrbridge.web.headers`): signature, event, delivery id."""
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    """`pending`, `done`, `parked`."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    locked_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LeaseRow(Base):
    """A named lease so that one replica runs a scheduled job at a time."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
