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


def run_webhooks_register(path: Path | None, instance: str, *, callback_url: str | None) -> None:
    """Ask the connector instance to create its webhooks in the tool, pointing at the daemon."""
    from okrbridge.connector.base import Capability
    from okrbridge.connector.registry import default_registry
    from okrbridge.sync.runner import build_connector

    loaded = load(path, only=[instance])
    settings = loaded.config.connectors.get(instance)
    if settings is None:
        known = ", ".join(loaded.config.connectors) or "none"
        fail(f"no connector instance {instance!r} in the config (instances: {known})", EXIT_USAGE)
    registry = default_registry()
    if Capability.REGISTERS_WEBHOOKS not in registry.get(settings.type).capabilities:
        fail(
            f"{instance}: {settings.type} webhooks are registered in the tool itself "
            f"(see docs/connectors/{settings.type}.md), pointing at /webhooks/{instance}",
            EXIT_USAGE,
        )
    url = callback_url or getattr(settings, "callback_url", None)
    if not url:
        fail(f"{instance}: give --callback-url (the public URL of /webhooks/{instance})", 2)
    built = build_connector(registry, loaded.config, instance, dict(os.environ))
    try:
        lines = built.register_webhooks(url)
    except Exception as exc:
        fail(f"{instance}: webhook registration failed: {exc}", EXIT_FAILURE)
    finally:
        built.close()
    for line in lines:
        stdout().print(f"{instance}: {line} -> {url}", markup=False)
