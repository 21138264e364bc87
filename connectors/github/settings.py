"""Configuration of one GitHub Projects (v2) connector instance."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from okrbridge.config.schema import ConnectorSettings
from okrbridge.domain import KRStatus

__all__ = ["DEFAULT_STATUS_OPTIONS", "GitHubSettings", "graphql_url", "rest_url", "web_url"]

DEFAULT_STATUS_OPTIONS: dict[str, tuple[str, ...]] = {
    KRStatus.ACHIEVED.value: ("Achieved",),
    KRStatus.ON_TRACK.value: ("On track",),
    KRStatus.NEEDS_ATTENTION.value: ("Needs attention", "At risk"),
    KRStatus.OFF_TRACK.value: ("Off track",),
    KRStatus.NOT_STARTED.value: ("Not started",),
}
"""Option names tried for each status on a draft's `kr_status_field` (case-insensitive)."""

_API_PATHS = ("/graphql", "/api/graphql", "/api/v3", "/api")


class GitHubSettings(ConnectorSettings):
    """`[connectors.NAME]` table with `type = "github"`.

    `base_url` is the server's root: `https://api.github.com`, or `https://HOST` on GitHub
    Enterprise Server. The REST and GraphQL endpoints are derived from it.
    """

    type: Literal["github"] = "github"
    base_url: str = "https://api.github.com"
    token_env: str = "GITHUB_TOKEN"  # noqa: S105 - the variable name, not a secret
    owner: str = Field(min_length=1)
    """Login of the organization or user that owns the projects."""
    owner_type: Literal["organization", "user"] = "organization"
    projects: list[int] = Field(min_length=1)
    """Project numbers (the `N` in `.../projects/N`)."""
    page_size: int = Field(default=100, ge=1, le=100)
    """Items per GraphQL page; lower it (e.g. 50) if a project with many fields times out."""
    status_field: str = "Status"
    done_options: list[str] = Field(default_factory=lambda: ["Done"])
    todo_options: list[str] = Field(default_factory=lambda: ["Todo"])
    estimate_field: str | None = None
    """A number field holding the estimate (story points)."""
    iteration_field: str | None = None
    kr_status_field: str | None = None
    """A single-select field the bridge sets on draft items (they have no labels/comments)."""
    status_options: dict[str, str | list[str]] = Field(default_factory=dict)
    """Status -> the option name(s) of `kr_status_field` meaning it, e.g.
    `{ needs_attention = "At risk" }`; unnamed statuses keep `DEFAULT_STATUS_OPTIONS`."""
    webhook_secret_env: str | None = None
    bot_login: str | None = None
    """The bridge's own login (echo detection); default: resolved once through `GET /user`."""

    @field_validator("base_url")
    @classmethod
    def _server_root(cls, value: str) -> str:
        parts = urlsplit(value)
        path = parts.path.rstrip("/")
        dotcom = parts.hostname in ("github.com", "api.github.com")
        root = "https://api.github.com" if dotcom else f"{parts.scheme}://{parts.netloc}"
        if parts.hostname == "github.com":
            raise ValueError(f"github.com is the web site; the API is at {root!r}: write that")
        if path and any(path.lower().endswith(p) for p in _API_PATHS):
            raise ValueError(
                f"base_url must not name an API path ({path!r}); write the server root "
                f"{root!r} (the REST and GraphQL paths are derived from it)"
            )
        if path:
            raise ValueError(f"base_url must be the server root without a path: write {root!r}")
        return value

    @field_validator("projects")
    @classmethod
    def _numbers(cls, value: list[int]) -> list[int]:
        if any(number <= 0 for number in value):
            raise ValueError("project numbers are positive integers")
        return list(dict.fromkeys(value))

    @field_validator("status_options")
    @classmethod
    def _statuses(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        known = [status.value for status in KRStatus]
        for key, names in value.items():
            if key not in known:
                raise ValueError(f"unknown status {key!r} (statuses: {', '.join(known)})")
            listed = names if isinstance(names, list) else [names]
            if not listed or not all(name.strip() for name in listed):
                raise ValueError(f"status {key!r} needs at least one non-empty option name")
        return value

    def options_for(self, status: KRStatus) -> tuple[str, ...]:
        """The option names that mean `status`, configured or default."""
        names = self.status_options.get(status.value)
        if names is None:
            return DEFAULT_STATUS_OPTIONS[status.value]
        return tuple(names) if isinstance(names, list) else (names,)


def _is_dotcom(base_url: str) -> bool:
    return urlsplit(base_url).hostname == "api.github.com"


def rest_url(base_url: str) -> str:
    """REST root: `https://api.github.com`, or `https://HOST/api/v3` on GHES."""
    base = base_url.rstrip("/")
    return base if _is_dotcom(base) else base + "/api/v3"


def graphql_url(base_url: str) -> str:
    """GraphQL endpoint: `https://api.github.com/graphql`, or `https://HOST/api/graphql`."""
    base = base_url.rstrip("/")
    return base + "/graphql" if _is_dotcom(base) else base + "/api/graphql"


def web_url(base_url: str) -> str:
    """The human web root: `https://github.com`, or `https://HOST` on GHES."""
    parts = urlsplit(base_url)
    host = parts.netloc
    if host == "api.github.com":
        return "https://github.com"
    return f"{parts.scheme}://{host}"
