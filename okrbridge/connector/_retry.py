"""Retry bookkeeping for the transport: the policy, per-call state and how long to wait."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import httpx

__all__ = ["CallState", "RetryHint", "RetryPolicy", "RetryableError"]

RetryHint = Callable[[httpx.Response], float | None]
"""Connector hook: seconds to wait when this response is a rate limit the generic rules miss
(GitHub GraphQL answers 200 with `errors[].type == "RATE_LIMITED"`); None = not a limit."""


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one call tries before giving up."""

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    max_total_wait: float = 300.0
    jitter: tuple[float, float] = (0.7, 1.3)
    default_rate_limit_wait: float = 60.0
    """Wait after a rate limit that names no time (Trello: 10.0, its window)."""
    unreachable_retries: int = 1
    """Retries when the host refuses the connection or its name does not resolve: these rarely
    heal within seconds and usually mean a wrong `base_url`, so the run fails fast."""
    unreachable_delay: float = 1.0

    def jitter_factor(self, *, at_least_one: bool = False) -> float:
        """A random factor from `jitter`; never below 1 when the tool named the wait."""
        low, high = self.jitter
        if at_least_one:
            low, high = max(1.0, low), max(1.0, high)
        return random.uniform(low, high)


class RetryableError(Exception):
    """Internal: an attempt failed in a way worth repeating after `delay` seconds."""

    def __init__(
        self, kind: str, what: str, delay: float, *, retry_after: float | None = None
    ) -> None:
        super().__init__(kind, what)
        self.kind = kind
        """"rate_limit" | "unavailable" | "unreachable" | "bad_response"."""
        self.what = what
        self.delay = delay
        self.retry_after = retry_after

    @property
    def is_rate_limit(self) -> bool:
        return self.kind == "rate_limit"


@dataclass
class CallState:
    """What one logical call has been through so far."""

    policy: RetryPolicy
    waited: float = 0.0
    rate_limit_waits: int = 0
    transient_waits: int = 0
    unreachable_waits: int = 0

    @property
    def attempts(self) -> int:
        return self.rate_limit_waits + self.transient_waits + self.unreachable_waits + 1

    @property
    def budget_left(self) -> float:
        return self.policy.max_total_wait - self.waited

    def backoff(self) -> float:
        """Exponential backoff for outages: base * 2^n, capped, with jitter."""
        delay = self.policy.base_delay * 2.0**self.transient_waits
        return min(self.policy.max_delay, delay) * self.policy.jitter_factor()

    def rate_limit_delay(self, advised: float | None) -> float:
        """The tool's advice (never shortened by jitter), else the default growing per repeat."""
        if advised is not None:
            return advised * self.policy.jitter_factor(at_least_one=True)
        cap = max(self.policy.max_delay, self.policy.default_rate_limit_wait)
        delay = min(cap, self.policy.default_rate_limit_wait * 2.0**self.rate_limit_waits)
        return delay * self.policy.jitter_factor(at_least_one=True)

    def should_stop(self, attempt_number: int, failure: RetryableError) -> bool:
        """Out of attempts, or the next wait would pass the total bound."""
        if (
            failure.kind == "unreachable"
            and self.unreachable_waits >= self.policy.unreachable_retries
        ):
            return True
        return attempt_number >= self.policy.max_attempts or failure.delay > self.budget_left

    def record_wait(self, failure: RetryableError) -> None:
        self.waited += failure.delay
        if failure.is_rate_limit:
            self.rate_limit_waits += 1
        elif failure.kind == "unreachable":
            self.unreachable_waits += 1
        else:
            self.transient_waits += 1
