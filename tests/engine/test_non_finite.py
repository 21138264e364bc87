"""nan and inf never reach the engine's arithmetic or its texts (defence in depth: the config
and `checkin` already refuse them, but definitions built in code, rows stored by older versions
and tool values can still carry them)."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from okrbridge.domain import (
    CheckIn,
    Checkpoint,
    Initiative,
    InitiativeProgressMode,
    KeyResult,
    KeyResultLink,
    KeyResultSource,
    KRStatus,
    MatchRule,
    Objective,
    ObjectiveRollup,
)
from okrbridge.engine import evaluate, percent_text
from okrbridge.engine.reasons import number_text
from tests.engine.builders import Q1_END, Q1_START, at, task

NOW = at(date(2025, 2, 15))
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 1.0, 50.0, 100.0]),
)


def _kr(
    kr_id: str, source: KeyResultSource, start: float, target: float, **extra: object
) -> KeyResult:
    # model_construct: what code (or an old row) can build without the config's validation.
    return KeyResult.model_construct(
        id=kr_id,
        title=kr_id,
        start=start,
        target=target,
        source=source,
        tasks=MatchRule(labels_any=["x"]) if source is KeyResultSource.TASKS else None,
        **extra,
    )


@settings(max_examples=200, deadline=None)
@given(
    start=numbers,
    target=numbers,
    weight=numbers,
    tolerance=numbers,
    plan_value=numbers,
    checkin=numbers,
    estimate=numbers,
    link_weight=numbers,
    global_tolerance=numbers,
    history_value=numbers,
    rollup=st.sampled_from(list(ObjectiveRollup)),
)
def test_any_numbers_give_finite_results_and_plain_json(
    start: float,
    target: float,
    weight: float,
    tolerance: float,
    plan_value: float,
    checkin: float,
    estimate: float,
    link_weight: float,
    global_tolerance: float,
    history_value: float,
    rollup: ObjectiveRollup,
) -> None:
    plan = [Checkpoint.model_construct(date=Q1_START + timedelta(days=30), value=plan_value)]
    krs = [
        _kr(
            "manual",
            KeyResultSource.MANUAL,
            start,
            target,
            weight=weight,
            tolerance=tolerance,
            plan=plan,
        ),
        _kr("tasks", KeyResultSource.TASKS, start, target, aggregate="sum_estimate"),
        _kr("inits", KeyResultSource.INITIATIVES, start, target),
    ]
    goal = Objective.model_construct(
        id="o", title="o", owner="", start=Q1_START, end=Q1_END, rollup=rollup, key_results=krs
    )
    initiative = Initiative.model_construct(
        id="i",
        title="i",
        key_results=[KeyResultLink.model_construct(id="inits", weight=link_weight)],
        match=[MatchRule(labels_any=["x"])],
        progress=InitiativeProgressMode.ESTIMATE,
        default_estimate=estimate,
        weights={},
        target=None,
    )
    items = [task("1", labels=("x",), estimate=estimate), task("2", labels=("x",))]
    checkins = [CheckIn(key_result_id="manual", value=checkin, at=NOW - timedelta(days=1))]
    history = {"manual": [(NOW - timedelta(days=d), history_value) for d in (40, 20, 10)]}
    result = evaluate(
        [goal], [initiative], items, checkins, history, now=NOW, tolerance=global_tolerance
    )
    for kr in result.key_results.values():
        assert kr.value is None or math.isfinite(kr.value)
        assert 0.0 <= kr.progress <= 1.0
        assert 0.0 <= kr.expected_progress <= 1.0
        assert "nan" not in kr.reason.split()
        assert "inf" not in kr.reason.split()
        if kr.forecast is not None:
            assert math.isfinite(kr.forecast.projected_value)
        if not (math.isfinite(start) and math.isfinite(target)) or start == target:
            assert kr.status is KRStatus.NOT_STARTED
            assert "not a finite number" in kr.reason
    objective = result.objectives[0]
    assert 0.0 <= objective.progress <= 1.0
    # What `status --json` prints must be JSON (no NaN / Infinity).
    json.dumps([o.model_dump(mode="json") for o in result.objectives], allow_nan=False)


def test_an_inf_checkin_stored_by_an_older_version_is_ignored() -> None:
    kr = KeyResult(id="kr", title="kr", target=10)
    goal = Objective(id="o", title="o", start=Q1_START, end=Q1_END, key_results=[kr])
    checkins = [
        CheckIn(key_result_id="kr", value=4, at=NOW - timedelta(days=2)),
        CheckIn(key_result_id="kr", value=math.inf, at=NOW - timedelta(days=1)),
    ]
    result = evaluate([goal], [], [], checkins, now=NOW).key_results["kr"]
    assert result.value == 4
    assert result.status is not KRStatus.ACHIEVED


def test_texts_never_raise_on_non_finite_numbers() -> None:
    assert percent_text(math.nan) == "n/a"
    assert number_text(math.inf) == "n/a"
