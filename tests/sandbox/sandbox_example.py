"""A tiny generic simulator (items with labels) that the sandbox harness tests serve."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from okrbridge.domain import StatusCategory
from okrbridge.sandbox import SeedTask, SimComment, WebhookSink

WEBHOOK_SECRET = b"sandbox-items-secret"


class ItemsSimulator:
    """GET /items lists, POST /items creates; every change emits a signed webhook."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.writes = 0
        self._callback: str | None = None
        self._sink: WebhookSink | None = None
        self.app = Starlette(
            routes=[
                Route("/items", self._list, methods=["GET"]),
                Route("/items", self._create, methods=["POST"]),
                Route("/items/search", self._search, methods=["POST"]),
            ]
        )

    async def _list(self, request: Request) -> Response:
        return JSONResponse(list(self.items.values()))

    async def _search(self, request: Request) -> Response:
        """A read sent by POST, as Jira's search is; it tells the harness so."""
        request.state.sandbox_write = False
        words = (await request.json())["title"]
        return JSONResponse([i for i in self.items.values() if words in i["title"]])

    async def _create(self, request: Request) -> Response:
        self.writes += 1
        body = await request.json()
        item_id = self.add_task(SeedTask(title=body["title"], container="board"))
        return JSONResponse(self.items[item_id], status_code=201)

    def _emit(self, event: str, item: dict[str, Any]) -> None:
        if self._sink is None or self._callback is None:
            return
        body = json.dumps({"event": event, "item": item}, separators=(",", ":")).encode()
        digest = hmac.new(WEBHOOK_SECRET, body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-Items-Event": event,
            "X-Items-Signature": f"sha256={digest}",
        }
        self._sink(self._callback, headers, body)

    # -- SimulatedTool -------------------------------------------------------------------
    def add_task(self, task: SeedTask) -> str:
        item_id = str(len(self.items) + 1)
        self.items[item_id] = {"id": item_id, "title": task.title, "labels": list(task.labels)}
        self._emit("item_created", self.items[item_id])
        return item_id

    def set_status(self, external_id: str, status: StatusCategory) -> None:
        self.items[external_id]["status"] = status.value

    def set_labels(self, external_id: str, labels: tuple[str, ...]) -> None:
        self.items[external_id]["labels"] = list(labels)
        self._emit("item_updated", self.items[external_id])

    def delete_task(self, external_id: str) -> None:
        del self.items[external_id]

    def labels_of(self, external_id: str) -> list[str]:
        return list(self.items[external_id]["labels"])

    def comments_of(self, external_id: str) -> list[SimComment]:
        return []

    def delete_comment_as_person(self, external_id: str, comment_id: str) -> None:
        raise KeyError(comment_id)  # items have no comments

    def label_definitions(self) -> list[str]:
        return []

    def status_field_of(self, external_id: str) -> str | None:
        return None

    def settings(self, base_url: str) -> dict[str, Any]:
        return {
            "type": "items",
            "base_url": base_url,
            "token_env": "ITEMS_TOKEN",
            "boards": ["b1", 'b "2"'],
            "page_size": 50,
            "ratio": 0.5,
            "verify_tls": False,
            "scope": None,
            "status_map": {"In Progress": "in_progress", "Done": "done"},
        }

    def env(self) -> dict[str, str]:
        return {"ITEMS_TOKEN": "sandbox token 'x'", "ITEMS_USER": "bot@sandbox.test"}

    def write_count(self) -> int:
        return self.writes

    def set_webhook_sink(self, callback_url: str | None, sink: WebhookSink | None) -> None:
        self._callback, self._sink = callback_url, sink


class Receiver:
    """Records raw webhook deliveries; answers with `status`."""

    def __init__(self) -> None:
        self.received: list[tuple[Mapping[str, str], bytes]] = []
        self.status = 204

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        self.received.append((headers, body))
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b""})
