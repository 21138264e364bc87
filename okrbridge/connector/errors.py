"""One exception tree for every connector.

Library and HTTP errors are mapped into these classes at the boundary (`raise ... from exc`),
so the core decides what to do from the class alone:

- `AuthError`: pause this connector until a person fixes its credential.
- `RateLimitExhausted`, `ToolUnavailable`: try again at a later run.
- `RequestFailed` / `NotFound`: that one request is wrong; the others go on.
- `UncertainWrite`: a create may or may not have happened; look before creating again.

`str()` of every error is meant for users: it names the connector instance and never contains
a secret (transports redact known credentials from anything a tool echoes back).
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "AuthError",
    "BadResponse",
    "ConnectorError",
    "CursorError",
    "NotFound",
    "PaginationError",
    "RateLimitExhausted",
    "RequestFailed",
    "ToolUnavailable",
    "UncertainWrite",
    "require_secret",
]


class ConnectorError(Exception):
    """Base of all connector errors.

    Args:
        instance: the connector instance name from the config (`""` when not known).
        message: user-facing text, free of secrets.
    """

    def __init__(self, instance: str, message: str) -> None:
        super().__init__(instance, message)
        self.instance = instance
        self.message = message

    def __str__(self) -> str:
        return f"{self.instance}: {self.message}" if self.instance else self.message


class AuthError(ConnectorError):
    """HTTP 401/403 that is not a rate limit: only this connector pauses.

    The message names the credential to check (the environment variable), never its value.
    """


class RateLimitExhausted(ConnectorError):  # noqa: N818 - names fixed by the connector contract
    """Still rate limited after the bounded total wait.

    `retry_after` is the tool's last advice in seconds (None when it gave none).
    """

    def __init__(self, instance: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(instance, message)
        self.retry_after = retry_after


class ToolUnavailable(ConnectorError):  # noqa: N818 - names fixed by the connector contract
    """5xx answers, timeouts or connection errors that outlasted the retries."""


class RequestFailed(ConnectorError):  # noqa: N818 - names fixed by the connector contract
    """Any other 4xx: fatal for that request only.

    Attributes:
        status: the HTTP status code (0 when the failure was not an HTTP answer).
        detail: the tool's own error message, redacted.
    """

    def __init__(self, instance: str, message: str, *, status: int = 0, detail: str = "") -> None:
        super().__init__(instance, message)
        self.status = status
        self.detail = detail


class NotFound(RequestFailed):
    """HTTP 404: the object is gone or was never visible to this credential."""


class UncertainWrite(ConnectorError):  # noqa: N818 - names fixed by the connector contract
    """A non-idempotent write may have reached the tool, but no answer came back.

    Never retry it blindly: look for what it would have created first (`PushChange.uncertain`).
    `status` is the HTTP status when the answer was a 5xx, else 0 (timeout, dropped connection).
    """

    def __init__(self, instance: str, message: str, *, status: int = 0) -> None:
        super().__init__(instance, message)
        self.status = status


class BadResponse(ConnectorError):  # noqa: N818 - names fixed by the connector contract
    """The tool answered with something unusable (truncated or invalid JSON...)."""


class PaginationError(ConnectorError):
    """The tool's paging misbehaved (e.g. a repeated token that would loop forever)."""


class CursorError(ConnectorError):
    """A stored cursor cannot be read; a full pull rebuilds it."""


def require_secret(env: Mapping[str, str], variable: str, instance: str, what: str = "") -> str:
    """The value of the environment variable a `*_env` setting names.

    Raises `AuthError` naming the variable (never a value) when it is unset or empty; `what`
    says which credential it is, e.g. "the GitHub token".
    """
    value = env.get(variable, "")
    if not value:
        described = f" ({what})" if what else ""
        raise AuthError(instance, f"environment variable {variable}{described} is not set or empty")
    return value
