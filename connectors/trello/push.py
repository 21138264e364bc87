"""Writing the bridge's status label and its one comment to a card.

Labels: the bridge's labels exist once per board (found by name, created only if missing,
ids cached) and are put on cards through `idLabels` only. `POST /1/cards/{id}/labels` is never
used: it creates a new board label on every call. Which labels to remove is always decided
from a fresh read of the card's `idLabels`, never from the card as last pulled (the bridge may
have added a label since). A status swap then writes the new set in one
`PUT /1/cards/{id}?idLabels=` (`label_swap = "replace"`); a person's label added in the
~100 ms between that read and the write would be lost, so `label_swap = "add-remove"` trades
one more write for no race.

Comment: one per card, created with `POST /1/cards/{id}/actions/comments` and edited in place
with `PUT /1/actions/{id}/text` (only its author can edit it, hence one fixed token). See
`comments` for its stamped marker. A create that may find an existing one (`look_first`,
uncertain retries) looks at the card's comments first and adopts the bridge's.
"""

from __future__ import annotations

import contextlib
import threading

from okrbridge.connector.base import CommentAction, CommentChange, PushChange, PushResult
from okrbridge.connector.errors import NotFound, RequestFailed
from okrbridge.domain import KRStatus
from okrbridge.marks import StatusLabels

from .client import TrelloClient
from .comments import comment_digest, is_bridge_comment, render_comment
from .pull import TrelloPuller
from .settings import TrelloSettings

__all__ = ["TrelloPusher", "label_color"]

_COLORS = {
    KRStatus.ACHIEVED: "blue",
    KRStatus.ON_TRACK: "green",
    KRStatus.NEEDS_ATTENTION: "yellow",
    KRStatus.OFF_TRACK: "red",
}
_NO_COLOR = "null"
"""Trello's value for a colourless label (not-started, and anything else)."""


def label_color(labels: StatusLabels, name: str) -> str:
    """The colour of a bridge label from the status it names."""
    status = labels.status_of(name)
    return _COLORS.get(status, _NO_COLOR) if status is not None else _NO_COLOR


class TrelloPusher:
    """Applies `PushChange`s to cards; every method returns the number of writes made."""

    def __init__(
        self,
        client: TrelloClient,
        puller: TrelloPuller,
        settings: TrelloSettings,
        labels: StatusLabels,
    ) -> None:
        self.client = client
        self.puller = puller
        self.settings = settings
        self.labels = labels
        self._board_labels: dict[str, dict[str, list[str]]] = {}
        """Board id -> label name -> ids (a person may have made duplicates)."""
        self._lock = threading.Lock()

    def bot_id(self) -> str:
        return self.puller.bot_id()

    def apply(self, change: PushChange) -> PushResult:
        writes = 0
        if change.add_label or change.remove_labels:
            writes += self._apply_labels(change)
        comment_id = None
        if change.comment is not None:
            comment_id, made = self._apply_comment(
                change.task.external_id, change.comment, uncertain=change.uncertain
            )
            writes += made
        return PushResult(comment_id=comment_id, requests=writes)

    # -- labels -------------------------------------------------------------------------------
    def _board_of(self, change: PushChange) -> str:
        board = change.task.raw.get("idBoard")
        return str(board) if board else self.puller.board_id(change.task.container)

    def board_labels(self, board_id: str, *, refresh: bool = False) -> dict[str, list[str]]:
        """Label name -> ids on the board (read once, again on `refresh`)."""
        with self._lock:
            known = self._board_labels.get(board_id)
        if known is None or refresh:
            known = {}
            for label in self.client.board_labels(board_id):
                known.setdefault(str(label.get("name") or ""), []).append(str(label["id"]))
            with self._lock:
                self._board_labels[board_id] = known
        return known

    def _label_ids(self, board_id: str, name: str, *, refresh: bool = False) -> list[str]:
        """Ids of the board's labels called `name`; `refresh`: re-read the board's labels if
        the name is unknown to a cache read earlier (a person may have made it since)."""
        with self._lock:
            cached = board_id in self._board_labels
        known = self.board_labels(board_id)
        if refresh and cached and name not in known:
            known = self.board_labels(board_id, refresh=True)
        return list(known.get(name, []))

    def forget_label(self, board_id: str, label_id: str) -> None:
        with self._lock:
            for ids in self._board_labels.get(board_id, {}).values():
                if label_id in ids:
                    ids.remove(label_id)

    def ensure_label(self, board_id: str, name: str) -> tuple[str, int]:
        """The id of the board's label called `name`, creating it only if missing."""
        ids = self._label_ids(board_id, name, refresh=True)
        if ids:
            return ids[0], 0
        params = {"idBoard": board_id, "name": name, "color": label_color(self.labels, name)}
        label_id = str(self.client.write("POST", "labels", params=params)["id"])
        with self._lock:
            self._board_labels.setdefault(board_id, {}).setdefault(name, []).append(label_id)
        return label_id, 1

    def _apply_labels(self, change: PushChange) -> int:
        card_id = change.task.external_id
        board_id = self._board_of(change)
        writes = 0
        add_id = None
        if change.add_label:
            add_id, writes = self.ensure_label(board_id, change.add_label)
        owned = [name for name in change.remove_labels if self.labels.owns(name)]
        stale = {i for name in owned for i in self._label_ids(board_id, name)}
        stale.discard(add_id or "")
        known = change.task.raw.get("idLabels")
        if stale or not isinstance(known, list):
            # Removals are decided from the card as it is now, never as last pulled.
            known = self.client.card_label_ids(card_id)
        on_card = set(known)
        remove = sorted(stale & on_card)
        add = add_id if add_id and add_id not in on_card else None
        if add and remove and self.settings.label_swap == "replace":
            wanted = [i for i in known if i not in stale] + [add]
            self.client.write("PUT", f"cards/{card_id}", params={"idLabels": ",".join(wanted)})
            return writes + 1
        if add:
            writes += self._add_label(card_id, add)
        for label_id in remove:
            writes += self._remove_label(card_id, label_id)
        return writes

    def _add_label(self, card_id: str, label_id: str) -> int:
        try:
            self.client.write("POST", f"cards/{card_id}/idLabels", params={"value": label_id})
        except RequestFailed as exc:
            if "already" not in exc.detail.lower():  # "that label is already on the card"
                raise
        return 1

    def _remove_label(self, card_id: str, label_id: str) -> int:
        with contextlib.suppress(NotFound):  # already gone: what we wanted
            self.client.write("DELETE", f"cards/{card_id}/idLabels/{label_id}")
        return 1

    # -- comment ------------------------------------------------------------------------------
    def find_comment(self, card_id: str) -> tuple[str, str] | None:
        """(id, text) of the bridge's comment on the card (the oldest), or None."""
        bot = self.bot_id()
        ours = [a for a in self.client.card_comments(card_id) if is_bridge_comment(a, bot)]
        if not ours:
            return None
        oldest = ours[-1]  # newest first: the last is the oldest
        return str(oldest["id"]), str(oldest["data"].get("text") or "")

    def _apply_comment(
        self, card_id: str, change: CommentChange, *, uncertain: bool
    ) -> tuple[str | None, int]:
        if change.action is CommentAction.DELETE:
            return None, self._delete_comment(card_id, change.comment_id)
        text = render_comment(change.body, change.digest)
        target = change.comment_id if change.action is CommentAction.UPDATE else None
        lost = change.action is CommentAction.UPDATE and target is None
        looks = change.action is CommentAction.CREATE and change.look_first
        if uncertain or looks or lost:
            found = self.find_comment(card_id)  # never a second comment
            if found is not None:
                target, current = found
                stamped = comment_digest(current)
                if current == text or (change.digest and stamped == change.digest):
                    return target, 0  # already says what it should
        if target is not None:
            try:
                self.client.write("PUT", f"actions/{target}/text", body={"value": text})
                return target, 1
            except NotFound:  # deleted by a person: write it again (still one comment)
                pass
        created = self.client.write(
            "POST", f"cards/{card_id}/actions/comments", body={"text": text}
        )
        return str(created["id"]), 1

    def _delete_comment(self, card_id: str, comment_id: str | None) -> int:
        if comment_id is None:
            found = self.find_comment(card_id)
            comment_id = found[0] if found else None
        if comment_id is None:
            return 0
        try:
            action = self.client.action(comment_id)
        except NotFound:
            return 0
        if not is_bridge_comment(action, self.bot_id()):
            return 0  # not ours (or no longer marked): never delete it
        with contextlib.suppress(NotFound):
            self.client.write("DELETE", f"actions/{comment_id}")
        return 1
