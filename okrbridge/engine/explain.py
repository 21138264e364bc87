"""Why a task maps where it does, and which parts of the mapping match nothing.

Two pure functions for `okrbridge explain` and the "rule matches nothing" warnings; they give
the same answers as `map_tasks` (the same compiled rules decide), with the reasons spelt out.

- `explain_task(task, initiatives, key_results)` tells, for one task, every rule of every
  initiative (and the `tasks` rule of each task-counting key result): matched or not, and for
  each condition the rule sets, whether it held, what the rule asks and what the task has.
  It also says which initiatives the task's explicit `<prefix><initiative-id>` labels map it
  to, and which initiatives and key results it serves in the end.
- `unmatched(initiatives, tasks, key_results)` tells, for a set of tasks (say, everything one
  sync pulled), which initiatives no task serves and which rules matched no task.

Conventions: rules are numbered by their position in the initiative's `match` list (0-based,
as `initiatives[i].match[n]` in config messages); a key result's `tasks` rule is number 0 of
that key result. Conditions are named by their config key (`connector`, `container`,
`project`, `labels_any`, `labels_all`, `labels_none`, `parent`, `status_category`, `assignee`,
`title_regex`), a field condition as `field.<name>`. Identifiers compare case-insensitively
as in the engine; the texts keep the case the user and the tool wrote. A deleted task
matches nothing: every rule is reported unmatched with the single condition `deleted`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from okrbridge.domain import Initiative, KeyResult, KeyResultSource, MatchRule, StatusCategory

from .matching import TaskMatcher, map_tasks
from .rules import PROJECT_FIELD, RuleIndex, compile_rule
from .taskview import TaskView, category_of

__all__ = [
    "ConditionCheck",
    "RuleCheck",
    "RuleHits",
    "RuleRef",
    "TaskExplanation",
    "Unmatched",
    "explain_task",
    "unmatched",
]


@dataclass(frozen=True)
class RuleRef:
    """One match rule: of an initiative (`kind="initiative"`, `index` in its `match` list) or
    the `tasks` rule of a key result with `source = "tasks"` (`kind="key_result"`, index 0)."""

    kind: str
    """`initiative` or `key_result`."""
    owner_id: str
    """The initiative's or key result's id."""
    index: int


@dataclass(frozen=True)
class ConditionCheck:
    """One condition of a rule, tested against one task."""

    condition: str
    """Its config key: `container`, `labels_any`, ..., `field.Team`; `deleted` for a deleted
    task (which no rule matches)."""
    passed: bool
    wanted: str
    """What the rule asks, e.g. `one of MKT, GAME`, `all of bug, p1`, `matches (?i)review`."""
    found: str
    """What the task has, e.g. `MKT (also written 10001)`, `labels: bug`, `no parent`."""


@dataclass(frozen=True)
class RuleCheck:
    """One rule tested against one task: it matches when every condition passed."""

    rule: RuleRef
    matched: bool
    conditions: tuple[ConditionCheck, ...]
    """Every condition the rule sets, in config-key order; empty for a rule without conditions
    (which matches every task that is not deleted)."""

    @property
    def failed(self) -> tuple[ConditionCheck, ...]:
        """The conditions that did not hold (empty when the rule matched)."""
        return tuple(check for check in self.conditions if not check.passed)


@dataclass(frozen=True)
class TaskExplanation:
    """Why one task serves what it serves."""

    rules: tuple[RuleCheck, ...]
    """Every rule of every initiative (in config order), then every task-counting key
    result's rule."""
    by_label: tuple[str, ...]
    """Ids of initiatives the task is mapped to by an explicit `<prefix><id>` label."""
    initiatives: tuple[str, ...]
    """Ids of the initiatives the task serves (by a rule or a label), in config order; the
    same set the engine's `Evaluation.initiatives_for` gives."""
    key_results: tuple[str, ...]
    """Ids of the task-counting key results whose `tasks` rule counts the task."""


@dataclass(frozen=True)
class Unmatched:
    """What a set of tasks leaves without a match."""

    initiatives: tuple[str, ...]
    """Ids of initiatives that no task serves (neither by a rule nor an explicit label)."""
    rules: tuple[RuleRef, ...]
    """Rules (initiative rules, then key results' `tasks` rules) that matched no task."""


def _owned_rules(
    initiatives: Sequence[Initiative], key_results: Sequence[KeyResult]
) -> list[tuple[RuleRef, MatchRule]]:
    rules = [
        (RuleRef("initiative", initiative.id, index), rule)
        for initiative in initiatives
        for index, rule in enumerate(initiative.match)
    ]
    rules += [
        (RuleRef("key_result", kr.id, 0), kr.tasks)
        for kr in key_results
        if kr.source is KeyResultSource.TASKS and kr.tasks is not None
    ]
    return rules


def explain_task(
    task: TaskView,
    initiatives: Sequence[Initiative],
    key_results: Sequence[KeyResult] = (),
    *,
    label_prefix: str = "okr:",
) -> TaskExplanation:
    """Every rule's verdict on `task`, condition by condition, and what the task serves.

    `key_results` are all key results of the config (only those with `source = "tasks"` have
    a rule); `label_prefix` is `push.label_prefix`. Pure: reads nothing but its arguments.
    """
    checks = tuple(_check(ref, rule, task) for ref, rule in _owned_rules(initiatives, key_results))
    matcher = TaskMatcher(initiatives, key_results, label_prefix=label_prefix)
    labels = {label.casefold() for label in task.labels}
    by_label = (
        ()
        if task.deleted
        else tuple(
            matcher.initiative_ids[number]
            for label, number in sorted(matcher.explicit.items(), key=lambda item: item[1])
            if label in labels
        )
    )
    served = {check.rule.owner_id for check in checks if check.matched}
    return TaskExplanation(
        rules=checks,
        by_label=by_label,
        initiatives=tuple(
            initiative.id
            for initiative in initiatives
            if initiative.id in served or initiative.id in by_label
        ),
        key_results=tuple(
            check.rule.owner_id
            for check in checks
            if check.matched and check.rule.kind == "key_result"
        ),
    )


class RuleHits:
    """Which rules match at least one of the tasks seen so far; fed a page at a time, so a
    pass over a whole store can name the rules that match nothing without holding it."""

    def __init__(
        self, initiatives: Sequence[Initiative], key_results: Sequence[KeyResult] = ()
    ) -> None:
        self._owned = _owned_rules(initiatives, key_results)
        # Each rule gets its own target number, so the index reports every rule a task matches.
        self._index = RuleIndex(compile_rule(rule, n) for n, (_, rule) in enumerate(self._owned))
        self._hit: set[int] = set()

    def add(self, tasks: Iterable[TaskView]) -> None:
        """Note the rules these tasks match (deleted tasks match nothing)."""
        for task in tasks:
            if len(self._hit) == len(self._owned):
                return
            if task.deleted:
                continue
            found: set[int] = set()
            self._index.collect(task, frozenset(label.casefold() for label in task.labels), found)
            self._hit |= found

    @property
    def unmatched(self) -> tuple[RuleRef, ...]:
        """The rules no task given so far matched, in config order."""
        return tuple(ref for n, (ref, _) in enumerate(self._owned) if n not in self._hit)


def unmatched(
    initiatives: Sequence[Initiative],
    tasks: Iterable[TaskView],
    key_results: Sequence[KeyResult] = (),
    *,
    label_prefix: str = "okr:",
) -> Unmatched:
    """The initiatives no task in `tasks` serves, and the rules that match none of them.

    Give it the tasks of every connector instance the rules could match (deleted tasks are
    ignored, as by the engine): a rule is unmatched only relative to the tasks given.
    """
    tasks = list(tasks)
    hits = RuleHits(initiatives, key_results)
    hits.add(tasks)
    mapping = map_tasks(initiatives, tasks, key_results=key_results, label_prefix=label_prefix)
    return Unmatched(
        initiatives=tuple(
            initiative.id for initiative in initiatives if not mapping.by_initiative[initiative.id]
        ),
        rules=hits.unmatched,
    )


def _check(ref: RuleRef, rule: MatchRule, task: TaskView) -> RuleCheck:
    if task.deleted:
        gone = ConditionCheck("deleted", False, "a task that exists", "deleted in the tool")
        return RuleCheck(ref, False, (gone,))
    compiled = compile_rule(rule, 0)
    labels = frozenset(label.casefold() for label in task.labels)
    conditions = tuple(_conditions(rule, task, labels))
    # The compiled rule decides (it is what the engine runs); the conditions explain it.
    matched = compiled.unconditional or compiled.matches(task, labels)
    return RuleCheck(ref, matched, conditions)


def _conditions(
    rule: MatchRule, task: TaskView, labels: frozenset[str]
) -> Iterable[ConditionCheck]:
    if rule.connector is not None:
        yield ConditionCheck(
            "connector", task.connector == rule.connector, rule.connector, task.connector
        )
    if rule.container is not None:
        wanted = _as_list(rule.container)
        written = [task.container, *task.container_aliases]
        passed = bool(_folded(wanted) & _folded(written))
        found = task.container or "no container"
        if task.container_aliases:
            found += f" (also written {', '.join(task.container_aliases)})"
        yield ConditionCheck("container", passed, _one_of(wanted), found)
    if rule.project is not None:
        wanted = _as_list(rule.project)
        project = task.fields.get(PROJECT_FIELD)
        passed = project is not None and str(project).casefold() in _folded(wanted)
        found = f"project {project}" if project is not None else "no project"
        yield ConditionCheck("project", passed, _one_of(wanted), found)
    shown = f"labels: {', '.join(task.labels)}" if task.labels else "no labels"
    if rule.labels_any:
        passed = not _folded(rule.labels_any).isdisjoint(labels)
        yield ConditionCheck("labels_any", passed, _one_of(rule.labels_any), shown)
    if rule.labels_all:
        passed = _folded(rule.labels_all) <= labels
        yield ConditionCheck("labels_all", passed, f"all of {', '.join(rule.labels_all)}", shown)
    if rule.labels_none:
        passed = _folded(rule.labels_none).isdisjoint(labels)
        yield ConditionCheck("labels_none", passed, f"none of {', '.join(rule.labels_none)}", shown)
    if rule.parent is not None:
        wanted = _as_list(rule.parent)
        passed = task.parent is not None and task.parent.casefold() in _folded(wanted)
        found = f"parent {task.parent}" if task.parent is not None else "no parent"
        yield ConditionCheck("parent", passed, _one_of(wanted), found)
    if rule.status_category is not None:
        categories = (
            [rule.status_category]
            if isinstance(rule.status_category, StatusCategory)
            else rule.status_category
        )
        category = category_of(task)
        yield ConditionCheck(
            "status_category",
            category in categories,
            _one_of([c.value for c in categories]),
            f"{category.value} (status {_task_status(task)})",
        )
    if rule.assignee is not None:
        wanted = _as_list(rule.assignee)
        passed = not _folded(wanted).isdisjoint(_folded(task.assignees))
        found = f"assignees: {', '.join(task.assignees)}" if task.assignees else "no assignee"
        yield ConditionCheck("assignee", passed, _one_of(wanted), found)
    if rule.title_regex is not None:
        passed = re.search(rule.title_regex, task.title) is not None
        yield ConditionCheck(
            "title_regex", passed, f"matches {rule.title_regex}", f"title {task.title!r}"
        )
    for name, expected in sorted(rule.field.items()):
        value = task.fields.get(name)
        passed = value is not None and str(value).casefold() == expected.casefold()
        found = f"{name} = {value}" if value is not None else f"no field {name}"
        yield ConditionCheck(f"field.{name}", passed, expected, found)


def _task_status(task: TaskView) -> str:
    """The tool's status name when the view has one, else its category."""
    name = getattr(task, "status_name", "")
    return str(name) if name else str(category_of(task).value)


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _folded(values: Iterable[str]) -> frozenset[str]:
    return frozenset(value.casefold() for value in values)


def _one_of(values: Sequence[str]) -> str:
    return values[0] if len(values) == 1 else f"one of {', '.join(values)}"
