"""The explanation agrees with the engine's mapping, condition by condition."""

from __future__ import annotations

from okrbridge.cli.mapping import explain_task, rules_matching_nothing
from okrbridge.domain import Initiative, KeyResultLink, MatchRule, StatusCategory, Task
from okrbridge.engine import map_tasks

LINK = [KeyResultLink(id="kr", weight=1.0)]
INITIATIVES = [
    Initiative(
        id="growth",
        title="Growth",
        key_results=LINK,
        match=[
            MatchRule(connector="jira", container="MKT", labels_any=["growth"]),
            MatchRule(field={"Team": "Growth"}, status_category=StatusCategory.IN_PROGRESS),
            MatchRule(parent="MKT-100"),
        ],
    ),
    Initiative(id="ads", title="Ads", key_results=LINK, match=[MatchRule(title_regex="^Ad")]),
]
TASKS = [
    Task(connector="jira", external_id="1", key="MKT-1", container="mkt", labels=("Growth",)),
    Task(
        connector="github",
        external_id="2",
        key="acme/app#2",
        container="acme/app",
        fields={"Team": "growth"},
        status_category=StatusCategory.TODO,
    ),
    Task(connector="jira", external_id="3", key="MKT-3", container="MKT", labels=("okr:ads",)),
]


def test_explanations_agree_with_the_engine_and_name_the_failing_condition() -> None:
    mapping = map_tasks(INITIATIVES, TASKS)
    for task in TASKS:
        verdicts = explain_task(task, INITIATIVES, "okr:")
        served = {v.initiative_id for v in verdicts if v.matched}
        assert served == set(mapping.by_task.get((task.connector, task.external_id), ()))
    [growth, _ads] = explain_task(TASKS[1], INITIATIVES, "okr:")
    assert not growth.matched
    field_rule = growth.rules[1]
    assert [(c.name, c.holds) for c in field_rule.conditions] == [
        ("status_category", False),
        ("field.Team", True),  # values compare without case, as in the engine
    ]
    assert explain_task(TASKS[2], INITIATIVES, "okr:")[1].explicit_label == "okr:ads"


def test_rules_matching_nothing_are_found_among_each_initiatives_own_tasks() -> None:
    mapping = map_tasks(INITIATIVES, TASKS)
    unmatched = rules_matching_nothing(INITIATIVES, mapping.by_initiative)
    assert [(u.initiative_id, u.number) for u in unmatched] == [
        ("growth", 2),
        ("growth", 3),
        ("ads", 1),  # MKT-3 serves "ads" by its label, not by the title rule
    ]
