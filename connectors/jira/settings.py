"""Configuration of one Jira instance (one `[connectors.<name>]` table with `type = "jira"`)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from okrbridge.config.schema import ConnectorSettings, Duration

__all__ = ["API_VERSION", "JiraSettings", "is_unbounded_jql", "strip_order_by"]

API_VERSION: Literal["3"] = "3"
"""The one REST version the connector speaks: v3 takes comment bodies as ADF documents."""

_API_PATH = re.compile(r"/rest(/|$)", re.IGNORECASE)
_ORDER_BY = re.compile(r"\border\s+by\b.*$", re.IGNORECASE | re.DOTALL)


def strip_order_by(jql: str) -> str:
    """The restriction part of a JQL query, without any `ORDER BY` clause."""
    return _ORDER_BY.sub("", jql).strip()


def is_unbounded_jql(jql: str) -> bool:
    """True for an empty query or one that is only `ORDER BY` (Jira answers those with 400)."""
    return not strip_order_by(jql)


class JiraSettings(ConnectorSettings):
    """A Jira Cloud site or Data Center server, with the issues the bridge looks at."""

    type: Literal["jira"] = "jira"
    auth: Literal["cloud", "datacenter"] = "cloud"
    """`cloud`: e-mail + API token (HTTP basic); `datacenter`: personal access token (Bearer)."""
    email_env: str | None = None
    """Cloud: variable holding the account e-mail (default `JIRA_EMAIL`)."""
    token_env: str | None = None
    """Cloud: variable holding the API token (default `JIRA_API_TOKEN`)."""
    pat_env: str | None = None
    """Data Center: variable holding the personal access token (default `JIRA_PAT`)."""
    jql: str
    """Scope of this instance, e.g. `project in (MKT, GAME)`; must restrict something."""
    estimate_field: str | None = None
    """Story points: a field id (`customfield_10016`) or its name (`Story Points`)."""
    extra_fields: tuple[str, ...] = ()
    """More fields (ids or names) copied into `Task.fields` by name, for match rules."""
    webhook_secret_env: str | None = None
    """Variable holding the webhook secret; unset: deliveries are accepted unsigned."""
    bot_account_id: str | None = None
    """The bridge's own account id; default: asked from `GET /rest/api/3/myself`."""
    overlap: Duration = timedelta(minutes=5)
    """How far each incremental read reaches back before the cursor."""
    page_size: int = Field(default=5000, ge=1, le=5000)
    """Issue ids per search page (ids-only pages go up to 5,000)."""
    max_concurrency: int = Field(default=6, ge=1, le=16)
    """Parallel `bulkfetch` calls during a pull."""
    api_version: Literal["3"] = API_VERSION

    @model_validator(mode="before")
    @classmethod
    def _default_env_names(cls, data: Any) -> Any:
        # Only the variables of the chosen auth mode are named, so that `env_fields()` lists
        # exactly what must be set.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if data.get("auth", "cloud") == "cloud":
            data.setdefault("email_env", "JIRA_EMAIL")
            data.setdefault("token_env", "JIRA_API_TOKEN")
        else:
            data.setdefault("pat_env", "JIRA_PAT")
        return data

    @field_validator("base_url")
    @classmethod
    def _site_address(cls, value: str) -> str:
        # The connector adds `/rest/api/3/...` itself; a pasted API path would double it.
        match = _API_PATH.search(value)
        if match:
            site = value[: match.start()] or value
            raise ValueError(
                f'base_url must be the site address without an API path: write base_url = "{site}"'
            )
        return value

    @field_validator("jql")
    @classmethod
    def _bounded(cls, value: str) -> str:
        if is_unbounded_jql(value):
            raise ValueError(
                "jql is unbounded (empty or only ORDER BY); Jira refuses such searches. "
                'Restrict it, e.g. jql = "project in (MKT, GAME)"'
            )
        return value.strip()

    @model_validator(mode="after")
    def _auth_vars(self) -> JiraSettings:
        if self.auth == "cloud" and not (self.email_env and self.token_env):
            raise ValueError('auth = "cloud" needs email_env and token_env')
        if self.auth == "datacenter" and not self.pat_env:
            raise ValueError('auth = "datacenter" needs pat_env')
        return self

    @property
    def scope_jql(self) -> str:
        """The configured restriction without its `ORDER BY` (the connector sets the order)."""
        return strip_order_by(self.jql)
