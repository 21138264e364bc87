"""Cleanup of what the bridge created on a board besides card marks: its status labels.

Found in Trello, not in the store (it works from an empty store): a board label whose name is
one of the bridge's status labels (`<prefix><status>`) and that no card of the board carries
(archived cards included: unarchiving one must not bring back a label id that is gone) is
deleted with `DELETE /1/labels/{id}`. A label still on a card is kept (a person's status label
given back by cleanup, for instance).
"""

from __future__ import annotations

from .client import TooManyCards, TrelloClient
from .pull import TrelloPuller
from .push import TrelloPusher

__all__ = ["remove_label_definitions"]


def _used_label_ids(client: TrelloClient, board_id: str) -> set[str]:
    try:
        cards = client.board_cards(board_id, "all")
    except TooManyCards:
        cards = [
            card
            for trello_list in client.board_lists(board_id)
            for card in client.list_cards(str(trello_list["id"]), "all")
        ]
    return {str(i) for card in cards for i in card.get("idLabels") or []}


def remove_label_definitions(
    client: TrelloClient, puller: TrelloPuller, pusher: TrelloPusher, *, dry_run: bool
) -> list[str]:
    """Delete the bridge's unused status labels on every configured board; one line each.

    A dry run changes nothing and lists every bridge label definition of the boards: the card
    cleanup it previews would leave them unused.
    """
    done: list[str] = []
    for configured in puller.settings.boards:
        board_id = puller.board_id(configured)
        owned = [
            label
            for label in client.board_labels(board_id)
            if pusher.labels.owns(str(label.get("name") or ""))
        ]
        if not owned:
            continue
        used = set() if dry_run else _used_label_ids(client, board_id)
        for label in owned:
            label_id = str(label["id"])
            if label_id in used:
                continue
            line = f"board {configured}: delete label {label.get('name')}"
            if not dry_run:
                client.delete_label(label_id)
                pusher.forget_label(board_id, label_id)
            done.append(line)
    return done
