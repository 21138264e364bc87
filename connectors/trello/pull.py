"""Pulling cards: full board reads, and incremental reads driven by board actions.

Trello has no "cards changed since" query, but every change is a board action, and actions
can be listed since an action id, newest first. So the cursor holds, per configured board, the
id of the newest action already processed; a pull lists the actions after it (paging back with
`before=`), re-reads only the cards they name (ten per `/1/batch` call), and stores the newest
action id only once all of that board's actions were consumed and yielded.

A board without a cursor (first run, board added to the config, `full=True`) is read whole;
its cursor is the newest action id taken *before* the cards were read, so a change racing the
read is simply read again next time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from okrbridge.connector.base import Page
from okrbridge.connector.cursor import decode_cursor, encode_cursor
from okrbridge.connector.pagination import TokenPaginator
from okrbridge.domain import Task

from .client import ACTIONS_LIMIT, TooManyCards, TrelloClient
from .normalize import BoardContext, normalize_card
from .settings import TrelloSettings

__all__ = ["PAGE_SIZE", "Changes", "TrelloPuller"]

PAGE_SIZE = 500
MAX_CARD_REREADS = 50
"""Beyond this many changed cards one board read (1-2 requests) beats 5+ batch calls."""
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
    """Reads the configured boards into pages of normalized tasks."""

    def __init__(self, client: TrelloClient, settings: TrelloSettings, instance: str) -> None:
        self.client = client
        self.settings = settings
        self.instance = instance
        self._boards: dict[str, dict[str, Any]] = {}

    # -- boards -------------------------------------------------------------------------------
    def board_id(self, configured: str) -> str:
        """The board's id (a short link is resolved once per instance; ids never change)."""
        if configured not in self._boards:
            self._boards[configured] = self.client.board(configured)
        return str(self._boards[configured]["id"])

    def board_ids(self) -> dict[str, str]:
        """Board id -> the board as configured, for every configured board."""
        return {self.board_id(cfg): cfg for cfg in self.settings.boards}

    def context(self, configured: str) -> BoardContext:
        """Fresh lists, labels and custom fields of a board (3 requests)."""
        board_id = self.board_id(configured)
        return BoardContext(
            configured=configured,
            id=board_id,
            name=str(self._boards[configured].get("name", "")),
            lists={str(x["id"]): x for x in self.client.board_lists(board_id)},
            labels={str(x["id"]): x for x in self.client.board_labels(board_id)},
            custom_fields={str(x["id"]): x for x in self.client.board_custom_fields(board_id)},
        )

    # -- pull ---------------------------------------------------------------------------------
    def pull(self, cursor: str | None, *, full: bool) -> Iterator[Page]:
        """Pages per board; each board's last page carries the cursor including that board."""
        marks: dict[str, str] = dict(
            decode_cursor(cursor, instance=self.instance).get("boards", {})
        )
        for configured in self.settings.boards:
            since = None if full else marks.get(configured)
            chunks = self._changed(configured, since) if since else self._whole(configured)
            for chunk in chunks:
                new_cursor = None
                if chunk.last:
                    marks[configured] = chunk.mark or ""
                    new_cursor = encode_cursor({"boards": marks})
                yield Page(tasks=chunk.tasks, cursor=new_cursor, deleted=chunk.deleted)

    def _whole(self, configured: str) -> Iterator[_Chunk]:
        ctx = self.context(configured)
        newest = self.client.board_actions(ctx.id, limit=1, action_filter="all")
        mark = str(newest[0]["id"]) if newest else None
        tasks = [normalize_card(c, ctx, self.settings, self.instance) for c in self._cards(ctx)]
        for start in range(0, len(tasks), PAGE_SIZE):
            yield _Chunk(tasks[start : start + PAGE_SIZE], [])
        yield _Chunk([], [], mark, last=True)

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
                _note(changes, action)
            last = len(batch) < ACTIONS_LIMIT or not fresh
            pages.advance(None if last else str(fresh[-1]["id"]), is_last=last)
        return changes

    def _reread(self, configured: str, card_ids: Sequence[str]) -> tuple[list[Task], list[str]]:
        ctx = self.context(configured)
        others = set(self.board_ids()) - {ctx.id}
        tasks: list[Task] = []
        deleted: list[str] = []
        for card_id, card in self.client.cards(card_ids).items():
            if card is None:
                deleted.append(card_id)
            elif card.get("idBoard", ctx.id) == ctx.id:
                tasks.append(normalize_card(card, ctx, self.settings, self.instance))
            elif card.get("idBoard") not in others:  # moved to a board we do not sync
                deleted.append(card_id)
            # else: moved to another configured board, whose own actions re-read it.
        return tasks, deleted

    # -- fetch --------------------------------------------------------------------------------
    def fetch(self, card_ids: Sequence[str]) -> list[Task]:
        """Re-read cards; cards gone or on boards not configured are omitted."""
        boards = self.board_ids()
        contexts: dict[str, BoardContext] = {}
        tasks: list[Task] = []
        for card in self.client.cards(list(dict.fromkeys(card_ids))).values():
            board_id = str((card or {}).get("idBoard", ""))
            if card is None or board_id not in boards:
                continue
            if board_id not in contexts:
                contexts[board_id] = self.context(boards[board_id])
            tasks.append(normalize_card(card, contexts[board_id], self.settings, self.instance))
        return tasks


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
