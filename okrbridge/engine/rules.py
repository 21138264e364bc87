"""Match rules compiled once into fast predicates, and indexed so a task meets few of them.

Comparisons of identifiers (containers, labels, parents, assignees, field values) ignore case:
GitHub treats labels and repository names case-insensitively, and a rule written `growth` for a
label shown as `Growth` is never meant to miss. Connector instance names are compared exactly;
`title_regex` is applied as written (use `(?i)` for case-insensitive titles).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from okrbridge.domain import MatchRule, StatusCategory

from .taskview import TaskView, category_of

__all__ = ["PROJECT_FIELD", "CompiledRule", "RuleIndex", "compile_rule", "in_container"]

PROJECT_FIELD = "project"
"""The task field a rule's `project` tests (GitHub items: `owner/number` of their project)."""


def _folded(value: str | Sequence[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    values = [value] if isinstance(value, str) else value
    return frozenset(item.casefold() for item in values)


def _categories(
    value: StatusCategory | Sequence[StatusCategory] | None,
) -> frozenset[StatusCategory] | None:
    if value is None:
        return None
    return frozenset([value] if isinstance(value, StatusCategory) else value)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One match rule ready to test; `target` numbers what a match maps the task to."""

    target: int
    connector: str | None
    containers: frozenset[str] | None
    """Case-folded; the task's container or any of its aliases must be one of them."""
    labels_any: frozenset[str]
    labels_all: frozenset[str]
    labels_none: frozenset[str]
    parents: frozenset[str] | None
    categories: frozenset[StatusCategory] | None
    assignees: frozenset[str] | None
    title: re.Pattern[str] | None
    fields: tuple[tuple[str, str], ...]
    projects: frozenset[str] | None = None
    """Case-folded `owner/number` values, tested against `task.fields["project"]`."""
    unconditional: bool = field(init=False)
    """No condition left to test (often so once filed in the index): matches every task."""

    def __post_init__(self) -> None:
        conditions = (
            self.connector,
            self.containers,
            self.parents,
            self.categories,
            self.assignees,
            self.title,
            self.projects,
        )
        unconditional = all(c is None for c in conditions) and not (
            self.labels_any or self.labels_all or self.labels_none or self.fields
        )
        object.__setattr__(self, "unconditional", unconditional)  # frozen: set once here

    def matches(self, task: TaskView, labels: frozenset[str]) -> bool:
        """True when every set condition holds; `labels` are the task's labels, case-folded.

        One flat function on purpose: it runs a few times per task, 100,000s of times a sync.
        """
        if self.connector is not None and task.connector != self.connector:
            return False
        if self.containers is not None and not in_container(self.containers, task):
            return False
        if self.labels_any and self.labels_any.isdisjoint(labels):
            return False
        if self.labels_all and not self.labels_all <= labels:
            return False
        if self.labels_none and not self.labels_none.isdisjoint(labels):
            return False
        if self.categories is not None and category_of(task) not in self.categories:
            return False
        if self.parents is not None:
            parent = task.parent
            if parent is None or parent.casefold() not in self.parents:
                return False
        if self.assignees is not None and self.assignees.isdisjoint(
            map(str.casefold, task.assignees)
        ):
            return False
        if self.title is not None and self.title.search(task.title) is None:
            return False
        if self.projects is not None:
            project = task.fields.get(PROJECT_FIELD)
            if project is None or str(project).casefold() not in self.projects:
                return False
        return not self.fields or _fields_match(self.fields, task.fields)


def in_container(containers: frozenset[str], task: TaskView) -> bool:
    """True when the task's container or one of its aliases is in `containers` (case-folded)."""
    if task.container.casefold() in containers:
        return True
    return any(alias.casefold() in containers for alias in task.container_aliases)


def _fields_match(wanted: tuple[tuple[str, str], ...], values: Mapping[str, object]) -> bool:
    for name, expected in wanted:
        value = values.get(name)
        if value is None or str(value).casefold() != expected:
            return False
    return True


def compile_rule(rule: MatchRule, target: int) -> CompiledRule:
    """Compile `rule` (its regex once) into a predicate that maps a match to `target`."""
    return CompiledRule(
        target=target,
        connector=rule.connector,
        containers=_folded(rule.container),
        labels_any=_folded(rule.labels_any) or frozenset(),
        labels_all=_folded(rule.labels_all) or frozenset(),
        labels_none=_folded(rule.labels_none) or frozenset(),
        parents=_folded(rule.parent),
        categories=_categories(rule.status_category),
        assignees=_folded(rule.assignee),
        title=re.compile(rule.title_regex) if rule.title_regex is not None else None,
        fields=tuple((name, value.casefold()) for name, value in sorted(rule.field.items())),
        projects=_folded(rule.project),
    )


_KIND_COST = {"parent": 1, "label": 1, "container": 2, "field": 2, "connector": 8}
"""Rough share of tasks a key of each kind selects: a parent or a label picks few tasks, a
container more, a whole connector instance most."""

_Key = str | tuple[str, str]


@dataclass(frozen=True)
class _Option:
    """A way to file a rule: under each of `keys` of one kind, testing only `rest` there."""

    kind: str
    keys: frozenset[_Key]
    rest: CompiledRule
    """The rule without the condition that finding it under one of `keys` already proves."""


def _options(rule: CompiledRule) -> list[_Option]:
    """Ways to file `rule`: a matching task must carry one of the keys of each option."""
    options: list[_Option] = []
    if rule.containers is not None:
        rest = replace(rule, containers=None)
        options.append(_Option("container", frozenset(rule.containers), rest))
    if rule.parents is not None:
        options.append(_Option("parent", frozenset(rule.parents), replace(rule, parents=None)))
    if rule.labels_any:
        rest = replace(rule, labels_any=frozenset())
        options.append(_Option("label", frozenset(rule.labels_any), rest))
    for label in rule.labels_all:
        rest = replace(rule, labels_all=rule.labels_all - {label})
        options.append(_Option("label", frozenset([label]), rest))
    if rule.projects is not None:
        keys = frozenset((PROJECT_FIELD, project) for project in rule.projects)
        options.append(_Option("field", keys, replace(rule, projects=None)))
    for item in rule.fields:
        rest = replace(rule, fields=tuple(other for other in rule.fields if other != item))
        options.append(_Option("field", frozenset([item]), rest))
    if rule.connector is not None:
        rest = replace(rule, connector=None)
        options.append(_Option("connector", frozenset([rule.connector]), rest))
    return options


class RuleIndex:
    """Rules filed under their most selective condition, so each task meets only candidates.

    A matching task must carry one key of every filing option of a rule (its container, its
    parent, one of its `labels_any`, each of its `labels_all`, ...). Each rule is filed under
    the option shared with the fewest other rules, weighted by how many tasks a key of that
    kind usually selects, and there only the rest of its conditions are tested; a rule with no
    option meets every task. The index never changes what matches, only what is tested.
    """

    def __init__(self, rules: Iterable[CompiledRule]) -> None:
        self.buckets: dict[str, dict[_Key, list[CompiledRule]]] = {kind: {} for kind in _KIND_COST}
        self.always: list[CompiledRule] = []
        planned = [(rule, _options(rule)) for rule in rules]
        sharing: Counter[tuple[str, _Key]] = Counter(
            (option.kind, key)
            for _, options in planned
            for option in options
            for key in option.keys
        )
        for rule, options in planned:
            if not options:
                self.always.append(rule)
                continue
            best = min(
                options,
                key=lambda option: (
                    _KIND_COST[option.kind] * sum(sharing[(option.kind, k)] for k in option.keys)
                ),
            )
            for key in best.keys:
                self.buckets[best.kind].setdefault(key, []).append(best.rest)
        self.by_container = self.buckets["container"]
        self.by_parent = self.buckets["parent"]
        self.by_label = self.buckets["label"]
        self.by_field = self.buckets["field"]
        self.by_connector = self.buckets["connector"]
        self.label_keys = frozenset(self.by_label)

    def collect(self, task: TaskView, labels: frozenset[str], found: set[int]) -> None:
        """Add to `found` the targets of the rules `task` matches (`labels` case-folded)."""
        if self.always:
            _collect(self.always, task, labels, found)
        if self.by_container:
            rules = self.by_container.get(task.container.casefold())
            if rules is not None:
                _collect(rules, task, labels, found)
            for alias in task.container_aliases:
                if rules := self.by_container.get(alias.casefold()):
                    _collect(rules, task, labels, found)
        if labels:
            by_label = self.by_label
            for label in labels & self.label_keys:
                _collect(by_label[label], task, labels, found)
        if self.by_parent:
            parent = task.parent
            if parent is not None and (rules := self.by_parent.get(parent.casefold())):
                _collect(rules, task, labels, found)
        if self.by_field:
            for name, value in task.fields.items():
                rules = self.by_field.get((name, str(value).casefold()))
                if rules is not None:
                    _collect(rules, task, labels, found)
        if self.by_connector and (rules := self.by_connector.get(task.connector)):
            _collect(rules, task, labels, found)


def _collect(
    rules: list[CompiledRule], task: TaskView, labels: frozenset[str], found: set[int]
) -> None:
    for rule in rules:
        # A target already found needs no second rule (rules of an initiative are OR'ed).
        if rule.target not in found and (rule.unconditional or rule.matches(task, labels)):
            found.add(rule.target)
