"""The dashboard's routes, all read-only HTML: `/`, `/kr/{id}`, the task lists
`/initiatives/{id}` and `/kr/{id}/tasks` (`?page=`), and `/connectors/{name}`."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined

from okrbridge.config.schema import Config
from okrbridge.logs import get_logger
from okrbridge.report.text import STATUS_COLOURS, percent, safe_url, status_css, status_title
from okrbridge.report.text import value_of as value_text
from okrbridge.store.db import Store
from okrbridge.web.dashboard.auth import DashboardAuth
from okrbridge.web.dashboard.data import DashboardData
from okrbridge.web.dashboard.task_lists import INITIATIVE, KEY_RESULT

__all__ = ["DashboardSource", "router"]

log = get_logger(__name__)

HEADERS = {
    # No script anywhere: inline styles and inline SVG only.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; form-action 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


Page = Annotated[int, Query(alias="page", ge=1, le=1_000_000)]
"""A task list's page number, from 1."""


class _Dated(Protocol):
    @property
    def generated_at(self) -> datetime: ...

    @property
    def evaluated_at(self) -> datetime | None: ...


class DashboardSource(Protocol):
    """What the dashboard reads: the daemon's `WebState` fits, and so does any object with
    these two attributes."""

    @property
    def config(self) -> Config: ...

    @property
    def store(self) -> Store: ...


@cache
def environment() -> Environment:
    """The Jinja environment: autoescaping on, undefined names are errors."""
    env = Environment(
        loader=ChoiceLoader(
            [
                PackageLoader("okrbridge.web.dashboard", "templates"),
                PackageLoader("okrbridge.report", "templates"),
            ]
        ),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        status_title=status_title, status_css=status_css, percent=percent, safe_url=safe_url
    )
    env.globals.update(value_of=value_text, colours=STATUS_COLOURS)
    return env


def router(
    source: DashboardSource,
    *,
    auth: DashboardAuth | None = None,
    env: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] | None = None,
    cache_seconds: float = 60.0,
) -> APIRouter:
    """The dashboard's routes over `source.store` and `source.config`.

    `auth` defaults to the credentials in `env` (default: `os.environ`); with none set the
    dashboard is open, which is logged once here. `clock` gives "now" (default: UTC wall time).
    The overview is rebuilt when a sync records an evaluation, or after `cache_seconds`.
    """
    if auth is None:
        auth = DashboardAuth.from_env(os.environ if env is None else env)
    if auth.enabled:
        log.info("dashboard access control on", method=auth.describe())
    else:
        log.warning(
            "dashboard is open to anyone who can reach it: set OKRBRIDGE_DASHBOARD_TOKEN, or "
            "OKRBRIDGE_DASHBOARD_USER and OKRBRIDGE_DASHBOARD_PASSWORD, to require credentials"
        )
    data = DashboardData(
        lambda: source.store,
        lambda: source.config,
        clock=clock or (lambda: datetime.now(UTC)),
        cache_seconds=cache_seconds,
    )
    routes = APIRouter(dependencies=[Depends(auth.check)], include_in_schema=False)

    def page(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        values.setdefault("generated_at", data.now())
        values.setdefault("evaluated_at", None)
        html = (
            environment()
            .get_template(name)
            .render(
                root=request.scope.get("root_path", "").rstrip("/"),
                connectors=[{"name": name} for name in source.config.connectors],
                **values,
            )
        )
        response = HTMLResponse(html, status_code=status, headers=HEADERS)
        auth.remember(request, response)
        return response

    def show(request: Request, name: str, result: _Dated) -> HTMLResponse:
        at, evaluated = result.generated_at, result.evaluated_at
        return page(request, name, page=result, generated_at=at, evaluated_at=evaluated)

    @routes.get("/", response_class=HTMLResponse)
    def overview(request: Request) -> HTMLResponse:
        result = data.overview()
        return show(request, "index.html", result)

    @routes.get("/kr/{kr_id}", response_class=HTMLResponse)
    def key_result(request: Request, kr_id: str) -> HTMLResponse:
        result = data.key_result(kr_id)
        if result is None:
            return page(request, "not_found.html", 404, message=f"No key result {kr_id!r}.")
        return show(request, "kr.html", result)

    @routes.get("/kr/{kr_id}/tasks", response_class=HTMLResponse)
    def counted_tasks(request: Request, kr_id: str, number: Page = 1) -> HTMLResponse:
        result = data.task_list(KEY_RESULT, kr_id, number)
        if result is None:
            message = f"No key result {kr_id!r} that counts tasks."
            return page(request, "not_found.html", 404, message=message)
        return show(request, "tasks.html", result)

    @routes.get("/initiatives/{initiative_id}", response_class=HTMLResponse)
    def initiative_tasks(request: Request, initiative_id: str, number: Page = 1) -> HTMLResponse:
        result = data.task_list(INITIATIVE, initiative_id, number)
        if result is None:
            message = f"No initiative {initiative_id!r}."
            return page(request, "not_found.html", 404, message=message)
        return show(request, "tasks.html", result)

    @routes.get("/connectors/{name}", response_class=HTMLResponse)
    def connector(request: Request, name: str) -> HTMLResponse:
        result = data.connector(name)
        if result is None:
            return page(request, "not_found.html", 404, message=f"No connector {name!r}.")
        return page(request, "connector.html", page=result, generated_at=result.generated_at)

    return routes
