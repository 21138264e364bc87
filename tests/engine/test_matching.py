"""Mapping tasks to initiatives: each condition, explicit labels, and what never matches."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from okrbridge.domain import KeyResultSource, MatchRule, StatusCategory, Task
from okrbridge.engine import RESERVED_LABEL_SLUGS, TaskMatcher, TaskView, map_tasks
from tests.engine.builders import initiative, key_result, task


def served(rule: MatchRule, the_task: Task) -> bool:
    """Whether a single-rule initiative maps `the_task`."""
    matcher = TaskMatcher([initiative("ini", rule)])
    return matcher.initiatives_of(the_task) == frozenset({"ini"})


@pytest.mark.parametrize(
    ("rule", "matching", "other"),
    [
        (MatchRule(connector="jira"), task(), task(connector="gh")),
        (MatchRule(container="ENG"), task(container="ENG"), task(container="OPS")),
        (MatchRule(container=["ENG", "WEB"]), task(container="WEB"), task(container="OPS")),
        (MatchRule(container="acme/Web"), task(container="ACME/web"), task(container="acme")),
        (MatchRule(labels_any=["a", "b"]), task(labels=("b", "z")), task(labels=("z",))),
        (MatchRule(labels_all=["a", "b"]), task(labels=("a", "b", "c")), task(labels=("a",))),
        (MatchRule(labels_none=["wontfix"]), task(labels=("a",)), task(labels=("WontFix",))),
        (MatchRule(labels_any=["Growth"]), task(labels=("growth",)), task(labels=("grow",))),
        (MatchRule(parent="ENG-1"), task(parent="eng-1"), task(parent="ENG-2")),
        (MatchRule(parent=["ENG-1", "ENG-5"]), task(parent="ENG-5"), task(parent=None)),
        (
            MatchRule(status_category=StatusCategory.DONE),
            task(status_category=StatusCategory.DONE),
            task(status_category=StatusCategory.IN_PROGRESS),
        ),
        (
            MatchRule(status_category=[StatusCategory.TODO, StatusCategory.IN_PROGRESS]),
            task(status_category=StatusCategory.TODO),
            task(status_category=StatusCategory.DONE),
        ),
        (MatchRule(assignee="ana"), task(assignees=("bo", "Ana")), task(assignees=("bo",))),
        (MatchRule(assignee=["ana", "cy"]), task(assignees=("cy",)), task(assignees=())),
        (MatchRule(title_regex=r"^\[checkout\]"), task(title="[checkout] pay"), task(title="x")),
        (MatchRule(title_regex=r"(?i)refund"), task(title="Fix REFUND flow"), task(title="fix")),
        (
            MatchRule(field={"Team": "Growth"}),
            task(fields={"Team": "growth", "Sprint": "4"}),
            task(fields={"Team": "Core"}),
        ),
        (
            MatchRule(field={"Team": "Growth", "Sprint": "4"}),
            task(fields={"Team": "Growth", "Sprint": "4"}),
            task(fields={"Team": "Growth"}),
        ),
    ],
)
def test_each_condition_selects_its_tasks(rule: MatchRule, matching: Task, other: Task) -> None:
    assert served(rule, matching)
    assert not served(rule, other)


def test_conditions_inside_a_rule_must_all_hold() -> None:
    rule = MatchRule(container="ENG", labels_any=["checkout"], status_category=StatusCategory.DONE)
    done = StatusCategory.DONE
    assert served(rule, task(container="ENG", labels=("checkout",), status_category=done))
    assert not served(rule, task(container="ENG", labels=("checkout",)))
    assert not served(rule, task(container="OPS", labels=("checkout",), status_category=done))
    assert not served(rule, task(container="ENG", labels=("other",), status_category=done))


def test_rules_of_an_initiative_are_alternatives() -> None:
    ini = initiative("ini", MatchRule(container="ENG"), MatchRule(parent="WEB-9"))
    matcher = TaskMatcher([ini])
    assert matcher.initiatives_of(task(container="ENG")) == {"ini"}
    assert matcher.initiatives_of(task(container="WEB", parent="WEB-9")) == {"ini"}
    assert matcher.initiatives_of(task(container="WEB", parent="WEB-8")) == frozenset()


def test_an_empty_rule_matches_every_live_task() -> None:
    assert served(MatchRule(), task(container="anything"))


def test_an_initiative_without_rules_matches_only_by_label() -> None:
    matcher = TaskMatcher([initiative("ini")])
    assert matcher.initiatives_of(task(container="ENG")) == frozenset()
    assert matcher.initiatives_of(task(labels=("okr:ini",))) == {"ini"}


def test_explicit_label_maps_a_task_to_that_initiative() -> None:
    initiatives = [initiative("checkout", MatchRule(container="ENG")), initiative("search")]
    matcher = TaskMatcher(initiatives)
    assert matcher.initiatives_of(task(container="OPS", labels=("okr:search",))) == {"search"}
    both = task(container="ENG", labels=("okr:search", "bug"))
    assert matcher.initiatives_of(both) == {"checkout", "search"}
    assert matcher.initiatives_of(task(labels=("okr:unknown",))) == frozenset()
    assert matcher.initiatives_of(task(labels=("search",))) == frozenset()


def test_explicit_label_uses_the_configured_prefix_and_ignores_case() -> None:
    matcher = TaskMatcher([initiative("Search")], label_prefix="goal/")
    assert matcher.initiatives_of(task(labels=("GOAL/search",))) == {"Search"}
    assert matcher.initiatives_of(task(labels=("okr:search",))) == frozenset()


@pytest.mark.parametrize("slug", sorted(RESERVED_LABEL_SLUGS))
def test_the_bridges_status_labels_are_never_mapping_labels(slug: str) -> None:
    colliding = initiative(slug, MatchRule(container="ENG"))
    matcher = TaskMatcher([colliding, initiative("checkout")])
    assert matcher.initiatives_of(task(container="OPS", labels=(f"okr:{slug}",))) == frozenset()
    # The colliding initiative still works through its rules.
    assert matcher.initiatives_of(task(container="ENG", labels=(f"okr:{slug}",))) == {slug}


def test_reserved_slugs_are_the_status_labels() -> None:
    expected = {"on-track", "needs-attention", "off-track", "achieved", "not-started"}
    assert expected == RESERVED_LABEL_SLUGS


def test_deleted_tasks_never_match() -> None:
    ini = initiative("ini", MatchRule())
    gone = task(labels=("okr:ini",), deleted=True)
    mapping = map_tasks([ini], [gone, task("2")])
    assert list(mapping.by_task) == [("jira", "2")]
    assert [t.external_id for t in mapping.by_initiative["ini"]] == ["2"]


def test_a_task_may_serve_several_initiatives() -> None:
    initiatives = [
        initiative("a", MatchRule(container="ENG")),
        initiative("b", MatchRule(labels_any=["growth"])),
        initiative("c", MatchRule(container="OPS")),
    ]
    mapping = map_tasks(initiatives, [task(container="ENG", labels=("growth",))])
    assert mapping.by_task == {("jira", "1"): frozenset({"a", "b"})}
    assert {name: len(tasks) for name, tasks in mapping.by_initiative.items()} == {
        "a": 1,
        "b": 1,
        "c": 0,
    }


def test_excluded_tasks_are_still_mapped() -> None:
    mapping = map_tasks([initiative("a", MatchRule())], [task(excluded=True)])
    assert mapping.by_task == {("jira", "1"): frozenset({"a"})}


def test_key_result_task_rules_are_mapped_in_the_same_pass() -> None:
    counted = key_result(
        id="bugs",
        source=KeyResultSource.TASKS,
        tasks=MatchRule(labels_all=["bug"], status_category=StatusCategory.DONE),
    )
    tasks = [
        task("1", labels=("bug",), status_category=StatusCategory.DONE),
        task("2", labels=("bug",)),
        task("3", labels=("bug",), status_category=StatusCategory.DONE, deleted=True),
    ]
    mapping = map_tasks([initiative("a", MatchRule(container="ENG"))], tasks, key_results=[counted])
    assert [t.external_id for t in mapping.by_key_result["bugs"]] == ["1"]
    assert mapping.by_task == {}  # counting for a key result is not serving an initiative


@dataclass(frozen=True)
class Row:
    """A store row stand-in: plain attributes, lists, a string status category."""

    connector: str
    external_id: str
    container: str = ""
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    status_category: str = "todo"
    excluded: bool = False
    estimate: float | None = None
    parent: str | None = None
    title: str = ""
    fields: dict[str, object] = field(default_factory=dict)
    deleted: bool = False


def test_light_rows_are_mapped_like_tasks() -> None:
    rows: list[TaskView] = [
        Row("gh", "7", container="web", labels=["okr:b"], status_category="done"),
        Row("gh", "8", fields={"Points": 3}),
    ]
    initiatives = [
        initiative("a", MatchRule(status_category=StatusCategory.DONE)),
        initiative("b"),
        initiative("c", MatchRule(field={"Points": "3"})),
    ]
    mapping = map_tasks(initiatives, rows)
    assert mapping.by_task == {("gh", "7"): {"a", "b"}, ("gh", "8"): {"c"}}


def test_domain_task_satisfies_the_view_protocol() -> None:
    view: TaskView = task()  # checked by mypy; at run time, read every attribute once
    names = [name for name in TaskView.__dict__ if not name.startswith("_")]
    assert all(hasattr(view, name) for name in names)
    assert len(names) == 13
