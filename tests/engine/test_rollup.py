"""Objective status and progress from its key results."""

from __future__ import annotations

from datetime import date

import pytest

from okrbridge.domain import KeyResultResult, KRStatus, Objective, ObjectiveRollup
from okrbridge.engine import assess_objective
from tests.engine.builders import at, key_result, objective

MID_Q1 = at(date(2025, 2, 15))


def kr_result(
    kr_id: str, status: KRStatus, progress: float, expected: float = 0.5
) -> KeyResultResult:
    return KeyResultResult(
        id=kr_id,
        objective_id="o1",
        title=kr_id.upper(),
        value=progress * 100,
        start=0,
        target=100,
        progress=progress,
        expected_progress=expected,
        status=status,
        reason="",
    )


def goal(*weights: float, rollup: ObjectiveRollup = ObjectiveRollup.WORST) -> Objective:
    krs = [key_result(id=f"kr{n}", weight=w) for n, w in enumerate(weights)]
    return objective(*krs, rollup=rollup)


def test_worst_key_result_sets_the_status() -> None:
    results = [
        kr_result("kr0", KRStatus.ON_TRACK, 0.6),
        kr_result("kr1", KRStatus.OFF_TRACK, 0.1),
        kr_result("kr2", KRStatus.ACHIEVED, 1.0),
    ]
    result = assess_objective(goal(1, 1, 2), results, now=MID_Q1, tolerance=0.1)
    assert result.status is KRStatus.OFF_TRACK
    assert result.progress == pytest.approx((0.6 + 0.1 + 2 * 1.0) / 4)
    assert result.reason == (
        "1 achieved, 1 on track, 1 off track of 3 key results, worst: KR1 -> off track"
    )


def test_all_not_started_is_not_started_and_all_achieved_is_achieved() -> None:
    idle = [kr_result(f"kr{n}", KRStatus.NOT_STARTED, 0.0) for n in range(2)]
    assert assess_objective(goal(1, 1), idle, now=MID_Q1, tolerance=0.1).status is (
        KRStatus.NOT_STARTED
    )
    done = [kr_result(f"kr{n}", KRStatus.ACHIEVED, 1.0) for n in range(2)]
    result = assess_objective(goal(1, 1), done, now=MID_Q1, tolerance=0.1)
    assert result.status is KRStatus.ACHIEVED
    assert result.reason == "2 achieved of 2 key results -> achieved"


def test_achieved_and_not_started_together_are_on_track() -> None:
    mixed = [kr_result("kr0", KRStatus.ACHIEVED, 1.0), kr_result("kr1", KRStatus.NOT_STARTED, 0)]
    result = assess_objective(goal(1, 1), mixed, now=MID_Q1, tolerance=0.1)
    assert result.status is KRStatus.ON_TRACK


def test_before_the_start_the_objective_is_not_started() -> None:
    results = [kr_result("kr0", KRStatus.NOT_STARTED, 0.0)]
    result = assess_objective(goal(1), results, now=at(date(2024, 12, 1)), tolerance=0.1)
    assert result.status is KRStatus.NOT_STARTED
    assert result.reason == "the quarter starts on 2025-01-01 -> not started"


def test_weighted_rollup_compares_mean_progress_with_mean_pace() -> None:
    results = [
        kr_result("kr0", KRStatus.OFF_TRACK, 0.1),  # badly behind, weight 1
        kr_result("kr1", KRStatus.ON_TRACK, 0.6),  # ahead, weight 3
    ]
    objective_ = goal(1, 3, rollup=ObjectiveRollup.WEIGHTED)
    result = assess_objective(objective_, results, now=MID_Q1, tolerance=0.1)
    # (0.1 + 3 * 0.6) / 4 = 0.475 against 0.5 expected: within tolerance
    assert result.status is KRStatus.ON_TRACK
    assert result.progress == pytest.approx(0.475)
    assert result.reason.startswith("weighted progress 48% against 50% expected, tolerance 10%")


def test_weighted_rollup_leaves_not_started_key_results_out() -> None:
    results = [
        kr_result("kr0", KRStatus.NOT_STARTED, 0.0),
        kr_result("kr1", KRStatus.ON_TRACK, 0.5),
    ]
    objective_ = goal(1, 1, rollup=ObjectiveRollup.WEIGHTED)
    result = assess_objective(objective_, results, now=MID_Q1, tolerance=0.1)
    assert result.status is KRStatus.ON_TRACK
    assert result.progress == pytest.approx(0.25)  # progress still averages over every KR
