"""Pulling cards: full board reads, and incremental reads driven by board actions.

Trello has no "cards changed since" query, but every change is a board action, and actions
can be listed since an action id, newest first. So the cursor holds, per configured board, the
id of the newest action already processed; a pull lists the actions after it (paging back with
`before=`), re-reads only the cards they name (ten per `/1/batch` call), and stores the newest
action id only once all of that board's actions were consumed and yielded.

A board without a cursor (first run, board added to the config, `full=True`) is read whole;
its cursor is the newest action id taken *before* the cards were read, so a change racing the
read is simply read again next time.

The cursor also remembers each board's id, short link and name (resolved once; they do not
change, and a rename shows up on the next full pass) and the bot's member id, so a pull where
nothing changed costs one request per board and nothing else. The actions the bridge's own
push caused (the bot putting its status label on a card or taking it off, deleting its
comment) are recognised without re-reading the cards: the sync after a push costs the same.

Every task carries `marks`, the bridge's comment found on the card: a whole-board read lists the
board's comments (`filter=commentCard`, 1,000 per request, paged with `before=`), a re-read
gets each card's comments nested in the same `/1/batch` call.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from okrbridge.connector.base import Page
from okrbridge.connector.cursor import decode_cursor, encode_cursor
from okrbridge.connector.pagination import TokenPaginator
from okrbridge.domain import FoundMarks, Task
from okrbridge.marks import StatusLabels

from .client import ACTIONS_LIMIT, TooManyCards, TrelloClient
from .comments import bridge_comment_marks
from .normalize import BoardContext, normalize_card
from .settings import TrelloSettings

__all__ = ["PAGE_SIZE", "Changes", "TrelloPuller"]

PAGE_SIZE = 500
MAX_CARD_REREADS = 50
"""Beyond this many changed cards one board read (1-2 requests) beats 5+ batch calls."""
_NO_COMMENT = FoundMarks()
_ECHO_TYPES = frozenset({"addLabelToCard", "removeLabelFromCard", "deleteComment"})
_BOARD_FIELDS = ("id", "shortLink", "name")
_BOARD_WIDE = frozenset({"updateList", "moveListToBoard", "moveListFromBoard"})
"""A renamed, archived or moved list changes the status of all of its cards."""


@dataclass
class Changes:
    """What a board's actions since the cursor say changed."""

    newest: str | None = None
    cards: dict[str, None] = field(default_factory=dict)
    """Card ids to re-read, in newest-first order (a dict used as an ordered set)."""
    deleted: set[str] = field(default_factory=set)
    board_wide: bool = False


@dataclass(frozen=True)
class _Chunk:
    tasks: list[Task]
    deleted: list[str]
    mark: str | None = None
    last: bool = False


class TrelloPuller:
    """Reads the configured boards into pages of normalized tasks, with the bridge's marks."""

    def __init__(
        self,
        client: TrelloClient,
        settings: TrelloSettings,
        instance: str,
        labels: StatusLabels | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.instance = instance
        self.labels = labels or StatusLabels()
        self._boards: dict[str, dict[str, str]] = {}
        self._bot: str | None = settings.bot_member_id

    # -- identities (resolved once, remembered in the cursor) ---------------------------------
    def bot_id(self) -> str:
        """The bridge's member id (settings, cursor, else `/1/members/me` once)."""
        if self._bot is None:
            self._bot = str(self.client.me()["id"])
        return self._bot

    def board_id(self, configured: str) -> str:
        """The board's id (a short link is resolved once per instance; ids never change)."""
        return self.board_ref(configured)["id"]

    def board_ref(self, configured: str) -> dict[str, str]:
        if configured not in self._boards:
            board = self.client.board(configured)
            self._boards[configured] = {k: str(board.get(k) or "") for k in _BOARD_FIELDS}
        return self._boards[configured]

    def board_ids(self) -> dict[str, str]:
        """Board id -> the board as configured, for every configured board."""
        return {self.board_id(cfg): cfg for cfg in self.settings.boards}

    def remember(self, state: dict[str, Any]) -> None:
        """Take the board ids and bot id a cursor remembers (never a stale configured board)."""
        for configured, ref in (state.get("refs") or {}).items():
            if configured in self.settings.boards and isinstance(ref, dict) and ref.get("id"):
                self._boards.setdefault(
                    configured, {k: str(ref.get(k) or "") for k in _BOARD_FIELDS}
                )
        if self._bot is None and isinstance(state.get("bot"), str):
            self._bot = state["bot"]

    def _state(self, marks: dict[str, str]) -> dict[str, Any]:
        refs = {cfg: self._boards[cfg] for cfg in marks if cfg in self._boards}
        return {"boards": marks, "refs": refs, **({"bot": self._bot} if self._bot else {})}

    def context(self, configured: str) -> BoardContext:
        """Fresh lists, labels and custom fields of a board (3 requests)."""
        ref = self.board_ref(configured)
        board_id = ref["id"]
        return BoardContext(
            configured=configured,
            id=board_id,
            name=ref.get("name", ""),
            short_link=ref.get("shortLink", ""),
            lists={str(x["id"]): x for x in self.client.board_lists(board_id)},
            labels={str(x["id"]): x for x in self.client.board_labels(board_id)},
            custom_fields={str(x["id"]): x for x in self.client.board_custom_fields(board_id)},
        )

    # -- pull ---------------------------------------------------------------------------------
    def pull(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        """Pages per board; each board's last page carries the cursor including that board."""
        state = decode_cursor(cursor, instance=self.instance)
        if not full:
            self.remember(state)
        marks: dict[str, str] = {
            cfg: str(mark)
            for cfg, mark in dict(state.get("boards", {})).items()
            if cfg in self.settings.boards
        }
        if full:  # a full pass re-resolves what the cursor remembers (a renamed board...)
            self._boards.clear()
            self._bot = self.settings.bot_member_id
        for configured in self.settings.boards:
            since = None if full else marks.get(configured)
            chunks = self._changed(configured, since) if since else self._whole(configured)
            for chunk in chunks:
                new_cursor = None
                if chunk.last:
                    marks[configured] = chunk.mark or ""
                    new_cursor = encode_cursor(self._state(marks))
                yield Page(tasks=chunk.tasks, cursor=new_cursor, deleted=chunk.deleted)

    def _whole(self, configured: str) -> Iterator[_Chunk]:
        ctx = self.context(configured)
        newest = self.client.board_actions(ctx.id, limit=1, action_filter="all")
        mark = str(newest[0]["id"]) if newest else None
        cards = list(self._cards(ctx))
        found = bridge_comment_marks(self.client.board_comments(ctx.id), self.bot_id())
        tasks = [
            normalize_card(
                c, ctx, self.settings, self.instance, found.get(str(c["id"]), _NO_COMMENT)
            )
            for c in cards
        ]
        for start in range(0, len(tasks), PAGE_SIZE):
            yield _Chunk(tasks[start : start + PAGE_SIZE], [])
        yield _Chunk([], [], mark, last=True)

    def _normalized(
        self, card: dict[str, Any], ctx: BoardContext, found: dict[str, FoundMarks]
    ) -> Task:
        marks = found.get(str(card["id"]), _NO_COMMENT)
        return normalize_card(card, ctx, self.settings, self.instance, marks)

    def _cards(self, ctx: BoardContext) -> Iterator[dict[str, Any]]:
        try:
            yield from self.client.board_cards(ctx.id, "all")
        except TooManyCards:
            if not self.settings.too_many_cards_fallback:
                raise
            # Huge boards refuse one response for all cards: read them list by list instead.
            for list_id in ctx.lists:
                yield from self.client.list_cards(list_id, "all")

    def _changed(self, configured: str, since: str) -> Iterator[_Chunk]:
        changes = self.changes(self.board_id(configured), since)
        if changes.newest is None:
            yield _Chunk([], [], since, last=True)
            return
        if changes.board_wide or len(changes.cards) > MAX_CARD_REREADS:
            whole = list(self._whole(configured))
            yield _Chunk([], sorted(changes.deleted))
            yield from whole[:-1]
            yield _Chunk([], [], changes.newest, last=True)
            return
        if not changes.cards:  # only deletions, or only the bridge's own echoes
            yield _Chunk([], sorted(changes.deleted), changes.newest, last=True)
            return
        tasks, deleted = self._reread(configured, list(changes.cards))
        yield _Chunk(tasks, sorted(changes.deleted | set(deleted)), changes.newest, last=True)

    def changes(self, board_id: str, since: str) -> Changes:
        """Consume every action after `since` (newest first, paged back with `before=`)."""
        changes = Changes()
        pages = TokenPaginator(instance=self.instance)  # `before=` is the page token
        while pages.has_more:
            batch = self.client.board_actions(board_id, since=since, before=pages.next_token)
            fresh = [a for a in batch if a.get("id") != since]  # in case `since` is inclusive
            if changes.newest is None and fresh:
                changes.newest = str(fresh[0]["id"])
            for action in fresh:
                if not self._own_echo(action):
                    _note(changes, action)
            last = len(batch) < ACTIONS_LIMIT or not fresh
            pages.advance(None if last else str(fresh[-1]["id"]), is_last=last)
        return changes

    def _own_echo(self, action: dict[str, Any]) -> bool:
        """An action the bridge's own push caused (its status label put on or taken off a
        card, its comment deleted): the card need not be read again for it."""
        kind = action.get("type")
        creator = action.get("idMemberCreator")
        if kind not in _ECHO_TYPES or not creator:
            return False
        data = action.get("data") or {}
        label = data.get("label") if isinstance(data, dict) else None
        ours = kind == "deleteComment" or (
            isinstance(label, dict) and self.labels.owns(str(label.get("name") or ""))
        )
        return ours and creator == self.bot_id()

    def _reread(self, configured: str, card_ids: Sequence[str]) -> tuple[list[Task], list[str]]:
        ctx = self.context(configured)
        others = set(self.board_ids()) - {ctx.id}
        tasks: list[Task] = []
        deleted: list[str] = []
        for card_id, card in self.client.cards(card_ids).items():
            if card is None:
                deleted.append(card_id)
            elif card.get("idBoard", ctx.id) == ctx.id:
                tasks.append(self._task(card, ctx))
            elif card.get("idBoard") not in others:  # moved to a board we do not sync
                deleted.append(card_id)
            # else: moved to another configured board, whose own actions re-read it.
        return tasks, deleted

    def _task(self, card: dict[str, Any], ctx: BoardContext) -> Task:
        """A card read with its nested comments, as a task with its marks."""
        return self._normalized(
            card, ctx, bridge_comment_marks(_nested_comments(card), self.bot_id())
        )

    # -- fetch --------------------------------------------------------------------------------
    def fetch(self, card_ids: Sequence[str]) -> list[Task]:
        """Fresh reads with marks; cards gone or on boards not configured are omitted."""
        boards = self.board_ids()
        contexts: dict[str, BoardContext] = {}
        tasks: list[Task] = []
        for card in self.client.cards(list(dict.fromkeys(card_ids))).values():
            board_id = str((card or {}).get("idBoard", ""))
            if card is None or board_id not in boards:
                continue
            if board_id not in contexts:
                contexts[board_id] = self.context(boards[board_id])
            tasks.append(self._task(card, contexts[board_id]))
        return tasks


def _nested_comments(card: dict[str, Any]) -> list[dict[str, Any]]:
    actions = card.get("actions")
    if not isinstance(actions, list):
        return []
    card_ref = {"id": card.get("id")}
    return [
        {**a, "data": {**(a.get("data") or {}), "card": card_ref}}
        for a in actions
        if isinstance(a, dict)
    ]


def _note(changes: Changes, action: dict[str, Any]) -> None:
    kind = str(action.get("type", ""))
    card = (action.get("data") or {}).get("card") or {}
    card_id = card.get("id")
    if kind in _BOARD_WIDE:
        changes.board_wide = True
    elif not card_id:
        return
    elif kind == "deleteCard":
        changes.deleted.add(str(card_id))
        changes.cards.pop(str(card_id), None)
    elif str(card_id) not in changes.deleted:
        changes.cards[str(card_id)] = None
