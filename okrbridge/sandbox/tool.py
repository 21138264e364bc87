"""What every tool simulator offers, so that tests, the demo and benchmarks can drive any tool.

A simulator is an ASGI app that speaks the tool's real API (paths, shapes, paging, errors,
rate-limit headers, webhook signatures) over in-memory data, plus the tool-agnostic handles
below to seed data, change it as a person would, and read back what the bridge wrote.
The harness in `okrbridge.sandbox.harness` serves it on loopback with latency, faults and a
request log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from okrbridge.domain import StatusCategory

__all__ = ["MarksInspection", "SeedTask", "SimComment", "SimulatedTool", "WebhookSink"]

ASGIApp = Callable[..., Any]


@dataclass(frozen=True)
class SeedTask:
    """A task to create in a simulator, in tool-neutral terms."""

    title: str
    container: str
    status: StatusCategory = StatusCategory.TODO
    labels: tuple[str, ...] = ()
    estimate: float | None = None
    parent: str | None = None
    assignees: tuple[str, ...] = ()
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SimComment:
    id: str
    body: str
    author: str


WebhookSink = Callable[[str, Mapping[str, str], bytes], None]
"""Receives (callback_url, headers, body) of a signed delivery the simulator emits."""


@runtime_checkable
class SimulatedTool(Protocol):
    """Tool-neutral handle on a simulator; `app` is the ASGI app that speaks the real API."""

    @property
    def app(self) -> ASGIApp: ...

    def add_task(self, task: SeedTask) -> str:
        """Create a task as a person would; returns its external id as the connector reports it."""
        ...

    def set_status(self, external_id: str, status: StatusCategory) -> None: ...

    def set_labels(self, external_id: str, labels: tuple[str, ...]) -> None:
        """Replace the task's labels as a person would (creating board/repo labels as needed)."""
        ...

    def delete_task(self, external_id: str) -> None: ...

    def labels_of(self, external_id: str) -> list[str]: ...

    def comments_of(self, external_id: str) -> list[SimComment]: ...

    def settings(self, base_url: str) -> dict[str, Any]:
        """The config table for a connector instance pointed at this simulator at `base_url`."""
        ...

    def env(self) -> dict[str, str]:
        """Environment variables holding the credentials `settings` names."""
        ...

    def write_count(self) -> int:
        """API requests that changed (or tried to change) the tool's data so far: label,
        comment and field writes. Reads sent by POST (Jira search, GraphQL queries) are not
        writes; the request log alone cannot tell them apart."""
        ...

    def set_webhook_sink(self, callback_url: str | None, sink: WebhookSink | None) -> None:
        """From now on, emit a delivery signed for `callback_url` to `sink` on every change
        (person-made or API-made, as the tool would); None stops emission."""
        ...


@runtime_checkable
class MarksInspection(Protocol):
    """What the contract suite needs to check the guest promise in a simulator's own state
    (deleting the bridge's comment as a person would, the label definitions and the project
    field value the bridge may leave behind). Every simulator implements it beside
    `SimulatedTool`; it is a protocol of its own only so that a simulator can catch up."""

    def delete_comment_as_person(self, external_id: str, comment_id: str) -> None:
        """Delete a comment of the task (any author's, as a person with the right to would),
        without going through the API the bridge uses; the tool emits its usual webhook."""
        ...

    def label_definitions(self) -> list[str]:
        """Names of the labels defined in the tool's containers (GitHub repository labels,
        Trello board labels), whether or not a task uses them; [] for a tool where labels
        need no definition (Jira)."""
        ...

    def status_field_of(self, external_id: str) -> str | None:
        """The task's value in the single-select field the bridge writes its status to
        (GitHub draft items), as the option's name; None when the task has no value there
        or the tool has no such field."""
        ...
