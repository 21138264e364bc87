"""Webhook payloads built from deliveries GitHub published (`@octokit/webhooks-examples`).

Each file in `payloads/` is one recorded example, named `<event>.<action>.json`; a delivery is
that example with the simulator's own objects laid over it (the issue, comment, label,
repository, sender, project item), so every key the simulator does not model keeps GitHub's
real shape. GitHub publishes no `projects_v2_item.deleted` example: it is built from the
`edited` one without its `changes`.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["build"]

_BASES = {("projects_v2_item", "deleted"): ("projects_v2_item", "edited")}


@cache
def _example(event: str, action: str) -> dict[str, Any]:
    name = ".".join(_BASES.get((event, action), (event, action)))
    text = (resources.files(__package__) / "payloads" / f"{name}.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def build(event: str, action: str, **parts: Any) -> dict[str, Any]:
    """The example for `event.action` with `parts` laid over it: a dict part is merged into the
    example's object of that name, None removes the key, anything else replaces it."""
    payload = copy.deepcopy(_example(event, action))
    payload["action"] = action
    for key, value in parts.items():
        if value is None:
            payload.pop(key, None)
        elif isinstance(value, dict) and isinstance(payload.get(key), dict):
            payload[key] = {**payload[key], **value}
        else:
            payload[key] = value
    return payload
