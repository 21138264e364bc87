"""Why a task maps where it does, and which initiatives and rules match nothing.

Pure functions over the config's initiatives and tasks. Each condition of a rule is judged by
the engine's own compiled predicate with every other condition switched off, so what this
module says always agrees with the mapping the sync computes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from okrbridge.domain import Initiative, MatchRule, StatusCategory, Task
from okrbridge.engine.matching import RESERVED_LABEL_SLUGS
from okrbridge.engine.rules import CompiledRule, RuleIndex, compile_rule
from okrbridge.engine.taskview import TaskView

__all__ = [
    "Condition",
    "InitiativeVerdict",
    "RuleVerdict",
    "UnmatchedRule",
    "explain_task",
    "rules_matching_nothing",
]

_BLANK = CompiledRule(
    target=0,
    connector=None,
    containers=None,
    labels_any=frozenset(),
    labels_all=frozenset(),
    labels_none=frozenset(),
    parents=None,
    categories=None,
    assignees=None,
    title=None,
    fields=(),
)

_CONDITIONS = (
    # (MatchRule attribute, compiled attribute, how the task's side is read)
    ("connector", "connector", "connector"),
    ("container", "containers", "container"),
    ("labels_any", "labels_any", "labels"),
    ("labels_all", "labels_all", "labels"),
    ("labels_none", "labels_none", "labels"),
    ("parent", "parents", "parent"),
    ("status_category", "categories", "status_category"),
    ("assignee", "assignees", "assignees"),
    ("title_regex", "title", "title"),
)


@dataclass(frozen=True)
class Condition:
    """One condition of a rule: as written, what the task has, and whether it holds."""

    name: str
    wanted: str
    actual: str
    holds: bool


@dataclass(frozen=True)
class RuleVerdict:
    number: int
    """1-based position of the rule among its initiative's `[[initiatives.match]]` tables."""
    matched: bool
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class InitiativeVerdict:
    initiative_id: str
    title: str
    matched: bool
    explicit_label: str | None
    """The `<prefix><initiative-id>` label, when the task carries it (maps it by itself)."""
    rules: tuple[RuleVerdict, ...]


@dataclass(frozen=True)
class UnmatchedRule:
    initiative_id: str
    number: int
    """1-based position among the initiative's rules."""
    rule: MatchRule


def _written(value: object) -> str:
    if isinstance(value, StatusCategory):
        return value.value
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_written(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {v}" for k, v in value.items()) + "}"
    return str(value)


def _actual(task: Task, side: str) -> str:
    if side == "container":
        names = [task.container, *task.container_aliases]
        return " / ".join(repr(n) for n in names if n) or "(none)"
    if side in ("labels", "assignees"):
        values = getattr(task, side)
        return ", ".join(values) if values else "(none)"
    if side == "status_category":
        return (
            f"{task.status_category.value} ({task.status_name})"
            if task.status_name
            else (task.status_category.value)
        )
    value = getattr(task, side)
    return repr(value) if value else "(none)"


def _rule_verdict(rule: MatchRule, number: int, task: Task) -> RuleVerdict:
    compiled = compile_rule(rule, 0)
    labels = frozenset(label.casefold() for label in task.labels)
    conditions: list[Condition] = []
    for written, attribute, side in _CONDITIONS:
        value = getattr(rule, written)
        if value is None or value == []:
            continue
        alone = replace(_BLANK, **{attribute: getattr(compiled, attribute)})
        holds = alone.matches(task, labels)
        conditions.append(Condition(written, _written(value), _actual(task, side), holds))
    for name, expected in sorted(rule.field.items()):
        alone = replace(_BLANK, fields=((name, expected.casefold()),))
        actual = task.fields.get(name)
        conditions.append(
            Condition(
                f"field.{name}",
                expected,
                repr(actual) if actual is not None else "(not set)",
                alone.matches(task, labels),
            )
        )
    matched = not task.deleted and compiled.matches(task, labels)
    conditions += _other_conditions(rule, matched, conditions)
    return RuleVerdict(number, matched, tuple(conditions))


_KNOWN = frozenset({written for written, _, _ in _CONDITIONS} | {"field"})


def _other_conditions(rule: MatchRule, matched: bool, known: list[Condition]) -> list[Condition]:
    """Conditions of keys this module does not judge one by one (a newer match key): when the
    known ones all hold, the rule's own verdict is theirs; otherwise it cannot be told."""
    others = [
        (name, value)
        for name, value in rule.model_dump(exclude_defaults=True).items()
        if name not in _KNOWN and value not in (None, [], {})
    ]
    decided = matched or (all(c.holds for c in known) and len(others) == 1)
    actual = "(judged with the whole rule)" if decided else "(not judged alone)"
    return [Condition(name, _written(value), actual, matched) for name, value in others]


def explain_task(
    task: Task, initiatives: Sequence[Initiative], label_prefix: str
) -> list[InitiativeVerdict]:
    """For every initiative: does `task` serve it, by its explicit label or by which rule, and
    which condition of each rule holds or fails."""
    labels = {label.casefold() for label in task.labels}
    verdicts = []
    for initiative in initiatives:
        explicit = f"{label_prefix}{initiative.id}"
        carries = (
            initiative.id.casefold() not in RESERVED_LABEL_SLUGS
            and explicit.casefold() in labels
            and not task.deleted
        )
        rules = tuple(
            _rule_verdict(rule, number, task)
            for number, rule in enumerate(initiative.match, start=1)
        )
        verdicts.append(
            InitiativeVerdict(
                initiative.id,
                initiative.title,
                carries or any(rule.matched for rule in rules),
                explicit if carries else None,
                rules,
            )
        )
    return verdicts


def rules_matching_nothing(
    initiatives: Sequence[Initiative], tasks_of: Mapping[str, Sequence[TaskView]]
) -> list[UnmatchedRule]:
    """Rules that no task matches, in config order.

    `tasks_of` holds each initiative's mapped tasks (the evaluation's mapping): a task that
    matches a rule is mapped to the rule's initiative, so only those tasks need testing.
    """
    unmatched: list[UnmatchedRule] = []
    for initiative in initiatives:
        rules = list(initiative.match)
        index = RuleIndex(compile_rule(rule, number) for number, rule in enumerate(rules))
        found: set[int] = set()
        for task in tasks_of.get(initiative.id, ()):
            if len(found) == len(rules):
                break
            if not task.deleted:
                index.collect(task, frozenset(label.casefold() for label in task.labels), found)
        unmatched += [
            UnmatchedRule(initiative.id, number + 1, rule)
            for number, rule in enumerate(rules)
            if number not in found
        ]
    return unmatched
