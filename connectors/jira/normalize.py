"""Jira issue JSON (search, bulkfetch or webhook `issue`) -> the core's `Task`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from okrbridge.domain import FoundMarks, StatusCategory, Task

__all__ = [
    "BASE_FIELDS",
    "FieldMap",
    "IssueShapeError",
    "normalize_issue",
    "parse_jira_datetime",
    "status_category",
]

BASE_FIELDS = (
    "summary",
    "status",
    "labels",
    "assignee",
    "parent",
    "duedate",
    "updated",
    "issuetype",
    "priority",
    "resolution",
    "project",
)
"""The fields a pull asks for (plus the estimate and extra fields of the instance)."""

# `status.statusCategory.key` is the workflow-independent stage; names are per workflow.
_CATEGORIES = {
    "new": StatusCategory.TODO,
    "indeterminate": StatusCategory.IN_PROGRESS,
    "done": StatusCategory.DONE,
}
_WONT_DO = frozenset({"won't do", "won't fix", "duplicate", "cannot reproduce", "declined"})


class IssueShapeError(ValueError):
    """The issue JSON lacks what a Task needs (id, key, status category or updated)."""


@dataclass(frozen=True)
class FieldMap:
    """Resolved field ids of one instance: the estimate field and extra fields by label."""

    estimate: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    """Label in `Task.fields` -> Jira field id."""

    def request_fields(self) -> list[str]:
        wanted = [*BASE_FIELDS, *self.extra.values()]
        if self.estimate:
            wanted.append(self.estimate)
        return list(dict.fromkeys(wanted))


def parse_jira_datetime(value: Any) -> datetime | None:
    """`2024-05-01T12:34:56.789+0000` (Jira's format) or ISO-8601 -> aware UTC, else None."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"  # +0000 -> +00:00
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def status_category(fields: Mapping[str, Any]) -> StatusCategory | None:
    """The category of `fields.status`, or None when the payload does not carry it."""
    status = fields.get("status")
    category = status.get("statusCategory") if isinstance(status, dict) else None
    key = category.get("key") if isinstance(category, dict) else None
    return _CATEGORIES.get(str(key).lower()) if key is not None else None


def normalize_issue(
    issue: Mapping[str, Any],
    *,
    instance: str,
    base_url: str,
    field_map: FieldMap,
    marks: FoundMarks | None = None,
) -> Task:
    """A Task from one issue; raises `IssueShapeError` when essentials are missing.
    `marks`: the bridge's comment as the read found it (None: the read did not look)."""
    fields = issue.get("fields")
    issue_id, key = issue.get("id"), issue.get("key")
    if not isinstance(fields, dict) or not issue_id or not isinstance(key, str):
        raise IssueShapeError("issue without id, key or fields")
    category = status_category(fields)
    updated = parse_jira_datetime(fields.get("updated"))
    if category is None or updated is None:
        raise IssueShapeError(f"issue {key} lacks status.statusCategory or updated")
    status = fields.get("status") or {}
    resolution = _name(fields.get("resolution"))
    return Task(
        connector=instance,
        external_id=str(issue_id),
        key=key,
        url=f"{base_url.rstrip('/')}/browse/{key}",
        title=str(fields.get("summary") or ""),
        container=_project_key(fields, key),
        container_aliases=_project_aliases(fields),
        status_name=str(status.get("name") or ""),
        status_category=category,
        excluded=category is StatusCategory.DONE and resolution.lower() in _WONT_DO,
        labels=tuple(str(label) for label in fields.get("labels") or ()),
        assignees=_assignees(fields.get("assignee")),
        estimate=_number(fields.get(field_map.estimate)) if field_map.estimate else None,
        parent=_parent(fields.get("parent")),
        due=_date(fields.get("duedate")),
        fields=_extra_fields(fields, field_map, resolution),
        updated_at=updated,
        raw=_raw(issue, fields),
        marks=marks,
    )


def _raw(issue: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as received, without embedded comments (read for marks, not kept)."""
    if "comment" not in fields:
        return dict(issue)
    return {**issue, "fields": {k: v for k, v in fields.items() if k != "comment"}}


def _project_key(fields: Mapping[str, Any], key: str) -> str:
    project = fields.get("project")
    if isinstance(project, dict) and project.get("key"):
        return str(project["key"])
    return key.rsplit("-", 1)[0]


def _project_aliases(fields: Mapping[str, Any]) -> tuple[str, ...]:
    """Other ways a person names the project in a rule: its name, its id."""
    project = fields.get("project")
    if not isinstance(project, dict):
        return ()
    names = (project.get("name"), project.get("id"))
    return tuple(dict.fromkeys(str(n) for n in names if n and n != project.get("key")))


def _assignees(user: Any) -> tuple[str, ...]:
    if not isinstance(user, dict):
        return ()
    # Cloud hides e-mails and Data Center has no accountId: take what identifies a person.
    who = user.get("displayName") or user.get("accountId") or user.get("name")
    return (str(who),) if who else ()


def _parent(parent: Any) -> str | None:
    if isinstance(parent, dict) and parent.get("key"):
        return str(parent["key"])
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _name(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name") or value.get("value") or "")
    return ""


def _extra_fields(
    fields: Mapping[str, Any], field_map: FieldMap, resolution: str
) -> dict[str, str]:
    out = {
        "issuetype": _name(fields.get("issuetype")),
        "priority": _name(fields.get("priority")),
        "resolution": resolution,
    }
    for label, field_id in field_map.extra.items():
        text = _field_text(fields.get(field_id))
        if text:
            out[label] = text
    return {name: value for name, value in out.items() if value}


def _field_text(value: Any) -> str:
    """A custom field's value as text: options by value, users by name, lists comma-joined."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(t for t in (_field_text(v) for v in value) if t)
    if isinstance(value, dict):
        return str(value.get("value") or value.get("name") or value.get("displayName") or "")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
