"""Logging for long-running processes: structlog, JSON off a terminal, secrets masked.

`configure_logging` routes the standard library's `logging` (httpx, uvicorn, apscheduler, the
sync pipeline) through the same structlog pipeline, so every line has one shape. Context bound
with `bind(...)` (connector instance, job, delivery id) rides along on every line logged in
that thread or task, including lines logged by libraries.

Secret masking is the last step, applied to the finished line: whatever a library put into a
message, an exception text or a traceback, a configured secret value never reaches the output.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import IO, Any

import structlog
from structlog.contextvars import bind_contextvars, bound_contextvars, unbind_contextvars
from structlog.typing import EventDict, Processor, WrappedLogger

from okrbridge.config.schema import Config

__all__ = [
    "MASK",
    "SecretMasker",
    "Throttle",
    "bind",
    "bound",
    "collect_secrets",
    "configure_logging",
    "get_logger",
    "unbind",
]

MASK = "***"
MIN_SECRET_LENGTH = 4
"""Shorter values are not masked: they would garble ordinary words without hiding anything."""

bind = bind_contextvars
bound = bound_contextvars
unbind = unbind_contextvars


DASHBOARD_SECRETS = ("OKRBRIDGE_DASHBOARD_TOKEN", "OKRBRIDGE_DASHBOARD_PASSWORD")


def collect_secrets(config: Config, env: Mapping[str, str]) -> list[str]:
    """Every value of an environment variable named by a connector's `*_env` setting, the
    dashboard's token and password, and the password of the store URL."""
    values: set[str] = {env[name] for name in DASHBOARD_SECRETS if env.get(name)}
    for settings in config.connectors.values():
        for name, variable in settings.model_dump().items():
            if name.endswith("_env") and isinstance(variable, str) and env.get(variable):
                values.add(env[variable])
    url = config.store.url or env.get("OKRBRIDGE_STORE_URL")
    if url:
        values.update(_url_password(url))
    return sorted(v for v in values if len(v) >= MIN_SECRET_LENGTH)


def _url_password(url: str) -> list[str]:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        password = make_url(url).password
    except ArgumentError:
        return []
    return [str(password)] if password else []


class SecretMasker:
    """Replace every secret value in a rendered line by `***` (longest first)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        merged = {*self.secrets, *(s for s in secrets if len(s) >= MIN_SECRET_LENGTH)}
        self.secrets = sorted(merged, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def __call__(self, _logger: WrappedLogger, _name: str, line: Any) -> Any:
        # Runs after the renderer: `line` is the finished string (or bytes).
        if isinstance(line, str):
            return self.mask(line)
        if isinstance(line, bytes):
            return self.mask(line.decode("utf-8", "replace")).encode()
        return line


_masker = SecretMasker()


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]


def _drop_color_message(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    # uvicorn duplicates its message with ANSI colours in an extra field.
    event.pop("color_message", None)
    return event


def configure_logging(
    secrets: Iterable[str] = (),
    *,
    json: bool | None = None,
    level: int | str = logging.INFO,
    stream: IO[str] | None = None,
) -> SecretMasker:
    """Set up structlog and the root logger; JSON unless `stream` is a terminal.

    Calling it again replaces the handlers and adds to the secrets masked.
    """
    stream = stream or sys.stderr
    if json is None:
        json = not stream.isatty()
    _masker.add(secrets)
    renderer: Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), _drop_color_message],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if json else _keep,
            renderer,
            _masker,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "apscheduler"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # "Added job ..." per push
    logging.getLogger("alembic").setLevel(logging.WARNING)  # "Context impl ..." per connection
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # before any work on a line nobody will see
            *_shared_processors(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    return _masker


def _keep(_logger: WrappedLogger, _name: str, event: EventDict) -> EventDict:
    return event


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger that goes through the configured pipeline."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger


class Throttle:
    """At most `limit` lines per `window` seconds for each key (say, a rejection reason), so
    that whoever can reach an endpoint cannot flood the log; the first line let through
    after a quiet spell reports how many were suppressed."""

    def __init__(
        self, limit: int = 10, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._lock = threading.Lock()
        self._keys: dict[Hashable, list[float]] = {}  # key -> [window start, lines, suppressed]

    def admit(self, key: Hashable) -> int | None:
        """None: suppress this line. Otherwise log it, with the number suppressed before it."""
        now = self.clock()
        with self._lock:
            state = self._keys.get(key)
            if state is None or now - state[0] >= self.window:
                suppressed = 0 if state is None else int(state[2])
                self._keys[key] = [now, 1, 0]
                return suppressed
            if state[1] < self.limit:
                state[1] += 1
                suppressed, state[2] = int(state[2]), 0
                return suppressed
            state[2] += 1
            return None
