"""Fault plans: which requests fail, and how, reproducibly.

A plan is immutable configuration; `FaultDecider` holds the per-installation state (seeded
random generator, count of matching requests, faults injected so far), so that re-assigning a
plan restarts its sequence and a test run can be replayed exactly.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["FaultDecider", "FaultKind", "FaultPlan"]


class FaultKind(StrEnum):
    """What a faulty request looks like to the client."""

    RATE_LIMITED = "429"
    """429 with `Retry-After` (unless the plan's `retry_after` is None)."""
    SERVER_ERROR = "500"
    BAD_GATEWAY = "502"
    UNAVAILABLE = "503"
    TIMEOUT = "timeout"
    """No answer for `timeout_seconds`, then 504; with `timeout_seconds=None`, no answer until
    the client gives up and disconnects."""
    TRUNCATED_JSON = "truncated_json"
    """200 whose JSON body is cut off mid-document."""
    CONNECTION_RESET = "connection_reset"
    """The connection is reset without any response."""
    LOST_RESPONSE = "lost_response"
    """The app PROCESSES the request, then the connection is reset: an uncertain write."""
    AFTER_PROCESSING_TIMEOUT = "after_processing_timeout"
    """The app PROCESSES the request, then no answer as for TIMEOUT: an uncertain write."""

    @property
    def processes_request(self) -> bool:
        """Whether the wrapped app still handles the request (all others never reach it)."""
        return self in (FaultKind.LOST_RESPONSE, FaultKind.AFTER_PROCESSING_TIMEOUT)


def _kinds(value: FaultKind | str | int | Iterable[FaultKind | str | int]) -> tuple[FaultKind, ...]:
    items = [value] if isinstance(value, FaultKind | str | int) else list(value)
    kinds = tuple(FaultKind(str(item)) for item in items)
    if not kinds:
        raise ValueError("a fault plan needs at least one kind")
    return kinds


@dataclass(frozen=True, init=False)
class FaultPlan:
    """Which requests fail and how.

    A request *matches* when its method is in `methods` (any if None) and its path starts with
    one of `path_prefixes` (any if empty). Matching requests are numbered from 1 since the plan
    was installed; number n fails if n is in `on_requests`, or else with probability `rate`
    (drawn from `random.Random(seed)`). At most `limit` faults are injected (None: no limit).
    With several kinds, each fault picks one with the same generator.
    """

    kinds: tuple[FaultKind, ...]
    rate: float = 0.0
    on_requests: frozenset[int] = field(default_factory=frozenset)
    methods: frozenset[str] | None = None
    path_prefixes: tuple[str, ...] = ()
    seed: int = 0
    limit: int | None = None
    retry_after: int | None = 1
    """Seconds in the `Retry-After` header of a 429; None sends no header."""
    timeout_seconds: float | None = 10.0
    """How long TIMEOUT kinds stay silent before a 504; None: until the client disconnects."""

    def __init__(
        self,
        kind: FaultKind | str | int | Iterable[FaultKind | str | int],
        *,
        rate: float = 0.0,
        on_requests: Iterable[int] = (),
        methods: Iterable[str] | None = None,
        path_prefixes: Iterable[str] = (),
        seed: int = 0,
        limit: int | None = None,
        retry_after: int | None = 1,
        timeout_seconds: float | None = 10.0,
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be within [0, 1], got {rate}")
        if timeout_seconds is not None and timeout_seconds < 0:
            raise ValueError("timeout_seconds must not be negative")
        values = {
            "kinds": _kinds(kind),
            "rate": rate,
            "on_requests": frozenset(on_requests),
            "methods": None if methods is None else frozenset(m.upper() for m in methods),
            "path_prefixes": tuple(path_prefixes),
            "seed": seed,
            "limit": limit,
            "retry_after": retry_after,
            "timeout_seconds": timeout_seconds,
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def matches(self, method: str, path: str) -> bool:
        """Whether a request is subject to this plan at all."""
        if self.methods is not None and method.upper() not in self.methods:
            return False
        return not self.path_prefixes or path.startswith(self.path_prefixes)


class FaultDecider:
    """The running state of one installed plan; thread-safe."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._rng = random.Random(plan.seed)
        self._lock = threading.Lock()
        self._matched = 0
        self._injected = 0

    @property
    def injected(self) -> int:
        """How many faults this plan has injected so far."""
        return self._injected

    def decide(self, method: str, path: str) -> FaultKind | None:
        """The fault for this request, or None to serve it normally."""
        plan = self.plan
        if not plan.matches(method, path):
            return None
        with self._lock:
            self._matched += 1
            if plan.limit is not None and self._injected >= plan.limit:
                return None
            # Draw for every matching request, so one plan's sequence does not depend on
            # whether `on_requests` fired first.
            draw = self._rng.random()
            if self._matched not in plan.on_requests and draw >= plan.rate:
                return None
            self._injected += 1
            if len(plan.kinds) == 1:
                return plan.kinds[0]
            return plan.kinds[self._rng.randrange(len(plan.kinds))]
