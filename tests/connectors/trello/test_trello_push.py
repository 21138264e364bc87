"""Pushes against the served simulator: what is written to Trello, and what is never touched."""

from __future__ import annotations

import pytest

from connectors.trello import TrelloConnector
from connectors.trello.comments import marker
from connectors.trello.simulator import TrelloSimulator
from okrbridge.connector.base import CommentAction, CommentChange, PushChange
from okrbridge.domain import Task
from okrbridge.sandbox.harness import SandboxServer
from okrbridge.sandbox.tool import SeedTask

from .conftest import FakeClock, make_connector

MARKER = marker()  # the 0.1 form, unstamped: still recognised as the bridge's

BODY = "**OKR status: On track** — Grow our game\nInitiative: Reviews (38% done)\n- KR: 71% of 85%"


def _task(conn: TrelloConnector, card_id: str) -> Task:
    (task,) = conn.fetch([card_id])
    return task


def _writes(server: SandboxServer) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in server.log.snapshot() if r.is_write]


@pytest.fixture
def card(sim: TrelloSimulator) -> str:
    return sim.add_task(SeedTask(title="Review prompt", container="alpha", labels=("growth",)))


def test_first_apply_creates_one_label_and_one_comment_and_reapply_writes_nothing(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock, card: str
) -> None:
    with make_connector(sim, server, clock) as conn:
        change = PushChange(
            task=_task(conn, card),
            add_label="okr:on-track",
            comment=CommentChange(CommentAction.CREATE, BODY),
        )
        server.log.clear()
        result = conn.apply(change)
        writes = _writes(server)
        assert sorted(writes) == sorted(
            [
                ("POST", "/1/labels"),
                ("POST", f"/1/cards/{card}/idLabels"),
                ("POST", f"/1/cards/{card}/actions/comments"),
            ]
        )
        assert result.requests == 3
        assert sim.labels_of(card) == ["growth", "okr:on-track"]
        (comment,) = sim.comments_of(card)
        assert comment.id == result.comment_id
        assert comment.author == "okrbridge-bot"
        assert comment.body == BODY + "\n\n" + MARKER
        label = next(x for x in sim.state.labels.values() if x["name"] == "okr:on-track")
        assert label["color"] == "green"

        # Same desired state again, from a fresh read: no write at all.
        server.log.clear()
        again = conn.apply(PushChange(task=_task(conn, card), add_label="okr:on-track"))
        assert again.requests == 0
        assert _writes(server) == []


def test_status_change_is_two_writes_and_keeps_peoples_labels(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock, card: str
) -> None:
    with make_connector(sim, server, clock) as conn:
        first = conn.apply(
            PushChange(
                task=_task(conn, card),
                add_label="okr:on-track",
                comment=CommentChange(CommentAction.CREATE, BODY),
            )
        )
        sim.set_labels(card, ("growth", "okr:on-track", "customer"))  # a person adds one
        server.log.clear()
        result = conn.apply(
            PushChange(
                task=_task(conn, card),
                add_label="okr:off-track",
                remove_labels=("okr:on-track",),
                comment=CommentChange(CommentAction.UPDATE, "**Off track**", first.comment_id),
            )
        )
    assert result.requests == 3  # the new label is created once for the board, then 2 writes
    assert [w for w in _writes(server) if w[1] != "/1/labels"] == [
        ("PUT", f"/1/cards/{card}"),
        ("PUT", f"/1/actions/{first.comment_id}/text"),
    ]
    assert sorted(sim.labels_of(card)) == ["customer", "growth", "okr:off-track"]
    (comment,) = sim.comments_of(card)
    assert comment.body.startswith("**Off track**")
    assert result.comment_id == first.comment_id


def test_add_remove_mode_uses_two_label_writes(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock, card: str
) -> None:
    with make_connector(sim, server, clock, label_swap="add-remove") as conn:
        conn.apply(PushChange(task=_task(conn, card), add_label="okr:on-track"))
        conn.apply(PushChange(task=_task(conn, card), add_label="okr:off-track"))
        server.log.clear()
        result = conn.apply(
            PushChange(
                task=_task(conn, card),
                add_label="okr:achieved",
                remove_labels=("okr:on-track", "okr:off-track"),
            )
        )
    assert sorted(sim.labels_of(card)) == ["growth", "okr:achieved"]
    assert result.requests == 4  # create okr:achieved, add it, remove both stale labels
    assert ("POST", f"/1/cards/{card}/idLabels") in _writes(server)


def test_uncertain_create_and_lost_comment_id_edit_the_existing_comment(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock, card: str
) -> None:
    with make_connector(sim, server, clock) as conn:
        sim.comment_as_person(card, "A person's comment " + MARKER)  # marker but not the bot
        first = conn.apply(
            PushChange(task=_task(conn, card), comment=CommentChange(CommentAction.CREATE, "v1"))
        )
        retry = conn.apply(
            PushChange(
                task=_task(conn, card),
                comment=CommentChange(CommentAction.CREATE, "v2"),
                uncertain=True,
            )
        )
        lost = conn.apply(
            PushChange(task=_task(conn, card), comment=CommentChange(CommentAction.UPDATE, "v3"))
        )
    assert retry.comment_id == first.comment_id == lost.comment_id
    bodies = [(c.author, c.body.split("\n")[0]) for c in sim.comments_of(card)]
    assert bodies == [("alice", "A person's comment " + MARKER), ("okrbridge-bot", "v3")]


def test_update_of_a_comment_a_person_deleted_recreates_one(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock, card: str
) -> None:
    with make_connector(sim, server, clock) as conn:
        first = conn.apply(
            PushChange(task=_task(conn, card), comment=CommentChange(CommentAction.CREATE, "v1"))
        )
        assert first.comment_id
        with sim.state.mutation():  # Trello lets the board admin remove it
            sim.state.delete_comment("5f0000000000000000000b07", first.comment_id)
        again = conn.apply(
            PushChange(
                task=_task(conn, card),
                comment=CommentChange(CommentAction.UPDATE, "v2", first.comment_id),
            )
        )
    (comment,) = sim.comments_of(card)
    assert comment.id == again.comment_id != first.comment_id


def test_delete_verifies_marker_and_author(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock, card: str
) -> None:
    with make_connector(sim, server, clock) as conn:
        person = sim.comment_as_person(card, "keep me " + MARKER)
        ours = conn.apply(
            PushChange(task=_task(conn, card), comment=CommentChange(CommentAction.CREATE, "v1"))
        )
        refused = conn.apply(
            PushChange(
                task=_task(conn, card),
                comment=CommentChange(CommentAction.DELETE, comment_id=person),
            )
        )
        assert refused.requests == 0
        done = conn.apply(
            PushChange(
                task=_task(conn, card),
                comment=CommentChange(CommentAction.DELETE, comment_id=ours.comment_id),
            )
        )
    assert done.requests == 1
    assert done.comment_id is None
    assert [c.id for c in sim.comments_of(card)] == [person]


def test_bridge_never_calls_the_label_creating_endpoint_and_labels_exist_once_per_board(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    cards = [sim.add_task(SeedTask(title=f"c{i}", container="alpha")) for i in range(5)]
    with make_connector(sim, server, clock) as conn:
        for card_id in cards:
            conn.apply(PushChange(task=_task(conn, card_id), add_label="okr:not-started"))
    assert not any(
        r.path.endswith("/labels") and "/cards/" in r.path for r in server.log.snapshot()
    )
    assert sim.board_label_names("alpha").count("okr:not-started") == 1
    label = next(x for x in sim.state.labels.values() if x["name"] == "okr:not-started")
    assert label["color"] is None
    # Proof that the trap is real in the simulator, as in Trello: two calls, two board labels.
    with sim.state.mutation():
        for _ in range(2):
            sim.state.add_label(sim.board("alpha")["id"], "dup", "red")
    assert sim.board_label_names("alpha").count("dup") == 2
