"""Writing the bridge's status label and its one comment to a card.

Labels: the bridge's labels exist once per board (found by name, created only if missing,
ids cached) and are put on cards through `idLabels` only. `POST /1/cards/{id}/labels` is never
used: it creates a new board label on every call. A status swap re-reads the card's current
label ids (a GET) and writes the new set in one `PUT /1/cards/{id}?idLabels=` (setting
`label_swap = "replace"`); a person's label added in the ~100 ms between that read and the
write would be lost, so `label_swap = "add-remove"` trades one more write for no race.

Comment: one per card, created with `POST /1/cards/{id}/actions/comments` and edited in place
with `PUT /1/actions/{id}/text` (only its author can edit it, hence one fixed token). It ends
with a marker line and is recognised by marker AND author.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from okrbridge.connector.base import CommentAction, CommentChange, PushChange, PushResult
from okrbridge.connector.errors import NotFound, RequestFailed
from okrbridge.domain import KRStatus

from .client import TrelloClient
from .pull import TrelloPuller
from .settings import TrelloSettings

__all__ = [
    "COMMENT_MAX",
    "MARKER",
    "TrelloPusher",
    "is_bridge_comment",
    "label_color",
    "render_comment",
]

MARKER = "[okrbridge](#okrbridge)"
"""Trailing line of the bridge's comment: a tiny link that Trello's markdown renders as the
word "okrbridge" and that keeps its text as is in the API."""
COMMENT_MAX = 16384
"""Trello's limit on comment length."""
_COLORS = {
    KRStatus.ACHIEVED.label_slug: "blue",
    KRStatus.ON_TRACK.label_slug: "green",
    KRStatus.NEEDS_ATTENTION.label_slug: "yellow",
    KRStatus.OFF_TRACK.label_slug: "red",
}
_NO_COLOR = "null"
"""Trello's value for a colourless label (not-started)."""


def label_color(name: str) -> str:
    """The colour of a bridge label from its status slug; no colour for anything else."""
    return next((c for slug, c in _COLORS.items() if name.endswith(slug)), _NO_COLOR)


def render_comment(markdown: str) -> str:
    """The core's markdown (Trello renders markdown as is) plus the marker line, within limits."""
    room = COMMENT_MAX - len(MARKER) - 3
    body = markdown.strip()
    if len(body) > room:
        body = body[: room - 1] + "…"
    return f"{body}\n\n{MARKER}"


def is_bridge_comment(action: dict[str, Any], bot_id: str) -> bool:
    """A `commentCard` action written by the bridge: its marker and its author."""
    text = str((action.get("data") or {}).get("text") or "")
    return MARKER in text and action.get("idMemberCreator") == bot_id


class TrelloPusher:
    """Applies `PushChange`s to cards; every method returns the number of writes made."""

    def __init__(self, client: TrelloClient, puller: TrelloPuller, settings: TrelloSettings):
        self.client = client
        self.puller = puller
        self.settings = settings
        self._labels: dict[str, dict[str, list[str]]] = {}
        """Board id -> label name -> ids (a person may have made duplicates)."""
        self._lock = threading.Lock()

    def bot_id(self) -> str:
        return self.settings.bot_member_id or str(self.client.me()["id"])

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

    def _label_ids(self, board_id: str, name: str, *, refresh: bool = False) -> list[str]:
        with self._lock:
            known = self._labels.get(board_id)
        if known is None or (refresh and name not in known):
            known = {}
            for label in self.client.board_labels(board_id):
                known.setdefault(str(label.get("name") or ""), []).append(str(label["id"]))
            with self._lock:
                self._labels[board_id] = known
        return list(known.get(name, []))

    def ensure_label(self, board_id: str, name: str) -> tuple[str, int]:
        """The id of the board's label called `name`, creating it only if missing."""
        ids = self._label_ids(board_id, name) or self._label_ids(board_id, name, refresh=True)
        if ids:
            return ids[0], 0
        created = self.client.write(
            "POST", "labels", params={"idBoard": board_id, "name": name, "color": label_color(name)}
        )
        label_id = str(created["id"])
        with self._lock:
            self._labels.setdefault(board_id, {}).setdefault(name, []).append(label_id)
        return label_id, 1

    def _apply_labels(self, change: PushChange) -> int:
        card_id = change.task.external_id
        board_id = self._board_of(change)
        writes = 0
        add_id = None
        if change.add_label:
            add_id, writes = self.ensure_label(board_id, change.add_label)
        stale = {i for name in change.remove_labels for i in self._label_ids(board_id, name)}
        stale.discard(add_id or "")
        # The card as last pulled tells which writes are needed; a swap re-reads it first.
        known = change.task.raw.get("idLabels")
        on_card = set(known) if isinstance(known, list) else None
        remove = sorted(stale if on_card is None else stale & on_card)
        add = add_id if add_id and (on_card is None or add_id not in on_card) else None
        if add and remove and self.settings.label_swap == "replace":
            return writes + self._swap(card_id, add, stale)
        if add:
            writes += self._add_label(card_id, add)
        for label_id in remove:
            writes += self._remove_label(card_id, label_id)
        return writes

    def _swap(self, card_id: str, add: str, stale: set[str]) -> int:
        """One `PUT idLabels` over a fresh read of the card's labels (people's kept)."""
        current = self.client.card_label_ids(card_id)
        wanted = [i for i in current if i not in stale and i != add] + [add]
        if wanted == current:
            return 0
        self.client.write("PUT", f"cards/{card_id}", params={"idLabels": ",".join(wanted)})
        return 1

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
    def find_comment(self, card_id: str) -> str | None:
        """The id of the bridge's comment on the card (the oldest, if several), or None."""
        ours = [
            a for a in self.client.card_comments(card_id) if is_bridge_comment(a, self.bot_id())
        ]
        return str(ours[-1]["id"]) if ours else None  # newest first: the last is the oldest

    def _apply_comment(
        self, card_id: str, change: CommentChange, *, uncertain: bool
    ) -> tuple[str | None, int]:
        if change.action is CommentAction.DELETE:
            return None, self._delete_comment(card_id, change.comment_id)
        text = render_comment(change.body)
        target = change.comment_id if change.action is CommentAction.UPDATE else None
        if uncertain or (change.action is CommentAction.UPDATE and target is None):
            target = self.find_comment(card_id) or target  # never a second comment
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
        comment_id = comment_id or self.find_comment(card_id)
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
