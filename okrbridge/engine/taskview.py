"""What the engine reads from a task: a structural protocol, so the store can feed light rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, TypeAlias

from okrbridge.domain import StatusCategory, TaskRef

__all__ = ["CATEGORY_BY_VALUE", "TaskKey", "TaskView", "category_of", "task_key"]

TaskKey: TypeAlias = tuple[str, str]
"""`(connector, external_id)`: a task's identity as a plain tuple.

The engine keys its mappings by this tuple rather than `TaskRef` because building and hashing
100,000 pydantic models costs more than the whole mapping; `task_key(ref)` converts.
"""


class TaskView(Protocol):
    """The task attributes the engine reads; `okrbridge.domain.Task` satisfies it.

    `status_category` may be a `StatusCategory` or its string value ("todo", "in_progress",
    "done"), as stored rows hold it.
    """

    @property
    def connector(self) -> str: ...
    @property
    def external_id(self) -> str: ...
    @property
    def container(self) -> str: ...
    @property
    def container_aliases(self) -> Sequence[str]: ...
    @property
    def labels(self) -> Sequence[str]: ...
    @property
    def assignees(self) -> Sequence[str]: ...
    @property
    def status_category(self) -> str: ...
    @property
    def excluded(self) -> bool: ...
    @property
    def estimate(self) -> float | None: ...
    @property
    def parent(self) -> str | None: ...
    @property
    def title(self) -> str: ...
    @property
    def fields(self) -> Mapping[str, object]: ...
    @property
    def deleted(self) -> bool: ...


# Keyed by both members and values: a str-enum member hashes by its name, not its value, so a
# dict keyed only by values would miss members (and the reverse).
CATEGORY_BY_VALUE: dict[object, StatusCategory] = {
    **{category: category for category in StatusCategory},
    **{category.value: category for category in StatusCategory},
}


def category_of(task: TaskView) -> StatusCategory:
    """The task's status category; an unknown value counts as `todo`."""
    return CATEGORY_BY_VALUE.get(task.status_category, StatusCategory.TODO)


def task_key(task: TaskView | TaskRef) -> TaskKey:
    """The `(connector, external_id)` key of a task or task reference."""
    return (task.connector, task.external_id)
