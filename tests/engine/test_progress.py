"""Initiative progress in each mode, and what is left out."""

from __future__ import annotations

import pytest

from okrbridge.domain import InitiativeProgressMode, StatusCategory, Task, TaskAggregate
from okrbridge.engine import initiative_progress
from tests.engine.builders import initiative, task

TODO, DOING, DONE = StatusCategory.TODO, StatusCategory.IN_PROGRESS, StatusCategory.DONE


def tasks_in(*categories: StatusCategory, estimates: tuple[float | None, ...] = ()) -> list[Task]:
    return [
        task(str(n), status_category=category, estimate=estimates[n] if estimates else None)
        for n, category in enumerate(categories)
    ]


def test_count_mode_is_done_over_total() -> None:
    result = initiative_progress(initiative(), tasks_in(DONE, DONE, DONE, TODO, DOING, *[TODO] * 3))
    assert result.progress == pytest.approx(3 / 8)
    assert result.counts == TaskAggregate(todo=4, in_progress=1, done=3)
    assert result.task_count == 8
    assert result.reason == "3 of 8 tasks done (38%)"


def test_estimate_mode_sums_estimates_with_a_default_for_missing_ones() -> None:
    mode = InitiativeProgressMode.ESTIMATE
    ini = initiative(progress=mode, default_estimate=2)
    tasks = tasks_in(DONE, DONE, TODO, DOING, estimates=(5, None, 8, None))
    result = initiative_progress(ini, tasks)
    # done: 5 + 2 (default); total: 5 + 2 + 8 + 2
    assert result.progress == pytest.approx(7 / 17)
    assert result.reason == "7 of 17 points done (41%), 2 tasks without estimate counted as 2"


def test_estimate_mode_falls_back_to_count_when_estimates_sum_to_zero() -> None:
    ini = initiative(progress=InitiativeProgressMode.ESTIMATE, default_estimate=0)
    result = initiative_progress(ini, tasks_in(DONE, TODO))
    assert result.progress == pytest.approx(0.5)
    assert "estimates sum to 0" in result.reason


def test_weighted_mode_credits_work_in_progress() -> None:
    ini = initiative(progress=InitiativeProgressMode.WEIGHTED)
    result = initiative_progress(ini, tasks_in(DONE, DOING, DOING, TODO))
    assert result.progress == pytest.approx((1 + 0.5 + 0.5) / 4)
    assert result.reason == "1 done, 2 in progress, 1 to do (50% weighted)"


def test_weighted_mode_with_custom_weights_is_scaled_to_the_largest() -> None:
    weights = {TODO: 0.0, DOING: 1.0, DONE: 4.0}
    ini = initiative(progress=InitiativeProgressMode.WEIGHTED, weights=weights)
    result = initiative_progress(ini, tasks_in(DONE, DOING))
    assert result.progress == pytest.approx((4 + 1) / (4 * 2))


def test_target_mode_counts_done_tasks_against_the_target_and_caps() -> None:
    ini = initiative(progress=InitiativeProgressMode.TARGET, target=4)
    assert initiative_progress(ini, tasks_in(DONE, TODO, TODO)).progress == pytest.approx(0.25)
    full = initiative_progress(ini, tasks_in(*[DONE] * 6))
    assert full.progress == 1.0
    assert full.reason == "6 of 4 target tasks done (100%)"


@pytest.mark.parametrize("mode", list(InitiativeProgressMode))
def test_no_tasks_gives_zero_with_a_reason(mode: InitiativeProgressMode) -> None:
    ini = initiative(progress=mode, target=3 if mode is InitiativeProgressMode.TARGET else None)
    result = initiative_progress(ini, [])
    assert result.progress == 0.0
    assert result.reason == "no tasks are mapped"


def test_excluded_tasks_are_left_out_of_progress() -> None:
    tasks = [*tasks_in(DONE, TODO), task("9", status_category=DONE, excluded=True)]
    result = initiative_progress(initiative(), tasks)
    assert result.progress == pytest.approx(0.5)
    assert result.counts == TaskAggregate(todo=1, done=1)
    assert result.task_count == 3
    assert result.reason == "1 of 2 tasks done (50%) (1 not planned, left out)"


def test_only_excluded_tasks_count_as_none_mapped() -> None:
    result = initiative_progress(initiative(), [task(excluded=True, status_category=DONE)])
    assert result.progress == 0.0
    assert result.reason.startswith("no tasks are mapped")
