"""Configuration of a Trello connector instance (one `[connectors.NAME]` table, `type = "trello"`).

Secrets never appear here: `key_env`, `token_env` and `secret_env` name environment variables.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from okrbridge.config.schema import ConnectorSettings

__all__ = ["DEFAULT_DONE_LISTS", "DEFAULT_IN_PROGRESS_LISTS", "TrelloSettings"]


def _word_patterns(*names: str) -> tuple[str, ...]:
    """Each name alone or followed by more words ("Done", "Done ✅", "Done (Q3)", never
    "Done-ish")."""
    return tuple(p for name in names for p in (name, f"{name} *"))


DEFAULT_DONE_LISTS = _word_patterns("done", "complete", "completed", "shipped", "released")
"""List names as people write them: "Done", "Done ✅", "Complete", "Completed", "Shipped"."""
DEFAULT_IN_PROGRESS_LISTS = _word_patterns(
    "doing", "in progress", "in-progress", "wip", "*review", "qa", "testing", "blocked"
)
""""Doing", "In progress", "In Review", "Code review", "QA", "Testing", "Blocked"..."""
_API_PATH = re.compile(r"^(https?://.+?)/1(?:/.*)?$")
"""A base URL that already holds Trello's API version path `/1`."""


class TrelloSettings(ConnectorSettings):
    """Settings of one Trello connector instance.

    List names are matched case-insensitively against `done_lists` / `in_progress_lists`,
    which are shell-style patterns (`"done*"` matches "Done ✅"); any other list is `todo`.
    """

    type: Literal["trello"] = "trello"
    base_url: str = "https://api.trello.com"
    """API origin; requests go to `{base_url}/1/...`."""
    key_env: str = "TRELLO_API_KEY"
    token_env: str = "TRELLO_TOKEN"  # noqa: S105 (a variable name)
    secret_env: str = "TRELLO_APP_SECRET"  # noqa: S105 (a variable name)
    """The application (OAuth1) secret that signs webhook deliveries."""
    callback_url: str | None = None
    """The public webhook URL exactly as registered (signatures cover it, byte for byte)."""
    boards: list[str] = Field(min_length=1)
    """Board ids or short links (the part after `/b/` in a board URL)."""
    done_lists: list[str] = Field(default_factory=lambda: list(DEFAULT_DONE_LISTS))
    in_progress_lists: list[str] = Field(default_factory=lambda: list(DEFAULT_IN_PROGRESS_LISTS))
    due_complete_done: bool = True
    """A card whose due date is checked complete counts as done, whatever its list."""
    estimate_field: str | None = None
    """Name of a number custom field holding the estimate."""
    bot_member_id: str | None = None
    """The bridge's own member id (echo detection); default: asked once from `/1/members/me`."""
    label_swap: Literal["replace", "add-remove"] = "replace"
    """Status change: one `PUT idLabels` after a fresh read (1 write) or add + remove (2)."""
    too_many_cards_fallback: bool = True
    """Page per list when a board answers `API_TOO_MANY_CARDS_REQUESTED`."""

    @field_validator("base_url")
    @classmethod
    def _origin_only(cls, value: str) -> str:
        """Without the API path: the connector adds `/1/...` itself."""
        match = _API_PATH.match(value.rstrip("/"))
        if match:
            raise ValueError(
                f'the connector adds the API path /1 itself: write base_url = "{match.group(1)}"'
            )
        return value

    @field_validator("boards")
    @classmethod
    def _boards(cls, value: list[str]) -> list[str]:
        cleaned = [board.strip() for board in value]
        if any(not board or "/" in board for board in cleaned):
            raise ValueError("boards are ids or short links, not URLs or empty strings")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("a board is listed twice")
        return cleaned

    @field_validator("done_lists", "in_progress_lists")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        return [pattern.strip().casefold() for pattern in value if pattern.strip()]
