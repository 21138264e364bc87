"""The one place that decides what is retried and what is fatal, for every connector's HTTP.

`HttpTransport.request` sends one logical request and maps everything that can go wrong into
`okrbridge.connector.errors`:

- 429, and 403 carrying a rate-limit signal: wait as the tool advises (`Retry-After` seconds or
  date, GitHub's `x-ratelimit-reset` epoch when `x-ratelimit-remaining` is 0, Jira's ISO-8601
  `X-RateLimit-Reset`), else `RetryPolicy.default_rate_limit_wait` growing per repeat; pause the
  shared pacers so sibling threads wait too. Gives up with `RateLimitExhausted`.
- 5xx, 408, timeouts, dropped connections, unreadable JSON: exponential backoff with jitter.
  Gives up with `ToolUnavailable` (or `BadResponse`).
- Connection refused and unknown host names: one quick retry (`RetryPolicy.unreachable_retries`),
  then `ToolUnavailable` naming the address and the `base_url` to check; a wrong address does not
  heal with minutes of backoff.
- 401/403: `AuthError` naming the credential to check. 404: `NotFound`. Other 4xx:
  `RequestFailed` with the tool's message.
- A non-idempotent write whose request may have reached the tool (read timeout, dropped
  connection, 5xx) is never repeated: `UncertainWrite`. It is repeated only when the tool
  certainly did not act on it (429 and rate limits, connection never made).

Waits are bounded per call by `RetryPolicy.max_attempts` and `max_total_wait`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type

from okrbridge.connector import _http_parse as parse
from okrbridge.connector._retry import CallState, RetryableError, RetryHint, RetryPolicy
from okrbridge.connector.base import ConnectorStats
from okrbridge.connector.errors import (
    AuthError,
    BadResponse,
    ConnectorError,
    NotFound,
    RateLimitExhausted,
    RequestFailed,
    ToolUnavailable,
    UncertainWrite,
)
from okrbridge.connector.pacing import TokenBucket
from okrbridge.redact import Redactor

__all__ = ["DEFAULT_POLICY", "HttpTransport", "RetryHint", "RetryPolicy"]

log = logging.getLogger(__name__)

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_NOT_PROCESSED_STATUSES = frozenset({408, 425})
"""The server gave up before acting on the request: safe to repeat, even a create."""
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
DEFAULT_POLICY = RetryPolicy()


@dataclass(frozen=True)
class _Call:
    method: str
    path: str
    """Path without the query string, for messages and logs."""
    url: str
    kwargs: Mapping[str, Any]
    write: bool
    idempotent: bool
    expect_json: bool

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


class HttpTransport:
    """HTTP for one connector instance: pacing, retries, error mapping and traffic counters.

    Thread-safe as long as the pacers and the httpx client are shared, which they are.
    `clock` is wall-clock time (HTTP dates and epoch resets are compared with it); `sleep` and
    `clock` are injected by tests so nothing really sleeps.
    """

    def __init__(
        self,
        *,
        instance: str,
        base_url: str,
        stats: ConnectorStats,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        credential_hint: str = "",
        policy: RetryPolicy = DEFAULT_POLICY,
        read_pacer: TokenBucket | None = None,
        write_pacer: TokenBucket | None = None,
        retry_hint: RetryHint | None = None,
        timeout: float = 30.0,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        default_params: Mapping[str, str] | None = None,
        redact: Iterable[str] = (),
    ) -> None:
        self.instance = instance
        self.base_url = httpx.URL(base_url.rstrip("/") + "/")
        self.stats = stats
        self.policy = policy
        self.read_pacer = read_pacer
        self.write_pacer = write_pacer
        self._headers = dict(headers or {})
        self._auth = auth
        self._params = dict(default_params or {})
        self._credential_hint = credential_hint
        self._retry_hint = retry_hint
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._redactor = Redactor(parse.secret_values(self._headers, auth, self._params, redact))

    # -- public API ---------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        write: bool | None = None,
        idempotent: bool | None = None,
        expect_json: bool = False,
    ) -> httpx.Response:
        """Send one logical request (several attempts at most) and return a < 400 response.

        Args:
            method: HTTP method.
            path: relative to `base_url`, or an absolute URL on the same origin (a `Link`).
            write: counts and paces as a write; default: any method but GET/HEAD/OPTIONS.
            idempotent: safe to repeat after an uncertain outcome; default: GET/HEAD/PUT/DELETE
                and any request with `write=False` (send a GraphQL query as a POST with
                `write=False`; a mutation stays a non-idempotent write).
            expect_json: the body must be JSON; unreadable JSON is retried when idempotent.

        Raises:
            ConnectorError: one of its subclasses, see the module docstring.
        """
        call = self._call(method, path, params, json, content, data, headers, write, idempotent)
        if expect_json:
            call = replace(call, expect_json=True)
        state = CallState(self.policy)
        retrying = Retrying(
            retry=retry_if_exception_type(RetryableError),
            stop=lambda rs: self._should_stop(rs, state),
            wait=lambda rs: _retry_of(rs).delay,
            sleep=self._sleep,
            before_sleep=lambda rs: self._before_sleep(rs, call, state),
            reraise=True,
        )
        try:
            response: httpx.Response = retrying(self._attempt, call, state)
        except RetryableError as failure:
            raise self._give_up(call, state, failure) from failure.__cause__
        return response

    def request_json(self, method: str, path: str, **kwargs: Any) -> Any:
        """`request(..., expect_json=True)` and the decoded body."""
        return self.request_with_json(method, path, **kwargs)[1]

    def request_with_json(
        self, method: str, path: str, **kwargs: Any
    ) -> tuple[httpx.Response, Any]:
        """The response (for its headers) and its body, decoded once; invalid JSON is retried
        like any unreadable answer when the request is idempotent."""
        response = self.request(method, path, expect_json=True, **kwargs)
        return response, parse.decoded_json(response)

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        """GET and decode JSON; invalid or truncated JSON is retried, then `BadResponse`."""
        return self.request_json("GET", path, params=params)

    def close(self) -> None:
        """Close the HTTP client if this transport created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one attempt --------------------------------------------------------------------------
    def _attempt(self, call: _Call, state: CallState) -> httpx.Response:
        self._pace(call, state)
        with self._lock:
            self.stats.requests += 1
            self.stats.writes += int(call.write)
        try:
            response = self._client.request(call.method, call.url, **call.kwargs)
        except httpx.TransportError as exc:
            raise self._transport_failure(call, state, exc) from exc
        except httpx.DecodingError as exc:  # a broken content-encoding: as good as truncated
            raise self._bad_body(call, state, type(exc).__name__) from exc
        return self._classify(call, state, response)

    def _pace(self, call: _Call, state: CallState) -> None:
        pacers = self._pacers(call)
        paused = max((p.pause_remaining() for p in pacers), default=0.0)
        if paused > state.budget_left:
            raise RateLimitExhausted(
                self.instance,
                f"{call.label} not sent: rate limited for another {paused:.0f} s",
                retry_after=paused,
            )
        waited = sum(p.acquire() for p in pacers)
        if waited:
            with self._lock:
                extra = self.stats.extra
                extra["pacing_wait_seconds"] = extra.get("pacing_wait_seconds", 0.0) + waited

    def _pacers(self, call: _Call) -> list[TokenBucket]:
        pacers = [self.write_pacer] if call.write else []
        pacers.append(self.read_pacer)
        return [p for p in pacers if p is not None]

    def _transport_failure(
        self, call: _Call, state: CallState, exc: httpx.TransportError
    ) -> Exception:
        what = type(exc).__name__
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.ProxyError):
            return RequestFailed(self.instance, f"{call.label} cannot be sent ({what})")
        if not call.idempotent and not isinstance(exc, _NEVER_SENT):
            return UncertainWrite(
                self.instance,
                f"{call.label} may or may not have been applied ({what}); "
                "check before repeating it",
            )
        if isinstance(exc, httpx.ConnectError):
            return RetryableError("unreachable", _connect_cause(exc), self.policy.unreachable_delay)
        return RetryableError("unavailable", what, state.backoff())

    def _classify(self, call: _Call, state: CallState, response: httpx.Response) -> httpx.Response:
        status = response.status_code
        limit = self._rate_limit(response, state)
        if limit is not None:
            delay, advised = limit
            raise RetryableError("rate_limit", f"HTTP {status}", delay, retry_after=advised)
        if status in (401, 403):
            raise self._auth_error(call, response)
        if status >= 500 or status in _NOT_PROCESSED_STATUSES:
            if not call.idempotent and status >= 500:
                raise UncertainWrite(
                    self.instance,
                    f"{call.label} failed with HTTP {status} and may or may not have been "
                    "applied; check before repeating it",
                    status=status,
                )
            advised = parse.retry_after(response.headers, self._clock())
            delay = advised if advised is not None else state.backoff()
            raise RetryableError("unavailable", f"HTTP {status}", delay, retry_after=advised)
        if status >= 400:
            raise self._request_failed(call, response)
        if call.expect_json and not parse.is_json(response):
            raise self._bad_body(call, state, "invalid or truncated JSON")
        self._note_spent_budget(call, response)
        return response

    def _note_spent_budget(self, call: _Call, response: httpx.Response) -> None:
        """The tool says the budget is spent: hold the pacers until it refills."""
        wait = parse.exhausted_wait(response.headers, self._clock())
        if wait:
            log.info("%s: rate-limit budget spent; pausing %.0f s", self.instance, wait)
            for pacer in self._pacers(call):
                pacer.pause_for(wait)

    def _bad_body(self, call: _Call, state: CallState, what: str) -> Exception:
        if call.idempotent:
            return RetryableError("bad_response", what, state.backoff())
        return BadResponse(self.instance, f"{call.label} answered with {what}")

    # -- classification -----------------------------------------------------------------------
    def _rate_limit(
        self, response: httpx.Response, state: CallState
    ) -> tuple[float, float | None] | None:
        """(delay, the tool's advice) when `response` is a rate limit, else None."""
        status = response.status_code
        advised = parse.advised_wait(response.headers, self._clock(), status)
        limited = status == 429 or (
            status == 403 and (advised is not None or parse.mentions_rate_limit(response))
        )
        if not limited and self._retry_hint is not None and status < 500:
            advised = self._hint(response)
            limited = advised is not None
        if not limited:
            return None
        return state.rate_limit_delay(advised), advised

    def _hint(self, response: httpx.Response) -> float | None:
        assert self._retry_hint is not None
        try:
            return self._retry_hint(response)
        except ValueError:  # the hook could not read this body (not JSON): not its kind of limit
            return None

    def _auth_error(self, call: _Call, response: httpx.Response) -> AuthError:
        hint = self._credential_hint or "the connector's credentials"
        detail = self._detail(response)
        if response.status_code == 401:
            what = (
                f"{self._origin} rejected the credentials (HTTP 401) for {call.label}; check {hint}"
            )
        else:
            what = (
                f"{self._origin} refused {call.label} (HTTP 403); check that {hint} is valid "
                "and has the permissions/scopes the connector needs"
            )
        return AuthError(self.instance, f"{what}: {detail}" if detail else what)

    def _request_failed(self, call: _Call, response: httpx.Response) -> RequestFailed:
        status = response.status_code
        detail = self._detail(response)
        message = f"{call.label} failed with HTTP {status}" + (f": {detail}" if detail else "")
        if status == 404 and self._api_path_in_base_url(call):
            message += (
                f"; base_url {str(self.base_url).rstrip('/')} seems to include the API path: "
                "write only the "
                f"site's address, e.g. {self._origin}"
            )
        cls = NotFound if status == 404 else RequestFailed
        return cls(self.instance, message, status=status, detail=detail)

    @property
    def _origin(self) -> str:
        url = self.base_url
        return f"{url.scheme}://{url.netloc.decode('ascii')}"

    def _api_path_in_base_url(self, call: _Call) -> bool:
        """`base_url` = https://x/rest/api/3 and the connector asked for rest/api/3/field."""
        base = self.base_url.path.strip("/").split("/")
        asked = call.path.strip("/").split("/")
        head = base[0] if base and base[0] else None
        return head is not None and asked[: 2 * len(base)] == base + base

    def _detail(self, response: httpx.Response) -> str:
        return self._redactor.mask(parse.error_detail(response))

    # -- retry bookkeeping --------------------------------------------------------------------
    def _should_stop(self, rs: RetryCallState, state: CallState) -> bool:
        return state.should_stop(rs.attempt_number, _retry_of(rs))

    def _before_sleep(self, rs: RetryCallState, call: _Call, state: CallState) -> None:
        failure = _retry_of(rs)
        state.record_wait(failure)
        with self._lock:
            self.stats.retries += 1
            if failure.is_rate_limit:
                self.stats.rate_limit_waits += 1
                self.stats.rate_limit_wait_seconds += failure.delay
        if failure.is_rate_limit:
            for pacer in self._pacers(call):
                pacer.pause_for(failure.delay)
        log.warning(
            "%s: %s answered %s; retrying in %.1f s (attempt %d of %d)",
            self.instance,
            call.label,
            failure.what,
            failure.delay,
            rs.attempt_number + 1,
            self.policy.unreachable_retries + 1
            if failure.kind == "unreachable"
            else self.policy.max_attempts,
        )

    def _give_up(self, call: _Call, state: CallState, failure: RetryableError) -> ConnectorError:
        tries = f"after {state.attempts} attempts and {state.waited:.0f} s of waiting"
        if failure.is_rate_limit:
            return RateLimitExhausted(
                self.instance,
                f"{call.label} still rate limited ({failure.what}) {tries}",
                retry_after=failure.retry_after,
            )
        if failure.kind == "bad_response":
            return BadResponse(self.instance, f"{call.label} answered with {failure.what} {tries}")
        if failure.kind == "unreachable":
            return ToolUnavailable(
                self.instance,
                f"cannot connect to {self._origin} ({failure.what}); check base_url in "
                f"[connectors.{self.instance}] and that the server is up",
            )
        return ToolUnavailable(
            self.instance, f"{call.label} at {self._origin} failed ({failure.what}) {tries}"
        )

    # -- building a call ----------------------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        content: bytes | str | None,
        data: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        write: bool | None,
        idempotent: bool | None,
    ) -> _Call:
        method = method.upper()
        url = self._url(path)
        kwargs: dict[str, Any] = {
            "params": {**self._params, **(params or {})} or None,
            "headers": {**self._headers, **(headers or {})},
        }
        if json is not None:
            kwargs["json"] = json
        if content is not None:
            kwargs["content"] = content
        if data is not None:
            kwargs["data"] = data
        if self._auth is not None:
            kwargs["auth"] = self._auth
        if write is None:
            write = method not in _READ_METHODS
        if idempotent is None:  # a read is safe to repeat whatever its method (GraphQL POST)
            idempotent = method in _IDEMPOTENT_METHODS or not write
        return _Call(method, url.path, str(url), kwargs, write, idempotent, expect_json=False)

    def _url(self, path: str) -> httpx.URL:
        url = httpx.URL(path)
        if url.is_absolute_url:
            # Credentials go only to the configured origin: never follow a URL elsewhere.
            base = self.base_url
            if (url.scheme, url.host, url.port) != (base.scheme, base.host, base.port):
                raise RequestFailed(
                    self.instance, f"refusing to send credentials to {url.scheme}://{url.host}"
                )
            return url
        return self.base_url.join(path.lstrip("/"))


def _connect_cause(exc: httpx.ConnectError) -> str:
    """Connection refused, or a host name that does not resolve, in words."""
    text = str(exc)
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused"
    if any(w in lowered for w in ("name or service", "nodename", "name resolution", "getaddrinfo")):
        return "host name not found"
    return text or type(exc).__name__


def _retry_of(rs: RetryCallState) -> RetryableError:
    assert rs.outcome is not None
    failure = rs.outcome.exception()
    assert isinstance(failure, RetryableError)
    return failure
