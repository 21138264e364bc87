"""The memory tool: tasks with labels and comments behind a small paginated REST API."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from okrbridge.domain import StatusCategory
from okrbridge.sandbox.tool import SeedTask, SimComment, WebhookSink

TOKEN = "memory-sandbox-token"
SECRET = "memory-webhook-secret"
BOT = "okrbridge-bot"
PAGE = 25


@dataclass
class _Task:
    id: str
    title: str
    container: str
    status: StatusCategory
    labels: list[str]
    estimate: float | None
    parent: str | None
    seq: int
    deleted: bool = False
    comments: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (author, body)


class MemoryTool:
    """In-memory state with a person-facing API (SimulatedTool) and an HTTP API (`app`)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tasks: dict[str, _Task] = {}
        self._seq = itertools.count(1)
        self._ids = itertools.count(1)
        self._base = datetime(2026, 11, 1, tzinfo=UTC)
        self._sink: WebhookSink | None = None
        self._writes = 0
        self._callback: str | None = None
        self._definitions: set[str] = set()
        self._refused_tasks: dict[str, str] = {}
        self.refused_labels: set[str] = set()
        """Label names the tool refuses (listed by `GET /api/policy`)."""
        self.app = Starlette(routes=self._routes())

    # -- SimulatedTool ------------------------------------------------------------------------
    def add_task(self, task: SeedTask) -> str:
        with self._lock:
            tid = f"T{next(self._ids)}"
            self._tasks[tid] = _Task(
                tid,
                task.title,
                task.container,
                task.status,
                list(task.labels),
                task.estimate,
                task.parent,
                next(self._seq),
            )
            self._definitions.update(task.labels)
            self._emit("task.created", tid, actor="person")
            return tid

    def set_status(self, external_id: str, status: StatusCategory) -> None:
        with self._lock:
            self._touch(external_id).status = status
            self._emit("task.updated", external_id, actor="person")

    def set_labels(self, external_id: str, labels: tuple[str, ...]) -> None:
        with self._lock:
            self._touch(external_id).labels = list(labels)
            self._definitions.update(labels)
            self._emit("task.updated", external_id, actor="person")

    def delete_task(self, external_id: str) -> None:
        with self._lock:
            self._touch(external_id).deleted = True
            self._emit("task.deleted", external_id, actor="person")

    def labels_of(self, external_id: str) -> list[str]:
        with self._lock:
            return list(self._tasks[external_id].labels)

    def comments_of(self, external_id: str) -> list[SimComment]:
        with self._lock:
            task = self._tasks[external_id]
            return [SimComment(cid, body, author) for cid, (author, body) in task.comments.items()]

    def delete_comment_as_person(self, external_id: str, comment_id: str) -> None:
        with self._lock:
            del self._touch(external_id).comments[comment_id]
            self._emit("comment.deleted", external_id, actor="person")

    def label_definitions(self) -> list[str]:
        with self._lock:
            return sorted(self._definitions)

    def refuse_writes_to(self, external_id: str, reason: str | None) -> None:
        """From now on the API refuses (422) every write to this task; None: accept again."""
        with self._lock:
            if reason is None:
                self._refused_tasks.pop(external_id, None)
            else:
                self._refused_tasks[external_id] = reason

    def status_field_of(self, external_id: str) -> str | None:
        return None  # the memory tool has no project field

    def settings(self, base_url: str) -> dict[str, Any]:
        return {
            "type": "memory",
            "base_url": base_url,
            "token_env": "MEMORY_TOKEN",
            "webhook_secret_env": "MEMORY_WEBHOOK_SECRET",
        }

    def env(self) -> dict[str, str]:
        return {"MEMORY_TOKEN": TOKEN, "MEMORY_WEBHOOK_SECRET": SECRET}

    def set_webhook_sink(self, callback_url: str | None, sink: WebhookSink | None) -> None:
        with self._lock:
            self._callback, self._sink = callback_url, sink

    def status_of(self, external_id: str) -> StatusCategory:
        with self._lock:
            return self._tasks[external_id].status

    def write_count(self) -> int:
        return self._writes

    def add_comment_as_person(self, external_id: str, body: str) -> str:
        with self._lock:
            cid = f"C{next(self._ids)}"
            self._touch(external_id).comments[cid] = ("person", body)
            return cid

    # -- internals ----------------------------------------------------------------------------
    def _touch(self, tid: str) -> _Task:
        task = self._tasks[tid]
        task.seq = next(self._seq)
        return task

    def _json(self, task: _Task) -> dict[str, Any]:
        return {
            "id": task.id,
            "title": task.title,
            "container": task.container,
            "status": task.status.value,
            "labels": list(task.labels),
            "estimate": task.estimate,
            "parent": task.parent,
            "seq": task.seq,
            "deleted": task.deleted,
            "updated": (self._base + timedelta(seconds=task.seq)).isoformat(),
            "comments": [
                {"id": cid, "author": author, "body": body}
                for cid, (author, body) in task.comments.items()
            ],
        }

    def _emit(self, event: str, tid: str, *, actor: str) -> None:
        if self._sink is None or self._callback is None:
            return
        body = json.dumps(
            {
                "event": event,
                "actor": actor,
                "delivery": f"D{next(self._ids)}",
                "task": self._json(self._tasks[tid]),
            }
        ).encode()
        sig = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        self._sink(
            self._callback,
            {"content-type": "application/json", "x-memory-signature": f"sha256={sig}"},
            body,
        )

    def _routes(self) -> list[Route]:
        return [
            Route("/api/me", self._me, methods=["GET"]),
            Route("/api/tasks", self._list, methods=["GET"]),
            Route("/api/tasks/{tid}", self._get, methods=["GET"]),
            Route("/api/tasks/{tid}/labels", self._add_label, methods=["POST"]),
            Route("/api/tasks/{tid}/labels", self._change_labels, methods=["PATCH"]),
            Route("/api/labels", self._labels, methods=["GET"]),
            Route("/api/policy", self._policy, methods=["GET"]),
            Route("/api/labels/{name:path}", self._delete_definition, methods=["DELETE"]),
            Route("/api/tasks/{tid}/labels/{name:path}", self._remove_label, methods=["DELETE"]),
            Route("/api/tasks/{tid}/comments", self._comments, methods=["GET", "POST"]),
            Route("/api/tasks/{tid}/comments/{cid}", self._comment, methods=["PATCH", "DELETE"]),
        ]

    async def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {TOKEN}"

    async def _me(self, request: Request) -> Response:
        if not await self._authorized(request):
            return JSONResponse({"error": "unauthorized"}, 401)
        return JSONResponse({"login": BOT})

    async def _list(self, request: Request) -> Response:
        if not await self._authorized(request):
            return JSONResponse({"error": "unauthorized"}, 401)
        since = int(request.query_params.get("since", "0"))
        after = int(request.query_params.get("after", "0"))
        include_deleted = request.query_params.get("deleted") == "1"
        with self._lock:
            rows = sorted(
                (
                    t
                    for t in self._tasks.values()
                    if t.seq > max(since, after) and (include_deleted or not t.deleted)
                ),
                key=lambda t: t.seq,
            )
            page = [self._json(t) for t in rows[:PAGE]]
        more = len(rows) > PAGE
        return JSONResponse({"tasks": page, "next": page[-1]["seq"] if more and page else None})

    async def _get(self, request: Request) -> Response:
        with self._lock:
            task = self._tasks.get(request.path_params["tid"])
            if task is None or task.deleted:
                return JSONResponse({"error": "not found"}, 404)
            return JSONResponse(self._json(task))

    async def _add_label(self, request: Request) -> Response:
        name = (await request.json())["label"]
        self._writes += 1
        with self._lock:
            task = self._tasks[request.path_params["tid"]]
            if name not in task.labels:
                self._touch(task.id).labels.append(name)
                self._definitions.add(name)
                self._emit("task.labeled", task.id, actor=BOT)
            return JSONResponse({"labels": task.labels})

    async def _change_labels(self, request: Request) -> Response:
        """Add and remove labels in one request (labels to remove that are absent are fine)."""
        payload = await request.json()
        self._writes += 1
        with self._lock:
            refused = self._refusal(request.path_params["tid"], payload.get("add", []))
            if refused is not None:
                return refused
            task = self._tasks[request.path_params["tid"]]
            labels = [x for x in task.labels if x not in payload.get("remove", [])]
            labels += [x for x in payload.get("add", []) if x not in labels]
            if labels != task.labels:
                self._touch(task.id).labels = labels
                self._definitions.update(labels)
                self._emit("task.labeled", task.id, actor=BOT)
            return JSONResponse({"labels": task.labels})

    async def _policy(self, request: Request) -> Response:
        return JSONResponse({"refused_labels": sorted(self.refused_labels)})

    def _refusal(self, tid: str, labels: list[str] | None = None) -> Response | None:
        reason = self._refused_tasks.get(tid)
        refused = [x for x in labels or [] if x in self.refused_labels]
        if reason is None and not refused:
            return None
        return JSONResponse({"error": reason or f"label {refused[0]} is not allowed"}, 422)

    async def _labels(self, request: Request) -> Response:
        with self._lock:
            return JSONResponse(sorted(self._definitions))

    async def _delete_definition(self, request: Request) -> Response:
        name = request.path_params["name"]
        self._writes += 1
        with self._lock:
            if name not in self._definitions:
                return JSONResponse({"error": "no such label"}, 404)
            if any(name in t.labels for t in self._tasks.values() if not t.deleted):
                return JSONResponse({"error": "label in use"}, 409)
            self._definitions.discard(name)
            return Response(status_code=204)

    async def _remove_label(self, request: Request) -> Response:
        name = request.path_params["name"]
        self._writes += 1
        with self._lock:
            task = self._tasks[request.path_params["tid"]]
            if name not in task.labels:
                return JSONResponse({"error": "label not on task"}, 404)
            self._touch(task.id).labels.remove(name)
            self._emit("task.unlabeled", task.id, actor=BOT)
            return Response(status_code=204)

    async def _comments(self, request: Request) -> Response:
        tid = request.path_params["tid"]
        with self._lock:
            task = self._tasks[tid]
            if request.method == "GET":
                items = [{"id": c, "author": a, "body": b} for c, (a, b) in task.comments.items()]
                return JSONResponse(items)
        body = (await request.json())["body"]
        self._writes += 1
        with self._lock:
            refused = self._refusal(tid)
            if refused is not None:
                return refused
            cid = f"C{next(self._ids)}"
            self._touch(tid).comments[cid] = (BOT, body)
            self._emit("comment.created", tid, actor=BOT)
            return JSONResponse({"id": cid, "author": BOT, "body": body}, 201)

    async def _comment(self, request: Request) -> Response:
        tid, cid = request.path_params["tid"], request.path_params["cid"]
        payload = await request.json() if request.method == "PATCH" else {}
        self._writes += 1
        with self._lock:
            refused = self._refusal(tid)
            if refused is not None:
                return refused
            task = self._tasks[tid]
            if cid not in task.comments:
                return JSONResponse({"error": "comment not found"}, 404)
            author, _ = task.comments[cid]
            if author != BOT:
                return JSONResponse({"error": "only the author may change a comment"}, 403)
            if request.method == "DELETE":
                del self._touch(tid).comments[cid]
                return Response(status_code=204)
            self._touch(tid).comments[cid] = (BOT, payload["body"])
            return JSONResponse({"id": cid, "author": BOT, "body": payload["body"]})
