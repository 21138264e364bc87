"""Optional access control for the dashboard: a bearer token, or HTTP basic auth.

Configured from the environment only: `OKRBRIDGE_DASHBOARD_TOKEN`, or
`OKRBRIDGE_DASHBOARD_USER` + `OKRBRIDGE_DASHBOARD_PASSWORD` (both may be set). The token is
accepted as `Authorization: Bearer <token>`, as `?token=<token>` (then kept in an HttpOnly
cookie so links between pages work), or from that cookie. Comparisons are constant-time.
With nothing set the dashboard is open.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import HTTPException, Request, Response

__all__ = [
    "COOKIE",
    "PASSWORD_ENV",
    "TOKEN_ENV",
    "USER_ENV",
    "DashboardAuth",
]

TOKEN_ENV = "OKRBRIDGE_DASHBOARD_TOKEN"  # noqa: S105 (a variable name, not a secret)
USER_ENV = "OKRBRIDGE_DASHBOARD_USER"
PASSWORD_ENV = "OKRBRIDGE_DASHBOARD_PASSWORD"  # noqa: S105 (a variable name)
COOKIE = "okrbridge_dashboard"


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True, repr=False)
class DashboardAuth:
    """The credentials the dashboard accepts; with none set, everyone may read it."""

    token: str | None = None
    user: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never show the secrets
        return f"DashboardAuth({self.describe()})"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DashboardAuth:
        """Read the credentials from the environment variables named in the module doc."""
        user, password = env.get(USER_ENV) or None, env.get(PASSWORD_ENV) or None
        if (user is None) != (password is None):
            missing = PASSWORD_ENV if password is None else USER_ENV
            raise ValueError(f"dashboard basic auth needs {missing} too")
        return cls(token=env.get(TOKEN_ENV) or None, user=user, password=password)

    @property
    def enabled(self) -> bool:
        return self.token is not None or self.user is not None

    def describe(self) -> str:
        """A log-safe description: which methods are on (never the values)."""
        methods = [m for m, on in (("token", self.token), ("basic", self.user)) if on]
        return " or ".join(methods) if methods else "open (no credentials set)"

    def check(self, request: Request) -> None:
        """FastAPI dependency: pass, or raise 401 with a challenge."""
        if not self.enabled or self._basic_ok(request):
            return
        if self.token is not None:
            query = request.query_params.get("token")
            if query is not None and _same(query, self.token):
                request.state.dashboard_cookie = True
                return
            if _same(_bearer(request) or request.cookies.get(COOKIE, ""), self.token):
                return
        challenge = 'Basic realm="okrbridge dashboard"' if self.user else "Bearer"
        raise HTTPException(401, "authentication required", {"WWW-Authenticate": challenge})

    def remember(self, request: Request, response: Response) -> None:
        """Keep a token given as `?token=` in an HttpOnly cookie, so links between pages
        (which do not carry the query) still work."""
        if self.token is not None and getattr(request.state, "dashboard_cookie", False):
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")

    def _basic_ok(self, request: Request) -> bool:
        if self.user is None or self.password is None:
            return False
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, _, password = decoded.partition(":")
        # Both compared every time, so timing does not tell which one was wrong.
        user_ok = _same(user, self.user)
        password_ok = _same(password, self.password)
        return user_ok and password_ok


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None
