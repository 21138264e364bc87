"""The settings every connector instance has, whatever its tool.

Shared by the config loader (which validates each `[connectors.NAME]` table) and the connector
contract (each connector's settings model extends `ConnectorSettings`), so neither package
needs the other for it. Secrets never appear here: fields ending `_env` name environment
variables.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from okrbridge.domain import StrictScalars

__all__ = ["ConnectorSettings", "PushScope", "env_name_problem"]

PushScope = Literal["open", "all", "parents-only", "none"]
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOKEN_PREFIXES = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "ATATT", "ATCTT", "ATTA")
_NOT_A_NAME = (
    "looks like a secret, not a variable name: put the secret in an environment variable "
    "and write that variable's name here (e.g. JIRA_API_TOKEN)"
)


def env_name_problem(value: str) -> str | None:
    """Why `value`, written in a `*_env` setting, is not an environment variable's name, or None.

    The message never repeats the value: a person who pastes a token there leaks it otherwise.
    """
    if not _ENV_NAME.match(value) or value.startswith(_TOKEN_PREFIXES):
        return _NOT_A_NAME
    has_lower = any(ch.islower() for ch in value)
    if len(value) >= 32 and has_lower and any(ch.isdigit() for ch in value):
        return _NOT_A_NAME  # a Trello key (32 hex) or a similar token
    return None


class ConnectorSettings(StrictScalars):
    """Settings every connector instance has; each connector type extends this model."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    type: str
    base_url: str
    scope: PushScope | None = None
    """Overrides `push.scope` for this instance."""
    enabled: bool = True
    write_budget_per_minute: int | None = Field(default=None, gt=0, le=100_000)
    """Overrides the connector's default pacing of writes."""

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @field_validator("*")
    @classmethod
    def _env_names(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or ""
        if name.endswith("_env") and isinstance(value, str) and value:
            problem = env_name_problem(value)
            if problem is not None:
                raise ValueError(problem)
        return value

    def env_fields(self) -> dict[str, str]:
        """Names of the environment variables this instance reads, by setting name."""
        return {
            name: value
            for name, value in self.model_dump().items()
            if name.endswith("_env") and isinstance(value, str) and value
        }
