"""`evaluate`: one pass from definitions, tasks and check-ins to every result."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from okrbridge.domain import (
    CheckIn,
    Initiative,
    InitiativeProgressMode,
    KeyResultLink,
    KeyResultSource,
    KRStatus,
    MatchRule,
    Metric,
    Objective,
    StatusCategory,
    Task,
)
from okrbridge.engine import evaluate, latest_checkins
from tests.engine.builders import at, initiative, key_result, objective, task

NOW = at(date(2025, 2, 15))  # half of Q1
DONE, TODO = StatusCategory.DONE, StatusCategory.TODO


def okrs() -> tuple[Objective, list[Initiative]]:
    signups = key_result(id="signups", title="Signups", source=KeyResultSource.INITIATIVES)
    churn = key_result(id="churn", title="Churn", metric=Metric.PERCENT, start=5, target=3)
    bugs = key_result(
        id="bugs",
        title="Bugs fixed",
        target=4,
        source=KeyResultSource.TASKS,
        tasks=MatchRule(labels_any=["bug"], status_category=DONE),
    )
    points = key_result(
        id="points",
        title="Points shipped",
        target=25,
        source=KeyResultSource.TASKS,
        tasks=MatchRule(container="ENG", status_category=DONE),
        aggregate="sum_estimate",
    )
    goal = objective(signups, churn, bugs, points)
    checkout = initiative("checkout", MatchRule(container="ENG"), krs=("signups",))
    onboarding = initiative("onboarding", MatchRule(container="WEB"), krs=("signups",))
    onboarding = onboarding.model_copy(
        update={"key_results": [KeyResultLink(id="signups", weight=3)]}
    )
    return goal, [checkout, onboarding]


def tasks() -> list[Task]:
    return [
        task("1", container="ENG", status_category=DONE, estimate=5, labels=("bug",)),
        task("2", container="ENG", status_category=DONE, estimate=3),
        task("3", container="ENG", status_category=TODO, estimate=8),
        task("4", container="WEB", status_category=DONE, labels=("bug", "okr:checkout")),
        task("5", container="WEB", status_category=TODO),
        task("6", container="WEB", status_category=TODO, excluded=True, labels=("bug",)),
    ]


def test_end_to_end_values_statuses_and_mapping() -> None:
    goal, initiatives = okrs()
    checkins = [
        CheckIn(key_result_id="churn", value=4.5, at=NOW - timedelta(days=20)),
        CheckIn(key_result_id="churn", value=4.0, at=NOW - timedelta(days=1)),
        CheckIn(key_result_id="churn", value=3.0, at=NOW + timedelta(days=1)),  # future: ignored
    ]
    result = evaluate([goal], initiatives, iter(tasks()), checkins, now=NOW)

    checkout, onboarding = result.initiatives["checkout"], result.initiatives["onboarding"]
    assert checkout.progress == pytest.approx(3 / 4)  # tasks 1, 2, 4 done of 1-4
    assert onboarding.progress == pytest.approx(1 / 2)  # task 4 done, 5 to do, 6 excluded
    assert result.task_initiatives[("jira", "4")] == {"checkout", "onboarding"}
    assert result.initiative_tasks["onboarding"] == (("jira", "4"), ("jira", "5"), ("jira", "6"))

    krs = result.key_results
    assert krs["signups"].value == pytest.approx(100 * (0.75 * 1 + 0.5 * 3) / 4)
    assert krs["signups"].initiative_ids == ("checkout", "onboarding")
    assert krs["churn"].value == 4.0
    assert krs["churn"].status is KRStatus.ON_TRACK
    assert krs["bugs"].value == 2  # tasks 1 and 4; 6 is excluded
    assert krs["bugs"].status is KRStatus.ON_TRACK
    assert result.key_result_tasks["bugs"] == (("jira", "1"), ("jira", "4"))
    assert krs["points"].value == 8  # estimates of the done ENG tasks
    assert krs["points"].status is KRStatus.NEEDS_ATTENTION  # 32% at half time
    assert krs["points"].reason == (
        "8 points over 2 matching tasks, 32% of the way from 0 to 25, "
        "50% of the quarter elapsed, tolerance 10% -> needs attention"
    )

    (objective_result,) = result.objectives
    assert objective_result.status is KRStatus.NEEDS_ATTENTION
    assert [kr.id for kr in objective_result.key_results] == ["signups", "churn", "bugs", "points"]


def test_tasks_are_read_once() -> None:
    goal, initiatives = okrs()
    # A one-shot iterator: a second mapping pass would find no tasks and zero progress.
    result = evaluate([goal], initiatives, iter(tasks()), now=NOW)
    assert result.initiatives["checkout"].task_count == 4


def test_relations_between_tasks_initiatives_and_key_results() -> None:
    goal, initiatives = okrs()
    result = evaluate([goal], initiatives, tasks(), now=NOW)
    assert result.initiative_key_results == {"checkout": ("signups",), "onboarding": ("signups",)}
    assert [kr.id for kr in result.key_results_for(("jira", "4"))] == ["signups"]
    assert result.worst_status_for(("jira", "4")) is result.key_results["signups"].status
    assert result.worst_status_for(("jira", "unknown")) is None
    assert result.initiatives_for(task("5", container="WEB").ref) == {"onboarding"}


def test_manual_key_result_without_checkin_is_not_started() -> None:
    goal = objective(key_result(id="nps", title="NPS"))
    result = evaluate([goal], [], [], now=NOW)
    kr = result.key_results["nps"]
    assert kr.status is KRStatus.NOT_STARTED
    assert kr.reason == "no check-in yet -> not started"
    assert result.objectives[0].status is KRStatus.NOT_STARTED


def test_initiative_key_result_without_linked_initiatives_is_not_started() -> None:
    goal = objective(key_result(source=KeyResultSource.INITIATIVES))
    result = evaluate([goal], [], [], now=NOW)
    assert result.key_results["kr1"].status is KRStatus.NOT_STARTED
    assert result.key_results["kr1"].reason == "no initiative is linked -> not started"


def test_initiative_without_tasks_counts_as_zero() -> None:
    goal = objective(key_result(source=KeyResultSource.INITIATIVES))
    ini = initiative("empty", MatchRule(container="NONE"), progress=InitiativeProgressMode.COUNT)
    result = evaluate([goal], [ini], [task()], now=NOW)
    assert result.initiatives["empty"].reason == "no tasks are mapped"
    assert result.key_results["kr1"].status is KRStatus.OFF_TRACK


def test_history_feeds_the_forecast_with_the_current_value() -> None:
    goal = objective(key_result(id="kr1"))
    checkins = [CheckIn(key_result_id="kr1", value=45, at=NOW - timedelta(hours=1))]
    history = {
        "kr1": [
            (at(date(2025, 1, 16)), 15.0),
            (at(date(2025, 1, 31)), 30.0),
            (at(date(2025, 4, 1)), 0.0),
        ]
    }
    result = evaluate([goal], [], [], checkins, history, now=NOW)
    forecast = result.key_results["kr1"].forecast
    assert forecast is not None
    # Points on days 15, 30 and 45; the one after `now` is ignored: value = day.
    assert forecast.projected_value == pytest.approx(90)
    assert forecast.target_date == date(2025, 4, 11)  # day 100


def test_a_checkin_without_confidence_ends_the_override() -> None:
    goal = objective(key_result())
    older = CheckIn(
        key_result_id="kr1", value=50, at=NOW - timedelta(days=5), confidence="off_track"
    )
    newer = CheckIn(key_result_id="kr1", value=50, at=NOW - timedelta(days=1))
    assert evaluate([goal], [], [], [older], now=NOW).key_results["kr1"].status is (
        KRStatus.OFF_TRACK
    )
    assert evaluate([goal], [], [], [newer, older], now=NOW).key_results["kr1"].status is (
        KRStatus.ON_TRACK
    )


def test_latest_checkins_ignores_the_future_and_keeps_the_newest() -> None:
    checkins = [
        CheckIn(key_result_id="a", value=1, at=NOW - timedelta(days=2)),
        CheckIn(key_result_id="a", value=2, at=NOW - timedelta(days=1)),
        CheckIn(key_result_id="a", value=3, at=NOW + timedelta(days=1)),
    ]
    assert latest_checkins(checkins, NOW)["a"].value == 2


def test_reason_of_a_key_result_served_by_one_initiative() -> None:
    goal = objective(key_result(source=KeyResultSource.INITIATIVES))
    ini = initiative("checkout", MatchRule(container="ENG"))
    done = [task(str(n), container="ENG", status_category=DONE) for n in range(3)]
    todo = [task(str(n), container="ENG") for n in range(3, 9)]
    moment = at(date(2025, 2, 12), 7)  # 47% of Q1
    result = evaluate([goal], [ini], done + todo, now=moment)
    assert result.key_results["kr1"].reason == (
        "3 of 9 tasks done (33%), 47% of the quarter elapsed, tolerance 10% -> needs attention"
    )


def test_a_task_serving_several_key_results_reports_the_worst() -> None:
    ahead = key_result(id="ahead", title="Ahead")
    behind = key_result(id="behind", title="Behind")
    goal = objective(ahead, behind)
    checkins = [
        CheckIn(key_result_id="ahead", value=60, at=NOW),
        CheckIn(key_result_id="behind", value=10, at=NOW),
    ]
    both = initiative("both", MatchRule(container="ENG"), krs=("ahead", "behind"))
    result = evaluate([goal], [both], [task(container="ENG")], checkins, now=NOW)
    assert [kr.status for kr in result.key_results_for(("jira", "1"))] == [
        KRStatus.ON_TRACK,
        KRStatus.OFF_TRACK,
    ]
    assert result.worst_status_for(("jira", "1")) is KRStatus.OFF_TRACK
