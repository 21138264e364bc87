"""Error mapping and retry safety of HttpTransport (auth, 4xx, 5xx, timeouts, writes)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from okrbridge.connector import (
    AuthError,
    BadResponse,
    ConnectorError,
    HttpTransport,
    NotFound,
    RequestFailed,
    TokenBucket,
    ToolUnavailable,
    UncertainWrite,
)
from okrbridge.connector.base import ConnectorStats
from tests.connector.conftest import BASE, FakeClock, MakeTransport

TOKEN = "ghp_S3cr3tT0kenValue0123456789"
OK = httpx.Response(200, json={"ok": True})


@pytest.fixture
def authed(make_transport: MakeTransport) -> MakeTransport:
    def make(**overrides: Any) -> HttpTransport:
        return make_transport(
            headers={"Authorization": f"Bearer {TOKEN}"},
            credential_hint="the token in $GITHUB_TOKEN",
            **overrides,
        )

    return make


def test_401_is_auth_error_naming_the_variable_never_the_token(
    tool: respx.MockRouter, authed: MakeTransport
) -> None:
    # tools sometimes echo what they were sent; that must not leak into the message
    route = tool.get("/user").mock(
        return_value=httpx.Response(401, json={"message": f"Bad credentials: Bearer {TOKEN}"})
    )
    with pytest.raises(AuthError) as caught:
        authed().get_json("/user")
    text = str(caught.value)
    assert "$GITHUB_TOKEN" in text
    assert TOKEN not in text
    assert TOKEN not in repr(caught.value.args)
    assert route.call_count == 1


def test_basic_auth_password_is_redacted(
    tool: respx.MockRouter, make_transport: MakeTransport
) -> None:
    tool.get("/rest/api/3/myself").mock(
        return_value=httpx.Response(401, text=f"token {TOKEN} is not valid")
    )
    transport = make_transport(
        auth=("me@example.com", TOKEN), credential_hint="the token in $JIRA_API_TOKEN"
    )
    with pytest.raises(AuthError) as caught:
        transport.get_json("/rest/api/3/myself")
    assert TOKEN not in str(caught.value)
    assert "$JIRA_API_TOKEN" in str(caught.value)


def test_403_without_limit_signals_is_auth_error_without_retry(
    tool: respx.MockRouter, authed: MakeTransport, clock: FakeClock
) -> None:
    route = tool.get("/repos/o/r").mock(
        return_value=httpx.Response(403, json={"message": "Resource not accessible by integration"})
    )
    with pytest.raises(AuthError) as caught:
        authed().get_json("/repos/o/r")
    assert "Resource not accessible by integration" in str(caught.value)
    assert route.call_count == 1
    assert clock.sleeps == []


def test_404_is_not_found(tool: respx.MockRouter, make_transport: MakeTransport) -> None:
    tool.get("/1/cards/c1").mock(
        return_value=httpx.Response(404, text="The requested resource was not found.")
    )
    with pytest.raises(NotFound) as caught:
        make_transport().get_json("/1/cards/c1")
    assert caught.value.status == 404
    assert caught.value.detail == "The requested resource was not found."


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"errorMessages": ["Field 'labels' cannot be set."], "errors": {}},
            "Field 'labels' cannot be set.",
        ),
        ({"errorMessages": [], "errors": {"labels": "bad label"}}, "labels: bad label"),
        ({"message": "Validation Failed", "errors": [{"code": "invalid"}]}, "Validation Failed"),
    ],
)
def test_400_is_request_failed_with_the_tools_message(
    tool: respx.MockRouter, make_transport: MakeTransport, body: object, expected: str
) -> None:
    route = tool.put("/rest/api/3/issue/A-1").mock(return_value=httpx.Response(400, json=body))
    with pytest.raises(RequestFailed) as caught:
        make_transport().request("PUT", "/rest/api/3/issue/A-1", json={})
    assert not isinstance(caught.value, NotFound)
    assert caught.value.status == 400
    assert expected in caught.value.detail
    assert expected in str(caught.value)
    assert route.call_count == 1


def test_post_read_timeout_is_uncertain_and_sent_once(
    tool: respx.MockRouter, make_transport: MakeTransport, stats: ConnectorStats
) -> None:
    route = tool.post("/repos/o/r/issues/1/comments").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(UncertainWrite):
        make_transport().request("POST", "/repos/o/r/issues/1/comments", json={"body": "x"})
    assert route.call_count == 1
    assert (stats.requests, stats.writes, stats.retries) == (1, 1, 0)


@pytest.mark.parametrize(
    "failure",
    [httpx.Response(502), httpx.RemoteProtocolError("peer closed"), httpx.WriteTimeout("w")],
)
def test_post_with_unknown_outcome_is_never_repeated(
    tool: respx.MockRouter, make_transport: MakeTransport, failure: httpx.Response | Exception
) -> None:
    route = tool.post("/1/cards/c/actions/comments").mock(side_effect=[failure, OK])
    with pytest.raises(UncertainWrite):
        make_transport().request("POST", "/1/cards/c/actions/comments", params={"text": "x"})
    assert route.call_count == 1


def test_post_429_is_retried(
    tool: respx.MockRouter, make_transport: MakeTransport, stats: ConnectorStats
) -> None:
    route = tool.post("/repos/o/r/issues/1/labels").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(201)]
    )
    response = make_transport().request("POST", "/repos/o/r/issues/1/labels", json=["okr:x"])
    assert response.status_code == 201
    assert route.call_count == 2
    assert (stats.requests, stats.writes) == (2, 2)


def test_post_connect_error_is_retried_because_nothing_was_sent(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock
) -> None:
    route = tool.post("/graphql").mock(side_effect=[httpx.ConnectError("refused"), OK])
    assert make_transport().request("POST", "/graphql", json={}).status_code == 200
    assert route.call_count == 2
    assert clock.sleeps == [1.0]


def test_idempotent_write_is_retried_after_timeout(
    tool: respx.MockRouter, make_transport: MakeTransport
) -> None:
    route = tool.put("/repos/o/r/issues/1/labels").mock(side_effect=[httpx.ReadTimeout("t"), OK])
    make_transport().request("PUT", "/repos/o/r/issues/1/labels", json={"labels": []})
    assert route.call_count == 2


def test_get_503_then_200_succeeds(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock, stats: ConnectorStats
) -> None:
    tool.get("/items").mock(side_effect=[httpx.Response(503), OK])
    assert make_transport().get_json("/items") == {"ok": True}
    assert clock.sleeps == [1.0]
    assert (stats.requests, stats.retries, stats.rate_limit_waits) == (2, 1, 0)


def test_transient_failures_back_off_exponentially_then_give_up(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock
) -> None:
    route = tool.get("/items").mock(
        side_effect=[
            httpx.Response(500),
            httpx.ReadTimeout("t"),
            httpx.RemoteProtocolError("dropped"),
            httpx.Response(504),
        ]
    )
    with pytest.raises(ToolUnavailable) as caught:
        make_transport(policy_args={"max_attempts": 4}).get_json("/items")
    assert clock.sleeps == [1.0, 2.0, 4.0]
    assert route.call_count == 4
    assert "HTTP 504" in str(caught.value)


def test_backoff_is_capped(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock
) -> None:
    tool.get("/items").mock(return_value=httpx.Response(500))
    with pytest.raises(ToolUnavailable):
        make_transport(policy_args={"max_attempts": 5, "max_delay": 3.0}).get_json("/items")
    assert clock.sleeps == [1.0, 2.0, 3.0, 3.0]


def test_503_retry_after_is_honoured(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock, stats: ConnectorStats
) -> None:
    tool.get("/items").mock(side_effect=[httpx.Response(503, headers={"Retry-After": "12"}), OK])
    make_transport().get_json("/items")
    assert clock.sleeps == [12.0]
    assert stats.rate_limit_waits == 0  # an outage, not a rate limit


def test_timeout_exception_is_chained(
    tool: respx.MockRouter, make_transport: MakeTransport
) -> None:
    tool.get("/items").mock(side_effect=httpx.ConnectTimeout("slow"))
    with pytest.raises(ToolUnavailable) as caught:
        make_transport(policy_args={"max_attempts": 2}).get_json("/items")
    assert isinstance(caught.value.__cause__, httpx.ConnectTimeout)


def test_truncated_json_on_get_is_retried(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock
) -> None:
    route = tool.get("/items").mock(
        side_effect=[httpx.Response(200, content=b'{"issues": [{"id": "1"'), OK]
    )
    assert make_transport().get_json("/items") == {"ok": True}
    assert route.call_count == 2
    assert clock.sleeps == [1.0]


def test_invalid_json_keeps_failing_is_bad_response(
    tool: respx.MockRouter, make_transport: MakeTransport
) -> None:
    tool.get("/items").mock(return_value=httpx.Response(200, text="<html>proxy error</html>"))
    with pytest.raises(BadResponse):
        make_transport(policy_args={"max_attempts": 2}).get_json("/items")


def test_invalid_json_after_create_is_not_repeated(
    tool: respx.MockRouter, make_transport: MakeTransport
) -> None:
    route = tool.post("/comments").mock(return_value=httpx.Response(201, content=b'{"id": '))
    with pytest.raises(BadResponse):
        make_transport().request_json("POST", "/comments", json={})
    assert route.call_count == 1


def test_stats_count_every_attempt(
    tool: respx.MockRouter, make_transport: MakeTransport, stats: ConnectorStats
) -> None:
    tool.get("/a").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(500), OK]
    )
    tool.patch("/c/1").mock(return_value=OK)
    transport = make_transport()
    transport.get_json("/a")
    transport.request("PATCH", "/c/1", json={}, idempotent=True)
    assert stats.requests == 4
    assert stats.writes == 1
    assert stats.retries == 2
    assert stats.rate_limit_waits == 1
    assert stats.rate_limit_wait_seconds == 3.0


def test_writes_take_from_both_pacers(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock, stats: ConnectorStats
) -> None:
    reads = TokenBucket(rate=10.0, capacity=1.0, clock=clock.time, sleep=clock.sleep)
    writes = TokenBucket(rate=1.0, capacity=1.0, clock=clock.time, sleep=clock.sleep)
    tool.post("/c").mock(return_value=OK)
    transport = make_transport(read_pacer=reads, write_pacer=writes)
    for _ in range(3):
        transport.request("POST", "/c", json={})
    # the write bucket (1/s, burst 1) sets the pace: two waits of a second each
    assert sum(clock.sleeps) == pytest.approx(2.0)
    assert stats.extra["pacing_wait_seconds"] == pytest.approx(2.0)


def test_credentials_never_go_to_another_origin(
    tool: respx.MockRouter, authed: MakeTransport
) -> None:
    evil = respx.get("https://evil.example/steal").mock(return_value=OK)
    with pytest.raises(RequestFailed):
        authed().request("GET", "https://evil.example/steal")
    assert evil.call_count == 0


def test_absolute_url_on_the_same_origin_is_followed(
    tool: respx.MockRouter, authed: MakeTransport
) -> None:
    route = tool.get("/repos/o/r/issues", params={"page": "2"}).mock(return_value=OK)
    authed().request("GET", "https://tool.example/repos/o/r/issues?page=2")
    assert route.call_count == 1
    assert route.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"


def test_every_error_is_a_connector_error() -> None:
    for cls in (AuthError, BadResponse, NotFound, RequestFailed, ToolUnavailable, UncertainWrite):
        assert issubclass(cls, ConnectorError)
    assert issubclass(NotFound, RequestFailed)


def test_basic_auth_header_echo_is_redacted(
    tool: respx.MockRouter, make_transport: MakeTransport
) -> None:
    import base64

    echoed = base64.b64encode(f"me@example.com:{TOKEN}".encode()).decode()
    tool.get("/x").mock(return_value=httpx.Response(400, text=f"bad header Basic {echoed}"))
    with pytest.raises(RequestFailed) as caught:
        make_transport(auth=("me@example.com", TOKEN)).get_json("/x")
    assert echoed not in str(caught.value)
    assert echoed not in caught.value.detail


def test_graphql_query_marked_as_read_is_retried_after_timeout(
    tool: respx.MockRouter, make_transport: MakeTransport, stats: ConnectorStats
) -> None:
    route = tool.post("/graphql").mock(side_effect=[httpx.ReadTimeout("t"), OK])
    body = make_transport().request_json("POST", "/graphql", json={"query": "{}"}, write=False)
    assert body == {"ok": True}
    assert route.call_count == 2
    assert stats.writes == 0


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        ("[Errno 111] Connection refused", "connection refused"),
        ("[Errno -2] Name or service not known", "host name not found"),
    ],
)
def test_unreachable_host_fails_fast_naming_the_address(
    tool: respx.MockRouter,
    make_transport: MakeTransport,
    clock: FakeClock,
    error: str,
    cause: str,
) -> None:
    route = tool.get("/items").mock(side_effect=httpx.ConnectError(error))
    with pytest.raises(ToolUnavailable) as caught:
        make_transport().get_json("/items")
    assert route.call_count == 2  # one quick retry, not five with minutes of backoff
    assert clock.sleeps == [1.0]
    text = str(caught.value)
    assert cause in text
    assert BASE.rstrip("/") in text
    assert "base_url" in text


def test_timeouts_keep_their_backoff(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock
) -> None:
    route = tool.get("/items").mock(side_effect=httpx.ConnectTimeout("slow"))
    with pytest.raises(ToolUnavailable) as caught:
        make_transport(policy_args={"max_attempts": 4}).get_json("/items")
    assert route.call_count == 4
    assert clock.sleeps == [1.0, 2.0, 4.0]
    assert BASE.rstrip("/") in str(caught.value)


def test_api_path_written_into_base_url_is_named_on_404(
    make_transport: MakeTransport,
) -> None:
    with respx.mock() as router:
        router.get("https://acme.example/rest/api/3/rest/api/3/field").mock(
            return_value=httpx.Response(404)
        )
        transport = make_transport(base_url="https://acme.example/rest/api/3")
        with pytest.raises(NotFound) as caught:
            transport.get_json("rest/api/3/field")
    text = str(caught.value)
    assert "seems to include the API path" in text
    assert "https://acme.example" in text
