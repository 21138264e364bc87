"""The guest promise end to end on the Jira simulator, through the real sync and cleanup.

These are the issue-11 checks the shared contract suite is to hold for every connector,
written here against Jira so they hold whatever lands in the suite.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.jira import JiraConnector, JiraSettings
from connectors.jira.simulator import JiraSimulator
from okrbridge.connector.registry import ConnectorRegistry
from okrbridge.domain import StatusCategory
from okrbridge.sandbox import SandboxServer, SeedTask
from okrbridge.store.db import Store
from okrbridge.store.migrate import upgrade
from okrbridge.sync.cleanup import run_cleanup
from okrbridge.sync.runner import SyncReport, run_sync
from tests.support.okr import NOW, okr_config

INSTANCE = "jira-mkt"


class Bench:
    def __init__(self, tmp_path: Path, sim: JiraSimulator, server: SandboxServer) -> None:
        self.tmp_path, self.sim, self.server = tmp_path, sim, server
        self.registry = ConnectorRegistry()
        self.registry.register(JiraConnector)
        settings = JiraSettings(**sim.settings(server.url))
        self.config = okr_config(INSTANCE, settings)
        self.stores: list[Store] = []
        self.ids = [
            sim.add_task(SeedTask(f"task {i}", "MKT", StatusCategory.TODO, ("reviews",)))
            for i in range(6)
        ]

    def store(self, name: str) -> Store:
        store = Store(f"sqlite:///{self.tmp_path / name}.sqlite3")
        upgrade(store)
        self.stores.append(store)
        return store

    def sync(self, store: Store, **kwargs: object) -> SyncReport:
        report = run_sync(self.config, store, self.registry, env=self.sim.env(), now=NOW, **kwargs)
        assert report.ok, [c.error for c in report.connectors]
        return report

    def bridge_comments(self, issue_id: str) -> list[str]:
        return [c.body for c in self.sim.comments_of(issue_id) if "OKR status" in c.body]

    def bridge_labels(self, issue_id: str) -> list[str]:
        return [x for x in self.sim.labels_of(issue_id) if x.startswith("okr:")]


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Bench]:
    sim = JiraSimulator()
    with SandboxServer(sim.app) as server:
        made = Bench(tmp_path, sim, server)
        yield made
        for store in made.stores:
            store.dispose()


def test_a_new_store_makes_no_duplicates_and_writes_nothing_that_does_not_differ(
    bench: Bench,
) -> None:
    bench.sync(bench.store("a"))
    assert all(len(bench.bridge_comments(i)) == 1 for i in bench.ids)
    writes = bench.sim.write_count()
    bench.sync(bench.store("b"))  # a lost store, a move to PostgreSQL, a second install
    assert all(len(bench.bridge_comments(i)) == 1 for i in bench.ids)
    assert all(len(bench.bridge_labels(i)) == 1 for i in bench.ids)
    assert bench.sim.write_count() == writes


def test_cleanup_from_an_empty_store_finds_and_removes_every_mark(bench: Bench) -> None:
    person = bench.sim.add_comment(bench.ids[0], "a person's note")
    bench.sync(bench.store("a"))
    store_b = bench.store("b")
    [report] = run_cleanup(bench.config, store_b, bench.registry, env=bench.sim.env())
    assert not report.errors
    for issue_id in bench.ids:
        assert bench.bridge_comments(issue_id) == []
        assert bench.bridge_labels(issue_id) == []
    assert [c.id for c in bench.sim.comments_of(bench.ids[0])] == [person]


def test_sync_then_cleanup_leaves_nothing_of_the_bridge(bench: Bench) -> None:
    store = bench.store("a")
    bench.sync(store)
    run_cleanup(bench.config, store, bench.registry, env=bench.sim.env())
    for issue_id in bench.ids:
        assert bench.bridge_comments(issue_id) == []
        assert bench.bridge_labels(issue_id) == []
        assert "reviews" in bench.sim.labels_of(issue_id)


def test_a_deleted_bridge_comment_is_back_after_a_full_pass(bench: Bench) -> None:
    store = bench.store("a")
    bench.sync(store)
    [comment] = bench.sim.comments_of(bench.ids[2])
    bench.sim.delete_comment(bench.ids[2], comment.id)
    bench.sync(store, full=True)
    assert len(bench.bridge_comments(bench.ids[2])) == 1
