"""Card JSON -> Task, from a real-shaped card payload."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest

from connectors.trello.normalize import BoardContext, normalize_card, status_category
from connectors.trello.settings import TrelloSettings
from okrbridge.domain import StatusCategory, Task

from .conftest import fixture_json


def _settings(**extra: Any) -> TrelloSettings:
    return TrelloSettings(boards=["AbCd1234"], estimate_field="Story points", **extra)


def _context() -> BoardContext:
    board = fixture_json("board_context")
    return BoardContext(
        configured="AbCd1234",
        id=board["board"]["id"],
        name=board["board"]["name"],
        short_link="AbCd1234",
        lists={x["id"]: x for x in board["lists"]},
        labels={x["id"]: x for x in board["labels"]},
        custom_fields={x["id"]: x for x in board["customFields"]},
    )


def test_card_fixture_normalizes_to_the_exact_task() -> None:
    card = fixture_json("card")
    task = normalize_card(card, _context(), _settings(), "trello-main")
    assert task == Task(
        connector="trello-main",
        external_id="60b000000000000000000001",
        key="Xy7Kq9Lm",
        url="https://trello.com/c/Xy7Kq9Lm/42-ship-app-store-review-prompt",
        title="Ship App Store review prompt",
        container="AbCd1234",
        # A rule may name the board by its id or its name as well as by its short link.
        container_aliases=("5a1b2c3d4e5f601234567890", "Mobile Launch 🚀"),
        status_name="Doing",
        status_category=StatusCategory.IN_PROGRESS,
        excluded=False,
        labels=("green", "growth"),  # the nameless label is reported by its colour
        assignees=("5f00000000000000000a11ce",),
        estimate=5.0,
        due=date(2026, 6, 30),
        fields={
            "Story points": "5",
            "Team": "Growth",
            "board": "Mobile Launch 🚀",
            "list": "Doing",
        },
        updated_at=datetime(2026, 5, 4, 9, 15, 27, 123000, tzinfo=UTC),
        raw=card,
    )


@pytest.mark.parametrize(
    ("list_name", "due_complete", "expected"),
    [
        ("Done", False, StatusCategory.DONE),
        ("  COMPLETED ", False, StatusCategory.DONE),
        ("Shipped", False, StatusCategory.DONE),
        ("In Progress", False, StatusCategory.IN_PROGRESS),
        ("review", False, StatusCategory.IN_PROGRESS),
        ("Backlog", False, StatusCategory.TODO),
        ("Backlog", True, StatusCategory.DONE),
        ("Done-ish", False, StatusCategory.TODO),
        ("Done ✅", False, StatusCategory.DONE),
        ("Complete", False, StatusCategory.DONE),
        ("In Review", False, StatusCategory.IN_PROGRESS),
        ("Code review", False, StatusCategory.IN_PROGRESS),
        ("Doing", False, StatusCategory.IN_PROGRESS),
        ("QA", False, StatusCategory.IN_PROGRESS),
        ("Blocked", False, StatusCategory.IN_PROGRESS),
        ("Reviewed ideas", False, StatusCategory.TODO),
        ("To Do", False, StatusCategory.TODO),
    ],
)
def test_default_list_mapping(list_name: str, due_complete: bool, expected: StatusCategory) -> None:
    assert status_category(list_name, due_complete, _settings()) is expected


def test_configured_patterns_and_due_complete_off() -> None:
    settings = _settings(
        done_lists=["Done*", "Live"], in_progress_lists=["wip"], due_complete_done=False
    )
    assert status_category("Done ✅", False, settings) is StatusCategory.DONE
    assert status_category("live", False, settings) is StatusCategory.DONE
    assert status_category("WIP", False, settings) is StatusCategory.IN_PROGRESS
    assert status_category("Doing", True, settings) is StatusCategory.TODO


def test_archived_card_or_list_is_excluded_and_short_key_falls_back() -> None:
    ctx = _context()
    card = {**fixture_json("card"), "closed": True}
    assert normalize_card(card, ctx, _settings(), "t").excluded
    ctx.lists["60a000000000000000000002"]["closed"] = True
    open_card = {**fixture_json("card"), "shortLink": ""}
    task = normalize_card(open_card, ctx, _settings(), "t")
    assert task.excluded
    assert task.key == "#42"


def test_labels_without_name_or_colour_are_dropped_and_ids_resolve() -> None:
    ctx = _context()
    card = {**fixture_json("card"), "labels": [{"id": "x", "name": "", "color": None}]}
    assert normalize_card(card, ctx, _settings(), "t").labels == ()
    only_ids = {k: v for k, v in fixture_json("card").items() if k != "labels"}
    assert normalize_card(only_ids, ctx, _settings(), "t").labels == ("green", "growth")


@pytest.mark.parametrize("url", ["https://api.trello.com/1", "https://api.trello.com/1/boards/"])
def test_an_api_path_in_base_url_is_refused_with_the_url_to_write(url: str) -> None:
    with pytest.raises(ValueError, match=re.escape('write base_url = "https://api.trello.com"')):
        _settings(base_url=url)
    assert _settings(base_url="https://api.trello.com/").base_url == "https://api.trello.com"
