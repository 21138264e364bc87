"""JSON shapes of the simulated site: issues, comments, users, fields and webhook bodies."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .state import STATUSES, SimIssue, SimState, SimUser, StoredComment

__all__ = [
    "SYSTEM_FIELDS",
    "comment_json",
    "field_catalog",
    "issue_bytes",
    "issue_json",
    "jira_datetime",
    "user_json",
    "webhook_comment",
    "webhook_issue",
]

SYSTEM_FIELDS = (
    ("summary", "Summary", ["summary"]),
    ("status", "Status", ["status"]),
    ("labels", "Labels", ["labels"]),
    ("assignee", "Assignee", ["assignee"]),
    ("parent", "Parent", ["parent"]),
    ("duedate", "Due date", ["due", "duedate"]),
    ("updated", "Updated", ["updated", "updatedDate"]),
    ("created", "Created", ["created", "createdDate"]),
    ("issuetype", "Issue Type", ["issuetype", "type"]),
    ("priority", "Priority", ["priority"]),
    ("resolution", "Resolution", ["resolution"]),
    ("project", "Project", ["project"]),
    ("comment", "Comment", ["comment"]),
)
EMBEDDED_COMMENTS = 20
"""Issue reads (search, bulkfetch) embed at most this many comments, oldest first."""
_PRIORITIES = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
_TYPES = {"Epic": "10000", "Story": "10001", "Task": "10002", "Bug": "10004"}


def jira_datetime(millis: int) -> str:
    """Jira's timestamp format: `2024-05-01T12:34:56.789+0000`."""
    moment = datetime.fromtimestamp(millis / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}+0000"


def user_json(user: SimUser | None, base: str) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "self": f"{base}/rest/api/3/user?accountId={user.account_id}",
        "accountId": user.account_id,
        "displayName": user.display_name,
        "active": True,
        "timeZone": user.time_zone,
        "accountType": "atlassian",
    }


def field_catalog(state: SimState) -> list[dict[str, Any]]:
    """`GET /field`: system fields then custom ones, with their JQL clause names."""
    items = [
        {
            "id": fid,
            "key": fid,
            "name": name,
            "custom": False,
            "orderable": True,
            "navigable": True,
            "searchable": True,
            "clauseNames": clauses,
        }
        for fid, name, clauses in SYSTEM_FIELDS
    ]
    for fid, name in state.custom_fields.items():
        number = fid.removeprefix("customfield_")
        items.append(
            {
                "id": fid,
                "key": fid,
                "name": name,
                "custom": True,
                "orderable": True,
                "navigable": True,
                "searchable": True,
                "clauseNames": [f"cf[{number}]", name],
                "schema": {
                    "type": "number" if name == "Story Points" else "string",
                    "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float",
                    "customId": int(number),
                },
            }
        )
    return items


def _status(name: str, base: str) -> dict[str, Any]:
    status = STATUSES[name]
    key, cat_id, cat_name, colour = status["category"]
    return {
        "self": f"{base}/rest/api/3/status/{status['id']}",
        "description": "",
        "name": name,
        "id": status["id"],
        "statusCategory": {
            "self": f"{base}/rest/api/3/statuscategory/{cat_id}",
            "id": cat_id,
            "key": key,
            "colorName": colour,
            "name": cat_name,
        },
    }


_RENDERED: dict[tuple[int, int, int, str], dict[str, Any]] = {}
"""Rendered fields by (issue id, updated, custom field count, base): issues change only
through `touch`, which moves `updated`, so a hit is always current. Keeps the simulator
cheap per request, so that latency, not its CPU, dominates what clients measure."""


def _all_fields(issue: SimIssue, state: SimState, base: str) -> dict[str, Any]:
    stamp = (issue.id, issue.updated, len(state.custom_fields), base)
    cached = _RENDERED.get(stamp)
    if cached is None:
        if len(_RENDERED) > 300_000:
            _RENDERED.clear()
        cached = _RENDERED[stamp] = _render_fields(issue, state, base)
    return cached


def _render_fields(issue: SimIssue, state: SimState, base: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "summary": issue.summary,
        "status": _status(issue.status, base),
        "labels": list(issue.labels),
        "assignee": user_json(state.user(issue.assignee), base),
        "duedate": issue.duedate,
        "updated": jira_datetime(issue.updated),
        "created": jira_datetime(issue.created),
        "issuetype": {
            "id": _TYPES.get(issue.issuetype, "10002"),
            "name": issue.issuetype,
            "subtask": False,
            "hierarchyLevel": 1 if issue.issuetype == "Epic" else 0,
        },
        "priority": {"id": _PRIORITIES.get(issue.priority, "3"), "name": issue.priority},
        "resolution": {"id": "10000", "name": issue.resolution} if issue.resolution else None,
        "project": {
            "id": str(10000 + sorted(state.project_counters).index(issue.project)),
            "key": issue.project,
            "name": issue.project,
            "projectTypeKey": "software",
        },
    }
    parent = state.find(issue.parent) if issue.parent else None
    if parent is not None:
        fields["parent"] = {
            "id": str(parent.id),
            "key": parent.key,
            "self": f"{base}/rest/api/3/issue/{parent.id}",
            "fields": {"summary": parent.summary, "status": _status(parent.status, base)},
        }
    for fid in state.custom_fields:
        fields[fid] = issue.custom.get(fid)
    shown = issue.comments[:EMBEDDED_COMMENTS]
    fields["comment"] = {
        "comments": [comment_json(c, issue, state, base, properties=False) for c in shown],
        "self": f"{base}/rest/api/3/issue/{issue.id}/comment",
        "maxResults": EMBEDDED_COMMENTS,
        "total": len(issue.comments),
        "startAt": 0,
    }
    return fields


def issue_json(
    issue: SimIssue, state: SimState, base: str, wanted: Collection[str] | None
) -> dict[str, Any]:
    """An issue as search/bulkfetch return it; `wanted` None means every field."""
    out: dict[str, Any] = {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog",
        "id": str(issue.id),
        "self": f"{base}/rest/api/3/issue/{issue.id}",
        "key": issue.key,
    }
    if wanted is not None and not (set(wanted) - {"id", "key"}):
        return out
    everything = _all_fields(issue, state, base)
    if wanted is None:
        out["fields"] = everything
    else:
        out["fields"] = {name: everything[name] for name in wanted if name in everything}
    return out


_ENCODED: dict[tuple[int, int, int, str, frozenset[str] | None], bytes] = {}


def issue_bytes(
    issue: SimIssue, state: SimState, base: str, wanted: Collection[str] | None
) -> bytes:
    """`issue_json` already encoded, cached like the rendered fields: search and bulkfetch
    pages are then mostly a join, so the simulator's CPU does not dominate what clients measure
    (a real site serves concurrent requests in parallel)."""
    names = frozenset(wanted) if wanted is not None else None
    stamp = (issue.id, issue.updated, len(state.custom_fields), base, names)
    cached = _ENCODED.get(stamp)
    if cached is None:
        if len(_ENCODED) > 300_000:
            _ENCODED.clear()
        ordered = sorted(names) if names is not None else None
        body = json.dumps(issue_json(issue, state, base, ordered), separators=(",", ":"))
        cached = _ENCODED[stamp] = body.encode()
    return cached


def comment_json(
    comment: StoredComment, issue: SimIssue, state: SimState, base: str, *, properties: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "self": f"{base}/rest/api/3/issue/{issue.id}/comment/{comment.id}",
        "id": str(comment.id),
        "author": user_json(state.user(comment.author), base),
        "body": comment.body,
        "updateAuthor": user_json(state.user(comment.update_author), base),
        "created": jira_datetime(comment.created),
        "updated": jira_datetime(comment.updated),
        "jsdPublic": True,
    }
    if properties:
        out["properties"] = [{"key": k, "value": v} for k, v in comment.properties.items()]
    return out


_RECORDED = Path(__file__).parent / "recorded"


@functools.cache
def _recorded(name: str) -> str:
    return (_RECORDED / name).read_text()


def _template(name: str) -> dict[str, Any]:
    """A fresh copy of a recorded delivery (its envelope is what Jira sends)."""
    data: dict[str, Any] = json.loads(_recorded(name))
    return data


def _as_recorded_user(user: SimUser | None, base: str, recorded: Any) -> dict[str, Any] | None:
    """A user object with the recorded one's keys (avatars and all), our user's values."""
    mine = user_json(user, base)
    if mine is None:
        return None
    shape = recorded if isinstance(recorded, dict) else {}
    return {**shape, **mine}


def webhook_issue(
    event: str,
    type_name: str,
    issue: SimIssue,
    state: SimState,
    base: str,
    actor: SimUser | None,
    changes: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Body of a `jira:issue_*` delivery: the recorded `jira:issue_updated` delivery with this
    issue, actor and changelog put in."""
    body = _template("jira__issue_updated.json")
    body.update(
        timestamp=int(time.time() * 1000),
        webhookEvent=event,
        issue_event_type_name=type_name,
        user=_as_recorded_user(actor, base, body.get("user")),
        issue=issue_json(issue, state, base, None),
    )
    body["issue"]["fields"].pop("comment", None)  # deliveries carry no comment list
    if changes:
        body["changelog"] = {"id": str(int(time.time() * 1000)), "items": changes}
    else:
        body.pop("changelog", None)
    return body


def webhook_comment(
    event: str, comment: StoredComment, issue: SimIssue, state: SimState, base: str
) -> dict[str, Any]:
    """Body of a `comment_*` delivery: the recorded `comment_created` delivery (no `user`; the
    actor is the comment's author or update author) with this comment and issue put in."""
    body = _template("comment_created.json")
    recorded = body.get("comment") or {}
    comment_body = comment_json(comment, issue, state, base, properties=False)
    for role in ("author", "updateAuthor"):
        who = state.user(comment.author if role == "author" else comment.update_author)
        comment_body[role] = _as_recorded_user(who, base, recorded.get(role))
    body.update(
        timestamp=int(time.time() * 1000),
        webhookEvent=event,
        comment={**recorded, **comment_body},
        issue=issue_json(issue, state, base, ["summary", "status", "issuetype", "priority"]),
    )
    return body
