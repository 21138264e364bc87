"""Validate a table and uncover the problems pydantic hides behind other problems.

pydantic runs a model's own checks (`end` after `start`, `start` != `target`) only once all its
fields are valid, so a file with a bad `metric` would hide that its timeframe is reversed. After
reporting a round of errors, the offending leaf values are removed (they were already reported,
and most have defaults) and the data is validated again, so later rounds reveal what was hidden.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from okrbridge.config.messages import LocatedMessage, validation_messages
from okrbridge.config.problems import KeyPath

__all__ = ["validate_all"]

M = TypeVar("M", bound=BaseModel)
_ROUNDS = 4


def validate_all(
    model: type[M],
    data: Any,
    report: Callable[[KeyPath, str], None],
    *,
    prefix: KeyPath = (),
    hide_input: Collection[KeyPath] = (),
) -> M | None:
    """`model` validated from `data`, or None after reporting every problem found."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc
    hidden = {p[len(prefix) :] for p in hide_input if p[: len(prefix)] == prefix}
    pruned = copy.deepcopy(data)
    removed: set[KeyPath] = set()
    seen: set[LocatedMessage] = set()
    for _ in range(_ROUNDS):
        messages = validation_messages(error, pruned, model, hide_input=hidden)
        fresh = [m for m in messages if m not in seen and not _from_pruning(m, removed)]
        for path, message in fresh:
            report((*prefix, *path), message)
        seen.update(fresh)
        pruned_now = {path for path, _ in fresh if _prune(pruned, path)}
        if not pruned_now:
            return None
        removed |= pruned_now
        try:
            model.model_validate(pruned)
        except ValidationError as exc:
            error = exc
        else:
            return None
    return None


def _from_pruning(message: LocatedMessage, removed: set[KeyPath]) -> bool:
    path, text = message
    return text.startswith("required key ") and path in removed


def _prune(data: Any, path: KeyPath) -> bool:
    """Remove the leaf value at the last key of `path`; never a table or a list of tables
    (that would shift the positions of what follows)."""
    cut = max((i for i, segment in enumerate(path) if isinstance(segment, str)), default=-1)
    if cut < 0:
        return False
    parent = data
    for segment in path[:cut]:
        parent = parent[segment]
    key = path[cut]
    if not isinstance(parent, dict) or key not in parent:
        return False
    value = parent[key]
    if isinstance(value, dict) or (
        isinstance(value, list) and any(isinstance(v, dict) for v in value)
    ):
        return False
    del parent[key]
    return True
