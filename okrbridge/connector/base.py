"""The connector contract: what the core asks of a tool, in the core's own vocabulary.

A connector class declares its `name` (the `type` in the config), its settings model and its
capabilities; an instance is built from one config table and the process environment. The core
only ever talks to a connector through this module's types.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from okrbridge.connector_settings import ConnectorSettings
from okrbridge.domain import Task, TaskRef
from okrbridge.marks import StatusLabels

if TYPE_CHECKING:
    import httpx

    from okrbridge.sandbox.tool import SimulatedTool

__all__ = [
    "Capability",
    "CommentAction",
    "CommentChange",
    "Connector",
    "ConnectorStats",
    "EventKind",
    "Page",
    "PushChange",
    "PushResult",
    "WebhookEvent",
    "WebhookPayloadError",
    "WebhookRequest",
    "WebhookScreening",
]

S = TypeVar("S", bound=ConnectorSettings)


class Capability(str, enum.Enum):
    """What a connector can do; the core adapts to what is declared, never probes."""

    LABELS = "labels"
    COMMENTS = "comments"
    WEBHOOKS = "webhooks"
    PROJECT_FIELD = "project_field"
    """Can show the status in a tool field where labels are unavailable (GitHub draft items)."""
    INCREMENTAL = "incremental"
    """`pull(cursor)` with a cursor returns only what changed since it."""
    REGISTERS_WEBHOOKS = "registers_webhooks"
    """`register_webhooks` creates the tool's webhooks through its API (`okrbridge webhooks
    register <instance>`); without it a person registers them in the tool's settings."""
    MARKS_IN_PULL = "marks_in_pull"
    """Every task from `pull` and `fetch` carries `marks` (its bridge comment found or known
    absent): the core then creates a comment without asking the connector to look first."""


@dataclass(frozen=True)
class Page:
    """One page of a pull: normalized tasks plus the cursor to store once they are committed.

    `cursor` None means "leave the stored cursor as it is" (e.g. mid-way through an unsorted
    full scan, whose cursor may only move once the whole pass is committed).
    """

    tasks: Sequence[Task]
    cursor: str | None = None
    deleted: Sequence[str] = ()
    """External ids the tool reported as deleted (incremental sources that see deletions)."""


@dataclass(frozen=True)
class WebhookRequest:
    """A webhook delivery as received: raw bytes, lower-cased header names, the request URL."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class WebhookScreening:
    """What the request path learns from a verified delivery without any I/O."""

    delivery_id: str
    """De-duplication key; "" when the tool sends none (the body's hash is used)."""
    event: str = ""
    """The tool's event name, for logs and metrics."""
    handled: bool = True
    """False: a kind of event the bridge ignores (answered 202, not stored)."""
    reason: str = ""
    """Why it is ignored, for the log line."""


class WebhookPayloadError(ValueError):
    """The delivery is not plausibly from this tool (answered 400, never 500)."""


class EventKind(str, enum.Enum):
    UPSERT = "upsert"
    """`task` carries the task's new state."""
    DELETE = "delete"
    REFRESH = "refresh"
    """The payload lacks what is needed: re-read `external_id` from the tool."""
    IGNORE = "ignore"


@dataclass(frozen=True)
class WebhookEvent:
    delivery_id: str
    """De-duplication key (GitHub delivery GUID, Jira webhook identifier, Trello action id)."""
    kind: EventKind
    external_id: str | None = None
    task: Task | None = None
    own_echo: bool = False
    """Caused by the bridge's own label/comment write: dropped without a push."""
    occurred_at: datetime | None = None
    name: str = ""
    """The tool's event name, for logs and metrics (`issues.labeled`, `updateCard`, ...)."""


class CommentAction(str, enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class CommentChange:
    action: CommentAction
    body: str = ""
    """Markdown text; the connector renders it for the tool and adds its hidden marker."""
    comment_id: str | None = None
    """Known id of the bridge's comment (UPDATE/DELETE; may be None if the store lost it)."""
    digest: str = ""
    """What the comment means, stamped into it (`okrbridge.marks.comment_stamp`) so that a
    later read of the tool tells whether it is current."""
    look_first: bool = True
    """CREATE only: look in the tool for an existing bridge comment and adopt it (edit it)
    instead of creating a second one. False only when a fresh read showed there is none."""


@dataclass(frozen=True, slots=True)
class PushChange:
    """The minimal set of writes that brings one task to its desired state."""

    task: Task
    add_label: str | None = None
    remove_labels: tuple[str, ...] = ()
    """Only labels the bridge owns (carrying its prefix)."""
    comment: CommentChange | None = None
    field_value: str | None = None
    """Status slug for the project field (PROJECT_FIELD capability); "" clears it."""
    uncertain: bool = False
    """A previous attempt may have partly succeeded: look before creating (no duplicates)."""

    @property
    def is_empty(self) -> bool:
        return (
            self.add_label is None
            and not self.remove_labels
            and self.comment is None
            and self.field_value is None
        )


@dataclass(frozen=True)
class PushResult:
    comment_id: str | None = None
    """Id of the bridge's comment after the change (None after a delete)."""
    requests: int = 0
    """Write requests made (for budgets and the audit log)."""


@dataclass
class ConnectorStats:
    """Counters a connector instance keeps about its traffic, read by the summary and metrics."""

    requests: int = 0
    writes: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    rate_limit_wait_seconds: float = 0.0
    cost_points: float = 0.0
    """Tool-specific cost units (GitHub GraphQL points)."""
    extra: dict[str, Any] = field(default_factory=dict)


class Connector(Generic[S]):
    """Base class of every connector. Subclasses set the class variables and implement pulls,
    webhooks and pushes; they may use `okrbridge.connector.transport` for HTTP."""

    name: ClassVar[str]
    settings_model: ClassVar[type[ConnectorSettings]]
    capabilities: ClassVar[frozenset[Capability]]
    default_writes_per_minute: ClassVar[int] = 60
    max_label_length: ClassVar[int | None] = None
    """The longest label name the tool accepts (GitHub: 50), checked by `config check` for the
    instances of this connector only; None: no limit worth checking."""
    webhook_headers: ClassVar[frozenset[str]] = frozenset()
    """Request headers (lower-case) `parse_webhook` needs beyond the core's allowlist
    (`okrbridge.web.headers.INBOX_HEADERS`: the bundled tools' signature, event and delivery
    headers); the inbox stores no others. Never a credential."""

    def __init__(
        self,
        instance: str,
        settings: S,
        env: Mapping[str, str],
        *,
        labels: StatusLabels | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.instance = instance
        self.settings = settings
        self.env = env
        self.labels = labels or StatusLabels()
        """The bridge's status labels under the configured prefix (never hard-code slugs)."""
        self.http_client = http_client
        """An injected HTTP client (tests, shared pools); None: the connector makes its own."""
        self.stats = ConnectorStats()

    # -- reading ------------------------------------------------------------------------------
    def pull(self, cursor: str | None, *, full: bool = False) -> Iterator[Page]:
        """Yield pages of tasks changed since `cursor` (all live tasks when `full`)."""
        raise NotImplementedError

    def fetch(self, external_ids: Sequence[str]) -> list[Task]:
        """Re-read specific tasks, fresh from the tool, with their `marks` (the bridge's comment
        and field value as they are now). Missing ids and tasks outside the instance's scope
        are omitted."""
        raise NotImplementedError

    def scan_marks(self) -> Iterator[Task]:
        """Every task in the instance's scope that carries a bridge label, comment or field
        value, read fresh with `marks` (cleanup from an empty store). Default: a full pull."""
        for page in self.pull(None, full=True):
            yield from page.tasks

    # -- webhooks -----------------------------------------------------------------------------
    def verify_webhook(self, request: WebhookRequest) -> bool:
        """True when the delivery's signature (or other proof) is valid; constant-time.
        Runs on the request path: no I/O."""
        return False

    def screen_webhook(self, request: WebhookRequest) -> WebhookScreening:
        """Classify a verified delivery on the request path: delivery id, event name, handled
        or ignored. Pure: no I/O, no tool lookups (the tool may be down; the sender waits).
        `WebhookPayloadError` if the body is not plausibly from this tool."""
        raise WebhookPayloadError(f"{self.name} does not receive webhooks")

    def parse_webhook(self, request: WebhookRequest) -> list[WebhookEvent]:
        """Turn a stored delivery into task events; runs in the inbox worker, never on the
        request path, so it may look up identities (cached) and re-read tasks. A failed
        lookup raises (the worker retries); it never changes what an event means."""
        raise WebhookPayloadError(f"{self.name} does not receive webhooks")

    def register_webhooks(self, callback_url: str) -> list[str]:
        """Create (or find) the tool's webhooks for every container in the instance's scope,
        pointing at `callback_url` (the daemon's `POST /webhooks/<instance>`); one line per
        webhook. Only for connectors declaring `Capability.REGISTERS_WEBHOOKS`."""
        raise NotImplementedError(f"{self.name} webhooks are registered in the tool itself")

    def preflight(self) -> list[str]:
        """Problems that would make every write of some kind fail (a status with no option on
        the project field, a label the tool refuses), found by reading the tool once; run at
        `sync` start and by `config check`. Empty when all is well."""
        return []

    # -- writing ------------------------------------------------------------------------------
    def task_capabilities(self, task: Task) -> frozenset[Capability]:
        """What the bridge can write on this task (a GitHub draft item has no labels or
        comments, only a project field); the core plans nothing else for it."""
        return self.capabilities

    def apply(self, change: PushChange) -> PushResult:
        """Make the writes of one change; never touch labels or comments the bridge does not own."""
        raise NotImplementedError

    def cleanup_artifacts(self, *, dry_run: bool = False) -> list[str]:
        """Remove tool-level things the bridge created (its status label definitions on a
        board or repository) that no task uses any more; return what was (or would be)
        removed, one line each. Found in the tool, so it works from an empty store."""
        return []

    def close(self) -> None:
        """Release network resources."""

    # -- testing and sandbox ------------------------------------------------------------------
    @classmethod
    def simulator(cls) -> SimulatedTool:
        """A fresh, empty simulator of this tool (see `okrbridge.sandbox.tool`)."""
        raise NotImplementedError(f"{cls.name} ships no simulator")

    def ref(self, external_id: str) -> TaskRef:
        return TaskRef(connector=self.instance, external_id=external_id)

    def __enter__(self) -> Connector[S]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
