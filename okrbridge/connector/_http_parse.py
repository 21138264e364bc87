"""Reading what tools say about limits and errors out of HTTP responses (used by transport)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

__all__ = [
    "advised_wait",
    "error_detail",
    "exhausted_wait",
    "is_json",
    "mentions_rate_limit",
    "retry_after",
    "secret_values",
]

_SECRET_HEADERS = frozenset(
    {"authorization", "x-api-key", "private-token", "x-auth-token", "cookie"}
)
_SECRET_PARAMS = frozenset({"key", "token", "api_key", "apikey", "access_token", "client_secret"})
_RATE_LIMIT_TEXT = re.compile(r"rate[ _-]?limit|limit_exceeded|abuse detection", re.IGNORECASE)
_DETAIL_MAX = 300
_RESET_MARGIN = 1.0
"""Epoch resets have one-second resolution (and clocks drift): wait a little past them."""


def retry_after(headers: httpx.Headers, now: float) -> float | None:
    """Seconds from a `Retry-After` header: delta-seconds or an HTTP date; None if absent/bad."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def advised_wait(headers: httpx.Headers, now: float, status: int) -> float | None:
    """How long the tool says to wait, from its headers, or None when it says nothing usable.

    `Retry-After` wins. Then the reset time: GitHub sends `x-ratelimit-reset` as epoch seconds
    on *every* response, so it only counts with `x-ratelimit-remaining: 0` (a secondary limit
    has remaining > 0 and must not wait for the hourly reset). Jira sends `X-RateLimit-Reset`
    as ISO-8601 (`2024-05-01T10:05Z`), meaningful on its 429s.
    """
    advised = retry_after(headers, now)
    if advised is not None:
        return advised
    reset = headers.get("x-ratelimit-reset")
    if reset is None:
        return None
    exhausted = headers.get("x-ratelimit-remaining", "").strip() == "0"
    reset = reset.strip()
    if reset.isdigit():
        return max(0.0, int(reset) - now) + _RESET_MARGIN if exhausted else None
    if status != 429 and not exhausted:
        return None
    try:
        when = datetime.fromisoformat(reset)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now) + _RESET_MARGIN


def exhausted_wait(headers: httpx.Headers, now: float) -> float | None:
    """On a *successful* answer: seconds until the budget refills when it is already spent.

    GitHub: `x-ratelimit-remaining: 0` with the epoch `x-ratelimit-reset`. Trello:
    `x-rate-limit-api-token-remaining: 0` (or `-api-key-`) with its `-interval-ms` window.
    Waiting now is cheaper than collecting a 403/429 (and, on GitHub, safer: continuing
    while limited can get an integration banned).
    """
    reset = headers.get("x-ratelimit-reset", "").strip()
    if headers.get("x-ratelimit-remaining", "").strip() == "0" and reset.isdigit():
        return max(0.0, int(reset) - now) + _RESET_MARGIN
    for scope in ("api-token", "api-key"):
        interval = headers.get(f"x-rate-limit-{scope}-interval-ms", "").strip()
        if headers.get(f"x-rate-limit-{scope}-remaining", "").strip() == "0" and interval.isdigit():
            return int(interval) / 1000.0
    return None


def mentions_rate_limit(response: httpx.Response) -> bool:
    """True when the body says "rate limit" (GitHub's 403 for primary/secondary limits)."""
    return bool(_RATE_LIMIT_TEXT.search(response.text[:4000]))


DECODED = "okrbridge.decoded_json"
"""Key under which `is_json` keeps the decoded body in `response.extensions`."""


def is_json(response: httpx.Response) -> bool:
    """True when the whole body decodes as JSON; the decoded value is kept on the response so
    that callers do not decode a large page twice (see `decoded_json`)."""
    try:
        response.extensions[DECODED] = response.json()
    except ValueError:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        return False
    return True


def decoded_json(response: httpx.Response) -> Any:
    """The body as JSON, decoded once."""
    if DECODED in response.extensions:
        return response.extensions[DECODED]
    return response.json()


def error_detail(response: httpx.Response) -> str:
    """The tool's own error message, flattened to one short line.

    Jira: `{"errorMessages": [...], "errors": {field: msg}}`; GitHub: `{"message": ...,
    "errors": [...]}`; Trello: plain text or `{"message": ..., "error": ...}`.
    """
    try:
        body: Any = response.json()
    except ValueError:
        text = response.text
    else:
        text = _flatten(body)
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_MAX else text[: _DETAIL_MAX - 1] + "…"


def _flatten(body: Any) -> str:
    if isinstance(body, str):
        return body
    if isinstance(body, list):
        return "; ".join(_flatten(item) for item in body if item)
    if not isinstance(body, dict):
        return json.dumps(body)
    parts: list[str] = []
    for key in ("message", "errorMessages", "error", "errors"):
        value = body.get(key)
        if isinstance(value, dict):
            parts.extend(f"{k}: {_flatten(v)}" for k, v in value.items())
        elif value:
            parts.append(_flatten(value))
    return "; ".join(p for p in parts if p) if parts else json.dumps(body)[:_DETAIL_MAX]


def secret_values(
    headers: Mapping[str, str],
    auth: object,
    params: Mapping[str, str],
    extra: Iterable[str],
) -> tuple[str, ...]:
    """Every credential string a transport knows, longest first, for `redact`."""
    found: set[str] = set(extra)
    for name, value in headers.items():
        if name.lower() in _SECRET_HEADERS:
            found.add(value)
            found.update(value.split(" ", 1)[1:])  # "Bearer <token>", "Basic <b64>"
    if isinstance(auth, tuple) and len(auth) == 2:
        user, password = (str(part) for part in auth)
        found.add(password)  # and the Basic header it becomes, should a tool echo that
        found.add(base64.b64encode(f"{user}:{password}".encode()).decode("ascii"))
    for name, value in params.items():
        if name.lower() in _SECRET_PARAMS:
            found.add(value)
    return tuple(sorted((s for s in found if len(s) >= 4), key=len, reverse=True))
