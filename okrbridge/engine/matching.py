"""Map tasks to the initiatives they serve (and to key results that count tasks directly).

A task belongs to an initiative when any of the initiative's rules matches it (conditions
inside a rule must all hold) or when it carries the explicit label `<prefix><initiative-id>`,
e.g. `okr:checkout-revamp`, that a person added in their own tool. A task may serve several
initiatives. Deleted tasks never match. Excluded tasks (closed as not planned) do match, so
they stay visible, but progress leaves them out.

The bridge's own status labels (`okr:on-track`, `okr:needs-attention`, `okr:off-track`,
`okr:achieved`, `okr:not-started`) share the prefix but are never read as explicit mapping
labels: an initiative whose id equals one of those slugs (say `on-track`) can still be matched
by its rules, but not by label.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from okrbridge.domain import Initiative, KeyResult, KeyResultSource, KRStatus

from .rules import CompiledRule, RuleIndex, compile_rule
from .taskview import TaskKey, TaskView

__all__ = ["RESERVED_LABEL_SLUGS", "TaskMapping", "TaskMatcher", "map_tasks"]

RESERVED_LABEL_SLUGS = frozenset(status.label_slug for status in KRStatus)
"""Label suffixes the bridge uses for statuses; never treated as initiative ids."""


@dataclass(frozen=True)
class TaskMapping:
    """Result of mapping: which tasks serve which initiatives, both ways."""

    by_task: dict[TaskKey, frozenset[str]]
    """Initiative ids per mapped task (tasks mapped to nothing are absent)."""
    by_initiative: dict[str, list[TaskView]]
    """Tasks per initiative id; every initiative is present, possibly with no tasks."""
    by_key_result: dict[str, list[TaskView]]
    """Tasks matching the `tasks` rule of each key result with `source = "tasks"`."""


class TaskMatcher:
    """Compiled rules of all initiatives (and task-counting key results), ready for tasks."""

    def __init__(
        self,
        initiatives: Sequence[Initiative],
        key_results: Sequence[KeyResult] = (),
        *,
        label_prefix: str = "okr:",
    ) -> None:
        counted = [
            (kr.id, kr.tasks)
            for kr in key_results
            if kr.source is KeyResultSource.TASKS and kr.tasks is not None
        ]
        self.initiative_ids = [initiative.id for initiative in initiatives]
        self.key_result_ids = [kr_id for kr_id, _ in counted]
        rules: list[CompiledRule] = []
        for target, initiative in enumerate(initiatives):
            rules += (compile_rule(rule, target) for rule in initiative.match)
        offset = len(initiatives)
        for number, (_, rule) in enumerate(counted):
            rules.append(compile_rule(rule, offset + number))
        self.index = RuleIndex(rules)
        self.explicit = _explicit_labels(self.initiative_ids, label_prefix)
        self.explicit_labels = frozenset(self.explicit)

    def targets(self, task: TaskView) -> set[int]:
        """Numbers of the initiatives (then key results, offset) that `task` serves."""
        found: set[int] = set()
        if task.deleted:
            return found
        labels = frozenset(map(str.casefold, task.labels))
        if labels:
            # Set intersections run in C; most tasks carry no explicit label at all.
            for label in labels & self.explicit_labels:
                found.add(self.explicit[label])
        self.index.collect(task, labels, found)
        return found

    def initiatives_of(self, task: TaskView) -> frozenset[str]:
        """Ids of the initiatives `task` serves."""
        count = len(self.initiative_ids)
        return frozenset(self.initiative_ids[t] for t in self.targets(task) if t < count)


def _explicit_labels(initiative_ids: Sequence[str], prefix: str) -> dict[str, int]:
    """Case-folded `<prefix><id>` label -> initiative number, without the status labels.

    Two ids equal but for case would be ambiguous in a case-insensitive tool; the first wins.
    """
    labels: dict[str, int] = {}
    for number, initiative_id in enumerate(initiative_ids):
        folded = initiative_id.casefold()
        if folded not in RESERVED_LABEL_SLUGS:
            labels.setdefault(f"{prefix}{initiative_id}".casefold(), number)
    return labels


def map_tasks(
    initiatives: Sequence[Initiative],
    tasks: Iterable[TaskView],
    *,
    key_results: Sequence[KeyResult] = (),
    label_prefix: str = "okr:",
) -> TaskMapping:
    """Map every task once to its initiatives and to key results that count tasks."""
    matcher = TaskMatcher(initiatives, key_results, label_prefix=label_prefix)
    initiative_ids = matcher.initiative_ids
    count = len(initiative_ids)
    lists: list[list[TaskView]] = [[] for _ in range(count + len(matcher.key_result_ids))]
    by_task: dict[TaskKey, frozenset[str]] = {}
    shared: dict[frozenset[int], frozenset[str]] = {}
    for task in tasks:
        found = matcher.targets(task)
        if not found:
            continue
        for target in found:
            lists[target].append(task)
        numbers = frozenset(found)
        ids = shared.get(numbers)
        if ids is None:
            # Tasks of one initiative share one frozenset: less memory at 100k tasks.
            ids = shared[numbers] = frozenset(initiative_ids[t] for t in numbers if t < count)
        if ids:
            by_task[(task.connector, task.external_id)] = ids
    return TaskMapping(
        by_task=by_task,
        by_initiative=dict(zip(initiative_ids, lists[:count], strict=True)),
        by_key_result=dict(zip(matcher.key_result_ids, lists[count:], strict=True)),
    )
