"""Thin wrapper over the shared `HttpTransport` for the Trello REST paths the connector uses.

Trello authenticates with `key` and `token` query parameters, so every request URL carries
secrets: the transport redacts them from error details, and a filter on the `httpx` logger
redacts them from its request log lines. Paths never contain them (except the token's own
webhook listing, whose errors are re-raised redacted).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from okrbridge.connector.base import ConnectorStats
from okrbridge.connector.errors import (
    ConnectorError,
    NotFound,
    RequestFailed,
    require_secret,
)
from okrbridge.connector.pacing import TokenBucket
from okrbridge.connector.transport import HttpTransport, RetryPolicy

from .settings import TrelloSettings

__all__ = [
    "ACTION_FILTER",
    "CARD_FIELDS",
    "TooManyCards",
    "TrelloClient",
    "install_log_redaction",
    "redact_url",
]

CARD_FIELDS = (
    "name,idBoard,idList,idShort,shortLink,shortUrl,url,closed,due,dueComplete,"
    "dateLastActivity,idMembers,idLabels,labels,pos"
)
ACTION_FILTER = (
    "createCard,updateCard,addLabelToCard,removeLabelFromCard,deleteCard,moveCardToBoard,"
    "moveCardFromBoard,copyCard,convertToCardFromCheckItem,updateCustomFieldItem,"
    "addMemberToCard,removeMemberFromCard,updateList,moveListToBoard,moveListFromBoard,"
    "deleteComment"
)
ACTIONS_LIMIT = 1000
"""Trello's maximum `limit` for action lists; older ones are paged with `before=<oldest id>`
(the `page` parameter is not used: Trello caps `page * limit`, and the nested
`actions_before` is ignored by the API)."""
COMMENT_FILTER = "commentCard"
COMMENT_FIELDS = "type,date,data,idMemberCreator"
BATCH_MAX = 10
"""Trello's `/1/batch` takes at most 10 routes."""
WINDOW_SECONDS = 10.0
TOKEN_LIMIT = 100
"""Requests per 10 s per token (300 per key, shared by all of the key's tokens)."""

_CARD_PARAMS = {
    "customFieldItems": "true",
    "actions": COMMENT_FILTER,
    "actions_limit": str(ACTIONS_LIMIT),
    "action_memberCreator": "false",
}
"""A card with its custom field values and its comments (nested), in one read. No value holds
a comma: `/1/batch` separates its routes with commas."""
_CARD_QUERY = "&".join(f"{k}={v}" for k, v in _CARD_PARAMS.items())
_SECRET_QUERY = re.compile(r"((?:^|[?&;\s])(?:key|token)=)[^&\s\"']+", re.IGNORECASE)
T = TypeVar("T")


class TooManyCards(RequestFailed):
    """The board holds more cards than one response may carry (`API_TOO_MANY_CARDS_REQUESTED`)."""


def redact_url(text: str) -> str:
    """`text` with the values of `key=` and `token=` query parameters replaced by `***`."""
    return _SECRET_QUERY.sub(r"\1***", text)


class _RedactQuery(logging.Filter):
    """Rewrites httpx's `HTTP Request: GET https://...?key=...&token=...` lines, and any
    known secret elsewhere in them (the token's own webhook listing has it in its path)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage() if record.args else str(record.msg)
        text = redact_url(text)
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        record.msg, record.args = text, None
        return True


_FILTER = _RedactQuery()


def install_log_redaction(secrets: Iterable[str] = ()) -> None:
    """Attach the redacting filter to the httpx loggers (idempotent) and teach it `secrets`."""
    _FILTER.secrets.update(s for s in secrets if len(s) >= 4)
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def _interval_as_retry_after(response: httpx.Response) -> None:
    """Trello's 429 carries no `Retry-After`: derive it from its window headers (else 10 s)."""
    if response.status_code != 429 or "retry-after" in response.headers:
        return
    interval = response.headers.get("x-rate-limit-api-token-interval-ms") or response.headers.get(
        "x-rate-limit-api-key-interval-ms"
    )
    try:
        seconds = float(interval) / 1000 if interval else WINDOW_SECONDS
    except ValueError:
        seconds = WINDOW_SECONDS
    response.headers["retry-after"] = f"{max(1.0, seconds):g}"


def _add_response_hook(client: httpx.Client, hook: Callable[[httpx.Response], None]) -> None:
    hooks = client.event_hooks
    if hook not in hooks.get("response", []):
        client.event_hooks = {**hooks, "response": [*hooks.get("response", []), hook]}


class TrelloClient:
    """Trello API calls for one connector instance, all paced by ONE shared token bucket.

    The bucket (100 requests per 10 s per token, 90% headroom) is shared by every board of
    the instance, reads and writes alike, because Trello counts per token.
    """

    def __init__(
        self,
        *,
        instance: str,
        settings: TrelloSettings,
        env: Mapping[str, str],
        stats: ConnectorStats,
        pacer: TokenBucket | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
        http_client: httpx.Client | None = None,
    ) -> None:
        key = require_secret(env, settings.key_env, instance)
        self._token = require_secret(env, settings.token_env, instance)
        install_log_redaction((key, self._token))
        self.instance = instance
        self.pacer = pacer or TokenBucket.per_window(TOKEN_LIMIT, WINDOW_SECONDS, headroom=0.9)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout, follow_redirects=False)
        _add_response_hook(self._http, _interval_as_retry_after)
        self.transport = HttpTransport(
            instance=instance,
            base_url=settings.base_url + "/1",
            stats=stats,
            credential_hint=f"the Trello key and token in ${settings.key_env} / "
            f"${settings.token_env}",
            policy=RetryPolicy(default_rate_limit_wait=WINDOW_SECONDS),
            read_pacer=self.pacer,
            client=self._http,
            sleep=sleep,
            default_params={"key": key, "token": self._token},
            redact=(key, self._token),
        )
        self._me: dict[str, Any] | None = None

    def close(self) -> None:
        if self._owns_http:  # an injected client belongs to whoever made it
            self._http.close()

    # -- generic ------------------------------------------------------------------------------
    def get(self, path: str, **params: Any) -> Any:
        return self.transport.get_json(path, params=params or None)

    def write(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None
    ) -> Any:
        response = self.transport.request(method, path, params=params, json=body)
        try:
            return response.json() if response.content else None
        except ValueError:
            return None

    # -- members and boards -------------------------------------------------------------------
    def me(self) -> dict[str, Any]:
        """The token's member (`/1/members/*` has its own, tighter limit: asked once)."""
        if self._me is None:
            self._me = dict(self.get("members/me", fields="id,username,fullName"))
        return self._me

    def board(self, ref: str) -> dict[str, Any]:
        return dict(self.get(f"boards/{ref}", fields="id,name,shortLink,url,closed"))

    def board_cards(self, board_id: str, card_filter: str = "all") -> list[dict[str, Any]]:
        try:
            cards = self.get(
                f"boards/{board_id}/cards/{card_filter}",
                fields=CARD_FIELDS,
                customFieldItems="true",
            )
        except RequestFailed as exc:
            if "TOO_MANY_CARDS" in exc.detail.upper():
                raise TooManyCards(
                    self.instance, str(exc.message), status=exc.status, detail=exc.detail
                ) from exc
            raise
        return list(cards)

    def list_cards(self, list_id: str, card_filter: str = "all") -> list[dict[str, Any]]:
        return list(
            self.get(
                f"lists/{list_id}/cards",
                filter=card_filter,
                fields=CARD_FIELDS,
                customFieldItems="true",
            )
        )

    def board_lists(self, board_id: str) -> list[dict[str, Any]]:
        return list(self.get(f"boards/{board_id}/lists", filter="all", fields="id,name,closed"))

    def board_labels(self, board_id: str) -> list[dict[str, Any]]:
        return list(self.get(f"boards/{board_id}/labels", limit="1000", fields="id,name,color"))

    def board_custom_fields(self, board_id: str) -> list[dict[str, Any]]:
        return list(self.get(f"boards/{board_id}/customFields"))

    def board_actions(
        self,
        board_id: str,
        *,
        since: str | None = None,
        before: str | None = None,
        limit: int = ACTIONS_LIMIT,
        action_filter: str = ACTION_FILTER,
    ) -> list[dict[str, Any]]:
        """Board actions newest first (`since` exclusive, `before` exclusive)."""
        params: dict[str, Any] = {"filter": action_filter, "limit": str(limit)}
        if since:
            params["since"] = since
        if before:
            params["before"] = before
        return list(self.get(f"boards/{board_id}/actions", **params))

    # -- cards --------------------------------------------------------------------------------
    def cards(self, card_ids: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """Re-read cards, ten per `/1/batch` call; a card that is gone maps to None."""
        found: dict[str, dict[str, Any] | None] = {}
        for chunk in _chunks(card_ids, BATCH_MAX):
            # Routes are comma-separated, so they must not contain commas themselves: the
            # default card fields already include everything normalization reads.
            urls = ",".join(f"/cards/{card_id}?{_CARD_QUERY}" for card_id in chunk)
            answers = self.get("batch", urls=urls)
            for index, card_id in enumerate(chunk):
                answer = answers[index] if index < len(answers) else None
                status, card = _batch_item(answer)
                # Anything but a clear 200 or 404 (a 429 inside the batch...) is asked alone.
                found[card_id] = card if status in (200, 404) else self._card_or_none(card_id)
        return found

    def _card_or_none(self, card_id: str) -> dict[str, Any] | None:
        try:
            return dict(self.get(f"cards/{card_id}", **_CARD_PARAMS))
        except NotFound:
            return None

    def board_comments(self, board_id: str) -> Iterator[dict[str, Any]]:
        """Every comment on the board's cards, newest first, 1,000 per request."""
        before: str | None = None
        while True:
            params: dict[str, Any] = {
                "filter": COMMENT_FILTER,
                "limit": str(ACTIONS_LIMIT),
                "fields": COMMENT_FIELDS,
                "memberCreator": "false",
            }
            if before:
                params["before"] = before
            batch = list(self.get(f"boards/{board_id}/actions", **params))
            yield from batch
            if len(batch) < ACTIONS_LIMIT or str(batch[-1].get("id")) == before:
                return
            before = str(batch[-1]["id"])

    def card_label_ids(self, card_id: str) -> list[str]:
        return list(self.get(f"cards/{card_id}", fields="idLabels").get("idLabels") or [])

    def card_comments(self, card_id: str) -> list[dict[str, Any]]:
        return list(self.get(f"cards/{card_id}/actions", filter="commentCard", limit="1000"))

    def delete_label(self, label_id: str) -> None:
        self.write("DELETE", f"labels/{label_id}")

    def action(self, action_id: str) -> dict[str, Any]:
        return dict(self.get(f"actions/{action_id}"))

    # -- webhooks -----------------------------------------------------------------------------
    def token_webhooks(self) -> list[dict[str, Any]]:
        """Webhooks of this token. The path holds the token, so errors are re-raised redacted."""
        try:
            return list(self.get(f"tokens/{self._token}/webhooks"))
        except ConnectorError as exc:
            raise type(exc)(self.instance, exc.message.replace(self._token, "***")) from None


def _batch_item(answer: Any) -> tuple[int, dict[str, Any] | None]:
    """One `/1/batch` answer, keyed by its status (`{"200": card}`), as (status, card)."""
    if not isinstance(answer, dict):
        return 0, None
    body = answer.get("200")
    if isinstance(body, dict):
        return 200, body
    if "404" in answer or answer.get("statusCode") == 404:
        return 404, None
    return 0, None


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
