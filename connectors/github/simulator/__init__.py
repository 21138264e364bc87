"""GitHub simulator: the ASGI app (`app`) plus the tool-neutral `SimulatedTool` handle.

`GitHubSimulator()` starts with organization `acme`, project 1 ("Roadmap") with the fields
Status (Todo / In Progress / Done), Estimate, Iteration and "OKR status"; the bridge's account
is `okr-bot`, people act as `octocat`. Seed tasks: `container="owner/repo"` makes an issue in
that repo added to the project, `fields={"draft": "true"}` a draft item.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from connectors.github.simulator.app import Limits, build_app
from connectors.github.simulator.state import Delivery, Draft, Issue, Item, SimState
from okrbridge.domain import StatusCategory
from okrbridge.sandbox.tool import SeedTask, SimComment, WebhookSink

__all__ = ["GitHubSimulator", "Limits", "SimState"]

TOKEN_ENV = "OKRBRIDGE_SIM_GITHUB_TOKEN"  # noqa: S105 - a variable name
SECRET_ENV = "OKRBRIDGE_SIM_GITHUB_WEBHOOK_SECRET"  # noqa: S105
PERSON = "octocat"
KR_FIELD = "OKR status"
_OPTION = {
    StatusCategory.TODO: "Todo",
    StatusCategory.IN_PROGRESS: "In Progress",
    StatusCategory.DONE: "Done",
}


class GitHubSimulator:
    """In-memory GitHub for tests, the demo and benchmarks (thread-safe)."""

    def __init__(self, *, owner: str = "acme", owner_type: str = "organization") -> None:
        self.state = SimState(owner=owner, owner_type=owner_type)
        self.token = "sim-token-" + uuid.uuid4().hex
        self.secret = "sim-secret-" + uuid.uuid4().hex
        self.limits = Limits()
        self._sink: WebhookSink | None = None
        self._callback: str | None = None
        self._sink_lock = threading.Lock()
        self._app, self._writes = build_app(self.state, self.limits, self.token, self._emit)

    @property
    def app(self) -> Any:
        return self._app

    def write_count(self) -> int:
        """Write requests the API served (GraphQL queries are POSTs too, so not the log's)."""
        return self._writes()

    # -- seeding and acting as a person -------------------------------------------------------
    def add_task(self, task: SeedTask) -> str:
        st = self.state
        with st.lock:
            if task.fields.get("draft") == "true":
                draft = st.create_draft(task.title)
                draft.assignees = list(task.assignees)
                item = st.add_item(1, draft.node_id)
                external_id = item.id
            else:
                issue = st.create_issue(task.container, task.title)
                issue.assignees = list(task.assignees)
                for name in task.labels:
                    st.ensure_label(issue.repo, name)
                issue.labels = list(task.labels)
                item = st.add_item(1, issue.node_id)
                external_id = issue.node_id
            item.values["Status"] = _OPTION[task.status]
            if task.estimate is not None:
                item.values["Estimate"] = f"{task.estimate:g}"
            return external_id

    def set_status(self, external_id: str, status: StatusCategory) -> None:
        with self.state.lock:
            item = self._item(external_id)
            deliveries = self.state.set_value(item, "Status", _OPTION[status], PERSON)
        self._emit(deliveries)

    def set_labels(self, external_id: str, labels: tuple[str, ...]) -> None:
        with self.state.lock:
            issue = self._issue(external_id)
            stale = [n for n in issue.labels if n not in labels]
            deliveries = self.state.remove_labels(issue, stale, PERSON)
            deliveries += self.state.add_labels(issue, list(labels), PERSON)
        self._emit(deliveries)

    def delete_task(self, external_id: str) -> None:
        """Remove the task's item from the project (the issue itself stays in its repo)."""
        with self.state.lock:
            deliveries = self.state.remove_item(self._item(external_id), PERSON)
        self._emit(deliveries)

    def close_issue(self, external_id: str, reason: str = "COMPLETED") -> None:
        with self.state.lock:
            issue = self._issue(external_id)
            issue.state, issue.state_reason = "CLOSED", reason
            issue.updated = self.state.tick()

    def set_title(self, external_id: str, title: str) -> None:
        with self.state.lock:
            content = self._content(external_id)
            content.title = title
            content.updated = self.state.tick()

    def add_comment(self, external_id: str, body: str, author: str = PERSON) -> str:
        with self.state.lock:
            comment, deliveries = self.state.add_comment(self._issue(external_id), body, author)
        self._emit(deliveries)
        return str(comment.id)

    def delete_comment(self, comment_id: str) -> None:
        with self.state.lock:
            deliveries = self.state.delete_comment(int(comment_id), PERSON)
        self._emit(deliveries)

    def delete_comment_as_person(self, external_id: str, comment_id: str) -> None:
        """A person (an admin may delete anyone's comment) deletes one of the task's comments."""
        with self.state.lock:
            issue = self._issue(external_id)
            if all(str(c.id) != comment_id for c in issue.comments):
                raise KeyError(f"{external_id} has no comment {comment_id}")
        self.delete_comment(comment_id)

    # -- reading tool state -------------------------------------------------------------------
    def labels_of(self, external_id: str) -> list[str]:
        with self.state.lock:
            content = self._content(external_id)
            return list(content.labels) if isinstance(content, Issue) else []

    def comments_of(self, external_id: str) -> list[SimComment]:
        with self.state.lock:
            content = self._content(external_id)
            if not isinstance(content, Issue):
                return []
            return [SimComment(str(c.id), c.body, c.author) for c in content.comments]

    def label_definitions(self) -> list[str]:
        """Every label defined in every repository (a name once per repository)."""
        with self.state.lock:
            return sorted(name for labels in self.state.repos.values() for name in labels)

    def status_field_of(self, external_id: str) -> str | None:
        """The item's value in the field the bridge writes on drafts ("OKR status")."""
        return self.field_of(external_id, KR_FIELD)

    def field_of(self, external_id: str, field_name: str) -> str | None:
        with self.state.lock:
            return self._item(external_id).values.get(field_name)

    # -- configuration ------------------------------------------------------------------------
    def settings(self, base_url: str) -> dict[str, Any]:
        return {
            "type": "github",
            "base_url": base_url.rstrip("/"),  # served in the GHES layout: /api/v3, /api/graphql
            "token_env": TOKEN_ENV,
            "webhook_secret_env": SECRET_ENV,
            "owner": self.state.owner,
            "owner_type": self.state.owner_type,
            "projects": sorted(self.state.projects),
            "estimate_field": "Estimate",
            "iteration_field": "Iteration",
            "kr_status_field": KR_FIELD,
            # The sandbox is paced 20x faster than GitHub asks (1 write/s); the simulator still
            # enforces GitHub's 80 content creations a minute.
            "write_budget_per_minute": 1200,
        }

    def env(self) -> dict[str, str]:
        return {TOKEN_ENV: self.token, SECRET_ENV: self.secret}

    def set_webhook_sink(self, callback_url: str | None, sink: WebhookSink | None) -> None:
        with self._sink_lock:
            self._callback, self._sink = callback_url, sink

    # -- internals ----------------------------------------------------------------------------
    def _emit(self, deliveries: list[Delivery]) -> None:
        with self._sink_lock:
            sink, callback = self._sink, self._callback
        if sink is None or callback is None:
            return
        for event, payload in deliveries:
            body = json.dumps(payload).encode()
            headers: Mapping[str, str] = {
                "content-type": "application/json",
                "user-agent": "GitHub-Hookshot/sim",
                "x-github-event": event,
                "x-github-delivery": str(uuid.uuid4()),
                "x-hub-signature-256": _signature(self.secret, body),
            }
            sink(callback, headers, body)

    def _content(self, external_id: str) -> Issue | Draft:
        content = self.state.content(external_id)
        if content is None and external_id in self.state.items:
            content = self.state.content(self.state.items[external_id].content_id)
        if content is None:
            raise KeyError(external_id)
        return content

    def _issue(self, external_id: str) -> Issue:
        content = self._content(external_id)
        if not isinstance(content, Issue):
            raise KeyError(f"{external_id} is a draft: it has no labels or comments")
        return content

    def _item(self, external_id: str) -> Item:
        if external_id in self.state.items:
            return self.state.items[external_id]
        items = self.state.items_of(external_id)
        if not items:
            raise KeyError(external_id)
        return items[0]


def _signature(secret: str, body: bytes) -> str:
    """`X-Hub-Signature-256` as GitHub documents it ("Validating webhook deliveries"): the hex
    HMAC-SHA256 of the raw payload keyed with the webhook secret, prefixed `sha256=`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
