"""Normalization of GraphQL project items, URL derivation and the GraphQL rate-limit hint."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from connectors.github.client import graphql_rate_limit_wait
from connectors.github.normalize import normalize_item
from connectors.github.settings import GitHubSettings, graphql_url, rest_url, web_url
from okrbridge.domain import KRStatus, StatusCategory

SETTINGS = GitHubSettings(
    owner="acme",
    projects=[1],
    estimate_field="Points",
    iteration_field="Sprint",
    done_options=["Done", "Shipped"],
)


def _item(content: dict[str, Any], values: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "id": "PVTI_1",
        "databaseId": 77,
        "type": "ISSUE",
        "isArchived": False,
        "updatedAt": "2026-03-01T10:00:00Z",
        "project": {"id": "PVT_1", "number": 1, "url": "https://github.com/orgs/acme/projects/1"},
        "fieldValues": {"nodes": values or []},
        "content": content,
    }


ISSUE = {
    "__typename": "Issue",
    "id": "I_1",
    "number": 12,
    "title": "Ship it",
    "url": "https://github.com/acme/app/issues/12",
    "issueState": "OPEN",
    "stateReason": None,
    "updatedAt": "2026-03-02T08:30:00Z",
    "repository": {"nameWithOwner": "acme/app"},
    "labels": {"nodes": [{"name": "bug"}, {"name": "okr:on-track"}]},
    "assignees": {"nodes": [{"login": "mona"}]},
}
VALUES = [
    {"name": "In review", "optionId": "o1", "field": {"name": "Status"}},
    {"number": 5.0, "field": {"name": "Points"}},
    {"title": "Sprint 3", "startDate": "2026-03-01", "duration": 14, "field": {"name": "Sprint"}},
    {"date": "2026-03-20", "field": {"name": "Due"}},
]


def test_issue_item_normalizes_exactly() -> None:
    task = normalize_item("gh", SETTINGS, _item(ISSUE, VALUES))
    assert task is not None
    assert task.model_dump(exclude={"raw"}) == {
        "connector": "gh",
        "external_id": "I_1",
        "key": "acme/app#12",
        "url": "https://github.com/acme/app/issues/12",
        "title": "Ship it",
        "container": "acme/app",
        "status_name": "In review",
        "status_category": StatusCategory.IN_PROGRESS,
        "excluded": False,
        "labels": ("bug", "okr:on-track"),
        "assignees": ("mona",),
        "estimate": 5.0,
        "parent": None,
        "due": datetime(2026, 3, 20).date(),
        "fields": {
            "Status": "In review",
            "Points": "5",
            "Sprint": "Sprint 3",
            "Due": "2026-03-20",
            "iteration": "Sprint 3",
            "item_type": "ISSUE",
            "project": "acme/1",
        },
        "container_aliases": (),
        "updated_at": datetime(2026, 3, 2, 8, 30, tzinfo=UTC),
        "deleted": False,
        "marks": None,  # this read had no comments: it cannot tell
    }
    assert (task.raw["item_id"], task.raw["project_id"]) == ("PVTI_1", "PVT_1")


def _window(*nodes: dict[str, Any], more: bool = False) -> dict[str, Any]:
    return {"pageInfo": {"hasPreviousPage": more, "startCursor": "c"}, "nodes": list(nodes)}


def _comment(cid: str, body: str, mine: bool = True) -> dict[str, Any]:
    return {"fullDatabaseId": cid, "viewerDidAuthor": mine, "body": body}


def test_marks_come_from_the_comment_window() -> None:
    ours = "<!-- okrbridge:0123abcd task=I_1 -->\n**OKR status: On track**"
    copied = "<!-- okrbridge:ffffffff task=I_1 -->\nquoted by a person"
    window = _window(_comment("7", "hi", False), _comment("8", copied, False), _comment("9", ours))
    task = normalize_item("gh", SETTINGS, _item({**ISSUE, "comments": window}))
    assert task is not None
    assert task.marks is not None
    assert (task.marks.comment_id, task.marks.comment_digest) == ("9", "0123abcd")
    assert "comments" not in task.raw["item"]["content"]  # bodies are not stored


def test_old_marker_is_the_bridges_without_a_digest_and_absence_is_known() -> None:
    old = _window(_comment("5", "<!-- okrbridge:v1 task=I_1 -->\n**OKR status**"))
    task = normalize_item("gh", SETTINGS, _item({**ISSUE, "comments": old}))
    assert task is not None
    assert task.marks is not None
    assert (task.marks.comment_id, task.marks.comment_digest) == ("5", None)
    none = normalize_item("gh", SETTINGS, _item({**ISSUE, "comments": _window()}))
    assert none is not None
    assert none.marks is not None
    assert none.marks.comment_id is None
    cut = _window(_comment("6", "a person"), more=True)
    unknown = normalize_item("gh", SETTINGS, _item({**ISSUE, "comments": cut}))
    assert unknown is not None
    assert unknown.marks is None


@pytest.mark.parametrize(
    ("content", "option", "expected"),
    [
        ({"issueState": "OPEN"}, None, (StatusCategory.TODO, False)),
        ({"issueState": "OPEN"}, "Shipped", (StatusCategory.DONE, False)),
        (
            {"issueState": "CLOSED", "stateReason": "COMPLETED"},
            "Todo",
            (StatusCategory.DONE, False),
        ),
        (
            {"issueState": "CLOSED", "stateReason": "NOT_PLANNED"},
            "Todo",
            (StatusCategory.TODO, True),
        ),
        ({"issueState": "CLOSED", "stateReason": "DUPLICATE"}, None, (StatusCategory.TODO, True)),
        ({"prState": "MERGED"}, "In review", (StatusCategory.DONE, False)),
        ({"prState": "CLOSED"}, "In review", (StatusCategory.IN_PROGRESS, True)),
    ],
)
def test_status_mapping(content: dict[str, Any], option: str | None, expected: Any) -> None:
    values = [{"name": option, "field": {"name": "Status"}}] if option else []
    task = normalize_item("gh", SETTINGS, _item({**ISSUE, "issueState": None, **content}, values))
    assert task is not None
    assert (task.status_category, task.excluded) == expected


def test_draft_uses_the_item_id_and_redacted_items_are_skipped() -> None:
    draft = {
        "__typename": "DraftIssue",
        "id": "DI_1",
        "title": "idea",
        "updatedAt": "2026-03-01T09:00:00Z",
        "assignees": {"nodes": []},
    }
    item = {**_item(draft), "type": "DRAFT_ISSUE"}
    task = normalize_item("gh", SETTINGS, item)
    assert task is not None
    assert (task.external_id, task.key) == ("PVTI_1", "acme/projects/1#draft-77")
    assert (task.container, task.fields["project"]) == ("", "acme/1")
    assert task.url == "https://github.com/orgs/acme/projects/1?pane=issue&itemId=77"
    assert normalize_item("gh", SETTINGS, {**_item(ISSUE), "content": None}) is None


@pytest.mark.parametrize(
    ("base", "graphql", "web"),
    [
        ("https://api.github.com", "https://api.github.com/graphql", "https://github.com"),
        (
            "https://ghe.example.com",
            "https://ghe.example.com/api/graphql",
            "https://ghe.example.com",
        ),
    ],
)
def test_urls_are_derived_from_the_server_root(base: str, graphql: str, web: str) -> None:
    assert graphql_url(base) == graphql
    assert web_url(base) == web
    assert rest_url(base) == (base if "api.github.com" in base else base + "/api/v3")


@pytest.mark.parametrize(
    ("base", "write"),
    [
        ("https://api.github.com/graphql", "https://api.github.com"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
        ("https://ghe.example.com/api/graphql/", "https://ghe.example.com"),
        ("https://github.com", "https://api.github.com"),
    ],
)
def test_an_api_path_in_base_url_says_what_to_write(base: str, write: str) -> None:
    with pytest.raises(ValidationError) as caught:
        GitHubSettings(owner="acme", projects=[1], base_url=base)
    assert f"{write!r}" in str(caught.value)


def test_status_options_are_checked_and_merged_with_defaults() -> None:
    settings = GitHubSettings(
        owner="acme", projects=[1], status_options={"needs_attention": "Wobbly"}
    )
    assert settings.options_for(KRStatus.NEEDS_ATTENTION) == ("Wobbly",)
    assert settings.options_for(KRStatus.ON_TRACK) == ("On track",)
    with pytest.raises(ValidationError, match="unknown status 'at_risk'"):
        GitHubSettings(owner="acme", projects=[1], status_options={"at_risk": "At risk"})


@pytest.mark.parametrize("kind", ["RATE_LIMITED", "RATE_LIMIT"])
def test_graphql_rate_limit_with_200_is_a_wait_until_reset(kind: str) -> None:
    request = httpx.Request("POST", "https://api.github.com/graphql")
    body = {"errors": [{"type": kind, "message": "API rate limit exceeded"}]}
    limited = httpx.Response(
        200,
        json=body,
        headers={"x-ratelimit-reset": "1100", "x-ratelimit-remaining": "12"},
        request=request,
    )
    assert graphql_rate_limit_wait(limited, now=1000.0) == 101.0
    other = httpx.Response(200, json={"errors": [{"type": "NOT_FOUND"}]}, request=request)
    assert graphql_rate_limit_wait(other, now=1000.0) is None
    ok = httpx.Response(200, json={"data": {}}, request=request)
    assert graphql_rate_limit_wait(ok, now=1000.0) is None
