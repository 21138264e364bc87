"""The shape of `okrbridge.toml`: pydantic models with unknown keys forbidden.

Connector tables are validated in two steps: first as `ConnectorSettings` (enough to read the
`type`), then by the connector class's own settings model, which subclasses `ConnectorSettings`.
Secrets never appear in the file: settings name environment variables in fields ending `_env`.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

from okrbridge.connector_settings import ConnectorSettings, PushScope, env_name_problem
from okrbridge.domain import Initiative, Objective, StrictScalars

__all__ = [
    "MAX_DURATION",
    "Config",
    "ConnectorSettings",
    "Duration",
    "EngineSettings",
    "PushScope",
    "PushSettings",
    "ScheduleSettings",
    "StoreSettings",
    "WebSettings",
    "env_name_problem",
    "parse_duration",
    "store_url_problem",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_DURATION = timedelta(days=366)
"""No duration setting may exceed a year: a longer one is a typo, and timedelta overflows
somewhere past 2.7 million years (which `1e20` would be)."""
_MIN_INTERVAL = timedelta(seconds=1)
"""The shortest schedule interval: below it the daemon would spin."""
_STORE_DRIVERS = {"sqlite": ("", "pysqlite"), "postgresql": ("", "psycopg"), "postgres": ("",)}


_ECHOED = 16
"""Longer non-durations are not quoted back in the error."""


def parse_duration(value: object) -> object:
    """Accept `"90s"`, `"5m"`, `"24h"`, `"7d"` or a number of seconds, from 0 to a year."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '30s', '5m', '24h' or '7d', got a boolean")
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            # A long value was pasted here by mistake (maybe a secret): not echoed.
            shown = repr(value) if len(value) <= _ECHOED else "this value"
            raise ValueError(f"{shown} is not a duration such as '30s', '5m', '24h' or '7d'")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    elif isinstance(value, int | float):
        seconds = float(value)
    else:
        return value
    if not math.isfinite(seconds):
        raise ValueError("must be a finite duration, such as '30s', '5m', '24h' or '7d'")
    if seconds < 0:
        raise ValueError("must not be negative (write e.g. '30s', '5m', '24h' or '7d')")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"is longer than {MAX_DURATION.days} days; write e.g. '24h' or '7d'")
    return timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _refresh_interval(value: object) -> object:
    """A duration of at least a minute, or `"never"` (None)."""
    if isinstance(value, str) and value.strip().lower() == "never":
        return None
    parsed = parse_duration(value)
    if isinstance(parsed, timedelta) and parsed < timedelta(minutes=1):
        raise ValueError("comment_refresh must be at least '1m', or 'never'")
    return parsed


RefreshInterval = Annotated[timedelta | None, BeforeValidator(_refresh_interval)]


def store_url_problem(url: str) -> str | None:
    """What is wrong with a store URL (known dialect and driver, numeric port), or None.

    The message never repeats the URL: it may hold a password.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    example = "e.g. sqlite:///path/to/okrbridge.db or postgresql://user@host:5432/okrbridge"
    try:
        parsed = make_url(url)
    except ArgumentError:
        return f"is not a database URL ({example})"
    except ValueError:
        return "has a port that is not a number (write host:5432)"
    dialect, _, driver = parsed.drivername.partition("+")
    if dialect not in _STORE_DRIVERS:
        return f"uses the unknown database '{dialect}': okrbridge stores in SQLite or PostgreSQL"
    if driver not in _STORE_DRIVERS[dialect]:
        return f"uses the driver '{driver}', which okrbridge does not use; write {dialect}://..."
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        return "has a port outside 1..65535"
    if dialect != "sqlite" and not parsed.host:
        return f"names no database host ({example})"
    return None


class _Section(StrictScalars):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class StoreSettings(_Section):
    url: str | None = None
    """SQLAlchemy URL; default: SQLite in the user data directory. Env: OKRBRIDGE_STORE_URL."""

    @field_validator("url")
    @classmethod
    def _known_store(cls, value: str | None) -> str | None:
        problem = None if value is None else store_url_problem(value)
        if problem is not None:
            raise ValueError(f"store URL {problem}")
        return value


class EngineSettings(_Section):
    tolerance: float = Field(default=0.1, ge=0, le=1)
    """How far progress may lag the pace (as a share of the whole) before needs_attention;
    twice this lag is off_track."""
    confidence_overrides: bool = True
    """A check-in's confidence overrides the computed status until the next check-in."""


class PushSettings(_Section):
    label_prefix: str = "okr:"
    comment: bool = True
    comment_template: str | None = None
    """Template for the bot comment (Python `string.Template` with $fields); None: built-in."""
    unmapped: Literal["update-comment", "delete-comment"] = "update-comment"
    """A task that stops being mapped loses its label; its comment says so or is deleted."""
    drift: Literal["enforce", "respect"] = "enforce"
    """`enforce` re-applies a status label (and re-creates the bot comment) a person removed;
    `respect` leaves them removed until the status (the comment's meaning) changes."""
    comment_refresh: RefreshInterval = timedelta(days=7)
    """How often drifting figures (values, progress, counts) may re-write a comment whose
    meaning is unchanged: a duration such as "7d", or "never" (None)."""
    scope: PushScope = "open"
    """Which tasks carry the bridge's marks: open tasks only, all, parents only, or none."""
    dashboard_url: str | None = None

    @field_validator("label_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value or any(ch.isspace() for ch in value):
            raise ValueError("label_prefix must be non-empty and contain no spaces")
        if len(value) > 20:
            raise ValueError("label_prefix is longer than 20 characters")
        return value


class ScheduleSettings(_Section):
    pull_interval: Duration = timedelta(minutes=5)
    full_interval: Duration = timedelta(days=1)
    jitter: Duration = timedelta(seconds=30)
    debounce: Duration = timedelta(seconds=2)
    """Quiet time after a webhook before the push: bursts of events coalesce into one push,
    and the task that was changed is written first, within a few seconds."""
    drain_slice: Duration = timedelta(minutes=1)
    """The daemon drains a long write queue in slices of at most this long, releasing the
    instance between them (and at once when a pull or push waits for it), so pulls keep their
    cadence during a rollout of hours."""

    @field_validator("pull_interval", "full_interval", "drain_slice")
    @classmethod
    def _at_least_a_second(cls, value: timedelta) -> timedelta:
        if value < _MIN_INTERVAL:
            raise ValueError("must be at least 1 second (e.g. '30s' or '5m')")
        return value


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    max_body_bytes: int = Field(default=1_048_576, gt=0, le=1_073_741_824)


class ConnectorTable(BaseModel):
    """First-step view of a connector table: only the type is read."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str


class Config(_Section):
    """The whole configuration, after connector tables were validated by their connector.

    Checks that span sections (duplicate ids, references between sections, regexes) live in
    `okrbridge.config.checks` so that each problem can be reported at its own line.
    """

    store: StoreSettings = StoreSettings()
    engine: EngineSettings = EngineSettings()
    push: PushSettings = PushSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    web: WebSettings = WebSettings()
    connectors: dict[str, ConnectorSettings] = Field(default_factory=dict)
    objectives: list[Objective] = Field(default_factory=list)
    initiatives: list[Initiative] = Field(default_factory=list)

    def key_results(self) -> dict[str, tuple[Objective, int]]:
        """Key result id -> (its objective, its index in the objective)."""
        return {
            kr.id: (objective, index)
            for objective in self.objectives
            for index, kr in enumerate(objective.key_results)
        }
