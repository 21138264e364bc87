"""The REST routes of the simulated Trello API (`/1/...`), over `TrelloState`.

Each handler takes the state, the calling member's id, the path groups and the merged
parameters (query string plus JSON/form body, as Trello accepts either) and returns the JSON
body; errors are `ApiError`s.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .state import ApiError, TrelloState, not_found

__all__ = ["dispatch"]

Params = dict[str, str]
Handler = Callable[[TrelloState, str, tuple[str, ...], Params], Any]
_ROUTES: list[tuple[str, re.Pattern[str], Handler]] = []
CARD_FILTERS = {"all", "closed", "none", "open", "visible"}


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _ROUTES.append((method, re.compile(f"^{pattern}$"), handler))
        return handler

    return register


def dispatch(state: TrelloState, member: str, method: str, path: str, params: Params) -> Any:
    """Run the handler of `method path` (path without `/1/`)."""
    for verb, pattern, handler in _ROUTES:
        match = pattern.match(path.strip("/"))
        if match and verb == method:
            with state.mutation():
                return handler(state, member, match.groups(), params)
    raise not_found("Cannot " + method + " /1/" + path)


def _limit(params: Params, default: int, maximum: int) -> int:
    try:
        value = int(params.get("limit", default))
    except ValueError:
        raise ApiError(400, "invalid value for limit") from None
    if not 0 < value <= maximum:
        raise ApiError(400, "invalid value for limit")
    return value


def _true(params: Params, name: str) -> bool:
    return params.get(name, "").lower() == "true"


# -- members and boards ---------------------------------------------------------------------
@route("GET", r"members/me")
def _me(state: TrelloState, member: str, _: tuple[str, ...], p: Params) -> Any:
    return dict(state.members[member])


@route("GET", r"boards/([^/]+)")
def _board(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    return dict(state.board(g[0]))


@route("GET", r"boards/([^/]+)/cards(?:/([a-z]+))?")
def _board_cards(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    board = state.board(g[0])
    card_filter = g[1] or p.get("filter", "visible")
    if card_filter not in CARD_FILTERS:
        raise ApiError(400, "invalid value for filter")
    cards = [c for c in state.cards.values() if c["idBoard"] == board["id"]]
    cards = [c for c in cards if _card_passes(state, c, card_filter)]
    if len(cards) > state.too_many_cards:
        raise ApiError(
            400,
            {"message": "API_TOO_MANY_CARDS_REQUESTED", "error": "API_TOO_MANY_CARDS_REQUESTED"},
        )
    return [state.card_json(c, p.get("fields"), _true(p, "customFieldItems")) for c in cards]


def _card_passes(state: TrelloState, card: dict[str, Any], card_filter: str) -> bool:
    list_closed = state.lists[card["idList"]]["closed"]
    closed = bool(card["closed"])
    return {
        "all": True,
        "none": False,
        "closed": closed,
        "open": not closed,
        "visible": not closed and not list_closed,
    }[card_filter]


@route("GET", r"lists/([^/]+)/cards")
def _list_cards(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    if g[0] not in state.lists:
        raise not_found()
    card_filter = p.get("filter", "open")
    cards = [
        c
        for c in state.cards.values()
        if c["idList"] == g[0] and _card_passes(state, c, card_filter)
    ]
    return [state.card_json(c, p.get("fields"), _true(p, "customFieldItems")) for c in cards]


@route("GET", r"boards/([^/]+)/lists")
def _lists(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    board = state.board(g[0])
    wanted = p.get("filter", "open")
    return [
        dict(x)
        for x in state.lists.values()
        if x["idBoard"] == board["id"]
        and (wanted == "all" or (wanted == "closed") == bool(x["closed"]))
    ]


@route("GET", r"boards/([^/]+)/labels")
def _labels(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    board = state.board(g[0])
    labels = [dict(x) for x in state.labels.values() if x["idBoard"] == board["id"]]
    return labels[: _limit(p, 50, 1000)]


@route("GET", r"boards/([^/]+)/customFields")
def _custom_fields(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    board = state.board(g[0])
    return [dict(x) for x in state.custom_fields.values() if x["idModel"] == board["id"]]


@route("GET", r"boards/([^/]+)/actions")
def _board_actions(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    board = state.board(g[0])
    kinds = set(p.get("filter", "all").split(","))
    since, before = p.get("since"), p.get("before")
    out: list[dict[str, Any]] = []
    limit = _limit(p, 50, 1000)
    if "page" in p and (int(p["page"]) + 1) * limit > 1000:
        raise ApiError(400, "invalid value for page")  # deep pages: use `before`
    for action in reversed(state.actions):  # newest first
        if action["idBoard"] != board["id"] or ("all" not in kinds and action["type"] not in kinds):
            continue
        if before and not _older(action, before):
            continue
        if since and not _newer(action, since):
            break
        out.append(_fields(_public(action), p))
        if len(out) >= limit:
            break
    return out


def _fields(action: dict[str, Any], p: Params) -> dict[str, Any]:
    """`fields=` picks action fields (id always); `memberCreator=false` drops that object."""
    if p.get("fields") and p["fields"] != "all":
        wanted = set(p["fields"].split(",")) | {"id", "memberCreator"}
        action = {k: v for k, v in action.items() if k in wanted}
    if p.get("memberCreator", "true") == "false":
        action.pop("memberCreator", None)
    return action


def _newer(action: dict[str, Any], since: str) -> bool:
    """`since` is an action id (exclusive) or an ISO date."""
    key = "id" if _is_id(since) else "date"
    return str(action[key]) > since


def _older(action: dict[str, Any], before: str) -> bool:
    key = "id" if _is_id(before) else "date"
    return str(action[key]) < before


def _is_id(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-f]{24}", value))


def _public(action: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in action.items() if k != "idBoard"}


# -- cards ----------------------------------------------------------------------------------
@route("GET", r"cards/([^/]+)")
def _card(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    card = state.card(g[0])
    out = state.card_json(card, p.get("fields"), _true(p, "customFieldItems"))
    if p.get("actions"):  # the nested resource: `actions=<filter>&actions_limit=`
        nested = {"filter": p["actions"], "limit": p.get("actions_limit", "50")}
        actions = _card_actions(state, member, (card["id"],), nested)
        if p.get("action_memberCreator", "true") == "false":
            actions = [{k: v for k, v in a.items() if k != "memberCreator"} for a in actions]
        out["actions"] = actions
    return out


@route("GET", r"cards/([^/]+)/actions")
def _card_actions(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    card = state.card(g[0])
    kinds = set(p.get("filter", "commentCard,updateCard:idList").split(","))
    found = [
        _public(a)
        for a in reversed(state.actions)
        if (a["data"].get("card") or {}).get("id") == card["id"] and a["type"] in kinds
    ]
    return found[: _limit(p, 50, 1000)]


@route("PUT", r"cards/([^/]+)")
def _update_card(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    card = state.card(g[0])
    if "idLabels" in p:
        wanted = [i for i in p["idLabels"].split(",") if i]
        state.set_card_labels(member, card, list(dict.fromkeys(wanted)))
    changes: dict[str, Any] = {}
    for name in ("name", "idList", "due", "desc"):
        if name in p:
            changes[name] = p[name] or None if name == "due" else p[name]
    for name in ("closed", "dueComplete"):
        if name in p:
            changes[name] = p[name].lower() == "true"
    state.update_card(member, card, changes)
    return state.card_json(card, None, False)


@route("POST", r"cards/([^/]+)/idLabels")
def _add_id_label(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    card = state.card(g[0])
    state.add_card_label(member, card, p.get("value", ""))
    return list(card["idLabels"])


@route("DELETE", r"cards/([^/]+)/idLabels/([^/]+)")
def _remove_id_label(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    state.remove_card_label(member, state.card(g[0]), g[1])
    return {"_value": None}


@route("POST", r"cards/([^/]+)/labels")
def _card_new_label(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    """The trap, as in real Trello: creates a NEW board label on every call, then adds it."""
    card = state.card(g[0])
    label = state.add_label(card["idBoard"], p.get("name", ""), p.get("color"))
    state.add_card_label(member, card, label["id"])
    return list(card["idLabels"])


@route("DELETE", r"labels/([^/]+)")
def _delete_label(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    state.delete_label(member, g[0])
    return {"_value": None}


@route("POST", r"labels")
def _create_label(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    board = state.board(p.get("idBoard", ""))
    if "name" not in p or "color" not in p:
        raise ApiError(400, "invalid value for name or color")
    return dict(state.add_label(board["id"], p["name"], p.get("color")))


# -- comments -------------------------------------------------------------------------------
@route("POST", r"cards/([^/]+)/actions/comments")
def _comment(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    if not p.get("text"):
        raise ApiError(400, "invalid value for text")
    return _public(state.comment(member, state.card(g[0]), p["text"]))


@route("PUT", r"actions/([^/]+)/text")
def _edit_comment(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    return _public(state.edit_comment(member, g[0], p.get("value", "")))


@route("GET", r"actions/([^/]+)")
def _action(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    action = state.actions_by_id.get(g[0])
    if action is None:
        raise not_found()
    return _public(action)


@route("DELETE", r"actions/([^/]+)")
def _delete_action(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    state.delete_comment(member, g[0])
    return {"_value": None}


# -- batch and webhooks ---------------------------------------------------------------------
@route("GET", r"batch")
def _batch(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    urls = [u for u in p.get("urls", "").split(",") if u]
    if not urls or len(urls) > 10:
        raise ApiError(400, "invalid value for urls")
    answers: list[dict[str, Any]] = []
    for url in urls:
        parts = urlsplit(url)
        try:
            body = dispatch(
                state, member, "GET", parts.path.lstrip("/"), dict(parse_qsl(parts.query))
            )
            answers.append({"200": body})
        except ApiError as exc:
            answers.append({str(exc.status): exc.body})
    return answers


@route("POST", r"webhooks")
def _create_webhook(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    callback, model = p.get("callbackURL", ""), p.get("idModel", "")
    if not callback.startswith(("http://", "https://")):
        raise ApiError(400, "invalid value for callbackURL")
    model_id = state.board(model)["id"] if model not in state.cards else model
    for hook in state.webhooks.values():
        if (hook["callbackURL"], hook["idModel"], hook["_member"]) == (callback, model_id, member):
            raise ApiError(400, "A webhook with that callback, model, and token already exists")
    if state.head_check is not None and not state.head_check(callback):
        raise ApiError(400, f"URL ({callback}) did not return 200 status code")
    hook = {
        "id": state.new_id(),
        "description": p.get("description", ""),
        "idModel": model_id,
        "callbackURL": callback,
        "active": True,
        "consecutiveFailures": 0,
        "_member": member,
    }
    state.webhooks[hook["id"]] = hook
    return _hook(hook)


@route("GET", r"tokens/([^/]+)/webhooks")
def _token_webhooks(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    owner = state.tokens.get(g[0])
    return [_hook(h) for h in state.webhooks.values() if h["_member"] == owner]


@route("DELETE", r"webhooks/([^/]+)")
def _delete_webhook(state: TrelloState, member: str, g: tuple[str, ...], p: Params) -> Any:
    if state.webhooks.pop(g[0], None) is None:
        raise not_found()
    return {"_value": None}


def _hook(hook: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in hook.items() if not k.startswith("_")}
