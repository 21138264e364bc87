"""Client-side pacing: a thread-safe token bucket shared by everything one instance sends.

Tools count requests per credential, not per board or repo, so one bucket per connector
instance (per credential) paces all of its boards/repos together. After a 429 the transport
calls `pause_until`, and every thread sharing the bucket waits for the same deadline instead of
hammering the tool (Trello answers 429 to *everything* after 200 refusals in its window).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["TokenBucket"]

_EPSILON = 1e-9
_MIN_DELAY = 1e-3


class TokenBucket:
    """`rate` tokens per second, holding at most `capacity` (the permitted burst).

    The bucket starts full. `clock` must be monotonic; `sleep` is injected for tests.
    """

    def __init__(
        self,
        rate: float,
        capacity: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError("rate and capacity must be positive")
        self.rate = float(rate)
        self.capacity = float(capacity)
        self.clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self.capacity
        self._updated = clock()
        self._paused_until = float("-inf")

    @classmethod
    def per_window(
        cls,
        requests: int,
        window_seconds: float,
        *,
        headroom: float = 0.9,
        capacity: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> TokenBucket:
        """A bucket for a "`requests` per `window_seconds`" limit, kept under it by `headroom`.

        Trello's 100 per 10 s gives 9 tokens/s. The default burst is the remaining
        `requests * (1 - headroom)` (at least 1), so that no window of the tool's length
        ever sees more than `requests`: burst + rate * window <= requests.
        """
        if not 0 < headroom <= 1:
            raise ValueError("headroom must be in (0, 1]")
        rate = requests * headroom / window_seconds
        burst = capacity if capacity is not None else max(1.0, requests * (1 - headroom))
        return cls(rate, burst, clock=clock, sleep=sleep)

    def acquire(self, tokens: float = 1.0) -> float:
        """Take `tokens`, blocking until they are available and no pause is active.

        Returns the seconds spent waiting (0.0 when served at once).
        """
        if tokens > self.capacity:
            raise ValueError(f"cannot acquire {tokens} tokens from a bucket of {self.capacity}")
        waited = 0.0
        while True:
            with self._lock:
                delay = self._take_or_delay(tokens)
            if delay <= 0:
                return waited
            self._sleep(delay)
            waited += delay

    def pause_until(self, monotonic_deadline: float) -> None:
        """Nobody acquires before `monotonic_deadline` (on this bucket's clock); pauses only grow.

        The bucket is emptied and refills only from the deadline on, so the tool does not see
        a full burst the instant the pause ends.
        """
        with self._lock:
            if monotonic_deadline <= self._paused_until:
                return
            self._paused_until = monotonic_deadline
            self._tokens = 0.0
            self._updated = max(self._updated, monotonic_deadline)

    def pause_for(self, seconds: float) -> None:
        """`pause_until(now + seconds)`: convenient for callers that hold no clock of their own."""
        self.pause_until(self.clock() + seconds)

    def pause_remaining(self) -> float:
        """Seconds until an active pause ends (0.0 when not paused)."""
        with self._lock:
            return max(0.0, self._paused_until - self.clock())

    def _take_or_delay(self, tokens: float) -> float:
        """Under the lock: take the tokens and return 0, or return how long to wait."""
        now = self.clock()
        if now > self._updated:  # `_updated` lies in the future while a pause is active
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
        if now < self._paused_until:
            return self._paused_until - now
        if self._tokens >= tokens - _EPSILON:  # float refills land a hair short of whole
            self._tokens = max(0.0, self._tokens - tokens)
            return 0.0
        # a floor keeps every sleep long enough to move even a coarse (fake) clock forward
        return max(_MIN_DELAY, (tokens - self._tokens) / self.rate)
