"""Properties the engine must hold for any input, checked with hypothesis."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okrbridge.domain import (
    Checkpoint,
    Initiative,
    InitiativeProgressMode,
    KeyResult,
    KeyResultLink,
    KeyResultResult,
    KeyResultSource,
    KRStatus,
    MatchRule,
    ObjectiveRollup,
    StatusCategory,
    Task,
)
from okrbridge.engine import (
    RESERVED_LABEL_SLUGS,
    Assessment,
    assess_key_result,
    assess_objective,
    evaluate,
    explain_task,
    initiative_progress,
    map_tasks,
    unmatched,
)
from okrbridge.engine.measures import Measure
from tests.engine.builders import Q1_END, Q1_START, at, objective

settings.register_profile("engine", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("engine")

RANK = {
    KRStatus.ACHIEVED: 0,
    KRStatus.ON_TRACK: 1,
    KRStatus.NEEDS_ATTENTION: 2,
    KRStatus.OFF_TRACK: 3,
}

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
moments = st.datetimes(min_value=datetime(2024, 12, 1), max_value=datetime(2025, 4, 30)).map(
    lambda moment: at(moment.date(), moment.hour)
)
tolerances = st.floats(min_value=0, max_value=0.5)
categories = st.sampled_from(list(StatusCategory))

tasks = st.builds(
    Task,
    connector=st.just("jira"),
    external_id=st.uuids().map(str),
    key=st.just("K"),
    status_category=categories,
    excluded=st.booleans(),
    estimate=st.none() | st.floats(min_value=0, max_value=100),
)


@st.composite
def initiatives(draw: st.DrawFn) -> Initiative:
    mode = draw(st.sampled_from(list(InitiativeProgressMode)))
    weights = draw(st.fixed_dictionaries({c: st.floats(0, 5) for c in StatusCategory}))
    return Initiative(
        id="ini",
        title="Ini",
        key_results=[KeyResultLink(id="kr1")],
        progress=mode,
        default_estimate=draw(st.floats(0, 10)),
        weights=weights,
        target=draw(st.integers(1, 20)) if mode is InitiativeProgressMode.TARGET else None,
    )


@given(initiatives(), st.lists(tasks, max_size=30))
def test_initiative_progress_stays_within_zero_and_one(ini: Initiative, items: list[Task]) -> None:
    assert 0.0 <= initiative_progress(ini, items).progress <= 1.0


@st.composite
def increasing_krs(draw: st.DrawFn) -> KeyResult:
    start = draw(finite)
    span = draw(st.floats(min_value=1e-3, max_value=1e6))
    plan = draw(
        st.lists(
            st.builds(
                Checkpoint,
                date=st.dates(Q1_START, Q1_END),
                value=st.floats(min_value=start, max_value=start + span),
            ),
            max_size=3,
        )
    )
    return KeyResult(
        id="kr1",
        title="KR",
        start=start,
        target=start + span,
        plan=plan,
        tolerance=draw(st.none() | tolerances),
    )


def assess(kr: KeyResult, value: float, now: datetime, tolerance: float = 0.1) -> KeyResultResult:
    measure = Measure(value=value, text="value")
    return assess_key_result(kr, objective(kr), measure, Assessment(now=now, tolerance=tolerance))


def at_fraction(kr: KeyResult, fraction: float) -> float:
    return kr.start + fraction * (kr.target - kr.start)


fractions = st.floats(min_value=-0.5, max_value=1.5)


@given(increasing_krs(), fractions, moments)
def test_key_result_progress_stays_within_zero_and_one(
    kr: KeyResult, fraction: float, now: datetime
) -> None:
    result = assess(kr, at_fraction(kr, fraction), now)
    assert 0.0 <= result.progress <= 1.0
    assert 0.0 <= result.expected_progress <= 1.0


@given(increasing_krs(), fractions, fractions, moments, tolerances)
def test_more_progress_never_gives_a_worse_status(
    kr: KeyResult, low: float, high: float, now: datetime, tolerance: float
) -> None:
    low, high = sorted((low, high))
    worse = assess(kr, at_fraction(kr, low), now, tolerance).status
    better = assess(kr, at_fraction(kr, high), now, tolerance).status
    if now < at(Q1_START):
        assert worse is better is KRStatus.NOT_STARTED
    else:
        assert RANK[better] <= RANK[worse]


def mirrored(kr: KeyResult) -> KeyResult:
    """The same key result measured the other way round: every number negated."""
    return kr.model_copy(
        update={
            "start": -kr.start,
            "target": -kr.target,
            "plan": [Checkpoint(date=p.date, value=-p.value) for p in kr.plan],
        }
    )


@given(increasing_krs(), fractions, moments)
def test_decrease_targets_mirror_increase_targets(
    kr: KeyResult, fraction: float, now: datetime
) -> None:
    value = at_fraction(kr, fraction)
    up, down = assess(kr, value, now), assess(mirrored(kr), -value, now)
    assert down.status is up.status
    assert down.progress == pytest.approx(up.progress)
    assert down.expected_progress == pytest.approx(up.expected_progress)


@given(
    increasing_krs(),
    fractions,
    moments,
    st.integers(1, 4),
    st.sampled_from(list(ObjectiveRollup)),
    st.floats(min_value=0.1, max_value=5),
)
def test_objective_of_identical_key_results_equals_one_of_them(
    kr: KeyResult,
    fraction: float,
    now: datetime,
    copies: int,
    rollup: ObjectiveRollup,
    weight: float,
) -> None:
    kr = kr.model_copy(update={"tolerance": None, "weight": weight})
    krs = [kr.model_copy(update={"id": f"kr{n}"}) for n in range(copies)]
    goal = objective(*krs, rollup=rollup)
    measure = Measure(value=at_fraction(kr, fraction), text="value")
    context = Assessment(now=now, tolerance=0.1)
    single = assess_key_result(kr, goal, measure, context)
    parts = [assess_key_result(k, goal, measure, context) for k in krs]
    result = assess_objective(goal, parts, now=now, tolerance=0.1)
    assert result.progress == pytest.approx(single.progress)
    assert result.status is single.status


@given(st.lists(tasks, max_size=12), st.integers(1, 4), moments)
def test_key_result_over_identical_initiatives_equals_one_of_them(
    items: list[Task], copies: int, now: datetime
) -> None:
    kr = KeyResult(id="kr1", title="KR", target=10, source=KeyResultSource.INITIATIVES)
    goal = objective(kr)
    # Each copy carries every task by its explicit label.
    ids = [f"ini{n}" for n in range(copies)]
    labelled = [t.model_copy(update={"labels": tuple(f"okr:{i}" for i in ids)}) for t in items]
    copies_ = [
        Initiative(id=i, title=i, key_results=[KeyResultLink(id="kr1", weight=n + 1)])
        for n, i in enumerate(ids)
    ]
    one = evaluate([goal], copies_[:1], labelled, now=now).key_results["kr1"]
    many = evaluate([goal], copies_, labelled, now=now).key_results["kr1"]
    assert many.progress == pytest.approx(one.progress)
    assert many.status is one.status


# -- Mapping: the rule index must never change what matches -----------------------------------

names = st.sampled_from(["a", "B", "c"])
few = st.lists(names, max_size=2)
one_or_more = st.none() | names | st.lists(names, min_size=1, max_size=2)
rules = st.builds(
    MatchRule,
    connector=st.none() | st.sampled_from(["jira", "gh"]),
    container=one_or_more,
    project=st.none() | st.sampled_from(["acme/1", "ACME/2"]) | st.just(["acme/2", "x/1"]),
    labels_any=few,
    labels_all=few,
    labels_none=few,
    parent=one_or_more,
    status_category=st.none() | categories,
    assignee=one_or_more,
    title_regex=st.none() | st.sampled_from(["^a", "b$", "(?i)C"]),
    field=st.dictionaries(st.sampled_from(["Team", "Area"]), names, max_size=2),
)
label_values = names | st.sampled_from(["okr:i0", "okr:I1", "okr:on-track", "x:i0"])
mapped_tasks = st.builds(
    Task,
    connector=st.sampled_from(["jira", "gh"]),
    external_id=st.uuids().map(str),
    key=st.just("K"),
    container=names,
    container_aliases=st.lists(names, max_size=2).map(tuple),
    labels=st.lists(label_values, max_size=3).map(tuple),
    parent=st.none() | names,
    status_category=categories,
    assignees=st.lists(names, max_size=2).map(tuple),
    title=st.sampled_from(["abc", "cab", "Cb", ""]),
    fields=st.dictionaries(
        st.sampled_from(["Team", "Area", "project"]),
        names | st.sampled_from(["acme/1", "Acme/2"]),
        max_size=3,
    ),
    deleted=st.booleans(),
)


def _one(value: str | list[str] | None) -> set[str] | None:
    if value is None:
        return None
    return {v.casefold() for v in ([value] if isinstance(value, str) else value)}


def naive_match(rule: MatchRule, task: Task) -> bool:
    """The documented semantics, written plainly: every set condition holds."""
    labels = {label.casefold() for label in task.labels}
    fold = str.casefold
    checks = [
        rule.connector is None or task.connector == rule.connector,
        (c := _one(rule.container)) is None
        or bool(c & {fold(x) for x in (task.container, *task.container_aliases)}),
        (j := _one(rule.project)) is None or fold(task.fields.get("project", "\0")) in j,
        not rule.labels_any or bool(labels & {fold(x) for x in rule.labels_any}),
        {fold(x) for x in rule.labels_all} <= labels,
        not labels & {fold(x) for x in rule.labels_none},
        (p := _one(rule.parent)) is None or (task.parent or "\0").casefold() in p,
        rule.status_category is None
        or task.status_category
        in ([rule.status_category] if isinstance(rule.status_category, StatusCategory) else []),
        (a := _one(rule.assignee)) is None or bool(a & {fold(x) for x in task.assignees}),
        rule.title_regex is None or re.search(rule.title_regex, task.title) is not None,
        all(fold(task.fields.get(k, "\0")) == fold(v) for k, v in rule.field.items()),
    ]
    return all(checks)


def naive_initiatives(inis: list[Initiative], task: Task) -> frozenset[str]:
    if task.deleted:
        return frozenset()
    labels = {label.casefold() for label in task.labels}
    return frozenset(
        ini.id
        for ini in inis
        if any(naive_match(rule, task) for rule in ini.match)
        or (ini.id.casefold() not in RESERVED_LABEL_SLUGS and f"okr:{ini.id.casefold()}" in labels)
    )


@given(st.lists(st.lists(rules, max_size=3), min_size=1, max_size=5), st.lists(mapped_tasks))
def test_indexed_mapping_equals_testing_every_rule(
    rule_sets: list[list[MatchRule]], items: list[Task]
) -> None:
    ids = ["i0", "I1", "on-track", "i3", "i4"]
    inis = [
        Initiative(id=ids[n], title="x", key_results=[KeyResultLink(id="kr")], match=rule_set)
        for n, rule_set in enumerate(rule_sets)
    ]
    mapping = map_tasks(inis, items)
    matched_rules: set[tuple[str, int]] = set()
    for item in items:
        expected = naive_initiatives(inis, item)
        assert mapping.by_task.get((item.connector, item.external_id), frozenset()) == expected
        # `explain` agrees with the engine, rule by rule and condition by condition.
        explanation = explain_task(item, inis)
        assert set(explanation.initiatives) == expected
        for check in explanation.rules:
            rule = inis[ids.index(check.rule.owner_id)].match[check.rule.index]
            assert check.matched == (not item.deleted and naive_match(rule, item))
            assert check.matched == all(condition.passed for condition in check.conditions)
            if check.matched:
                matched_rules.add((check.rule.owner_id, check.rule.index))
    report = unmatched(inis, items)
    every_rule = {(ini.id, n) for ini in inis for n in range(len(ini.match))}
    assert {(ref.owner_id, ref.index) for ref in report.rules} == every_rule - matched_rules
    assert set(report.initiatives) == {ini.id for ini in inis if not mapping.by_initiative[ini.id]}
