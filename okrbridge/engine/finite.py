"""Defence in depth against non-finite numbers (nan, inf) reaching the engine's arithmetic.

The config loader and `checkin` already refuse them; definitions built in code, rows stored
by an older version (which accepted `checkin kr inf`) and values from a tool can still carry
them. Here they are made harmless before evaluation, by one rule each:

- a key result's `weight`, an initiative link's `weight`: 1.0 (the default);
- a key result's `tolerance`: unset (the global default applies); a global tolerance: 0.1;
- a plan checkpoint with a non-finite value: left out of the plan;
- an initiative's `default_estimate` and status weights: their defaults;
- a check-in with a non-finite value: ignored, as if it had not been made;
- a task's non-finite estimate: counted as missing;
- a key result whose `start` or `target` is not finite (or that has them equal, which only
  code that skips validation can build) cannot be measured: it stays
  `not_started` with a reason that says so (see `status.assess_key_result`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from okrbridge.domain import CheckIn, Initiative, KeyResult, Objective

__all__ = [
    "DEFAULT_TOLERANCE",
    "finite_checkins",
    "finite_initiatives",
    "finite_objectives",
    "finite_or",
    "measurable",
]

DEFAULT_TOLERANCE = 0.1


def finite_or(value: float, default: float) -> float:
    """`value` when it is a finite number, else `default`."""
    return value if isinstance(value, int | float) and math.isfinite(value) else default


def measurable(key_result: KeyResult) -> bool:
    """True when start and target are finite and differ (so progress can be computed)."""
    start, target = key_result.start, key_result.target
    return math.isfinite(start) and math.isfinite(target) and start != target


def _key_result(kr: KeyResult) -> KeyResult:
    plan = [point for point in kr.plan if math.isfinite(point.value)]
    tolerance = kr.tolerance
    if tolerance is not None and not (math.isfinite(tolerance) and 0 <= tolerance <= 1):
        tolerance = None
    weight = kr.weight if math.isfinite(kr.weight) and kr.weight > 0 else 1.0
    if plan == kr.plan and tolerance == kr.tolerance and weight == kr.weight:
        return kr
    return kr.model_copy(update={"plan": plan, "tolerance": tolerance, "weight": weight})


def finite_objectives(objectives: Sequence[Objective]) -> list[Objective]:
    """The objectives with their key results' non-finite settings replaced (module docs)."""
    result = []
    for objective in objectives:
        krs = [_key_result(kr) for kr in objective.key_results]
        same = all(a is b for a, b in zip(krs, objective.key_results, strict=True))
        result.append(objective if same else objective.model_copy(update={"key_results": krs}))
    return result


def finite_initiatives(initiatives: Sequence[Initiative]) -> list[Initiative]:
    """The initiatives with non-finite weights and estimates replaced (module docs)."""
    defaults = Initiative.model_fields
    result = []
    for initiative in initiatives:
        links = [
            link
            if math.isfinite(link.weight) and link.weight > 0
            else link.model_copy(update={"weight": 1.0})
            for link in initiative.key_results
        ]
        weights = {
            category: weight
            for category, weight in initiative.weights.items()
            if math.isfinite(weight)
        }
        estimate = initiative.default_estimate
        if not (math.isfinite(estimate) and estimate >= 0):
            estimate = float(defaults["default_estimate"].default)
        update = {"key_results": links, "weights": weights, "default_estimate": estimate}
        changed = (
            links != initiative.key_results
            or weights != initiative.weights
            or estimate != initiative.default_estimate
        )
        result.append(initiative.model_copy(update=update) if changed else initiative)
    return result


def finite_checkins(checkins: Iterable[CheckIn]) -> list[CheckIn]:
    """The check-ins whose value is a finite number."""
    return [checkin for checkin in checkins if math.isfinite(checkin.value)]
