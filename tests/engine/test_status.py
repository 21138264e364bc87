"""Key-result status: edges (not started, achieved), pace, direction, confidence override."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from okrbridge.domain import CheckIn, Checkpoint, KeyResult, KeyResultResult, KRStatus, Metric
from okrbridge.engine import Assessment, assess_key_result, measure_manual
from okrbridge.engine.measures import Measure
from tests.engine.builders import at, key_result, objective

MID_Q1 = at(date(2025, 2, 15))  # exactly half of Q1 elapsed


def assess(
    kr: KeyResult, value: float | None, when: datetime = MID_Q1, **context: Any
) -> KeyResultResult:
    measure = Measure(value=value, text="value" if value is not None else "no check-in yet")
    return assess_key_result(
        kr, objective(kr), measure, Assessment(now=when, tolerance=0.1, **context)
    )


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (50, KRStatus.ON_TRACK),
        (40, KRStatus.ON_TRACK),
        (35, KRStatus.NEEDS_ATTENTION),
        (30, KRStatus.NEEDS_ATTENTION),
        (29, KRStatus.OFF_TRACK),
        (0, KRStatus.OFF_TRACK),
        (99.9, KRStatus.ON_TRACK),
        (100, KRStatus.ACHIEVED),
        (140, KRStatus.ACHIEVED),
    ],
)
def test_status_against_linear_pace_half_way(value: float, status: KRStatus) -> None:
    result = assess(key_result(), value)
    assert result.status is status
    assert result.expected_progress == pytest.approx(0.5)


def test_before_the_objective_starts_it_is_not_started() -> None:
    result = assess(key_result(), 0, when=at(date(2024, 12, 31), 23))
    assert result.status is KRStatus.NOT_STARTED
    assert result.reason == "value, the quarter starts on 2025-01-01 -> not started"


def test_at_the_very_start_nothing_is_expected_yet() -> None:
    result = assess(key_result(), 0, when=at(date(2025, 1, 1)))
    assert result.status is KRStatus.ON_TRACK
    assert result.expected_progress == 0.0


def test_without_a_value_it_is_not_started() -> None:
    result = assess(key_result(), None)
    assert result.status is KRStatus.NOT_STARTED
    assert result.value is None
    assert result.progress == 0.0
    assert result.reason == "no check-in yet -> not started"
    assert result.forecast is None


def test_after_the_end_the_whole_way_is_expected() -> None:
    after = at(date(2025, 4, 2))
    assert assess(key_result(), 75, when=after).status is KRStatus.OFF_TRACK
    result = assess(key_result(), 85, when=after)
    assert result.status is KRStatus.NEEDS_ATTENTION
    assert result.expected_progress == 1.0
    assert "the quarter ended on 2025-03-31" in result.reason


def test_decrease_mirrors_increase() -> None:
    churn = key_result(start=5, target=3, metric=Metric.PERCENT)
    assert assess(churn, 4).status is KRStatus.ON_TRACK  # half-way at half time
    assert assess(churn, 4.4).status is KRStatus.NEEDS_ATTENTION  # 30% of the way
    assert assess(churn, 5.5).status is KRStatus.OFF_TRACK  # worse than the start
    assert assess(churn, 3).status is KRStatus.ACHIEVED
    assert assess(churn, 2.5).status is KRStatus.ACHIEVED


def test_key_result_tolerance_overrides_the_global_default() -> None:
    assert assess(key_result(tolerance=0.25), 30).status is KRStatus.ON_TRACK
    assert assess(key_result(tolerance=0.01), 48.5).status is KRStatus.NEEDS_ATTENTION
    assert assess(key_result(tolerance=0.0), 49.9).status is KRStatus.OFF_TRACK


def test_plan_sets_the_pace() -> None:
    # Back-loaded: only 10 expected by mid-quarter, so 12 is on track (linear would say off).
    kr = key_result(plan=[Checkpoint(date=date(2025, 2, 14), value=10)])
    result = assess(kr, 12)
    assert result.status is KRStatus.ON_TRACK
    assert result.expected_progress == pytest.approx(0.1)
    assert "plan expects 10 by now (10% of the way)" in result.reason


def checkin(value: float, day: int, confidence: KRStatus | None = None) -> CheckIn:
    return CheckIn(
        key_result_id="kr1", value=value, at=at(date(2025, 2, day)), confidence=confidence
    )


def test_confidence_overrides_the_computed_status() -> None:
    kr = key_result()
    latest = checkin(50, 10, KRStatus.OFF_TRACK)
    result = assess(kr, 50, latest_checkin=latest)
    assert result.status is KRStatus.OFF_TRACK
    assert result.reason.endswith(
        "-> on track by pace, but the check-in of 2025-02-10 says off track"
    )


def test_confidence_override_can_be_switched_off() -> None:
    latest = checkin(50, 10, KRStatus.OFF_TRACK)
    result = assess(key_result(), 50, latest_checkin=latest, confidence_overrides=False)
    assert result.status is KRStatus.ON_TRACK


def test_confidence_does_not_override_a_reached_target() -> None:
    result = assess(key_result(), 100, latest_checkin=checkin(100, 10, KRStatus.OFF_TRACK))
    assert result.status is KRStatus.ACHIEVED


def test_manual_value_comes_from_the_latest_checkin() -> None:
    kr = key_result(metric=Metric.PERCENT, start=5, target=3)
    measure = measure_manual(kr, checkin(4.2, 3))
    assert measure.value == 4.2
    assert measure.text == "4.2% at the check-in of 2025-02-03"
    assert measure_manual(kr, None).value is None
