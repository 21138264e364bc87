"""Trello's request limits as the simulator enforces them: sliding 10 s windows per token
(100) and per key (300); past a limit, 429 with `{"error": "API_TOKEN_LIMIT_EXCEEDED"}` and the
`x-rate-limit-api-{token,key}-*` headers, but no `Retry-After`. After more than 200 refusals in
a window every request of the key is refused until the window passes."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Limits", "RateLimiter"]


@dataclass
class Limits:
    enabled: bool = True
    token_max: int = 100
    key_max: int = 300
    window_seconds: float = 10.0
    lockout_after: int = 200


@dataclass
class _Window:
    hits: deque[float] = field(default_factory=deque)

    def count(self, now: float, window: float) -> int:
        while self.hits and self.hits[0] <= now - window:
            self.hits.popleft()
        return len(self.hits)


class RateLimiter:
    """Counts requests per token and per key; `refused` counts the 429s it answered."""

    def __init__(self, limits: Limits | None = None, clock: Callable[[], float] = time.monotonic):
        self.limits = limits or Limits()
        self.clock = clock
        self.refused = 0
        self._lock = threading.Lock()
        self._tokens: dict[str, _Window] = {}
        self._keys: dict[str, _Window] = {}
        self._refusals: dict[str, _Window] = {}

    def check(self, key: str, token: str) -> tuple[str | None, dict[str, str]]:
        """(error code or None, headers) for one request; an allowed request is counted."""
        lim = self.limits
        with self._lock:
            now = self.clock()
            token_w = self._tokens.setdefault(token, _Window())
            key_w = self._keys.setdefault(key, _Window())
            refusals = self._refusals.setdefault(key, _Window())
            used_token = token_w.count(now, lim.window_seconds)
            used_key = key_w.count(now, lim.window_seconds)
            error = None
            if lim.enabled:
                if refusals.count(now, lim.window_seconds) > lim.lockout_after:
                    error = "API_KEY_LIMIT_EXCEEDED"
                elif used_token >= lim.token_max:
                    error = "API_TOKEN_LIMIT_EXCEEDED"
                elif used_key >= lim.key_max:
                    error = "API_KEY_LIMIT_EXCEEDED"
            if error:
                self.refused += 1
                refusals.hits.append(now)
            else:
                token_w.hits.append(now)
                key_w.hits.append(now)
                used_token += 1
                used_key += 1
            return error, self._headers(used_token, used_key)

    def _headers(self, used_token: int, used_key: int) -> dict[str, str]:
        lim = self.limits
        interval = str(int(lim.window_seconds * 1000))
        return {
            "x-rate-limit-api-token-interval-ms": interval,
            "x-rate-limit-api-token-max": str(lim.token_max),
            "x-rate-limit-api-token-remaining": str(max(0, lim.token_max - used_token)),
            "x-rate-limit-api-key-interval-ms": interval,
            "x-rate-limit-api-key-max": str(lim.key_max),
            "x-rate-limit-api-key-remaining": str(max(0, lim.key_max - used_key)),
        }
