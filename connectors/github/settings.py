"""Configuration of one GitHub Projects (v2) connector instance."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from okrbridge.config.schema import ConnectorSettings

__all__ = ["GitHubSettings", "graphql_url", "web_url"]


class GitHubSettings(ConnectorSettings):
    """`[connectors.NAME]` table with `type = "github"`.

    `base_url` is the REST root: `https://api.github.com`, or `https://HOST/api/v3` on
    GitHub Enterprise Server. The GraphQL endpoint is derived from it (`graphql_url`).
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
    """A single-select field the bridge sets on draft items (they have no labels/comments).
    Its options are matched to statuses by name: "On track" <-> `on-track`."""
    webhook_secret_env: str | None = None
    bot_login: str | None = None
    """The bridge's own login (echo detection); default: resolved once through `GET /user`."""

    @field_validator("projects")
    @classmethod
    def _numbers(cls, value: list[int]) -> list[int]:
        if any(number <= 0 for number in value):
            raise ValueError("project numbers are positive integers")
        return list(dict.fromkeys(value))


def graphql_url(base_url: str) -> str:
    """GraphQL endpoint for a REST root.

    `https://api.github.com` -> `https://api.github.com/graphql`;
    GHES `https://HOST/api/v3` -> `https://HOST/api/graphql`.
    """
    base = base_url.rstrip("/")
    if base.endswith("/api/v3"):
        return base[: -len("/v3")] + "/graphql"
    return base + "/graphql"


def web_url(base_url: str) -> str:
    """The human web root: `https://github.com`, or `https://HOST` on GHES."""
    parts = urlsplit(base_url)
    host = parts.netloc
    if host == "api.github.com":
        return "https://github.com"
    return f"{parts.scheme}://{host}"
