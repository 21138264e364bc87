"""Helpers shared by command bodies: config loading with exit codes, opening the store."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator, Sequence
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


def load(
    path: Path | None, *, check_secrets: bool = True, only: Sequence[str] = ()
) -> LoadedConfig:
    """Discover and load the config; on any problem print them all and exit 2.

    With `only`, secrets are checked for those connector instances alone (`sync --connector X`
    needs X's credentials, not every other tool's).
    """
    from okrbridge.config import ConfigError, discover_config_path, load_config
    from okrbridge.connector.registry import default_registry

    env = dict(os.environ)
    try:
        found = discover_config_path(path, env, Path.cwd())
        loaded = load_config(
            found, env=env, registry=default_registry(), check_secrets=check_secrets and not only
        )
        if check_secrets and only:
            _check_secrets_of(loaded, only)
        return loaded
    except ConfigError as exc:
        console = stderr()
        for problem in exc.problems:
            console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
        console.print(
            f"[red]{len(exc.problems)} problem(s) in the configuration; nothing was written.[/]"
        )
        raise typer.Exit(EXIT_USAGE) from None


def _check_secrets_of(loaded: LoadedConfig, names: Sequence[str]) -> None:
    """Every credential of the named (enabled) instances is set, else one `ConfigError`."""
    from okrbridge.config import ConfigError

    problems = []
    for name in names:
        settings = loaded.config.connectors.get(name)
        if settings is None or not settings.enabled:
            continue
        for setting in settings.env_fields():
            try:
                loaded.secret(name, setting)
            except ConfigError as exc:
                problems += exc.problems
    if problems:
        raise ConfigError(problems)


def store_url(loaded: LoadedConfig) -> str:
    from okrbridge.store.db import default_store_url

    return loaded.config.store.url or default_store_url()


@contextmanager
def open_store(loaded: LoadedConfig | str, *, migrate: bool = True) -> Iterator[Store]:
    """Open the configured store (or the one at a URL), applying pending migrations (one log
    line) when asked."""
    from okrbridge.store.db import Store, StoreError
    from okrbridge.store.migrate import upgrade

    try:
        store = Store(loaded if isinstance(loaded, str) else store_url(loaded))
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


DEBUG_ENV = "OKRBRIDGE_DEBUG"


def debug_enabled() -> bool:
    """`--debug` or OKRBRIDGE_DEBUG=1: tracebacks are shown."""
    return os.environ.get(DEBUG_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


class _NoTraceback:
    """Logging filter: the message only; the traceback is for `--debug`."""

    def filter(self, record: object) -> bool:
        record.__dict__.update(exc_info=None, exc_text=None, stack_info=None)
        return True


def setup_cli_logging() -> None:
    """Warnings on stderr as one line each; tracebacks only with `--debug`.

    A connector's failure is reported once, in the command's summary, unless debugging. Long-
    running commands (`daemon`, `serve-dashboard`) replace this with `okrbridge.logs`.
    """
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    debug = debug_enabled()
    if not debug:
        handler.addFilter(_NoTraceback())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("okrbridge.sync.runner").setLevel(logging.WARNING if debug else logging.ERROR)


def report_crash(exc: BaseException) -> NoReturn:
    """An unexpected error as one line (the traceback with `--debug`), exit 1."""
    message = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__
    stderr().print(
        f"[bold red]error:[/] {escape(text)}\n[dim]run again with --debug (or "
        f"{DEBUG_ENV}=1) for the traceback[/]",
        soft_wrap=True,
    )
    raise SystemExit(EXIT_FAILURE)


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def bound_socket(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on `host`:`port` (port 0: the OS picks a free one), so the
    address logged is the address really bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", EXIT_USAGE)
    return sock


def concrete_port(host: str, port: int) -> int:
    """`port`, or for 0 a free port found now (for servers that bind by number themselves)."""
    if port != 0:
        return port
    with bound_socket(host, 0) as sock:
        return int(sock.getsockname()[1])


def url_of(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"
