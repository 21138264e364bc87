"""The guest promise on GitHub, through the real sync pipeline against the simulator: a new
store adopts what the bridge already wrote, a project rule maps drafts and issues alike, and
cleanup leaves nothing of the bridge, label definitions included."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connectors.github import GitHubConnector
from connectors.github.simulator import GitHubSimulator
from okrbridge.config.schema import Config
from okrbridge.connector.registry import ConnectorRegistry
from okrbridge.domain import MatchRule, StatusCategory
from okrbridge.sandbox import SandboxServer, SeedTask
from okrbridge.store.db import Store
from okrbridge.store.migrate import upgrade
from okrbridge.sync.cleanup import run_cleanup
from okrbridge.sync.runner import SyncReport, run_sync
from tests.support.okr import NOW, okr_config

INSTANCE = "gh"


@dataclass
class Rig:
    sim: GitHubSimulator
    config: Config
    registry: ConnectorRegistry
    tmp: Path
    issues: list[str]

    def store(self, name: str) -> Store:
        store = Store(f"sqlite:///{self.tmp / name}.sqlite3")
        upgrade(store)
        return store

    def sync(self, store: Store, **kwargs: Any) -> SyncReport:
        report = run_sync(self.config, store, self.registry, env=self.sim.env(), now=NOW, **kwargs)
        assert report.ok, [c.error for c in report.connectors]
        return report

    def bot_comments(self, external_id: str) -> list[str]:
        return [c.body for c in self.sim.comments_of(external_id) if c.author == "okr-bot"]

    def status_labels(self, external_id: str) -> list[str]:
        return [x for x in self.sim.labels_of(external_id) if x.startswith("okr:")]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    sim = GitHubSimulator()
    registry = ConnectorRegistry()
    registry.register(GitHubConnector)
    issues = [
        sim.add_task(SeedTask(f"task {i}", "acme/app", StatusCategory.IN_PROGRESS, ("reviews",)))
        for i in range(4)
    ]
    sim.add_task(SeedTask("unmapped", "acme/app", labels=("other",)))
    with SandboxServer(sim.app) as server:
        settings = GitHubConnector.settings_model(**sim.settings(server.url))
        yield Rig(sim, okr_config(INSTANCE, settings), registry, tmp_path, issues)


def test_a_new_store_adopts_what_the_bridge_wrote(rig: Rig) -> None:
    first = rig.store("a")
    rig.sync(first)
    assert all(len(rig.bot_comments(i)) == 1 for i in rig.issues)
    before = rig.sim.write_count()
    rig.sync(rig.store("b"))  # a lost store, a move to another database, a second install
    assert rig.sim.write_count() == before  # nothing differs: nothing written
    for external_id in rig.issues:
        assert len(rig.bot_comments(external_id)) == 1
        assert len(rig.status_labels(external_id)) == 1


def test_a_project_rule_maps_issues_and_drafts_alike(rig: Rig) -> None:
    draft = rig.sim.add_task(SeedTask("an idea", "", fields={"draft": "true"}))
    _map_project(rig)
    rig.sync(rig.store("a"))
    assert rig.sim.field_of(draft, "OKR status") is not None
    assert all(rig.status_labels(i) for i in rig.issues)


def test_sync_then_cleanup_leaves_nothing_of_the_bridge(rig: Rig) -> None:
    store = rig.store("a")
    rig.sim.set_labels(rig.issues[0], ("reviews", "help wanted"))
    rig.sync(store)
    assert "okr:" in " ".join(rig.sim.state.repo_labels("acme/app"))
    [report] = run_cleanup(rig.config, store, rig.registry, env=rig.sim.env())
    assert report.errors == []
    for external_id in rig.issues:
        assert rig.status_labels(external_id) == []
        assert rig.bot_comments(external_id) == []
    assert rig.sim.labels_of(rig.issues[0]) == ["reviews", "help wanted"]
    definitions = set(rig.sim.state.repo_labels("acme/app"))
    assert not {name for name in definitions if name.startswith("okr:")}
    assert {"reviews", "help wanted", "other"} <= definitions


def _map_project(rig: Rig) -> None:
    rule = MatchRule(connector=INSTANCE, field={"project": "acme/1"})
    initiative = rig.config.initiatives[0].model_copy(update={"match": [rule]})
    rig.config = rig.config.model_copy(update={"initiatives": [initiative]})


def test_cleanup_gives_each_draft_back_its_previous_value(rig: Rig) -> None:
    options = rig.sim.state.projects[1].fields["OKR status"].options
    options["Someday"] = "o-someday"
    kept = rig.sim.add_task(SeedTask("an idea", "", fields={"draft": "true"}))
    with rig.sim.state.lock:
        rig.sim.state.items[kept].values["OKR status"] = "Someday"  # a person's choice
    blank = rig.sim.add_task(SeedTask("another idea", "", fields={"draft": "true"}))
    _map_project(rig)
    store = rig.store("a")
    rig.sync(store)
    written = {rig.sim.status_field_of(kept), rig.sim.status_field_of(blank)}
    assert len(written) == 1
    assert written <= set(options) - {"Someday"}
    [report] = run_cleanup(rig.config, store, rig.registry, env=rig.sim.env())
    assert report.errors == []
    assert rig.sim.status_field_of(kept) == "Someday"
    assert rig.sim.status_field_of(blank) is None


def test_a_status_without_an_option_stops_the_sync_before_any_write(rig: Rig) -> None:
    del rig.sim.state.projects[1].fields["OKR status"].options["On track"]
    report = run_sync(rig.config, rig.store("a"), rig.registry, env=rig.sim.env(), now=NOW)
    assert not report.ok
    error = report.connectors[0].error or ""
    assert "field 'OKR status' has no option for status on_track" in error
    assert "'Achieved'" in error  # the options that exist
    assert rig.sim.write_count() == 0
