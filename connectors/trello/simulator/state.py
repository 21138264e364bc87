"""In-memory Trello: boards, lists, labels, cards, custom fields, members and the action log.

Every change, by a person (through the handle) or by the API, appends an action shaped like
Trello's (`data.card`, `data.list`, `data.listBefore`/`listAfter`, `data.old`,
`memberCreator`), and is offered to the listeners *after* the lock is released.
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

__all__ = ["BOT", "PERSON", "ApiError", "TrelloState"]

BOT = {"id": "5f0000000000000000000b07", "username": "okrbridge-bot", "fullName": "OKR Bridge"}
PERSON = {"id": "5f00000000000000000a11ce", "username": "alice", "fullName": "Alice Example"}

Listener = Callable[[dict[str, Any], dict[str, Any]], None]


class ApiError(Exception):
    """An error answer: status and body (text or JSON-able)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


def not_found(what: str = "The requested resource was not found.") -> ApiError:
    return ApiError(404, what)


class TrelloState:
    """The simulated data. All public methods are thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.members: dict[str, dict[str, Any]] = {BOT["id"]: dict(BOT), PERSON["id"]: dict(PERSON)}
        self.boards: dict[str, dict[str, Any]] = {}
        self.lists: dict[str, dict[str, Any]] = {}
        self.labels: dict[str, dict[str, Any]] = {}
        self.cards: dict[str, dict[str, Any]] = {}
        self.custom_fields: dict[str, dict[str, Any]] = {}
        self.actions: list[dict[str, Any]] = []
        self.actions_by_id: dict[str, dict[str, Any]] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.listeners: list[Listener] = []
        self.api_writes = 0
        """POST/PUT/DELETE requests the API accepted for processing."""
        self.tokens: dict[str, str] = {}
        """API token -> member id."""
        self.too_many_cards = 5000
        """More cards than this in one board response: `API_TOO_MANY_CARDS_REQUESTED`."""
        self.head_check: Callable[[str], bool] | None = None
        """Called with the callback URL when a webhook is registered (Trello's HEAD check)."""
        self._seq = itertools.count(1)
        self._last_second = 0
        self._pending: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self._depth = 0

    # -- ids, time, emission ------------------------------------------------------------------
    def new_id(self) -> str:
        """24 hex digits, time first, so ids sort like Trello's ObjectIds (by creation)."""
        self._last_second = max(self._last_second, int(self.clock()))
        return f"{self._last_second:08x}{next(self._seq):016x}"

    def now_iso(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    @contextmanager
    def mutation(self) -> Iterator[None]:
        """Hold the lock; emit the actions recorded meanwhile once the outermost one exits."""
        with self.lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                pending = self._pending if self._depth == 0 else []
                if self._depth == 0:
                    self._pending = []
        for action, board in pending:
            for listener in list(self.listeners):
                listener(action, board)

    def act(self, kind: str, member_id: str, board_id: str, data: dict[str, Any]) -> dict[str, Any]:
        """Record an action (call inside `mutation`)."""
        board = self.boards[board_id]
        member = self.members[member_id]
        action: dict[str, Any] = {
            "id": self.new_id(),
            "idMemberCreator": member_id,
            "type": kind,
            "date": self.now_iso(),
            "data": {**data, "board": _ref(board, "id", "name", "shortLink")},
            "memberCreator": {
                "id": member_id,
                "username": member["username"],
                "fullName": member["fullName"],
                "initials": "".join(p[:1] for p in member["fullName"].split()).upper(),
            },
            "idBoard": board_id,
        }
        self.actions.append(action)
        self.actions_by_id[action["id"]] = action
        self._pending.append((action, dict(board)))
        return action

    # -- lookup -------------------------------------------------------------------------------
    def board(self, ref: str) -> dict[str, Any]:
        board = self.boards.get(ref) or next(
            (b for b in self.boards.values() if b["shortLink"] == ref), None
        )
        if board is None:
            raise not_found("invalid id" if len(ref) == 24 else "Board not found")
        return board

    def card(self, ref: str) -> dict[str, Any]:
        card = self.cards.get(ref) or next(
            (c for c in self.cards.values() if c["shortLink"] == ref), None
        )
        if card is None:
            raise not_found()
        return card

    def card_json(self, card: dict[str, Any], fields: str | None, custom: bool) -> dict[str, Any]:
        out = {k: v for k, v in card.items() if not k.startswith("_")}
        out["labels"] = [self.label_json(self.labels[i]) for i in card["idLabels"]]
        if fields and fields != "all":
            wanted = set(fields.split(",")) | {"id"}
            out = {k: v for k, v in out.items() if k in wanted}
        if custom:
            out["customFieldItems"] = [dict(i) for i in card["_custom"].values()]
        return out

    def label_json(self, label: dict[str, Any]) -> dict[str, Any]:
        return dict(label)

    def comments(self, card_id: str) -> list[dict[str, Any]]:
        return [
            a
            for a in reversed(self.actions)
            if a["type"] == "commentCard" and a["data"]["card"]["id"] == card_id
        ]

    def card_ref(self, card: dict[str, Any], *extra: str) -> dict[str, Any]:
        return _ref(card, "id", "name", "idShort", "shortLink", *extra)

    def list_ref(self, list_id: str) -> dict[str, Any]:
        return _ref(self.lists[list_id], "id", "name")

    # -- creation (no action unless stated) ---------------------------------------------------
    def add_board(self, name: str, short_link: str | None = None) -> dict[str, Any]:
        with self.mutation():
            board_id = self.new_id()
            link = short_link or re.sub(r"[^A-Za-z0-9]", "", name)[:8] or board_id[-8:]
            board: dict[str, Any] = {
                "id": board_id,
                "name": name,
                "shortLink": link,
                "closed": False,
                "url": f"https://trello.com/b/{link}/{_slug(name)}",
            }
            self.boards[board_id] = board
            return board

    def add_list(self, board_id: str, name: str, closed: bool = False) -> dict[str, Any]:
        with self.mutation():
            trello_list: dict[str, Any] = {
                "id": self.new_id(),
                "name": name,
                "closed": closed,
                "idBoard": board_id,
                "pos": 16384 * (len(self.lists) + 1),
            }
            self.lists[trello_list["id"]] = trello_list
            return trello_list

    def add_label(self, board_id: str, name: str, color: str | None) -> dict[str, Any]:
        with self.mutation():
            label: dict[str, Any] = {
                "id": self.new_id(),
                "idBoard": board_id,
                "name": name,
                "color": None if color in (None, "", "null") else color,
                "uses": 0,
            }
            self.labels[label["id"]] = label
            return label

    def add_custom_field(self, board_id: str, name: str, kind: str) -> dict[str, Any]:
        with self.mutation():
            definition: dict[str, Any] = {
                "id": self.new_id(),
                "idModel": board_id,
                "modelType": "board",
                "name": name,
                "type": kind,
                "pos": 16384,
                "display": {"cardFront": True},
            }
            self.custom_fields[definition["id"]] = definition
            return definition

    def create_card(self, member_id: str, list_id: str, name: str) -> dict[str, Any]:
        with self.mutation():
            trello_list = self.lists[list_id]
            board_id = trello_list["idBoard"]
            card_id = self.new_id()
            short = f"c{card_id[-7:]}"
            id_short = 1 + sum(1 for c in self.cards.values() if c["idBoard"] == board_id)
            card: dict[str, Any] = {
                "id": card_id,
                "idShort": id_short,
                "shortLink": short,
                "name": name,
                "idBoard": board_id,
                "idList": list_id,
                "closed": False,
                "due": None,
                "dueComplete": False,
                "dateLastActivity": self.now_iso(),
                "desc": "",
                "idMembers": [],
                "idLabels": [],
                "pos": 16384 * id_short,
                "url": f"https://trello.com/c/{short}/{id_short}-{_slug(name)}",
                "shortUrl": f"https://trello.com/c/{short}",
                "_custom": {},
            }
            self.cards[card_id] = card
            self.act(
                "createCard",
                member_id,
                board_id,
                {"card": self.card_ref(card), "list": self.list_ref(list_id)},
            )
            return card

    def delete_label(self, member_id: str, label_id: str) -> None:
        """Trello deletes the label from the board and from every card carrying it."""
        with self.mutation():
            label = self.labels.get(label_id)
            if label is None:
                raise not_found()
            for card in self.cards.values():
                if label_id in card["idLabels"]:
                    card["idLabels"].remove(label_id)
            del self.labels[label_id]

    # -- card changes -------------------------------------------------------------------------
    def touch(self, card: dict[str, Any]) -> None:
        card["dateLastActivity"] = self.now_iso()

    def update_card(self, member_id: str, card: dict[str, Any], changes: dict[str, Any]) -> None:
        """Apply field changes as Trello does: one `updateCard` action per changed field."""
        with self.mutation():
            for name, value in changes.items():
                old = card.get(name)
                if old == value:
                    continue
                card[name] = value
                self.touch(card)
                data: dict[str, Any] = {"card": self.card_ref(card, name), "old": {name: old}}
                if name == "idList":
                    data["listBefore"] = self.list_ref(str(old))
                    data["listAfter"] = self.list_ref(value)
                else:
                    data["list"] = self.list_ref(card["idList"])
                self.act("updateCard", member_id, card["idBoard"], data)

    def move_card_to_board(
        self, member_id: str, card: dict[str, Any], board_id: str, list_id: str
    ) -> None:
        """Trello records `moveCardFromBoard` on the source and `moveCardToBoard` on the target."""
        with self.mutation():
            source = self.boards[card["idBoard"]]
            self.boards[board_id]
            card.update(idBoard=board_id, idList=list_id, idLabels=[])
            self.touch(card)
            ref = self.card_ref(card)
            self.act(
                "moveCardFromBoard",
                member_id,
                source["id"],
                {"card": ref, "boardTarget": {"id": board_id}},
            )
            self.act(
                "moveCardToBoard",
                member_id,
                board_id,
                {
                    "card": ref,
                    "boardSource": _ref(source, "id", "name"),
                    "list": self.list_ref(list_id),
                },
            )

    def set_card_labels(self, member_id: str, card: dict[str, Any], label_ids: list[str]) -> None:
        with self.mutation():
            for label_id in [i for i in card["idLabels"] if i not in label_ids]:
                self.remove_card_label(member_id, card, label_id)
            for label_id in [i for i in label_ids if i not in card["idLabels"]]:
                self.add_card_label(member_id, card, label_id)

    def add_card_label(self, member_id: str, card: dict[str, Any], label_id: str) -> None:
        with self.mutation():
            label = self.labels.get(label_id)
            if label is None or label["idBoard"] != card["idBoard"]:
                raise ApiError(400, "invalid value for value")
            if label_id in card["idLabels"]:
                raise ApiError(400, "that label is already on the card")
            card["idLabels"].append(label_id)
            self.touch(card)
            self.act(
                "addLabelToCard",
                member_id,
                card["idBoard"],
                {
                    "card": self.card_ref(card),
                    "label": _ref(label, "id", "name", "color"),
                    "text": label["name"],
                    "value": label["name"],
                },
            )

    def remove_card_label(self, member_id: str, card: dict[str, Any], label_id: str) -> None:
        with self.mutation():
            if label_id not in card["idLabels"]:
                raise not_found("label not found on card")
            card["idLabels"].remove(label_id)
            self.touch(card)
            label = self.labels[label_id]
            self.act(
                "removeLabelFromCard",
                member_id,
                card["idBoard"],
                {
                    "card": self.card_ref(card),
                    "label": _ref(label, "id", "name", "color"),
                    "text": label["name"],
                    "value": label["name"],
                },
            )

    def set_custom_value(
        self, member_id: str, card: dict[str, Any], field_id: str, value: dict[str, Any] | None
    ) -> None:
        with self.mutation():
            definition = self.custom_fields[field_id]
            old = card["_custom"].get(field_id)
            if value is None:
                card["_custom"].pop(field_id, None)
            else:
                card["_custom"][field_id] = {
                    "id": self.new_id(),
                    "value": value,
                    "idCustomField": field_id,
                    "idModel": card["id"],
                    "modelType": "card",
                }
            self.touch(card)
            self.act(
                "updateCustomFieldItem",
                member_id,
                card["idBoard"],
                {
                    "card": self.card_ref(card),
                    "customField": _ref(definition, "id", "name", "type"),
                    "customFieldItem": card["_custom"].get(field_id) or {"idCustomField": field_id},
                    "old": {"value": (old or {}).get("value")},
                },
            )

    def delete_card(self, member_id: str, card: dict[str, Any]) -> None:
        with self.mutation():
            del self.cards[card["id"]]
            self.act(
                "deleteCard",
                member_id,
                card["idBoard"],
                {
                    "card": {"id": card["id"], "idShort": card["idShort"]},
                    "list": self.list_ref(card["idList"]),
                },
            )

    # -- comments -----------------------------------------------------------------------------
    def comment(self, member_id: str, card: dict[str, Any], text: str) -> dict[str, Any]:
        with self.mutation():
            self.touch(card)
            return self.act(
                "commentCard",
                member_id,
                card["idBoard"],
                {
                    "text": text,
                    "card": self.card_ref(card),
                    "list": self.list_ref(card["idList"]),
                    "textData": {"emoji": {}},
                },
            )

    def edit_comment(self, member_id: str, action_id: str, text: str) -> dict[str, Any]:
        with self.mutation():
            action = self.actions_by_id.get(action_id)
            if action is None or action["type"] != "commentCard":
                raise not_found()
            if action["idMemberCreator"] != member_id:
                raise ApiError(401, "unauthorized comment permission requested")
            old = action["data"]["text"]
            action["data"]["text"] = text
            action["data"]["dateLastEdited"] = self.now_iso()
            card = self.cards.get(action["data"]["card"]["id"])
            self.act(
                "updateComment",
                member_id,
                action["idBoard"],
                {
                    "action": {"id": action_id, "text": text},
                    "old": {"text": old},
                    "card": action["data"]["card"],
                },
            )
            if card is not None:
                self.touch(card)
            return action

    def delete_comment(self, member_id: str, action_id: str, *, as_admin: bool = False) -> None:
        """Its author may delete a comment; so may a board admin (`as_admin`)."""
        with self.mutation():
            action = self.actions_by_id.get(action_id)
            if action is None or action["type"] != "commentCard":
                raise not_found()
            if action["idMemberCreator"] != member_id and not as_admin:
                raise ApiError(401, "unauthorized comment permission requested")
            self.actions.remove(action)
            del self.actions_by_id[action_id]
            self.act(
                "deleteComment",
                member_id,
                action["idBoard"],
                {"action": {"id": action_id}, "card": action["data"]["card"]},
            )


def _ref(obj: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: obj[k] for k in keys if k in obj}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "card"
