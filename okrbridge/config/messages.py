"""Turn pydantic validation errors into short, precise messages at document key paths.

pydantic reports locations that include union-branch tags (`container.str`,
`status_category.list[enum]`) and messages written for programmers. Here each error is moved to
the key path that exists in the document, union branches are folded into one message, unknown
keys get a "did you mean" suggestion and enum values list what is allowed.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from okrbridge.config.problems import KeyPath, format_path
from okrbridge.domain import annotation_members

__all__ = ["LocatedMessage", "allowed_keys", "suggest", "validation_messages"]

LocatedMessage = tuple[KeyPath, str]

# Model-level checks in the domain models raise at the model; these message openings tell which
# field the user has to change, so the problem is shown at that field's line.
_FIELD_HINTS = (
    ("end ", "end"),
    ("start and target are equal", "target"),
    ("direction is ", "direction"),
    ('source = "tasks" needs', "source"),
    ("a `tasks` match rule", "tasks"),
    ('progress = "target" needs', "progress"),
)
_PREFIXES = ("Value error, ", "Assertion failed, ")
_QUOTED = re.compile(r"'([^']*)'")


def suggest(word: str, choices: list[str]) -> str | None:
    """The closest choice to `word`, if any is close enough."""
    matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return matches[0] if matches else None


def allowed_keys(model: type[BaseModel], path: KeyPath) -> list[str] | None:
    """Field names of the model that validates the table at `path` under `model`."""
    current: Any = model
    for segment in path:
        current = _step(current, segment)
        if current is None:
            return None
    for candidate in annotation_members(current):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return list(candidate.model_fields)
    return None


def _step(annotation: Any, segment: str | int) -> Any:
    for candidate in annotation_members(annotation):
        origin = get_origin(candidate)
        if isinstance(segment, int) and origin is list:
            return get_args(candidate)[0]
        if isinstance(segment, str) and origin is dict:
            return get_args(candidate)[1]
        if (
            isinstance(segment, str)
            and isinstance(candidate, type)
            and issubclass(candidate, BaseModel)
            and segment in candidate.model_fields
        ):
            return candidate.model_fields[segment].annotation
    return None


@dataclass
class _Error:
    path: KeyPath
    detail: ErrorDetails
    tagged: bool
    """Some location segments were union-branch tags, not document keys."""


def _clean(data: Any, loc: tuple[str | int, ...], missing: bool) -> tuple[KeyPath, bool]:
    """Keep the location segments that exist in the document (plus a missing key's name)."""
    path: KeyPath = ()
    tagged = False
    current = data
    for index, segment in enumerate(loc):
        in_table = isinstance(current, Mapping) and segment in current
        in_array = isinstance(current, list) and isinstance(segment, int) and segment < len(current)
        if in_table or in_array:
            current = current[segment]
        elif missing and index == len(loc) - 1:
            pass
        else:
            tagged = True
            continue
        path += (segment,)
    return path, tagged


def validation_messages(
    exc: ValidationError,
    data: Any,
    model: type[BaseModel],
    *,
    prefix: KeyPath = (),
    hide_input: Container[KeyPath] = (),
) -> list[LocatedMessage]:
    """Messages for every error in `exc`, located under `prefix` in the document.

    `data` is what was validated with `model`; values at paths in `hide_input` (they came from
    the environment) are never repeated in a message.
    """
    errors = []
    for detail in exc.errors(include_url=False):
        path, tagged = _clean(data, detail["loc"], detail["type"] == "missing")
        errors.append(_Error(path, detail, tagged))
    result: list[LocatedMessage] = []
    for error_group in _fold_unions(errors):
        path = error_group[0].path
        hidden = (*prefix, *path) in hide_input
        message = _message(error_group, data, model, show_input=not hidden)
        result.append(((*prefix, *_hinted(path, error_group[0].detail, data)), message))
    return result


def _fold_unions(errors: list[_Error]) -> list[list[_Error]]:
    """Group errors of one union value; keep the branch that got deepest into the value."""
    plain = [[error] for error in errors if not error.tagged]
    tagged = [error for error in errors if error.tagged]
    deeper = {
        error.path[:cut]
        for error in tagged
        for cut in range(len(error.path))  # every strict prefix
    }
    groups: dict[KeyPath, list[_Error]] = {}
    for error in tagged:
        if error.path not in deeper:
            groups.setdefault(error.path, []).append(error)
    return plain + list(groups.values())


def _message(group: list[_Error], data: Any, model: type[BaseModel], *, show_input: bool) -> str:
    value_errors = [e for e in group if not e.detail["type"].endswith("_type")]
    chosen = value_errors or group
    if len(chosen) > 1:  # only type errors from several union branches: "a string or a list"
        wanted = [e.detail["msg"].removeprefix("Input should be ") for e in chosen]
        text = "Input should be " + " or ".join(dict.fromkeys(wanted))
        return _with_input(text, chosen[0].detail, show_input)
    return _single(chosen[0], data, model, show_input=show_input)


def _single(error: _Error, data: Any, model: type[BaseModel], *, show_input: bool) -> str:
    detail = error.detail
    kind = detail["type"]
    if kind == "missing":
        return f"required key '{error.path[-1]}' is missing" if error.path else "missing"
    if kind == "extra_forbidden":
        return _unknown_key(error.path, model)
    if kind in ("enum", "literal_error"):
        return _bad_choice(detail, show_input=show_input)
    if kind in ("list_type", "model_type", "model_attributes_type", "dict_type"):
        return _shape(error.path, detail, kind == "list_type")
    if kind == "finite_number":
        return "must be a finite number (nan and inf are not numbers here)"
    if kind == "too_short":
        least = (detail.get("ctx") or {}).get("min_length", 1)
        return f"needs at least {least} item{'s' if least != 1 else ''}"
    message = detail["msg"]
    for prefix in _PREFIXES:
        message = message.removeprefix(prefix)
    return _with_input(message, detail, show_input) if kind.endswith("_type") else message


def _unknown_key(path: KeyPath, model: type[BaseModel]) -> str:
    name = str(path[-1])
    allowed = allowed_keys(model, path[:-1]) or []
    best = suggest(name, allowed)
    if best is not None:
        return f"unknown key '{name}' (did you mean '{best}'?)"
    if allowed:
        return f"unknown key '{name}' (allowed keys: {', '.join(allowed)})"
    return f"unknown key '{name}'"


def _bad_choice(detail: ErrorDetails, *, show_input: bool) -> str:
    expected = str((detail.get("ctx") or {}).get("expected", ""))
    choices = _QUOTED.findall(expected)
    value = detail["input"]
    head = f"invalid value {value!r}" if show_input else "invalid value"
    text = f"{head}: expected {expected}" if expected else f"{head}: {detail['msg']}"
    best = suggest(str(value), choices) if show_input and isinstance(value, str) else None
    return f"{text} (did you mean '{best}'?)" if best else text


def _shape(path: KeyPath, detail: ErrorDetails, wants_list: bool) -> str:
    """Tables and arrays mixed up: the most common TOML slip, answered in TOML terms."""
    got = _toml_kind(detail["input"])
    name = format_path(tuple(s for s in path if isinstance(s, str)))
    if wants_list and got == "a table":
        return f"expected an array, got a table (for a list of tables write [[{name}]])"
    if wants_list:
        return f"expected an array, got {got}"
    return f"expected a table ([{name}] or {{ key = value }}), got {got}"


def _toml_kind(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return f"a {type(value).__name__}"


def _with_input(message: str, detail: ErrorDetails, show_input: bool) -> str:
    value = detail["input"]
    if not show_input or isinstance(value, dict | list):
        return message
    return f"{message} (got {type(value).__name__} {value!r})"


def _hinted(path: KeyPath, detail: ErrorDetails, data: Any) -> KeyPath:
    """For a model-level check, the path of the field the message is about, when written."""
    if detail["type"] != "value_error":
        return path
    message = detail["msg"].removeprefix("Value error, ")
    table: Any = data
    for segment in path:
        table = table[segment]
    if not isinstance(table, Mapping):
        return path
    for opening, field in _FIELD_HINTS:
        if message.startswith(opening) and field in table:
            return (*path, field)
    return path
