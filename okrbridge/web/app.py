"""The daemon's ASGI app: webhooks, health, readiness, metrics, OpenAPI docs, and the dashboard
when `okrbridge.web.dashboard` provides `router(state) -> fastapi.APIRouter`."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import DBAPIError

from okrbridge import __version__
from okrbridge.logs import get_logger
from okrbridge.scheduler.health import probe_write
from okrbridge.store.migrate import is_current
from okrbridge.web.receiver import Receive, Scope, Send, WebhookReceiver, webhook_router
from okrbridge.web.state import WebState

__all__ = ["DASHBOARD_MODULE", "DaemonApp", "create_app"]

log = get_logger(__name__)

DASHBOARD_MODULE = "okrbridge.web.dashboard"


class DaemonApp(FastAPI):
    """FastAPI app whose webhook deliveries skip middleware, routing and dependency injection.

    `POST /webhooks/{instance}` goes straight to the receiver's ASGI handler (about half the
    CPU of a delivery otherwise); everything else, including the webhook route's other
    methods, its 405s and the OpenAPI document, is FastAPI's. Middleware added to this app
    does not see webhook deliveries.
    """

    receiver: WebhookReceiver | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.receiver is not None and (instance := self.receiver.instance_of(scope)):
            await self.receiver.asgi(scope, receive, send, instance)
            return
        await super().__call__(scope, receive, send)


def create_app(state: WebState) -> DaemonApp:
    """Build the app for one daemon process."""
    app = DaemonApp(
        title="okrbridge daemon",
        version=__version__,
        description="Webhook receiver, health and metrics of the okrbridge daemon.",
    )
    app.state.okrbridge = state
    app.receiver = WebhookReceiver(state)
    app.include_router(webhook_router(app.receiver))
    _add_probes(app, state)
    _mount_dashboard(app, state)
    return app


def _add_probes(app: FastAPI, state: WebState) -> None:
    @app.get("/healthz", tags=["health"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="Readiness: store writable, migrations current, scheduler alive; connectors",
        responses={
            503: {"description": "Store unreachable or read-only, migrations pending, or the "
                  "scheduler stuck."}
        },
    )  # fmt: skip
    def readyz() -> JSONResponse:
        body: dict[str, Any] = {"store": "ok", "connectors": state.health.as_dict()}
        problem = _store_problem(state)
        if problem is None and state.heartbeat is not None:
            body["scheduler"] = "ok"
            if (stuck := state.heartbeat.problem()) is not None:
                body["scheduler"] = stuck
                return JSONResponse({"status": "unavailable", **body}, status_code=503)
        if problem is not None:
            body["store"] = problem
            return JSONResponse({"status": "unavailable", **body}, status_code=503)
        return JSONResponse({"status": "ready", **body})

    @app.get("/metrics", tags=["health"], summary="Prometheus metrics")
    def metrics() -> Response:
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _store_problem(state: WebState) -> str | None:
    """Why the store is not usable (unreachable, behind on migrations, not writable), or None."""
    try:
        state.store.ping()
        if not is_current(state.store):
            return "migrations pending: run `okrbridge db upgrade`"
    except Exception as exc:
        return str(exc)
    try:
        probe_write(state.store, state.process)  # a cheap write: one row, one commit
    except Exception as exc:
        reason = exc.orig if isinstance(exc, DBAPIError) else exc  # not the SQL statement
        return f"store cannot be written: {reason}"
    return None


def _mount_dashboard(app: FastAPI, state: WebState) -> None:
    """Include the dashboard's routes when that sub-package exists and offers `router`."""
    if importlib.util.find_spec(DASHBOARD_MODULE) is None:
        return
    module = importlib.import_module(DASHBOARD_MODULE)
    factory = getattr(module, "router", None)
    if callable(factory):
        app.include_router(factory(state))
        log.info("dashboard mounted")
