"""The bridge finds its own marks in Trello: comments in pulls and fetches, look-first creates,
removals from a fresh read, board label cleanup, and the steady-state request floor."""

from __future__ import annotations

import tomllib
from pathlib import Path

import httpx

from connectors.trello import TrelloConnector, TrelloSettings
from connectors.trello.comments import marker
from connectors.trello.simulator import BOT, PERSON, TrelloSimulator
from okrbridge.connector.base import CommentAction, CommentChange, Page, PushChange
from okrbridge.domain import FoundMarks, StatusCategory, Task
from okrbridge.marks import StatusLabels
from okrbridge.sandbox.harness import SandboxServer
from okrbridge.sandbox.tool import SeedTask
from okrbridge.sandbox.worked_example import SEED

from .conftest import FakeClock, make_connector

DIGEST = "0123456789abcdef"


def _seed(sim: TrelloSimulator, board: str, count: int) -> list[str]:
    return [sim.add_task(SeedTask(title=f"{board} {i}", container=board)) for i in range(count)]


def _tasks(pages: list[Page]) -> dict[str, Task]:
    return {t.external_id: t for p in pages for t in p.tasks}


def _cursor(pages: list[Page]) -> str:
    return str([p.cursor for p in pages if p.cursor][-1])


def _bot_comment(sim: TrelloSimulator, card: str, text: str) -> str:
    with sim.state.mutation():
        return str(sim.state.comment(BOT["id"], sim.state.card(card), text)["id"])


def _create(task: Task, body: str, digest: str = DIGEST, look: bool = True) -> PushChange:
    return PushChange(
        task=task, comment=CommentChange(CommentAction.CREATE, body, digest=digest, look_first=look)
    )


def test_full_pull_carries_marks_for_every_card_from_one_comment_scan_per_board(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    ids = _seed(sim, "alpha", 4)
    stamped = _bot_comment(sim, ids[0], "status\n\n" + marker(DIGEST))
    old = _bot_comment(sim, ids[1], "from 0.1\n\n" + marker())
    sim.comment_as_person(ids[2], "copied it " + marker(DIGEST))  # marker, not the bot
    _bot_comment(sim, ids[3], "the bot, chatting without a marker")
    with make_connector(sim, server, clock) as conn:
        server.log.clear()
        tasks = _tasks(list(conn.pull(None)))
    assert tasks[ids[0]].marks == FoundMarks(comment_id=stamped, comment_digest=DIGEST)
    assert tasks[ids[1]].marks == FoundMarks(comment_id=old, comment_digest=None)
    assert tasks[ids[2]].marks == FoundMarks()
    assert tasks[ids[3]].marks == FoundMarks()
    comment_scans = [r for r in server.log.snapshot() if "filter=commentCard" in r.query]
    assert len(comment_scans) == 1


def test_comment_scan_pages_back_with_before_past_1000_comments(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    (card,) = _seed(sim, "alpha", 1)
    ours = _bot_comment(sim, card, "oldest\n\n" + marker(DIGEST))
    with sim.state.mutation():
        for i in range(1000):
            sim.state.comment(PERSON["id"], sim.state.card(card), f"chatter {i}")
    with make_connector(sim, server, clock) as conn:
        server.log.clear()
        (task,) = _tasks(list(conn.pull(None))).values()
    assert task.marks == FoundMarks(comment_id=ours, comment_digest=DIGEST)
    scans = [r for r in server.log.snapshot() if "filter=commentCard" in r.query]
    assert len(scans) == 2
    assert "before=" in scans[1].query
    assert "page=" not in scans[1].query


def test_a_deleted_bot_comment_shows_in_a_full_pull_and_in_the_next_incremental_one(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    ids = _seed(sim, "alpha", 2)
    comment = _bot_comment(sim, ids[0], "status\n\n" + marker(DIGEST))
    with make_connector(sim, server, clock) as conn:
        cursor = _cursor(list(conn.pull(None)))
        sim.delete_comment_as_person(ids[0], comment)  # a board admin removes it
        incremental = _tasks(list(conn.pull(cursor)))
        full = _tasks(list(conn.pull(None, full=True)))
    assert incremental[ids[0]].marks == FoundMarks()
    assert full[ids[0]].marks == FoundMarks()
    assert set(incremental) == {ids[0]}


def test_rereads_and_fetch_carry_marks_from_nested_comments(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    ids = _seed(sim, "alpha", 2)
    comment = _bot_comment(sim, ids[0], "status\n\n" + marker(DIGEST))
    with make_connector(sim, server, clock) as conn:
        cursor = _cursor(list(conn.pull(None)))
        sim.set_status(ids[0], StatusCategory.DONE)
        server.log.clear()
        (changed,) = _tasks(list(conn.pull(cursor))).values()
        assert server.log.count("GET", "/1/batch") == 1  # no request per card for comments
        fetched = {t.external_id: t for t in conn.fetch(ids)}
    assert changed.marks == FoundMarks(comment_id=comment, comment_digest=DIGEST)
    assert fetched[ids[0]].marks == changed.marks
    assert fetched[ids[1]].marks == FoundMarks()
    assert "actions" not in changed.raw


def test_steady_state_costs_one_request_per_board_for_a_new_process(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    _seed(sim, "alpha", 3)
    _seed(sim, "beta", 3)
    with make_connector(sim, server, clock) as conn:
        cursor = _cursor(list(conn.pull(None)))
    with make_connector(sim, server, clock) as fresh:  # the next `okrbridge sync`
        server.log.clear()
        pages = list(fresh.pull(cursor))
    assert _tasks(pages) == {}
    paths = [r.path for r in server.log.snapshot()]
    assert sorted(paths) == sorted(
        f"/1/boards/{sim.board(name)['id']}/actions" for name in ("alpha", "beta")
    )


def test_cards_name_their_board_by_id_short_link_and_name(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    (card,) = _seed(sim, "launch", 1)
    board = sim.board("launch")
    settings = sim.settings(server.url)
    assert settings["boards"] == ["Xy12AbCd"]  # what config.example.toml's rules name
    with make_connector(sim, server, clock) as conn:
        (task,) = conn.fetch([card])
    assert task.container == "Xy12AbCd"
    assert task.container_aliases == (board["id"], "launch")


def test_look_first_adopts_the_bot_comment_and_skips_it_when_its_stamp_is_current(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    (card,) = _seed(sim, "alpha", 1)
    existing = _bot_comment(sim, card, "old words\n\n" + marker(DIGEST))
    with make_connector(sim, server, clock) as conn:
        (task,) = conn.fetch([card])
        same = conn.apply(_create(task, "new words, same meaning"))
        assert (same.comment_id, same.requests, sim.write_count()) == (existing, 0, 0)
        changed = conn.apply(_create(task, "another meaning", digest="fedcba9876543210"))
    assert (changed.comment_id, changed.requests) == (existing, 1)
    (comment,) = sim.comments_of(card)
    assert comment.body == "another meaning\n\n" + marker("fedcba9876543210")


def test_an_unstamped_0_1_comment_is_adopted_and_stamped(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    (card,) = _seed(sim, "alpha", 1)
    existing = _bot_comment(sim, card, "0.1 text\n\n[okrbridge](#okrbridge)")
    with make_connector(sim, server, clock) as conn:
        (task,) = conn.fetch([card])
        result = conn.apply(_create(task, "now"))
    assert result.comment_id == existing
    assert [c.body for c in sim.comments_of(card)] == ["now\n\n" + marker(DIGEST)]


def test_create_without_look_first_posts_without_reading_comments(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    (card,) = _seed(sim, "alpha", 1)
    with make_connector(sim, server, clock) as conn:
        (task,) = conn.fetch([card])
        server.log.clear()
        result = conn.apply(_create(task, "first", look=False))
    assert [(r.method, r.path) for r in server.log.snapshot()] == [
        ("POST", f"/1/cards/{card}/actions/comments")
    ]
    assert [c.id for c in sim.comments_of(card)] == [result.comment_id]


def test_removal_is_decided_from_a_fresh_read_not_the_pulled_card(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    """The 0.x cleanup bug: the card as pulled before the sync added the label."""
    (card,) = _seed(sim, "alpha", 1)
    with make_connector(sim, server, clock) as conn:
        (pulled,) = conn.fetch([card])  # no label yet
        conn.apply(PushChange(task=pulled, add_label="okr:on-track"))
        assert sim.labels_of(card) == ["okr:on-track"]
        result = conn.apply(PushChange(task=pulled, remove_labels=("okr:on-track",)))
    assert result.requests == 1
    assert sim.labels_of(card) == []


def test_labels_follow_the_configured_prefix(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    (card,) = _seed(sim, "alpha", 1)
    sim.set_labels(card, ("okr:on-track",))  # a person's label: not the bridge's under okr/
    with make_connector(sim, server, clock) as conn:
        conn.labels = conn.pusher.labels = StatusLabels("okr/")
        (task,) = conn.fetch([card])
        conn.apply(
            PushChange(task=task, add_label="okr/off-track", remove_labels=("okr:on-track",))
        )
    assert sorted(sim.labels_of(card)) == ["okr/off-track", "okr:on-track"]
    label = next(x for x in sim.state.labels.values() if x["name"] == "okr/off-track")
    assert label["color"] == "red"


def test_cleanup_artifacts_deletes_unused_bridge_board_labels_only(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    a, b = _seed(sim, "alpha", 2)
    with make_connector(sim, server, clock) as conn:
        for card, label in ((a, "okr:on-track"), (b, "okr:off-track")):
            (task,) = conn.fetch([card])
            conn.apply(PushChange(task=task, add_label=label))
        sim.set_labels(a, ("growth",))  # okr:on-track no longer used; okr:off-track still is
        before = sim.write_count()
        preview = conn.cleanup_artifacts(dry_run=True)
        assert sim.write_count() == before
        done = conn.cleanup_artifacts()
        again = conn.cleanup_artifacts()
    assert preview == [
        "board alpha: delete label okr:on-track",
        "board alpha: delete label okr:off-track",
    ]
    assert done == ["board alpha: delete label okr:on-track"]
    assert again == []
    assert sorted(sim.board_label_names("alpha")) == ["growth", "okr:off-track"]
    assert sim.labels_of(b) == ["okr:off-track"]


def test_scan_marks_yields_only_marked_cards(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    labelled, commented, _plain = _seed(sim, "alpha", 3)
    sim.set_labels(labelled, ("okr:on-track", "growth"))
    _bot_comment(sim, commented, "x\n\n" + marker(DIGEST))
    with make_connector(sim, server, clock) as conn:
        found = {t.external_id for t in conn.scan_marks()}
    assert found == {labelled, commented}


def test_an_injected_http_client_is_used_and_left_open(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    (card,) = _seed(sim, "alpha", 1)
    seen: list[str] = []
    client = httpx.Client(event_hooks={"request": [lambda r: seen.append(r.url.path)]})
    settings = TrelloSettings.model_validate(sim.settings(server.url))
    with TrelloConnector("t", settings, sim.env(), http_client=client) as conn:
        assert [t.external_id for t in conn.fetch([card])] == [card]
    assert "/1/batch" in seen
    assert not client.is_closed
    client.close()


def test_a_full_pass_picks_up_a_renamed_board(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    (card,) = _seed(sim, "alpha", 1)
    with make_connector(sim, server, clock) as conn:
        cursor = _cursor(list(conn.pull(None)))
        with sim.state.mutation():
            sim.board("alpha")["name"] = "Alpha (Q4)"
        (task,) = _tasks(list(conn.pull(cursor, full=True))).values()
    assert task.external_id == card
    assert "Alpha (Q4)" in task.container_aliases


def test_the_starter_config_s_trello_rule_names_the_sandbox_board(
    sim: TrelloSimulator, server: SandboxServer
) -> None:
    """Pasting `okrbridge sandbox`'s Trello table into `okrbridge init`'s file maps cards."""
    for seed in SEED["trello"]:
        sim.add_task(seed)
    example = tomllib.loads((Path(__file__).parents[3] / "config.example.toml").read_text())
    containers = {
        rule["container"]
        for initiative in example["initiatives"]
        for rule in initiative.get("match", [])
        if example["connectors"].get(rule.get("connector", ""), {}).get("type") == "trello"
        and "container" in rule
    }
    assert containers
    assert containers <= set(sim.settings(server.url)["boards"])


def test_the_simulator_offers_what_the_contract_suite_inspects(sim: TrelloSimulator) -> None:
    (card,) = _seed(sim, "alpha", 1)
    sim.set_labels(card, ("growth",))
    ours = _bot_comment(sim, card, "x\n\n" + marker(DIGEST))
    sim.delete_comment_as_person(card, ours)  # a board admin may delete the bot's comment
    assert sim.comments_of(card) == []
    deleted = sim.state.actions[-1]
    assert (deleted["type"], deleted["idMemberCreator"]) == ("deleteComment", PERSON["id"])
    assert sim.label_definitions() == ["growth"]
    assert sim.status_field_of(card) is None


def test_the_bridge_s_own_label_writes_are_not_reread_but_a_person_s_changes_are(
    sim: TrelloSimulator, server: SandboxServer, clock: FakeClock
) -> None:
    ours, theirs, relabelled = _seed(sim, "alpha", 3)
    with make_connector(sim, server, clock) as conn:
        cursor = _cursor(list(conn.pull(None)))
        (task,) = conn.fetch([ours])
        conn.apply(PushChange(task=task, add_label="okr:on-track"))
        sim.set_status(theirs, StatusCategory.DONE)
        sim.set_labels(relabelled, ("okr:off-track",))  # a person's status label: a change
        changed = _tasks(list(conn.pull(cursor)))
    assert set(changed) == {theirs, relabelled}
