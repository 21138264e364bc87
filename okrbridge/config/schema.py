"""The shape of `okrbridge.toml`: pydantic models with unknown keys forbidden.

Connector tables are validated in two steps: first as `ConnectorSettings` (enough to read the
`type`), then by the connector class's own settings model, which subclasses `ConnectorSettings`.
Secrets never appear in the file: settings name environment variables in fields ending `_env`.
"""

from __future__ import annotations

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

from okrbridge.domain import Initiative, Objective

__all__ = [
    "Config",
    "ConnectorSettings",
    "Duration",
    "EngineSettings",
    "PushScope",
    "PushSettings",
    "ScheduleSettings",
    "StoreSettings",
    "WebSettings",
    "parse_duration",
]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> object:
    """Accept `"90s"`, `"5m"`, `"24h"`, `"7d"` or a number of seconds."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"{value!r} is not a duration such as '30s', '5m', '24h' or '7d'")
        return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    return value


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
PushScope = Literal["open", "all", "parents-only", "none"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreSettings(_Section):
    url: str | None = None
    """SQLAlchemy URL; default: SQLite in the user data directory. Env: OKRBRIDGE_STORE_URL."""


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


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    max_body_bytes: int = Field(default=1_048_576, gt=0)


class ConnectorSettings(BaseModel):
    """Settings every connector instance has; each connector type extends this model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    base_url: str
    scope: PushScope | None = None
    """Overrides `push.scope` for this instance."""
    enabled: bool = True
    write_budget_per_minute: int | None = Field(default=None, gt=0)
    """Overrides the connector's default pacing of writes."""

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    def env_fields(self) -> dict[str, str]:
        """Names of the environment variables this instance reads, by setting name."""
        return {
            name: value
            for name, value in self.model_dump().items()
            if name.endswith("_env") and isinstance(value, str) and value
        }


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
