"""Bodies of `okrbridge daemon` and `okrbridge webhooks register`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from okrbridge.cli.common import (
    EXIT_FAILURE,
    EXIT_USAGE,
    concrete_port,
    fail,
    load,
    open_store,
    stdout,
)

if TYPE_CHECKING:
    from okrbridge.store.db import Store


def run_daemon(path: Path | None, *, host: str | None, port: int | None) -> int:
    """Load the config, set up logging, migrate the store and serve until stopped."""
    from okrbridge.connector.registry import default_registry
    from okrbridge.daemon.runner import Daemon, DaemonOptions
    from okrbridge.logs import collect_secrets, configure_logging

    loaded = load(path)
    env = dict(os.environ)
    configure_logging(collect_secrets(loaded.config, env))
    web = loaded.config.web
    bind_host = host or web.host
    # Port 0 is resolved here, so the daemon logs the port it really listens on.
    bind_port = concrete_port(bind_host, port if port is not None else web.port)
    options = DaemonOptions(host=bind_host, port=bind_port)
    with open_store(loaded, migrate=False) as store:
        _migrate(store)
        return Daemon(loaded.config, store, default_registry(), env, options).run()


def _migrate(store: Store) -> None:
    """Apply pending migrations, saying so through the log (JSON off a terminal like every
    other daemon line; `open_store` would print plain text)."""
    from okrbridge.logs import get_logger
    from okrbridge.store.db import StoreError
    from okrbridge.store.migrate import upgrade

    log = get_logger("okrbridge.daemon")
    try:
        applied = upgrade(store)
    except StoreError as exc:
        log.error("cannot migrate the store", store=store.redacted_url, error=str(exc))
        raise typer.Exit(EXIT_FAILURE) from None
    if applied:
        log.info("store migrated", store=store.redacted_url, applied=applied)


def run_webhooks_register(
    path: Path | None, tool: str, *, board: str, callback_url: str, connector: str | None
) -> None:
    """Ask the connector instance to register a webhook for `board` pointing at the daemon."""
    from okrbridge.connector.registry import default_registry
    from okrbridge.sync.runner import build_connector

    loaded = load(path)
    instances = {
        name: s
        for name, s in loaded.config.connectors.items()
        if s.type == tool and (connector is None or name == connector)
    }
    if len(instances) != 1:
        which = f"named {connector!r} " if connector else ""
        found = ", ".join(instances) or "none"
        fail(
            f"need exactly one {tool} connector instance {which}(found: {found}); "
            "pick one with --connector",
            EXIT_USAGE,
        )
    (name,) = instances
    built = build_connector(default_registry(), loaded.config, name, dict(os.environ))
    register = getattr(built, "register_webhook", None)
    if not callable(register):
        fail(f"connector type {tool!r} cannot register webhooks from here", EXIT_USAGE)
    try:
        webhook_id = register(board, callback_url)
    except Exception as exc:
        fail(f"{name}: webhook registration failed: {exc}", EXIT_FAILURE)
    finally:
        built.close()
    stdout().print(f"{name}: webhook {webhook_id} registered for {board} -> {callback_url}")
