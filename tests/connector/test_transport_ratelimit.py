"""Rate-limit handling of HttpTransport: each tool's way of saying "wait", and the bounds."""

from __future__ import annotations

from email.utils import formatdate

import httpx
import pytest
import respx

from okrbridge.connector import RateLimitExhausted, TokenBucket
from okrbridge.connector.base import ConnectorStats
from tests.connector.conftest import START, FakeClock, MakeTransport

OK = httpx.Response(200, json={"ok": True})


def test_retry_after_seconds_is_honoured(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock, stats: ConnectorStats
) -> None:
    route = tool.get("/items").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), OK]
    )
    assert make_transport().get_json("/items") == {"ok": True}
    assert route.call_count == 2
    assert clock.sleeps == [7.0]
    assert (stats.rate_limit_waits, stats.rate_limit_wait_seconds, stats.retries) == (1, 7.0, 1)


def test_retry_after_http_date_is_honoured(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock
) -> None:
    when = formatdate(START + 30, usegmt=True)
    tool.get("/items").mock(side_effect=[httpx.Response(429, headers={"Retry-After": when}), OK])
    make_transport().get_json("/items")
    assert clock.sleeps == [30.0]


def test_github_primary_limit_waits_for_reset(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock
) -> None:
    limited = httpx.Response(
        403,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(START) + 120)},
        json={"message": "API rate limit exceeded for user ID 1."},
    )
    tool.get("/repos/o/r/issues").mock(side_effect=[limited, OK])
    transport = make_transport(policy_args={"max_total_wait": 600.0})
    transport.get_json("/repos/o/r/issues")
    # the epoch reset has one-second resolution: one second of margin past it
    assert clock.sleeps == [121.0]


def test_github_secondary_limit_does_not_wait_for_hourly_reset(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock
) -> None:
    """remaining > 0: the reset header is about the primary budget; use the default wait."""
    limited = httpx.Response(
        403,
        headers={"x-ratelimit-remaining": "4000", "x-ratelimit-reset": str(int(START) + 3000)},
        json={"message": "You have exceeded a secondary rate limit."},
    )
    tool.post("/repos/o/r/issues/1/comments").mock(side_effect=[limited, httpx.Response(201)])
    transport = make_transport(policy_args={"default_rate_limit_wait": 60.0})
    assert transport.request("POST", "/repos/o/r/issues/1/comments", json={}).status_code == 201
    assert clock.sleeps == [60.0]


def test_jira_iso_reset_is_honoured(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock
) -> None:
    # START is 22:13:20Z; Jira's reset has minute resolution
    limited = httpx.Response(429, headers={"X-RateLimit-Reset": "2023-11-14T22:15Z"})
    tool.get("/rest/api/3/search/jql").mock(side_effect=[limited, OK])
    make_transport().get_json("/rest/api/3/search/jql")
    assert clock.sleeps == [100.0 + 1.0]


def test_trello_429_without_header_uses_default_and_grows(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock
) -> None:
    limited = httpx.Response(429, json={"error": "API_TOKEN_LIMIT_EXCEEDED"})
    tool.get("/1/boards/b/cards").mock(side_effect=[limited, limited, OK])
    transport = make_transport(policy_args={"default_rate_limit_wait": 10.0})
    transport.get_json("/1/boards/b/cards")
    assert clock.sleeps == [10.0, 20.0]


def test_rate_limit_wait_never_shorter_than_advised_even_with_jitter(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock
) -> None:
    from okrbridge.connector import RetryPolicy

    tool.get("/items").mock(side_effect=[httpx.Response(429, headers={"Retry-After": "10"}), OK])
    make_transport(policy=RetryPolicy(jitter=(0.5, 1.5))).get_json("/items")
    assert 10.0 <= clock.sleeps[0] <= 15.0


def test_retry_hint_turns_a_200_into_a_rate_limit(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock, stats: ConnectorStats
) -> None:
    def graphql_hint(response: httpx.Response) -> float | None:
        errors = response.json().get("errors") or []
        return 5.0 if any(e.get("type") == "RATE_LIMITED" for e in errors) else None

    limited = httpx.Response(200, json={"errors": [{"type": "RATE_LIMITED", "message": "x"}]})
    data = httpx.Response(200, json={"data": {"viewer": {"login": "bot"}}})
    route = tool.post("/graphql").mock(side_effect=[limited, data])
    transport = make_transport(retry_hint=graphql_hint)
    body = transport.request_json("POST", "/graphql", json={"query": "{viewer{login}}"})
    assert body == {"data": {"viewer": {"login": "bot"}}}
    assert route.call_count == 2
    assert clock.sleeps == [5.0]
    assert stats.rate_limit_waits == 1


def test_bounded_total_wait_raises_rate_limit_exhausted(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock
) -> None:
    route = tool.get("/items").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "200"})
    )
    transport = make_transport(policy_args={"max_total_wait": 300.0})
    with pytest.raises(RateLimitExhausted) as caught:
        transport.get_json("/items")
    assert clock.sleeps == [200.0]  # a second 200 s wait would pass the 300 s bound
    assert route.call_count == 2
    assert caught.value.retry_after == 200.0
    assert caught.value.instance == "tool-main"


def test_advice_beyond_the_bound_fails_fast_without_sleeping(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock
) -> None:
    tool.get("/items").mock(return_value=httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(RateLimitExhausted):
        make_transport().get_json("/items")
    assert clock.sleeps == []


def test_attempts_are_bounded(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock
) -> None:
    route = tool.get("/items").mock(return_value=httpx.Response(429, headers={"Retry-After": "1"}))
    with pytest.raises(RateLimitExhausted):
        make_transport(policy_args={"max_attempts": 3}).get_json("/items")
    assert route.call_count == 3
    assert clock.sleeps == [1.0, 1.0]


def test_rate_limit_pauses_the_shared_pacer_for_everyone(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock
) -> None:
    pacer = TokenBucket(rate=100.0, capacity=100.0, clock=clock.time, sleep=clock.sleep)
    paused_during_wait: list[float] = []

    def sleep(seconds: float) -> None:
        paused_during_wait.append(pacer.pause_remaining())
        clock.sleep(seconds)

    tool.get("/items").mock(side_effect=[httpx.Response(429, headers={"Retry-After": "8"}), OK])
    make_transport(read_pacer=pacer, sleep=sleep).get_json("/items")
    assert paused_during_wait == [8.0]  # sibling threads sharing the bucket hold off too


def test_long_pause_on_shared_pacer_fails_fast(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock
) -> None:
    pacer = TokenBucket(rate=10.0, capacity=10.0, clock=clock.time, sleep=clock.sleep)
    pacer.pause_for(1000.0)  # another thread learned the tool wants quiet for 1000 s
    route = tool.get("/items").mock(return_value=OK)
    with pytest.raises(RateLimitExhausted):
        make_transport(read_pacer=pacer).get_json("/items")
    assert route.call_count == 0
    assert clock.sleeps == []


def test_spent_github_budget_pauses_the_pacer_before_any_403(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock
) -> None:
    pacer = TokenBucket(rate=10.0, capacity=10.0, clock=clock.time, sleep=clock.sleep)
    spent = httpx.Response(
        200,
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(START) + 50)},
        json=[],
    )
    route = tool.get("/repos/o/r/issues").mock(side_effect=[spent, OK])
    transport = make_transport(read_pacer=pacer)
    transport.get_json("/repos/o/r/issues")
    assert pacer.pause_remaining() == 51.0
    transport.get_json("/repos/o/r/issues")
    assert route.call_count == 2
    assert route.calls.last.response is not None
    assert clock.now >= START + 51.0  # the second call waited for the reset


def test_spent_trello_token_budget_pauses_for_its_window(
    tool: respx.MockRouter, make_transport: MakeTransport, clock: FakeClock
) -> None:
    pacer = TokenBucket.per_window(100, 10.0, clock=clock.time, sleep=clock.sleep)
    spent = httpx.Response(
        200,
        headers={
            "x-rate-limit-api-token-interval-ms": "10000",
            "x-rate-limit-api-token-max": "100",
            "x-rate-limit-api-token-remaining": "0",
        },
        json=[],
    )
    tool.get("/1/boards/b/cards").mock(return_value=spent)
    make_transport(read_pacer=pacer).get_json("/1/boards/b/cards")
    assert pacer.pause_remaining() == 10.0


def test_retry_hint_that_cannot_read_the_body_is_ignored(
    tool: respx.MockRouter, make_transport: MakeTransport
) -> None:
    def hint(response: httpx.Response) -> float | None:
        return 5.0 if response.json().get("errors") else None

    tool.post("/graphql").mock(return_value=httpx.Response(400, text="Problems parsing JSON"))
    from okrbridge.connector import RequestFailed

    with pytest.raises(RequestFailed, match="Problems parsing JSON"):
        make_transport(retry_hint=hint).request("POST", "/graphql", content=b"{")
