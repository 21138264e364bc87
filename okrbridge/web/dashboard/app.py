"""A FastAPI app with only the dashboard, for `okrbridge serve-dashboard` (no scheduler)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from fastapi import FastAPI

from okrbridge import __version__
from okrbridge.config.schema import Config
from okrbridge.store.db import Store
from okrbridge.web.dashboard.auth import DashboardAuth
from okrbridge.web.dashboard.routes import router

__all__ = ["StaticSource", "create_dashboard_app"]


@dataclass(frozen=True)
class StaticSource:
    """A config and a store that do not change while the app runs."""

    config: Config
    store: Store


def create_dashboard_app(
    config: Config,
    store: Store,
    *,
    auth: DashboardAuth | None = None,
    env: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] | None = None,
    cache_seconds: float = 60.0,
) -> FastAPI:
    """The dashboard alone; `auth` defaults to the credentials in `env` (or `os.environ`)."""
    app = FastAPI(
        title="okrbridge dashboard",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    source = StaticSource(config, store)
    app.include_router(router(source, auth=auth, env=env, clock=clock, cache_seconds=cache_seconds))
    return app
