"""Expected progress (linear or planned), progress of a value, and status from lag."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from okrbridge.domain import Checkpoint, KRStatus
from okrbridge.engine import elapsed_share, expected_pace, progress_of, reached, status_from_lag
from tests.engine.builders import Q1_END, Q1_START, at, key_result, objective, share_of_q1


def test_elapsed_share_runs_from_the_start_day_to_the_end_of_the_end_day() -> None:
    goal = objective()
    assert elapsed_share(goal, at(Q1_START)) == 0.0
    assert elapsed_share(goal, at(date(2024, 12, 1))) == 0.0
    assert elapsed_share(goal, at(date(2025, 2, 15))) == pytest.approx(45 / 90)
    assert elapsed_share(goal, at(Q1_END, 12)) == pytest.approx(89.5 / 90)
    assert elapsed_share(goal, at(date(2025, 4, 1))) == 1.0


def test_a_naive_now_is_taken_as_utc() -> None:
    goal = objective()
    assert elapsed_share(goal, datetime(2025, 2, 15)) == elapsed_share(goal, at(date(2025, 2, 15)))


def test_plan_checkpoints_are_interpolated_linearly() -> None:
    # Back-loaded plan: 10 by the end of Feb 14 (45 days in), then the rest.
    kr = key_result(start=0, target=100, plan=[Checkpoint(date=date(2025, 2, 14), value=10)])
    goal = objective(kr)
    half_way_to_checkpoint = at(date(2025, 1, 23), 12)  # 22.5 of 45 days
    pace = expected_pace(kr, goal, half_way_to_checkpoint)
    assert pace.planned_value == pytest.approx(5)
    assert pace.expected == pytest.approx(0.05)
    assert pace.elapsed == pytest.approx(share_of_q1(half_way_to_checkpoint))
    assert expected_pace(kr, goal, at(date(2025, 2, 15))).expected == pytest.approx(0.10)
    # Half-way from the checkpoint (day 45) to the end (day 90).
    assert expected_pace(kr, goal, at(date(2025, 3, 9), 12)).expected == pytest.approx(0.55)


def test_plan_for_a_decreasing_key_result() -> None:
    kr = key_result(start=5, target=3, plan=[Checkpoint(date=date(2025, 1, 30), value=4.8)])
    pace = expected_pace(kr, objective(kr), at(date(2025, 1, 31)))
    assert pace.planned_value == pytest.approx(4.8)
    assert pace.expected == pytest.approx(0.1)


def test_checkpoints_outside_the_timeframe_are_ignored() -> None:
    plan = [
        Checkpoint(date=date(2024, 12, 1), value=90),
        Checkpoint(date=date(2025, 6, 1), value=1),
    ]
    kr = key_result(plan=plan)
    moment = at(date(2025, 2, 15))
    assert expected_pace(kr, objective(kr), moment).expected == pytest.approx(0.5)


def test_progress_of_is_clamped_and_direction_free() -> None:
    assert progress_of(50, 0, 100) == 0.5
    assert progress_of(4, 5, 3) == 0.5
    assert progress_of(150, 0, 100) == 1.0
    assert progress_of(6, 5, 3) == 0.0


def test_reached_respects_the_direction() -> None:
    assert reached(100, key_result(start=0, target=100))
    assert not reached(99.9, key_result(start=0, target=100))
    assert reached(2.9, key_result(start=5, target=3))
    assert not reached(3.1, key_result(start=5, target=3))


@pytest.mark.parametrize(
    ("progress", "expected", "status"),
    [
        (0.5, 0.5, KRStatus.ON_TRACK),
        (0.9, 0.5, KRStatus.ON_TRACK),
        (0.4, 0.5, KRStatus.ON_TRACK),  # lag exactly the tolerance
        (0.39, 0.5, KRStatus.NEEDS_ATTENTION),
        (0.3, 0.5, KRStatus.NEEDS_ATTENTION),  # lag exactly twice the tolerance
        (0.29, 0.5, KRStatus.OFF_TRACK),
    ],
)
def test_status_from_lag(progress: float, expected: float, status: KRStatus) -> None:
    assert status_from_lag(progress, expected, 0.1) is status
