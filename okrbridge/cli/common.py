"""Helpers shared by command bodies: config loading with exit codes, opening the store."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from okrbridge.config import LoadedConfig
    from okrbridge.store.db import Store

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def stdout() -> Console:
    from rich.console import Console

    return Console(highlight=False)


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    from rich.markup import escape

    # The message is plain text: "pip install 'okrbridge[postgres]'" must keep its brackets.
    stderr().print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def load(path: Path | None, *, check_secrets: bool = True) -> LoadedConfig:
    """Discover and load the config; on any problem print them all and exit 2."""
    from okrbridge.config import ConfigError, discover_config_path, load_config
    from okrbridge.connector.registry import default_registry

    env = dict(os.environ)
    try:
        found = discover_config_path(path, env, Path.cwd())
        return load_config(found, env=env, registry=default_registry(), check_secrets=check_secrets)
    except ConfigError as exc:
        console = stderr()
        for problem in exc.problems:
            console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
        console.print(
            f"[red]{len(exc.problems)} problem(s) in the configuration; nothing was written.[/]"
        )
        raise typer.Exit(EXIT_USAGE) from None


def store_url(loaded: LoadedConfig) -> str:
    from okrbridge.store.db import default_store_url

    return loaded.config.store.url or default_store_url()


@contextmanager
def open_store(loaded: LoadedConfig, *, migrate: bool = True) -> Iterator[Store]:
    """Open the configured store, applying pending migrations (one log line) when asked."""
    from okrbridge.store.db import Store, StoreError
    from okrbridge.store.migrate import upgrade

    try:
        store = Store(store_url(loaded))
    except StoreError as exc:
        fail(str(exc))
    try:
        if migrate:
            applied = upgrade(store)
            if applied:
                stderr().print(
                    f"store {store.redacted_url}: applied migrations {', '.join(applied)}",
                    markup=False,
                )
        yield store
    except StoreError as exc:
        fail(str(exc))
    finally:
        store.dispose()


def is_tty() -> bool:
    return sys.stdout.isatty()
