"""Webhook signatures (UTF-8 and legacy forms) and the events of each real-shaped delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from connectors.trello import TrelloConnector, TrelloSettings
from connectors.trello.webhooks import legacy_signed_bytes, parse_delivery
from okrbridge.connector.base import EventKind, WebhookPayloadError, WebhookRequest

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


def _events(name: str, board_ids: frozenset[str] = frozenset()) -> list:  # type: ignore[type-arg]
    return parse_delivery(
        fixture_bytes(name), bot_id=lambda: BOT_ID, board_ids=lambda: set(board_ids)
    )


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
        ("commentCard__bridge", EventKind.IGNORE, True),
        ("updateComment__bridge", EventKind.IGNORE, True),
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


def test_move_to_another_synced_board_is_a_refresh_and_list_changes_are_ignored() -> None:
    (event,) = _events("moveCardFromBoard", frozenset({"5a1b2c3d4e5f60123456ffff"}))
    assert event.kind is EventKind.REFRESH
    (event,) = _events("updateList__closed")
    assert event.kind is EventKind.IGNORE
    assert event.external_id is None


def test_bot_comment_without_marker_is_not_an_echo() -> None:
    body = fixture_bytes("commentCard__bridge").replace(b"[okrbridge](#okrbridge)", b"hello")
    (event,) = parse_delivery(body, bot_id=lambda: BOT_ID, board_ids=set)
    assert not event.own_echo


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"model": {}}', b'{"action": {"id": 1}}'])
def test_implausible_bodies_are_rejected(body: bytes) -> None:
    with pytest.raises(WebhookPayloadError):
        parse_delivery(body, bot_id=lambda: BOT_ID, board_ids=set)


def test_head_verification_request_yields_no_event() -> None:
    with _connector() as conn:
        assert conn.parse_webhook(WebhookRequest("HEAD", CALLBACK, {}, b"")) == []
