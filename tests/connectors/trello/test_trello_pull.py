"""Pulls against the simulator served on loopback: full, incremental, deletions, huge boards."""

from __future__ import annotations

from connectors.trello import TrelloConnector
from connectors.trello.simulator import PERSON, TrelloSimulator
from okrbridge.connector.base import Page
from okrbridge.connector.cursor import decode_cursor
from okrbridge.domain import StatusCategory
from okrbridge.sandbox.harness import SandboxServer
from okrbridge.sandbox.tool import SeedTask

from .conftest import FakeClock, make_connector


def _seed(sim: TrelloSimulator, board: str, count: int) -> list[str]:
    return [
        sim.add_task(SeedTask(title=f"{board} card {i}", container=board)) for i in range(count)
    ]


def _pull(conn: TrelloConnector, cursor: str | None, *, full: bool = False) -> list[Page]:
    return list(conn.pull(cursor, full=full))


def _last_cursor(pages: list[Page]) -> str | None:
    return [p.cursor for p in pages if p.cursor][-1]


def test_full_pull_reads_every_board_and_emits_cursor_per_board(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    ids = _seed(sim, "alpha", 3) + _seed(sim, "beta", 2)
    with make_connector(sim, server, clock) as conn:
        pages = _pull(conn, None)
    tasks = {t.external_id: t for p in pages for t in p.tasks}
    assert set(tasks) == set(ids)
    assert {t.container for t in tasks.values()} == {"alpha", "beta"}
    assert all(
        t.status_name == "To Do" and t.fields["board"] in ("alpha", "beta") for t in tasks.values()
    )
    cursors = [decode_cursor(p.cursor) for p in pages if p.cursor]
    assert [sorted(c["boards"]) for c in cursors] == [["alpha"], ["alpha", "beta"]]
    assert pages[0].cursor is None or pages[0].tasks == []  # no cursor before a board is done


def test_incremental_rereads_only_changed_cards_and_steady_state_costs_one_request_per_board(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    ids = _seed(sim, "alpha", 20) + _seed(sim, "beta", 5)
    with make_connector(sim, server, clock) as conn:
        cursor = _last_cursor(_pull(conn, None))
        server.log.clear()
        steady = _pull(conn, cursor)
        assert [t for p in steady for t in p.tasks] == []
        assert server.log.count() == 2  # one actions request per board, nothing else
        assert _last_cursor(steady) == cursor

        sim.set_status(ids[3], StatusCategory.DONE)
        sim.set_labels(ids[4], ("growth",))
        sim.delete_task(ids[5])
        server.log.clear()
        pages = _pull(conn, cursor)
    changed = {t.external_id: t for p in pages for t in p.tasks}
    assert set(changed) == {ids[3], ids[4]}
    assert changed[ids[3]].status_category is StatusCategory.DONE
    assert changed[ids[4]].labels == ("growth",)
    assert [d for p in pages for d in p.deleted] == [ids[5]]
    assert server.log.count("GET", "/1/batch") == 1  # both cards re-read in one batch call
    assert server.log.count("GET", "/1/boards/alpha/cards") == 0
    assert _last_cursor(pages) != cursor


def test_actions_are_paged_back_with_before(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock, monkeypatch: object
) -> None:
    import connectors.trello.pull as pull_module

    ids = _seed(sim, "alpha", 4)
    with make_connector(sim, server, clock) as conn:
        cursor = _last_cursor(_pull(conn, None))
        for card_id in ids:
            sim.set_status(card_id, StatusCategory.IN_PROGRESS)
        setattr(pull_module, "ACTIONS_LIMIT", 3)  # noqa: B010
        original = conn.client.board_actions
        conn.client.board_actions = lambda board_id, **kw: original(board_id, limit=3, **kw)  # type: ignore[method-assign]
        try:
            pages = _pull(conn, cursor)
        finally:
            setattr(pull_module, "ACTIONS_LIMIT", 1000)  # noqa: B010
    assert {t.external_id for p in pages for t in p.tasks} == set(ids)
    assert server.log.count("GET", "/1/boards/") >= 2


def test_cursor_is_not_emitted_before_the_boards_cards_were_yielded(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    _seed(sim, "alpha", 2)
    _seed(sim, "beta", 2)
    with make_connector(sim, server, clock) as conn:
        first = next(iter(conn.pull(None)))
    # A crash after the first page must not skip alpha: its cursor is not in that page
    # unless the page already carried all of alpha's cards.
    if first.cursor:
        assert len(first.tasks) == 2 or "alpha" in decode_cursor(first.cursor)["boards"]
    else:
        assert len(first.tasks) == 2


def test_full_pass_includes_archived_cards_as_excluded_and_omits_deleted(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    ids = _seed(sim, "alpha", 3)
    sim.archive_task(ids[0])
    sim.delete_task(ids[1])
    with make_connector(sim, server, clock) as conn:
        tasks = {t.external_id: t for p in _pull(conn, None, full=True) for t in p.tasks}
    assert set(tasks) == {ids[0], ids[2]}
    assert tasks[ids[0]].excluded
    assert not tasks[ids[2]].excluded


def test_incremental_sees_archiving(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    ids = _seed(sim, "alpha", 2)
    with make_connector(sim, server, clock) as conn:
        cursor = _last_cursor(_pull(conn, None))
        sim.archive_task(ids[1])
        (task,) = [t for p in _pull(conn, cursor) for t in p.tasks]
    assert task.external_id == ids[1]
    assert task.excluded


def test_huge_board_falls_back_to_paging_per_list(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    ids = _seed(sim, "alpha", 7)
    sim.set_status(ids[0], StatusCategory.DONE)
    sim.state.too_many_cards = 5
    with make_connector(sim, server, clock) as conn:
        tasks = {t.external_id for p in _pull(conn, None) for t in p.tasks}
    assert tasks == set(ids)
    assert server.log.count("GET", "/1/lists/") == 3  # To Do, Doing, Done


def test_card_moved_to_an_unsynced_board_is_deleted_and_fetch_rereads(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    ids = _seed(sim, "alpha", 2)
    other = sim.board("elsewhere")
    with make_connector(sim, server, clock, boards=["alpha"]) as conn:
        cursor = _last_cursor(_pull(conn, None))
        with sim.state.mutation():
            card = sim.state.card(ids[0])
            target = next(x for x in sim.state.lists.values() if x["idBoard"] == other["id"])
            sim.state.move_card_to_board(PERSON["id"], card, other["id"], target["id"])
        pages = _pull(conn, cursor)
        assert [d for p in pages for d in p.deleted] == [ids[0]]
        fetched = conn.fetch([ids[0], ids[1], "000000000000000000000000"])
    assert [t.external_id for t in fetched] == [ids[1]]
