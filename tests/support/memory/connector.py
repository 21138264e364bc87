"""The memory connector: the smallest honest connector, over `MemoryTool`'s HTTP API.

It is the reference for the guest promise: the tool embeds each task's comments in its task
listing, so every pulled or fetched task carries its `marks` (MARKS_IN_PULL) at no extra
request; the bridge's comment is the bot's one carrying the hidden stamp; a label change is one
request; `cleanup_artifacts` deletes the status label definitions no task uses any more.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from okrbridge.config.schema import ConnectorSettings
from okrbridge.connector.base import (
    Capability,
    CommentAction,
    Connector,
    EventKind,
    Page,
    PushChange,
    PushResult,
    WebhookEvent,
    WebhookPayloadError,
    WebhookRequest,
    WebhookScreening,
)
from okrbridge.connector.errors import NotFound, require_secret
from okrbridge.connector.signatures import verify_hex_signature
from okrbridge.connector.transport import HttpTransport, RetryPolicy
from okrbridge.domain import FoundMarks, StatusCategory, Task
from okrbridge.marks import StatusLabels, comment_stamp, read_stamp
from tests.support.memory.tool import BOT, MemoryTool

if TYPE_CHECKING:
    import httpx

_MARKER = re.compile(r"<!-- (okrbridge[^ ]*) -->")
"""The hidden stamp: `<!-- okrbridge:<digest> -->` at the end of the bridge's comment."""


def _stamped(body: str) -> tuple[bool, str | None]:
    match = _MARKER.search(body)
    return (False, None) if match is None else read_stamp(match.group(1))


class MemorySettings(ConnectorSettings):
    token_env: str
    webhook_secret_env: str | None = None


class MemoryConnector(Connector[MemorySettings]):
    name: ClassVar[str] = "memory"
    settings_model: ClassVar[type[ConnectorSettings]] = MemorySettings
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.LABELS,
            Capability.COMMENTS,
            Capability.WEBHOOKS,
            Capability.INCREMENTAL,
            Capability.MARKS_IN_PULL,
        }
    )
    default_writes_per_minute: ClassVar[int] = 6000
    webhook_headers: ClassVar[frozenset[str]] = frozenset({"x-memory-signature"})

    def __init__(
        self,
        instance: str,
        settings: MemorySettings,
        env: Mapping[str, str],
        *,
        labels: StatusLabels | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(instance, settings, env, labels=labels, http_client=http_client)
        token = require_secret(env, settings.token_env, instance)
        self.http = HttpTransport(
            instance=instance,
            base_url=settings.base_url,
            stats=self.stats,
            headers={"authorization": f"Bearer {token}"},
            credential_hint=f"the token in ${settings.token_env}",
            policy=RetryPolicy(
                base_delay=0.01, max_delay=0.05, default_rate_limit_wait=0.05, max_attempts=8
            ),
            timeout=5.0,
        )
        self._bot: str | None = None

    @classmethod
    def simulator(cls) -> MemoryTool:
        return MemoryTool()

    def close(self) -> None:
        self.http.close()

    # -- reading ------------------------------------------------------------------------------
    def pull(self, cursor: str | None, *, full: bool = False) -> Iterator[Page]:
        since = 0 if full or not cursor else int(json.loads(cursor)["seq"])
        after = since
        while True:
            data = self.http.get_json(
                "api/tasks",
                params={"since": since, "after": after, "deleted": "0" if full else "1"},
            )
            rows = data["tasks"]
            live = [self._task(r) for r in rows if not r["deleted"]]
            gone = [r["id"] for r in rows if r["deleted"]]
            top = max((r["seq"] for r in rows), default=after)
            after = top
            # Sorted by seq: the cursor may move with every committed page.
            yield Page(live, json.dumps({"seq": max(top, since)}), gone)
            if data["next"] is None:
                return

    def fetch(self, external_ids: Sequence[str]) -> list[Task]:
        found = []
        for tid in external_ids:
            try:
                found.append(self._task(self.http.get_json(f"api/tasks/{tid}")))
            except NotFound:
                continue
        return found

    def _task(self, row: dict[str, Any]) -> Task:
        return Task(
            connector=self.instance,
            external_id=row["id"],
            key=row["id"],
            url=f"{self.settings.base_url}/t/{row['id']}",
            title=row["title"],
            container=row["container"],
            status_name=row["status"],
            status_category=StatusCategory(row["status"]),
            labels=tuple(row["labels"]),
            estimate=row["estimate"],
            parent=row["parent"],
            updated_at=datetime.fromisoformat(row["updated"]),
            raw={k: v for k, v in row.items() if k != "comments"},
            marks=self._marks(row.get("comments", [])),
        )

    def _marks(self, comments: list[dict[str, Any]]) -> FoundMarks:
        for comment in comments:
            stamped, digest = _stamped(comment["body"])
            if comment["author"] == BOT and stamped:
                return FoundMarks(comment_id=str(comment["id"]), comment_digest=digest)
        return FoundMarks()

    # -- webhooks -----------------------------------------------------------------------------
    def verify_webhook(self, request: WebhookRequest) -> bool:
        name = self.settings.webhook_secret_env
        secret = self.env.get(name, "") if name else ""
        return bool(secret) and verify_hex_signature(
            request.headers.get("x-memory-signature"), secret.encode(), request.body
        )

    def parse_webhook(self, request: WebhookRequest) -> list[WebhookEvent]:
        try:
            payload = json.loads(request.body)
            event, delivery, task = payload["event"], payload["delivery"], payload["task"]
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookPayloadError(f"not a memory-tool delivery: {exc}") from exc
        own = payload.get("actor") == self.bot_login()
        if event == "task.deleted":
            return [WebhookEvent(delivery, EventKind.DELETE, task["id"], name=event)]
        return [
            WebhookEvent(
                delivery, EventKind.UPSERT, task["id"], self._task(task), own_echo=own, name=event
            )
        ]

    def screen_webhook(self, request: WebhookRequest) -> WebhookScreening:
        """Delivery id and event from the body alone (no I/O); unknown events are ignored."""
        try:
            payload = json.loads(request.body)
        except (ValueError, RecursionError) as exc:  # deeply nested JSON is not a delivery
            raise WebhookPayloadError(f"not JSON: {type(exc).__name__}") from None
        if not isinstance(payload, dict):
            raise WebhookPayloadError("not a memory-tool delivery: not an object")
        event, delivery, task = payload.get("event"), payload.get("delivery"), payload.get("task")
        if not (
            isinstance(event, str)
            and isinstance(delivery, str)
            and isinstance(task, dict)
            and isinstance(task.get("id"), str)
        ):
            raise WebhookPayloadError("not a memory-tool delivery: event, delivery or task missing")
        if not event.startswith(("task.", "comment.")):
            return WebhookScreening(delivery, event, handled=False, reason="event not handled")
        return WebhookScreening(delivery, event)

    def bot_login(self) -> str:
        """The bridge's own account in the tool, looked up once (in the worker, never on the
        request path); a failed lookup raises and is tried again with the next delivery."""
        if self._bot is None:
            self._bot = str(self.http.get_json("api/me")["login"])
        return self._bot

    # -- writing ------------------------------------------------------------------------------
    def apply(self, change: PushChange) -> PushResult:
        tid, writes = change.task.external_id, 0
        if change.add_label or change.remove_labels:
            # One request: the swap is atomic and costs one write.
            labels = {"add": [change.add_label] if change.add_label else []}
            labels["remove"] = [x for x in change.remove_labels if self.labels.owns(x)]
            self.http.request("PATCH", f"api/tasks/{tid}/labels", json=labels)
            writes += 1
        comment_id = change.comment.comment_id if change.comment else None
        if change.comment is not None:
            comment_id, n = self._comment(tid, change)
            writes += n
        return PushResult(comment_id=comment_id, requests=writes)

    def _comment(self, tid: str, change: PushChange) -> tuple[str | None, int]:
        assert change.comment is not None
        action, cid = change.comment.action, change.comment.comment_id
        looks = cid is None and change.comment.look_first
        if action is not CommentAction.DELETE and (looks or change.uncertain):
            cid = self._find_own(tid) or cid
        stamp = comment_stamp(change.comment.digest)
        body = {"body": f"{change.comment.body}\n<!-- {stamp} -->"}
        if action is CommentAction.DELETE:
            if cid is None or cid != self._find_own(tid):
                return None, 0  # not ours, or already gone
            self.http.request("DELETE", f"api/tasks/{tid}/comments/{cid}")
            return None, 1
        if cid is not None:
            try:
                self.http.request("PATCH", f"api/tasks/{tid}/comments/{cid}", json=body)
                return cid, 1
            except NotFound:
                pass  # a person deleted it: create one again
        made = self.http.request_json("POST", f"api/tasks/{tid}/comments", json=body)
        return str(made["id"]), 1

    def _find_own(self, tid: str) -> str | None:
        return self._marks(self.http.get_json(f"api/tasks/{tid}/comments")).comment_id

    def preflight(self) -> list[str]:
        refused = set(self.http.get_json("api/policy")["refused_labels"])
        return [
            f"the tool refuses the status label {name}"
            for name in sorted(self.labels.names & refused)
        ]

    def cleanup_artifacts(self, *, dry_run: bool = False) -> list[str]:
        """Delete the bridge's status label definitions that no task uses any more."""
        used = {
            label for page in self.pull(None, full=True) for t in page.tasks for label in t.labels
        }
        removed = []
        for name in self.http.get_json("api/labels"):
            if not self.labels.owns(name) or name in used:
                continue
            if not dry_run:
                self.http.request("DELETE", f"api/labels/{name}")
            removed.append(f"label definition {name} deleted")
        return removed
