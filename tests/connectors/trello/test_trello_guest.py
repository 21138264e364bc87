"""The guest promise on Trello, end to end through the real sync and cleanup against the
simulator: a lost store duplicates nothing, cleanup right after a sync leaves nothing of the
bridge (board label definitions included)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.trello import TrelloConnector, TrelloSettings
from connectors.trello.simulator import TrelloSimulator
from okrbridge.config.schema import Config
from okrbridge.connector.registry import ConnectorRegistry
from okrbridge.domain import StatusCategory
from okrbridge.sandbox.harness import SandboxServer
from okrbridge.sandbox.tool import SeedTask
from okrbridge.store.db import Store
from okrbridge.store.migrate import upgrade
from okrbridge.sync.cleanup import run_cleanup
from okrbridge.sync.runner import SyncReport, run_sync
from tests.support.okr import NOW, okr_config

INSTANCE = "trello-launch"


class Rig:
    def __init__(self, sim: TrelloSimulator, server: SandboxServer, tmp: Path) -> None:
        self.sim = sim
        self.tmp = tmp
        settings = TrelloSettings.model_validate(sim.settings(server.url))
        self.config: Config = okr_config(INSTANCE, settings)
        self.registry = ConnectorRegistry()
        self.registry.register(TrelloConnector)
        self.stores: list[Store] = []

    def store(self, name: str) -> Store:
        store = Store(f"sqlite:///{self.tmp / name}.sqlite3")
        upgrade(store)
        self.stores.append(store)
        return store

    def sync(self, store: Store, **kwargs: object) -> SyncReport:
        report = run_sync(self.config, store, self.registry, env=self.sim.env(), now=NOW, **kwargs)  # type: ignore[arg-type]
        assert report.ok, [c.error for c in report.connectors]
        return report

    def bridge_labels(self, card: str) -> list[str]:
        return [x for x in self.sim.labels_of(card) if x.startswith("okr:")]

    def bot_comments(self, card: str) -> list[str]:
        return [c.id for c in self.sim.comments_of(card) if c.author == "okrbridge-bot"]


@pytest.fixture
def rig(sim: TrelloSimulator, server: SandboxServer, tmp_path: Path) -> Iterator[Rig]:
    for i in range(6):
        status = [StatusCategory.TODO, StatusCategory.IN_PROGRESS][i % 2]
        sim.add_task(SeedTask(f"card {i}", "launch", status, ("reviews", "team")))
    sim.add_task(SeedTask("not mapped", "launch", labels=("other",)))
    rig = Rig(sim, server, tmp_path)
    yield rig
    for store in rig.stores:
        store.dispose()


def _cards(sim: TrelloSimulator) -> list[str]:
    return [str(c["id"]) for c in sim.state.cards.values()]


def test_a_new_store_adopts_every_mark_and_writes_nothing(rig: Rig) -> None:
    rig.sync(rig.store("a"))
    first = {card: (rig.bridge_labels(card), rig.bot_comments(card)) for card in _cards(rig.sim)}
    assert sum(1 for labels, _ in first.values() if labels) == 6
    writes = rig.sim.write_count()

    report = rig.sync(rig.store("b"))  # a lost SQLite file, a move, a second install

    assert {card: (rig.bridge_labels(card), rig.bot_comments(card)) for card in first} == first
    assert rig.sim.write_count() == writes
    assert report.connectors[0].writes_made == 0


def test_cleanup_right_after_a_sync_leaves_nothing_of_the_bridge(rig: Rig) -> None:
    store = rig.store("a")
    rig.sync(store)
    created = [n for n in rig.sim.board_label_names("launch") if n.startswith("okr:")]
    assert len(created) == 1  # one status for the one key result: one label definition

    (report,) = run_cleanup(rig.config, store, rig.registry, env=rig.sim.env())

    assert report.errors == []
    for card in _cards(rig.sim):
        assert rig.bridge_labels(card) == []
        assert rig.bot_comments(card) == []
        assert "okr:" not in "".join(rig.sim.labels_of(card))
    assert sorted(rig.sim.board_label_names("launch")) == ["other", "reviews", "team"]
    assert report.artifacts == [f"board Xy12AbCd: delete label {created[0]}"]


def test_a_sync_where_nothing_changed_costs_one_request_per_board(
    rig: Rig, sim: TrelloSimulator, server: SandboxServer
) -> None:
    sim.add_task(SeedTask("on another board", "beta", labels=("reviews",)))
    rig.config = okr_config(
        INSTANCE, TrelloSettings.model_validate(sim.settings(server.url))
    )  # both boards
    store = rig.store("a")
    rig.sync(store)
    server.log.clear()
    report = rig.sync(store)  # a new connector, as each `okrbridge sync` builds one
    assert report.connectors[0].writes_made == 0
    assert sorted(r.path for r in server.log.snapshot()) == sorted(
        f"/1/boards/{sim.board(name)['id']}/actions" for name in ("launch", "beta")
    )
