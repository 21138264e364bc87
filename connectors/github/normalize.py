"""Turn a GraphQL `ProjectV2Item` (fragment `ItemDetail`) into a normalized `Task`.

Status: the project's single-select `status_field` decides (done/todo options, anything else is
in progress, no value is todo), but the content's own state wins where it is final: a merged
pull request or an issue closed as completed is done; an issue closed as not planned (or as a
duplicate) and a pull request closed unmerged are excluded from progress.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from connectors.github.marks import window_marks
from connectors.github.settings import GitHubSettings
from connectors.github.status_field import StatusOptions
from okrbridge.domain import FoundMarks, StatusCategory, Task

__all__ = ["external_id_of", "field_values", "is_draft", "normalize_item", "parse_time"]

_EXCLUDED_REASONS = frozenset({"NOT_PLANNED", "DUPLICATE"})


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def external_id_of(item: dict[str, Any]) -> str | None:
    """The content node id for issues and pull requests (labels and comments live there),
    the item id for drafts; None for redacted items (no content visible)."""
    content = item.get("content")
    if not isinstance(content, dict) or not content.get("id"):
        return None
    if item.get("type") == "DRAFT_ISSUE" or content.get("__typename") == "DraftIssue":
        return str(item["id"])
    return str(content["id"])


def field_values(item: dict[str, Any]) -> dict[str, str]:
    """Field name -> value as text (option name, number, date, iteration title, text)."""
    out: dict[str, str] = {}
    for value in (item.get("fieldValues") or {}).get("nodes") or []:
        if not isinstance(value, dict):
            continue
        name = ((value.get("field") or {}).get("name")) or ""
        text = _value_text(value)
        if name and text is not None:
            out[name] = text
    return out


def _value_text(value: dict[str, Any]) -> str | None:
    for key in ("name", "text", "date", "title"):
        if isinstance(value.get(key), str):
            return str(value[key])
    number = value.get("number")
    if isinstance(number, int | float):
        return f"{number:g}"
    return None


def _status(
    settings: GitHubSettings, content: dict[str, Any], option: str | None
) -> tuple[StatusCategory, bool]:
    """(category, excluded) from the status option and the content's state."""
    issue_state, pr_state = content.get("issueState"), content.get("prState")
    option_category = _option_category(settings, option)
    if pr_state == "MERGED":
        return StatusCategory.DONE, False
    if pr_state == "CLOSED":  # closed without merging: abandoned
        return option_category, True
    if issue_state == "CLOSED":
        if content.get("stateReason") in _EXCLUDED_REASONS:
            return option_category, True
        return StatusCategory.DONE, False
    return option_category, False


def _option_category(settings: GitHubSettings, option: str | None) -> StatusCategory:
    if not option or option in settings.todo_options:
        return StatusCategory.TODO
    if option in settings.done_options:
        return StatusCategory.DONE
    return StatusCategory.IN_PROGRESS


def _estimate(settings: GitHubSettings, fields: dict[str, str]) -> float | None:
    if not settings.estimate_field or settings.estimate_field not in fields:
        return None
    try:
        return float(fields[settings.estimate_field])
    except ValueError:
        return None


def _due(fields: dict[str, str]) -> date | None:
    for name in ("Due", "Due date", "Target date"):
        if name in fields:
            try:
                return date.fromisoformat(fields[name])
            except ValueError:
                return None
    return None


def normalize_item(
    instance: str,
    settings: GitHubSettings,
    item: dict[str, Any],
    options: StatusOptions | None = None,
) -> Task | None:
    """The task for one project item; None for redacted items (content not visible).

    `container` is the repository (drafts have none); the project is `fields["project"]`,
    written `owner/number` (e.g. `acme/1`), so a rule can match a whole project."""
    external_id = external_id_of(item)
    if external_id is None:
        return None
    content: dict[str, Any] = item["content"]
    project = item.get("project") or {}
    fields = field_values(item)
    option = fields.get(settings.status_field)
    category, excluded = _status(settings, content, option)
    is_draft = external_id == item["id"]
    repo = "" if is_draft else str((content.get("repository") or {}).get("nameWithOwner", ""))
    extra = dict(fields)
    if settings.iteration_field and settings.iteration_field in fields:
        extra["iteration"] = fields[settings.iteration_field]
    extra["item_type"] = str(item.get("type", ""))
    extra["project"] = f"{settings.owner}/{project.get('number', '')}"
    updated = max(
        filter(None, (parse_time(item.get("updatedAt")), parse_time(content.get("updatedAt")))),
        default=None,
    )
    return Task(
        connector=instance,
        external_id=external_id,
        key=_key(settings, project, item, content, repo),
        url=_url(project, item, content, is_draft),
        title=str(content.get("title", "")),
        container=repo,
        status_name=_status_name(content, option),
        status_category=category,
        excluded=excluded or bool(item.get("isArchived")),
        labels=tuple(n["name"] for n in _nodes(content.get("labels"))),
        assignees=tuple(n["login"] for n in _nodes(content.get("assignees"))),
        estimate=_estimate(settings, fields),
        due=_due(fields),
        fields=extra,
        updated_at=updated,
        raw={
            "item": _without_comments(item),
            "item_id": item["id"],
            "project_id": project.get("id", ""),
        },
        marks=_marks(settings, options, content, fields, is_draft),
    )


def _marks(
    settings: GitHubSettings,
    options: StatusOptions | None,
    content: dict[str, Any],
    fields: dict[str, str],
    is_draft: bool,
) -> FoundMarks | None:
    """The bridge's marks as this read shows them (None: the read could not tell)."""
    if not is_draft:
        return window_marks(content.get("comments"))
    name = settings.kr_status_field
    if not name:
        return FoundMarks()
    value = (options or StatusOptions(settings)).value_of(fields.get(name))
    return FoundMarks(field_value=value)


def _without_comments(item: dict[str, Any]) -> dict[str, Any]:
    """The item as stored: comment bodies are read for the marks, not kept."""
    content = item.get("content")
    if not isinstance(content, dict) or "comments" not in content:
        return item
    return {**item, "content": {k: v for k, v in content.items() if k != "comments"}}


def _nodes(connection: Any) -> list[dict[str, Any]]:
    if not isinstance(connection, dict):
        return []
    return [n for n in connection.get("nodes") or [] if isinstance(n, dict)]


def _key(
    settings: GitHubSettings,
    project: dict[str, Any],
    item: dict[str, Any],
    content: dict[str, Any],
    repo: str,
) -> str:
    if repo and content.get("number") is not None:
        return f"{repo}#{content['number']}"
    return f"{settings.owner}/projects/{project.get('number', '')}#draft-{item.get('databaseId')}"


def _url(
    project: dict[str, Any], item: dict[str, Any], content: dict[str, Any], draft: bool
) -> str:
    if not draft:
        return str(content.get("url", ""))
    base = str(project.get("url", ""))
    return f"{base}?pane=issue&itemId={item.get('databaseId')}" if base else ""


def _status_name(content: dict[str, Any], option: str | None) -> str:
    if option:
        return option
    state = content.get("issueState") or content.get("prState")
    return str(state).title() if state else ""


def is_draft(task: Task) -> bool:
    """A draft item: no repository, so no labels or comments."""
    return task.fields.get("item_type") == "DRAFT_ISSUE" or "#draft-" in task.key
