"""Optional access control: token (header, query, then cookie) or basic auth, from env vars."""

from __future__ import annotations

import base64

import pytest
from structlog.testing import capture_logs

from okrbridge.web.dashboard import DashboardAuth
from okrbridge.web.dashboard.auth import COOKIE, PASSWORD_ENV, TOKEN_ENV, USER_ENV
from okrbridge.web.dashboard.routes import router
from tests.dashboard.conftest import client_for
from tests.dashboard.seed import Seeded

TOKEN = "s3cret-token-for-tests"


def basic(user: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def test_open_without_credentials(sqlite_seeded: Seeded) -> None:
    with client_for(sqlite_seeded, DashboardAuth()) as client:
        assert client.get("/").status_code == 200


def test_token_required_when_set(sqlite_seeded: Seeded) -> None:
    auth = DashboardAuth.from_env({TOKEN_ENV: TOKEN})
    with client_for(sqlite_seeded, auth) as client:
        for path in ("/", "/kr/kr-dau", "/connectors/jira-mkt"):
            denied = client.get(path)
            assert denied.status_code == 401
            assert denied.headers["www-authenticate"] == "Bearer"
            assert "Grow" not in denied.text
        assert client.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/?token=wrong").status_code == 401
        ok = client.get("/kr/kr-dau", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        assert "Daily active users" in ok.text


def test_query_token_is_kept_in_a_cookie_for_the_next_pages(sqlite_seeded: Seeded) -> None:
    auth = DashboardAuth(token=TOKEN)
    with client_for(sqlite_seeded, auth) as client:
        first = client.get(f"/?token={TOKEN}")
        assert first.status_code == 200
        cookie = first.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert "HttpOnly" in cookie
        assert "samesite=strict" in cookie.lower()
        assert client.get("/kr/kr-dau").status_code == 200  # the cookie carries on
        client.cookies.clear()
        assert client.get("/kr/kr-dau").status_code == 401


def test_basic_auth_when_user_and_password_set(sqlite_seeded: Seeded) -> None:
    auth = DashboardAuth.from_env({USER_ENV: "pmo", PASSWORD_ENV: "pa:ss word"})
    with client_for(sqlite_seeded, auth) as client:
        denied = client.get("/")
        assert denied.status_code == 401
        assert denied.headers["www-authenticate"].startswith("Basic ")
        assert client.get("/", headers=basic("pmo", "wrong")).status_code == 401
        assert client.get("/", headers=basic("other", "pa:ss word")).status_code == 401
        assert client.get("/", headers={"Authorization": "Basic !!notbase64"}).status_code == 401
        assert client.get("/", headers=basic("pmo", "pa:ss word")).status_code == 200


def test_token_and_basic_both_accepted_when_both_set(sqlite_seeded: Seeded) -> None:
    auth = DashboardAuth(token=TOKEN, user="pmo", password="pw")
    with client_for(sqlite_seeded, auth) as client:
        assert client.get("/").status_code == 401
        assert client.get("/", headers=basic("pmo", "pw")).status_code == 200
        assert client.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_half_configured_basic_auth_is_refused() -> None:
    with pytest.raises(ValueError, match=PASSWORD_ENV):
        DashboardAuth.from_env({USER_ENV: "pmo"})
    with pytest.raises(ValueError, match=USER_ENV):
        DashboardAuth.from_env({PASSWORD_ENV: "pw"})


def test_secrets_never_in_repr_and_open_access_is_logged(sqlite_seeded: Seeded) -> None:
    auth = DashboardAuth(token=TOKEN, user="pmo", password="pw-value")
    assert TOKEN not in repr(auth)
    assert "pw-value" not in repr(auth)
    with capture_logs() as logs:
        router(sqlite_seeded, env={})
        router(sqlite_seeded, env={TOKEN_ENV: TOKEN})
    assert [(e["log_level"], e["event"][:28]) for e in logs] == [
        ("warning", "dashboard is open to anyone "),
        ("info", "dashboard access control on"),
    ]
    assert TOKEN not in repr(logs)
