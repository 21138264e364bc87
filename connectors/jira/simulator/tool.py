"""`JiraSimulator`: the `SimulatedTool` handle over the simulated site, plus webhook emission."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from okrbridge.domain import StatusCategory
from okrbridge.sandbox.tool import SeedTask, SimComment, WebhookSink

from .adf import person_comment, plain_text
from .payloads import webhook_comment, webhook_issue
from .state import SimIssue, SimState, SimUser, StoredComment

__all__ = ["BOT", "PERSON", "JiraSimulator", "RateLimit"]

BOT = SimUser("5b10ac8d82e05b22cc7d4ef5", "okrbridge bot", "okrbridge-bot@example.com")
PERSON = SimUser("557058:c9ebf848-dfac-4c49-9408-dc34bd0e2d85", "Pat Person", "pat@example.com")
_STATUS_FOR = {
    StatusCategory.TODO: "To Do",
    StatusCategory.IN_PROGRESS: "In Progress",
    StatusCategory.DONE: "Done",
}
Delivery = dict[str, Any]


@dataclass
class RateLimit:
    """Burst limit per account: `rate` requests per second, bursts up to `burst`.

    Atlassian publishes no exact burst numbers for API-token traffic; these defaults are
    generous enough for a well-paced client and still refuse floods.
    """

    rate: float = 100.0
    burst: float = 200.0
    issue_writes: int = 0
    """Writes one issue takes within `issue_window` seconds before answering 429 (Jira limits
    writes per issue and publishes no number; 0: no such limit)."""
    issue_window: float = 1.0


class JiraSimulator:
    """A Jira Cloud site in memory, served by `app`; the bot's credentials are in `env()`."""

    EMAIL = BOT.email
    TOKEN = "sim-jira-api-token"  # noqa: S105 - a fake credential for the simulator
    PAT = "sim-jira-pat"
    WEBHOOK_SECRET = "sim-jira-webhook-secret"  # noqa: S105

    def __init__(self, *, rate_limit: RateLimit | None = None, base_url: str = "") -> None:
        self.state = SimState()
        for user in (BOT, PERSON):
            self.state.users[user.account_id] = user
        self.rate_limit = rate_limit if rate_limit is not None else RateLimit()
        self.base_url = base_url.rstrip("/")
        self.notify_flags: list[str | None] = []
        """`notifyUsers` of every edit received (tests check the bridge sends `false`)."""
        self.issue_edits: list[Any] = []
        """Bodies of every `PUT /issue` received (tests check `fields.labels` is never sent)."""
        self._writes = 0
        self._issue_writes: dict[str, list[float]] = {}
        self._sink: WebhookSink | None = None
        self._callback: str | None = None
        self._emit_lock = threading.Lock()
        self._app: Any = None

    # -- SimulatedTool ------------------------------------------------------------------------
    @property
    def app(self) -> Any:
        if self._app is None:
            from .app import build_app

            self._app = build_app(self)
        return self._app

    def add_task(self, task: SeedTask) -> str:
        with self.state.lock:
            issue = self.state.new_issue(_project_key(task.container), task.title)
            issue.status = _STATUS_FOR[task.status]
            issue.resolution = "Done" if task.status is StatusCategory.DONE else None
            issue.labels = list(dict.fromkeys(task.labels))
            issue.parent = task.parent
            if task.assignees:
                issue.assignee = self.state.user_named(task.assignees[0]).account_id
            if task.estimate is not None:
                issue.custom["customfield_10016"] = task.estimate
            for name, value in task.fields.items():
                issue.custom[self.state.custom_field(name)] = value
            delivery = self._issue_event("jira:issue_created", "issue_created", issue, PERSON)
        self._emit([delivery])
        return str(issue.id)

    def set_status(self, external_id: str, status: StatusCategory) -> None:
        with self.state.lock:
            issue = self._issue(external_id)
            before, issue.status = issue.status, _STATUS_FOR[status]
            issue.resolution = "Done" if status is StatusCategory.DONE else None
            self.state.touch(issue)
            change = _change("status", "status", before, issue.status)
            delivery = self._issue_event(
                "jira:issue_updated", "issue_generic", issue, PERSON, [change]
            )
        self._emit([delivery])

    def set_labels(self, external_id: str, labels: tuple[str, ...]) -> None:
        with self.state.lock:
            issue = self._issue(external_id)
            deliveries = self.replace_labels(issue, list(labels), PERSON)
        self._emit(deliveries)

    def delete_task(self, external_id: str) -> None:
        with self.state.lock:
            issue = self._issue(external_id)
            delivery = self._issue_event("jira:issue_deleted", "issue_deleted", issue, PERSON)
            self.state.remove(issue)
        self._emit([delivery])

    def labels_of(self, external_id: str) -> list[str]:
        with self.state.lock:
            return list(self._issue(external_id).labels)

    def comments_of(self, external_id: str) -> list[SimComment]:
        with self.state.lock:
            issue = self._issue(external_id)
            return [
                SimComment(str(c.id), plain_text(c.body), self._name(c.author))
                for c in issue.comments
            ]

    def settings(self, base_url: str) -> dict[str, Any]:
        self.base_url = base_url.rstrip("/")
        return {
            "type": "jira",
            "base_url": self.base_url,
            "auth": "cloud",
            "email_env": "JIRA_EMAIL",
            "token_env": "JIRA_API_TOKEN",
            "jql": "project is not EMPTY",
            "estimate_field": "Story Points",
            "webhook_secret_env": "JIRA_WEBHOOK_SECRET",
        }

    def env(self) -> dict[str, str]:
        return {
            "JIRA_EMAIL": self.EMAIL,
            "JIRA_API_TOKEN": self.TOKEN,
            "JIRA_PAT": self.PAT,
            "JIRA_WEBHOOK_SECRET": self.WEBHOOK_SECRET,
        }

    def write_count(self) -> int:
        with self._emit_lock:
            return self._writes

    def count_write(self) -> None:
        """Called by the app for every request that changes (or tries to change) data."""
        with self._emit_lock:
            self._writes += 1

    def issue_write_wait(self, key: str) -> float:
        """Seconds to wait before `key` takes another write (0: it takes this one now)."""
        limit = self.rate_limit
        if limit is None or limit.issue_writes <= 0:
            return 0.0
        now = time.monotonic()
        with self._emit_lock:
            recent = [
                t for t in self._issue_writes.get(key.upper(), []) if now - t < limit.issue_window
            ]
            if len(recent) >= limit.issue_writes:
                self._issue_writes[key.upper()] = recent
                return limit.issue_window - (now - recent[0])
            self._issue_writes[key.upper()] = [*recent, now]
            return 0.0

    def set_webhook_sink(self, callback_url: str | None, sink: WebhookSink | None) -> None:
        with self._emit_lock:
            self._callback, self._sink = callback_url, sink

    # -- more handles for tests ---------------------------------------------------------------
    def issue(self, external_id: str) -> SimIssue:
        with self.state.lock:
            return self._issue(external_id)

    def add_comment(self, external_id: str, text: str, *, author: SimUser = PERSON) -> str:
        """A person comments (plain text, no properties)."""
        with self.state.lock:
            issue = self._issue(external_id)
            comment = self.state.new_comment(issue, person_comment(text), author.account_id, {})
            deliveries = self.comment_events("comment_created", "issue_commented", issue, comment)
        self._emit(deliveries)
        return str(comment.id)

    # -- MarksInspection ----------------------------------------------------------------------
    def delete_comment_as_person(self, external_id: str, comment_id: str) -> None:
        self.delete_comment(external_id, comment_id)

    def label_definitions(self) -> list[str]:
        return []  # Jira labels exist only on issues

    def status_field_of(self, external_id: str) -> str | None:
        return None  # the bridge writes no field in Jira

    def delete_comment(self, external_id: str, comment_id: str) -> None:
        """A person deletes a comment (the bridge's, say)."""
        with self.state.lock:
            issue = self._issue(external_id)
            comment = next(c for c in issue.comments if str(c.id) == comment_id)
            issue.comments.remove(comment)
            comment.update_author = PERSON.account_id  # the deliveries name who acted
            self.state.touch(issue)
            deliveries = self.comment_events(
                "comment_deleted", "issue_comment_deleted", issue, comment
            )
        self._emit(deliveries)

    # -- used by the app (callers hold the state lock) ----------------------------------------
    def replace_labels(self, issue: SimIssue, labels: list[str], actor: SimUser) -> list[Delivery]:
        before = list(issue.labels)
        issue.labels = list(dict.fromkeys(labels))
        if issue.labels == before:
            return []
        self.state.touch(issue)
        change = _change("labels", "labels", " ".join(before), " ".join(issue.labels))
        return [self._issue_event("jira:issue_updated", "issue_updated", issue, actor, [change])]

    def comment_events(
        self, event: str, type_name: str, issue: SimIssue, comment: StoredComment
    ) -> list[Delivery]:
        """A comment change raises `comment_*` and also `jira:issue_updated` (typed by name)."""
        if self._sink is None:
            return []
        actor = self.state.user(comment.update_author)
        issue_event = self._issue_event("jira:issue_updated", type_name, issue, actor)
        if event != "comment_deleted":
            issue_event["comment"] = webhook_comment(
                event, comment, issue, self.state, self.base_url
            )["comment"]
        return [webhook_comment(event, comment, issue, self.state, self.base_url), issue_event]

    def _issue_event(
        self,
        event: str,
        type_name: str,
        issue: SimIssue,
        actor: SimUser | None,
        changes: list[dict[str, Any]] | None = None,
    ) -> Delivery:
        if self._sink is None:
            return {}  # nobody listens: skip building the payload
        return webhook_issue(event, type_name, issue, self.state, self.base_url, actor, changes)

    def emit(self, deliveries: Iterable[Delivery]) -> None:
        self._emit(deliveries)

    def _emit(self, deliveries: Iterable[Delivery]) -> None:
        with self._emit_lock:
            sink, callback = self._sink, self._callback
        if sink is None or callback is None:
            return
        for payload in deliveries:
            if not payload:
                continue
            body = json.dumps(payload).encode()
            signature = hmac.new(self.WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
            headers = {
                "content-type": "application/json",
                "x-atlassian-webhook-identifier": str(uuid.uuid4()),
                "x-atlassian-webhook-flow": "Primary",
                "x-hub-signature": f"sha256={signature}",
            }
            sink(callback, headers, body)

    def _issue(self, external_id: str) -> SimIssue:
        issue = self.state.find(str(external_id))
        if issue is None:
            raise KeyError(f"no issue {external_id}")
        return issue

    def _name(self, account_id: str) -> str:
        user = self.state.user(account_id)
        return user.display_name if user else account_id


def _project_key(container: str) -> str:
    key = "".join(ch for ch in container.upper() if ch.isalnum() or ch == "_")
    return key or "SIM"


def _change(field: str, field_id: str, before: str, after: str) -> dict[str, Any]:
    return {
        "field": field,
        "fieldtype": "jira",
        "fieldId": field_id,
        "from": None,
        "fromString": before,
        "to": None,
        "toString": after,
    }
