"""Deployment overrides from the environment: `OKRBRIDGE_<SECTION>_<KEY>` for scalar settings.

A container or a CI job sets `OKRBRIDGE_STORE_URL` (or `OKRBRIDGE_WEB_PORT`,
`OKRBRIDGE_SCHEDULE_PULL_INTERVAL`, ...) without editing the file. Values stay strings here;
validation coerces them (`"8080"` -> 8080, `"true"` -> True, `"5m"` -> 5 minutes) and a bad one
is reported under the variable's name. An empty variable counts as unset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_origin

from pydantic import BaseModel

from okrbridge.config.problems import KeyPath
from okrbridge.config.schema import Config

__all__ = ["OVERRIDE_SECTIONS", "apply_env_overrides", "override_variables"]

OVERRIDE_SECTIONS = ("store", "engine", "push", "schedule", "web")


def override_variables() -> dict[str, tuple[str, str]]:
    """Every override variable name and the setting it replaces, e.g.
    `OKRBRIDGE_STORE_URL -> ("store", "url")`."""
    variables: dict[str, tuple[str, str]] = {}
    for section in OVERRIDE_SECTIONS:
        model = Config.model_fields[section].annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        for name, field in model.model_fields.items():
            if get_origin(field.annotation) in (list, dict):
                continue  # only scalars can be written as one variable
            variables[f"OKRBRIDGE_{section.upper()}_{name.upper()}"] = (section, name)
    return variables


def apply_env_overrides(
    data: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[dict[str, Any], dict[KeyPath, str]]:
    """A copy of the parsed file `data` with the overrides set in `env` applied.

    Returns the new data and, for each overridden setting, the variable that set it (so that
    a problem with that value names the variable instead of a line of the file).
    """
    result = dict(data)
    applied: dict[KeyPath, str] = {}
    for variable, (section, key) in override_variables().items():
        value = env.get(variable)
        if not value:
            continue
        table = result.get(section, {})
        if not isinstance(table, Mapping):
            continue  # the section itself is wrong; that is reported against the file
        result[section] = {**table, key: value}
        applied[(section, key)] = variable
    return result, applied
