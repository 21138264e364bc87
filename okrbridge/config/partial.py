"""A best-effort `Config` from a file that failed validation, for the cross-section checks.

Sections and list items that are valid on their own are kept, the rest left out, so that
duplicate ids or bad references are still reported next to the validation errors.
"""

from __future__ import annotations

import contextlib
from typing import Any

from pydantic import BaseModel, ValidationError

from okrbridge.config.problems import KeyPath
from okrbridge.config.schema import Config
from okrbridge.domain import Initiative, Objective

__all__ = ["partial_config"]

_SECTIONS = ("store", "engine", "push", "schedule", "web")


def partial_config(data: dict[str, Any]) -> tuple[Config, dict[KeyPath, KeyPath]]:
    """The valid parts of `data` and a map from kept items' new to their written locations
    (`("objectives", 0)` -> `("objectives", 2)` when the first two objectives were invalid)."""
    values: dict[str, Any] = {}
    for name in _SECTIONS:
        model = Config.model_fields[name].annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            with contextlib.suppress(ValidationError):
                values[name] = model.model_validate(data.get(name, {}))
    remap: dict[KeyPath, KeyPath] = {}
    items: tuple[tuple[str, type[BaseModel]], ...] = (
        ("objectives", Objective),
        ("initiatives", Initiative),
    )
    for name, item_model in items:
        kept: list[BaseModel] = []
        raw = data.get(name)
        for index, item in enumerate(raw if isinstance(raw, list) else []):
            try:
                kept.append(item_model.model_validate(item))
            except ValidationError:
                continue
            remap[(name, len(kept) - 1)] = (name, index)
        values[name] = kept
    return Config.model_validate(values), remap
