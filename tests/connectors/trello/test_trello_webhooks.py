"""Webhook signatures (UTF-8 and legacy forms) and the events of each real-shaped delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable

import pytest

from connectors.trello import TrelloConnector, TrelloSettings
from connectors.trello.webhooks import legacy_signed_bytes, parse_delivery, screen_delivery
from okrbridge.connector.base import EventKind, WebhookEvent, WebhookPayloadError, WebhookRequest
from okrbridge.connector.errors import RequestFailed
from okrbridge.marks import StatusLabels

from .conftest import fixture_bytes

SECRET = "app-secret-for-tests"
CALLBACK = "https://okr.example.com/webhooks/trello?instance=main"
BOT_ID = "5f0000000000000000000b07"
CARD_ID = "60b000000000000000000001"


def _sign(message: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), message, hashlib.sha1).digest()).decode()


def _connector(callback_url: str | None = CALLBACK) -> TrelloConnector:
    settings = TrelloSettings(boards=["AbCd1234"], callback_url=callback_url, bot_member_id=BOT_ID)
    env = {"TRELLO_API_KEY": "k" * 32, "TRELLO_TOKEN": "t" * 64, "TRELLO_APP_SECRET": SECRET}
    return TrelloConnector("trello-main", settings, env)


def _request(body: bytes, signature: str, url: str = CALLBACK) -> WebhookRequest:
    return WebhookRequest("POST", url, {"x-trello-webhook": signature}, body)


@pytest.mark.parametrize("fixture", ["commentCard__person", "createCard"])
def test_utf8_signature_over_body_and_registered_url(fixture: str) -> None:
    body = fixture_bytes(fixture)  # commentCard__person holds non-ASCII text and an emoji
    good = _sign(body + CALLBACK.encode())
    with _connector() as conn:
        # The receiver may see another URL (proxy): the registered one is what counts.
        assert conn.verify_webhook(_request(body, good, url="http://10.0.0.5:8080/hook"))
        assert not conn.verify_webhook(_request(body + b" ", good))
        assert not conn.verify_webhook(_request(body, _sign(body + CALLBACK.encode() + b"/")))
        assert not conn.verify_webhook(_request(body, "not base64!"))
        assert not conn.verify_webhook(WebhookRequest("POST", CALLBACK, {}, body))


def test_legacy_truncated_signature_is_accepted_and_differs_for_non_ascii() -> None:
    body = fixture_bytes("commentCard__person")
    legacy = legacy_signed_bytes(body, CALLBACK)
    assert legacy != body + CALLBACK.encode()  # non-ASCII: the two forms really differ
    with _connector() as conn:
        assert conn.verify_webhook(_request(body, _sign(legacy)))


def test_without_configured_callback_the_request_url_is_used_and_no_secret_fails() -> None:
    body = fixture_bytes("createCard")
    with _connector(callback_url=None) as conn:
        assert conn.verify_webhook(_request(body, _sign(body + CALLBACK.encode())))
    settings = TrelloSettings(boards=["AbCd1234"], callback_url=CALLBACK)
    with TrelloConnector("t", settings, {"TRELLO_API_KEY": "k", "TRELLO_TOKEN": "t"}) as conn:
        assert not conn.verify_webhook(_request(body, _sign(body + CALLBACK.encode())))


BOARD_ID = "5a1b2c3d4e5f601234567890"
"""The board of every recorded delivery."""


def _parse(body: bytes, boards: Callable[[], set[str]] = lambda: {BOARD_ID}) -> list[WebhookEvent]:
    return parse_delivery(body, bot_id=lambda: BOT_ID, board_ids=boards, labels=StatusLabels())


def _events(name: str, *others: str) -> list[WebhookEvent]:
    return _parse(fixture_bytes(name), lambda: {BOARD_ID, *others})


@pytest.mark.parametrize(
    ("fixture", "kind", "own_echo"),
    [
        ("createCard", EventKind.REFRESH, False),
        ("updateCard__list_move", EventKind.REFRESH, False),
        ("updateCard__pos", EventKind.REFRESH, False),
        ("updateCard__closed", EventKind.REFRESH, False),
        ("addLabelToCard__empty_name", EventKind.REFRESH, False),
        ("addLabelToCard__bridge_by_bot", EventKind.REFRESH, True),
        ("addLabelToCard__person_label_by_bot", EventKind.REFRESH, False),
        ("commentCard__bridge", EventKind.IGNORE, False),
        ("updateComment__bridge", EventKind.IGNORE, False),
        ("commentCard__person", EventKind.IGNORE, False),
        ("deleteCard", EventKind.DELETE, False),
        ("moveCardFromBoard", EventKind.DELETE, False),
        ("addChecklistToCard", EventKind.IGNORE, False),
    ],
)
def test_each_delivery_becomes_one_event(fixture: str, kind: EventKind, own_echo: bool) -> None:
    (event,) = _events(fixture)
    assert event.kind is kind
    assert event.own_echo is own_echo
    assert event.external_id == CARD_ID
    assert event.delivery_id.startswith("66300000")  # the action id: Trello sends no header
    assert event.name == fixture.split("__")[0]
    assert event.occurred_at is not None


@pytest.mark.parametrize(
    ("fixture", "handled"),
    [
        ("createCard", True),
        ("updateCard__pos", True),
        ("addLabelToCard__bridge_by_bot", True),
        ("deleteCard", True),
        ("moveCardFromBoard", True),
        ("commentCard__bridge", False),
        ("updateComment__bridge", False),
        ("addChecklistToCard", False),
        ("updateList__closed", False),
    ],
)
def test_screening_reads_only_the_body(fixture: str, handled: bool) -> None:
    # No key, token or reachable Trello: screening must not need any of them.
    settings = TrelloSettings(base_url="http://127.0.0.1:9", boards=["AbCd1234"])
    env = {"TRELLO_API_KEY": "k" * 32, "TRELLO_TOKEN": "t" * 64}
    with TrelloConnector("t", settings, env) as conn:
        screening = conn.screen_webhook(_request(fixture_bytes(fixture), "unused"))
        assert conn.stats.requests == 0
    assert screening.delivery_id.startswith("66300000")
    assert screening.event == fixture.split("__")[0]
    assert screening.handled is handled
    assert screening.handled or screening.reason


def test_deeply_nested_or_implausible_bodies_are_payload_errors_on_screening() -> None:
    nested = b'{"action": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    for body in (nested, b"not json", b"[]", b'{"action": {"id": 1}}'):
        with pytest.raises(WebhookPayloadError):
            screen_delivery(body)


def test_move_to_another_synced_board_is_a_refresh_and_list_changes_are_ignored() -> None:
    (event,) = _events("moveCardFromBoard", "5a1b2c3d4e5f60123456ffff")
    assert event.kind is EventKind.REFRESH
    (event,) = _events("updateList__closed")
    assert event.kind is EventKind.IGNORE
    assert event.external_id is None


def test_a_failed_board_lookup_raises_instead_of_turning_a_move_into_a_delete() -> None:
    def down() -> set[str]:
        raise RequestFailed("t", "GET /boards/AbCd1234 failed (ConnectError)")

    with pytest.raises(RequestFailed):
        _parse(fixture_bytes("moveCardFromBoard"), down)


def test_actions_on_a_board_outside_the_instance_are_ignored() -> None:
    (event,) = _parse(fixture_bytes("createCard"), lambda: {"5a1b2c3d4e5f60123456ffff"})
    assert event.kind is EventKind.IGNORE


def _deleted_comment(by: str) -> bytes:
    payload = json.loads(fixture_bytes("commentCard__person"))
    action = payload["action"]
    action.update(type="deleteComment", idMemberCreator=by)
    action["data"] = {
        "action": {"id": "6630000000000000000000aa"},
        "card": action["data"]["card"],
        "board": action["data"]["board"],
    }
    return json.dumps(payload).encode()


def test_a_person_deleting_the_bridge_comment_refreshes_the_card_and_the_bot_doing_it_echoes() -> (
    None
):
    (person,) = _parse(_deleted_comment("5f00000000000000000a11ce"))
    assert (person.kind, person.own_echo, person.external_id) == (EventKind.REFRESH, False, CARD_ID)
    (bot,) = _parse(_deleted_comment(BOT_ID))
    assert (bot.kind, bot.own_echo) == (EventKind.REFRESH, True)


def test_a_label_is_the_bridge_s_only_under_the_configured_prefix() -> None:
    body = fixture_bytes("addLabelToCard__bridge_by_bot")  # okr:on-track, by the bot
    (default,) = _parse(body)
    assert default.own_echo
    (other,) = parse_delivery(
        body, bot_id=lambda: BOT_ID, board_ids=lambda: {BOARD_ID}, labels=StatusLabels("okr/")
    )
    assert not other.own_echo


def test_head_verification_request_yields_no_event() -> None:
    with _connector() as conn:
        assert conn.parse_webhook(WebhookRequest("HEAD", CALLBACK, {}, b"")) == []
        assert not conn.screen_webhook(WebhookRequest("HEAD", CALLBACK, {}, b"")).handled
