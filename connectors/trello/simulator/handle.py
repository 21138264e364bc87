"""`TrelloSimulator`: the tool-neutral handle on the simulated Trello (seed, change, inspect).

Boards are created on demand from `SeedTask.container` (its name doubles as the short link,
so the connector reports the same container back, except the worked example's board: see
`SHORT_LINKS`); each gets the lists "To Do", "Doing" and "Done", and an "Estimate" number
custom field when an estimate is seeded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from okrbridge.domain import StatusCategory
from okrbridge.sandbox.tool import SeedTask, SimComment, WebhookSink

from .app import build_app
from .deliveries import delivery_body, sign
from .ratelimit import Limits, RateLimiter
from .state import BOT, PERSON, TrelloState

__all__ = ["API_KEY", "APP_SECRET", "BOT_TOKEN", "PERSON_TOKEN", "TrelloSimulator"]

API_KEY = "sim-trello-key-0123456789abcdef"
BOT_TOKEN = "sim-trello-bot-token-0123456789abcdef"  # noqa: S105 (fake)
PERSON_TOKEN = "sim-trello-person-token-0123456789"  # noqa: S105 (fake)
APP_SECRET = "sim-trello-app-secret-0123456789"  # noqa: S105 (fake)
LIST_OF = {
    StatusCategory.TODO: "To Do",
    StatusCategory.IN_PROGRESS: "Doing",
    StatusCategory.DONE: "Done",
}
ESTIMATE_FIELD = "Estimate"
SHORT_LINKS = {"launch": "Xy12AbCd"}
"""Boards whose short link is not their name: the worked example's launch board has the short
link `config.example.toml` (and so `okrbridge init`) names, so pasting the sandbox's connector
table into a starter config maps its cards."""
DEFAULT_BOARD = "main"
"""The board `settings()` creates (and lists) when nothing was seeded yet."""


class TrelloSimulator:
    """In-memory Trello served as ASGI (`app`), with person-like changes and inspection."""

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.state = TrelloState(clock=clock)
        self.state.tokens = {BOT_TOKEN: BOT["id"], PERSON_TOKEN: PERSON["id"]}
        self.limiter = RateLimiter(limits, clock=monotonic)
        self._app = build_app(self.state, self.limiter, API_KEY)
        self._sink: WebhookSink | None = None
        self._sink_url: str | None = None
        self.state.listeners.append(self._emit)

    @property
    def app(self) -> Any:
        return self._app

    # -- boards -------------------------------------------------------------------------------
    def board(self, name: str) -> dict[str, Any]:
        """The board called `name`, created with its three lists if missing."""
        with self.state.mutation():
            for board in self.state.boards.values():
                if board["name"] == name:
                    return board
            board = self.state.add_board(name, short_link=SHORT_LINKS.get(name, name))
            for list_name in LIST_OF.values():
                self.state.add_list(board["id"], list_name)
            return board

    def list_named(self, board_id: str, name: str) -> dict[str, Any]:
        with self.state.mutation():
            found = [
                x
                for x in self.state.lists.values()
                if x["idBoard"] == board_id and x["name"] == name
            ]
            return found[0] if found else self.state.add_list(board_id, name)

    def label_named(self, board_id: str, name: str) -> str:
        with self.state.mutation():
            for label in self.state.labels.values():
                if label["idBoard"] == board_id and label["name"] == name:
                    return str(label["id"])
            return str(self.state.add_label(board_id, name, "sky")["id"])

    def field_named(self, board_id: str, name: str, kind: str) -> str:
        with self.state.mutation():
            for definition in self.state.custom_fields.values():
                if definition["idModel"] == board_id and definition["name"] == name:
                    return str(definition["id"])
            return str(self.state.add_custom_field(board_id, name, kind)["id"])

    # -- SimulatedTool ------------------------------------------------------------------------
    def add_task(self, task: SeedTask) -> str:
        member = PERSON["id"]
        with self.state.mutation():
            board = self.board(task.container)
            trello_list = self.list_named(board["id"], LIST_OF[task.status])
            card = self.state.create_card(member, trello_list["id"], task.title)
            if task.labels:
                self.set_labels(card["id"], task.labels)
            if task.assignees:
                ids = [self._member(name) for name in task.assignees]
                self.state.update_card(member, card, {"idMembers": ids})
            if task.estimate is not None:
                field = self.field_named(board["id"], ESTIMATE_FIELD, "number")
                self.state.set_custom_value(member, card, field, {"number": f"{task.estimate:g}"})
            for name, value in task.fields.items():
                field = self.field_named(board["id"], name, "text")
                self.state.set_custom_value(member, card, field, {"text": value})
            return str(card["id"])

    def _member(self, username: str) -> str:
        for member in self.state.members.values():
            if member["username"] == username:
                return str(member["id"])
        member_id = self.state.new_id()
        self.state.members[member_id] = {
            "id": member_id,
            "username": username,
            "fullName": username.title(),
        }
        return member_id

    def set_status(self, external_id: str, status: StatusCategory) -> None:
        with self.state.mutation():
            card = self.state.card(external_id)
            target = self.list_named(card["idBoard"], LIST_OF[status])
            self.state.update_card(PERSON["id"], card, {"idList": target["id"]})

    def set_labels(self, external_id: str, labels: tuple[str, ...]) -> None:
        with self.state.mutation():
            card = self.state.card(external_id)
            ids = [self.label_named(card["idBoard"], name) for name in labels]
            self.state.set_card_labels(PERSON["id"], card, ids)

    def delete_task(self, external_id: str) -> None:
        with self.state.mutation():
            self.state.delete_card(PERSON["id"], self.state.card(external_id))

    def archive_task(self, external_id: str) -> None:
        with self.state.mutation():
            card = self.state.card(external_id)
            self.state.update_card(PERSON["id"], card, {"closed": True})

    def labels_of(self, external_id: str) -> list[str]:
        with self.state.lock:
            card = self.state.card(external_id)
            return [str(self.state.labels[i]["name"]) for i in card["idLabels"]]

    def comments_of(self, external_id: str) -> list[SimComment]:
        with self.state.lock:
            return [
                SimComment(
                    id=a["id"], body=a["data"]["text"], author=a["memberCreator"]["username"]
                )
                for a in reversed(self.state.comments(external_id))  # oldest first
            ]

    def comment_as_person(self, external_id: str, text: str) -> str:
        with self.state.mutation():
            card = self.state.card(external_id)
            return str(self.state.comment(PERSON["id"], card, text)["id"])

    # -- MarksInspection ----------------------------------------------------------------------
    def delete_comment_as_person(self, external_id: str, comment_id: str) -> None:
        """A board admin deletes a card comment, whoever wrote it."""
        with self.state.mutation():
            self.state.card(external_id)
            self.state.delete_comment(PERSON["id"], comment_id, as_admin=True)

    def label_definitions(self) -> list[str]:
        """Every label of every board (duplicates included)."""
        with self.state.lock:
            return [str(x["name"]) for x in self.state.labels.values()]

    def status_field_of(self, external_id: str) -> str | None:
        return None  # Trello cards get labels; the bridge writes no field

    def board_label_names(self, board_name: str) -> list[str]:
        """Every label of the board (duplicates included)."""
        with self.state.lock:
            board = self.board(board_name)
            return [
                str(x["name"]) for x in self.state.labels.values() if x["idBoard"] == board["id"]
            ]

    def settings(self, base_url: str) -> dict[str, Any]:
        with self.state.mutation():
            if not self.state.boards:
                self.board(DEFAULT_BOARD)
            boards = [b["shortLink"] for b in self.state.boards.values()]
        return {
            "type": "trello",
            "base_url": base_url,
            "key_env": "TRELLO_API_KEY",
            "token_env": "TRELLO_TOKEN",
            "secret_env": "TRELLO_APP_SECRET",
            "boards": boards,
            "estimate_field": ESTIMATE_FIELD,
            **({"callback_url": self._sink_url} if self._sink_url else {}),
        }

    def env(self) -> dict[str, str]:
        return {
            "TRELLO_API_KEY": API_KEY,
            "TRELLO_TOKEN": BOT_TOKEN,
            "TRELLO_APP_SECRET": APP_SECRET,
        }

    def write_count(self) -> int:
        with self.state.lock:
            return self.state.api_writes

    def set_webhook_sink(self, callback_url: str | None, sink: WebhookSink | None) -> None:
        self._sink_url, self._sink = callback_url, sink

    # -- emission -----------------------------------------------------------------------------
    def _emit(self, action: dict[str, Any], board: dict[str, Any]) -> None:
        sink = self._sink
        if sink is None:
            return
        urls = {self._sink_url} if self._sink_url else set()
        with self.state.lock:
            urls |= {
                h["callbackURL"]
                for h in self.state.webhooks.values()
                if h["idModel"] in (board["id"], action["data"].get("card", {}).get("id"))
            }
        body = delivery_body({k: v for k, v in action.items() if k != "idBoard"}, board)
        for url in sorted(u for u in urls if u):
            signature = sign(APP_SECRET, body, url)
            sink(url, {"content-type": "application/json", "x-trello-webhook": signature}, body)
