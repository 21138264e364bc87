"""The contract every connector passes, against its own simulator served on loopback.

A connector's test module needs two lines:

    from tests.contract.suite import contract_tests
    TestContract = contract_tests(JiraConnector, container="MKT")

It checks paging, incremental pulls, deletion on a full pass, resume after a crash, webhook
verification and parsing, idempotent push (one comment, one label, however many syncs),
uncertain creates, cleanup, and that declared capabilities are honest; and the guest promise,
judged from the simulator's own state (`SimulatedTool` and `MarksInspection`), never from our
store: (a) a new, empty store against a tool the bridge already wrote to makes no duplicate
and writes nothing that does not really differ; (b) a second concurrent sync writes nothing;
(c) while the key results' statuses hold, moving 3 tasks costs at most 6 writes, all on those
tasks; (d) cleanup leaves no bridge label, comment, field value or created label definition and
gives back a person's status label; (e) cleanup from an empty store finds everything; (f) a
bot comment a person deleted is back after the next full pass (drift: enforce).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from okrbridge.config.schema import Config
from okrbridge.connector.base import (
    Capability,
    CommentAction,
    CommentChange,
    Connector,
    EventKind,
    PushChange,
    WebhookRequest,
)
from okrbridge.connector.registry import ConnectorRegistry
from okrbridge.domain import StatusCategory
from okrbridge.sandbox import MarksInspection, SandboxServer, SeedTask, SimulatedTool
from okrbridge.store.db import Store
from okrbridge.store.migrate import upgrade
from okrbridge.store.models import TaskRow
from okrbridge.sync.cleanup import run_cleanup
from okrbridge.sync.lease import instance_lease
from okrbridge.sync.pull import pull_into_store
from okrbridge.sync.runner import SyncReport, build_connector, run_sync
from tests.support.okr import NOW, okr_config

INSTANCE = "under-test"
PREFIX = "okr:"
PERSONS_LABEL = "okr:achieved"
"""A status label a person put on a task before the bridge came (a status the seeded key
result is far from, so the bridge replaces it)."""

Snapshot = dict[str, tuple[list[str], list[tuple[str, str]], str | None]]


@dataclass
class Rig:
    """One connector class, its simulator on loopback, a store and a config over both."""

    cls: type[Connector[Any]]
    tool: SimulatedTool
    server: SandboxServer
    store: Store
    config: Config
    registry: ConnectorRegistry
    ids: list[str] = field(default_factory=list)

    def sync(self, **kwargs: Any) -> SyncReport:
        report = run_sync(
            self.config, self.store, self.registry, env=self.tool.env(), now=NOW, **kwargs
        )
        assert report.ok, [c.error for c in report.connectors]
        return report

    def connector(self) -> Connector[Any]:
        return build_connector(self.registry, self.config, INSTANCE, self.tool.env())

    def bridge_labels(self, external_id: str) -> list[str]:
        return [x for x in self.tool.labels_of(external_id) if x.startswith(PREFIX)]

    def bot_comments(self, external_id: str) -> list[str]:
        # The bridge's comments are the ones rendering its status header.
        return [c.body for c in self.tool.comments_of(external_id) if "OKR status" in c.body]

    def writes(self) -> int:
        """Write requests the tool has received (the simulator's own count when it keeps one:
        some tools read through POST)."""
        counter = getattr(self.tool, "write_count", None)
        if counter is not None:
            return int(counter())
        return self.server.log.count(writes_only=True)

    def inspect(self) -> MarksInspection:
        assert isinstance(self.tool, MarksInspection), (
            f"{type(self.tool).__name__} must implement okrbridge.sandbox.MarksInspection"
        )
        return self.tool

    def snapshot(self) -> Snapshot:
        """Per task: sorted labels, comments (id, body) and the status field's value."""
        inspect = self.inspect()
        return {
            i: (
                sorted(self.tool.labels_of(i)),
                [(c.id, c.body) for c in self.tool.comments_of(i)],
                inspect.status_field_of(i),
            )
            for i in self.ids
        }

    def with_new_store(self, path: Path) -> Rig:
        """The same tool and config over a brand-new, empty store (a lost or moved store)."""
        store = Store(f"sqlite:///{path}")
        upgrade(store)
        return Rig(self.cls, self.tool, self.server, store, self.config, self.registry, self.ids)

    def stored_ids(self, *, deleted: bool = False) -> set[str]:
        with self.store.session() as session:
            rows = session.scalars(
                select(TaskRow.external_id).where(
                    TaskRow.connector == INSTANCE, TaskRow.deleted.is_(deleted)
                )
            )
            return set(rows)


def contract_tests(cls: type[Connector[Any]], *, container: str, tasks: int = 12) -> type:
    """A pytest test class checking `cls` against its simulator; `container` is where seeded
    tasks live (a Jira project key, a GitHub `owner/repo`, a Trello board)."""

    class ContractSuite:
        @pytest.fixture
        def rig(self, tmp_path: Path) -> Iterator[Rig]:
            tool = cls.simulator()
            registry = ConnectorRegistry()
            registry.register(cls)
            store = Store(f"sqlite:///{tmp_path / 'contract.sqlite3'}")
            upgrade(store)
            with SandboxServer(tool.app) as server:
                settings = cls.settings_model(**tool.settings(server.url))
                config = okr_config(INSTANCE, settings)
                rig = Rig(cls, tool, server, store, config, registry)
                for i in range(tasks):
                    status = [StatusCategory.TODO, StatusCategory.IN_PROGRESS][i % 2]
                    labels = ("reviews",) if i % 3 else ("reviews", "p1")
                    rig.ids.append(tool.add_task(SeedTask(f"task {i}", container, status, labels)))
                rig.ids.append(tool.add_task(SeedTask("unmapped", container, labels=("other",))))
                yield rig
            store.dispose()

        # -- capabilities -------------------------------------------------------------------
        def test_capabilities_are_declared(self, rig: Rig) -> None:
            assert isinstance(cls.capabilities, frozenset)
            assert all(isinstance(c, Capability) for c in cls.capabilities)
            assert cls.name
            assert cls.default_writes_per_minute > 0

        def test_declared_capabilities_are_honest(self, rig: Rig) -> None:
            rig.sync()
            mapped = rig.ids[:-1]
            labelled = [i for i in mapped if rig.bridge_labels(i)]
            commented = [i for i in mapped if rig.bot_comments(i)]
            if Capability.LABELS in cls.capabilities:
                assert len(labelled) == len(mapped)
            else:
                assert labelled == []
            if Capability.COMMENTS in cls.capabilities:
                assert len(commented) == len(mapped)
            else:
                assert commented == []

        # -- pulling ------------------------------------------------------------------------
        def test_full_pull_yields_every_task_once(self, rig: Rig) -> None:
            with rig.connector() as connector:
                pages = list(connector.pull(None, full=True))
            ids = [t.external_id for p in pages for t in p.tasks]
            assert sorted(set(ids)) == sorted(rig.ids)
            assert all(t.connector == INSTANCE for p in pages for t in p.tasks)
            assert pages[-1].cursor is not None

        def test_incremental_pull_sees_a_change(self, rig: Rig) -> None:
            with rig.connector() as connector:
                cursor = [p.cursor for p in connector.pull(None, full=True) if p.cursor][-1]
                rig.tool.set_status(rig.ids[0], StatusCategory.DONE)
                changed = {t.external_id: t for p in connector.pull(cursor) for t in p.tasks}
            assert rig.ids[0] in changed
            assert changed[rig.ids[0]].status_category is StatusCategory.DONE

        def test_full_pass_detects_deletions(self, rig: Rig) -> None:
            rig.sync()
            rig.tool.delete_task(rig.ids[1])
            rig.sync(full=True)
            assert rig.ids[1] in rig.stored_ids(deleted=True)
            assert rig.ids[1] not in rig.stored_ids()

        def test_resume_after_a_crash_mid_pull(self, rig: Rig) -> None:
            class CrashError(Exception):
                pass

            with rig.connector() as connector:
                real_pull = connector.pull

                def crashing(cursor: str | None, *, full: bool = False) -> Iterator[Any]:
                    for n, page in enumerate(real_pull(cursor, full=full)):
                        yield page
                        if n == 0:
                            raise CrashError

                connector.pull = crashing  # type: ignore[method-assign]
                with pytest.raises(CrashError):
                    pull_into_store(rig.store, connector, 1, full=False)
            rig.sync()
            assert rig.stored_ids() == set(rig.ids)
            with rig.store.session() as session:
                rows = session.scalars(select(TaskRow.external_id)).all()
            assert len(rows) == len(set(rows))

        # -- pushing ------------------------------------------------------------------------
        def test_second_sync_makes_no_writes(self, rig: Rig) -> None:
            rig.sync()
            before = rig.writes()
            report = rig.sync()
            assert rig.writes() == before
            assert report.connectors[0].writes_made == 0

        def test_dry_run_writes_nothing(self, rig: Rig) -> None:
            report = rig.sync(dry_run=True)
            assert rig.writes() == 0
            assert report.connectors[0].writes_planned > 0

        def test_one_comment_and_one_label_after_many_syncs(self, rig: Rig) -> None:
            cycle = [StatusCategory.DONE, StatusCategory.TODO, StatusCategory.IN_PROGRESS]
            for n in range(6):
                rig.tool.set_status(rig.ids[n % 4], cycle[n % 3])
                rig.sync()
            for external_id in rig.ids[:-1]:
                assert len(rig.bridge_labels(external_id)) <= 1
                assert len(rig.bot_comments(external_id)) <= 1
            assert "p1" in rig.tool.labels_of(rig.ids[0])
            assert rig.tool.labels_of(rig.ids[-1]) == ["other"]

        def test_uncertain_create_finds_the_existing_comment(self, rig: Rig) -> None:
            if Capability.COMMENTS not in cls.capabilities:
                pytest.skip("the connector declares no comments")
            rig.sync(dry_run=True)  # fills the store
            with rig.connector() as connector:
                task = next(
                    t
                    for p in connector.pull(None, full=True)
                    for t in p.tasks
                    if t.external_id == rig.ids[0]
                )
                body = "**OKR status: On track**\n\nfirst"
                first = connector.apply(
                    PushChange(task=task, comment=CommentChange(CommentAction.CREATE, body))
                )
                again = connector.apply(
                    PushChange(
                        task=task, comment=CommentChange(CommentAction.CREATE, body), uncertain=True
                    )
                )
            assert again.comment_id == first.comment_id
            assert len(rig.bot_comments(rig.ids[0])) == 1

        def test_cleanup_restores_the_tool(self, rig: Rig) -> None:
            # (d) everything the bridge wrote goes, and the person's status label comes back.
            if Capability.LABELS in cls.capabilities:
                rig.tool.set_labels(rig.ids[1], (*rig.tool.labels_of(rig.ids[1]), PERSONS_LABEL))
            before, definitions = rig.snapshot(), set(rig.inspect().label_definitions())
            rig.sync()
            if Capability.LABELS in cls.capabilities:
                assert PERSONS_LABEL not in rig.tool.labels_of(rig.ids[1]), "not replaced"
            rig.tool.set_status(rig.ids[0], StatusCategory.DONE)
            rig.sync()
            assert rig.snapshot() != before
            reports = run_cleanup(rig.config, rig.store, rig.registry, env=rig.tool.env())
            assert reports[0].errors == []
            assert rig.snapshot() == before
            assert set(rig.inspect().label_definitions()) == definitions

        def test_cleanup_dry_run_counts_what_it_lists(self, rig: Rig) -> None:
            rig.sync()
            before = rig.writes()
            dry = run_cleanup(
                rig.config, rig.store, rig.registry, dry_run=True, env=rig.tool.env()
            )[0]
            assert rig.writes() == before
            assert dry.tasks == len(dry.actions) > 0
            listed = " ".join(dry.actions)
            assert dry.labels_removed == listed.count("remove label")
            assert dry.comments_deleted == listed.count("delete the bridge's comment")

        # -- the guest promise --------------------------------------------------------------
        def test_a_new_store_makes_no_duplicates_and_writes_nothing_equal(
            self, rig: Rig, tmp_path: Path
        ) -> None:
            # (a) store A wrote; store B starts empty against the same tool.
            rig.sync()
            written = rig.snapshot()
            before = rig.writes()
            other = rig.with_new_store(tmp_path / "store-b.sqlite3")
            try:
                other.sync()
                assert rig.writes() == before, "store B rewrote marks that were already right"
                rig.tool.set_status(rig.ids[2], StatusCategory.DONE)
                other.sync()
            finally:
                other.store.dispose()
            for external_id in rig.ids:
                assert len(rig.bridge_labels(external_id)) <= 1
                assert len(rig.bot_comments(external_id)) <= 1
            assert rig.snapshot()[rig.ids[3]] == written[rig.ids[3]]
            assert rig.bridge_labels(rig.ids[2]) == []

        def test_a_second_concurrent_sync_writes_nothing(self, rig: Rig) -> None:
            # (b) the instance's lease is held by another run: this one waits, then fails.
            with instance_lease(rig.store, INSTANCE):
                report = run_sync(
                    rig.config,
                    rig.store,
                    rig.registry,
                    env=rig.tool.env(),
                    now=NOW,
                    lease_wait=0.5,
                )
            assert not report.ok
            assert "another sync" in (report.connectors[0].error or "")
            assert "pid" in (report.connectors[0].error or "")
            assert rig.writes() == 0
            assert all(rig.bridge_labels(i) == [] for i in rig.ids)

        def test_moving_tasks_writes_only_on_them(self, rig: Rig) -> None:
            # (c) a manual key result: its status holds however the tasks move.
            settings = cls.settings_model(**rig.tool.settings(rig.server.url))
            rig.config = okr_config(INSTANCE, settings, manual_kr=True)
            rig.sync()
            before, writes = rig.snapshot(), rig.writes()
            moved = rig.ids[:3]
            rig.tool.set_status(moved[0], StatusCategory.DONE)
            rig.tool.set_status(moved[1], StatusCategory.DONE)
            rig.tool.set_status(moved[2], StatusCategory.IN_PROGRESS)
            rig.sync()
            assert rig.writes() - writes <= 2 * len(moved)
            after = rig.snapshot()
            assert {i for i in rig.ids if after[i] != before[i]} <= set(moved)

        def test_cleanup_from_an_empty_store_finds_everything(
            self, rig: Rig, tmp_path: Path
        ) -> None:
            # (e) the store is lost: cleanup scans the tool.
            before, definitions = rig.snapshot(), set(rig.inspect().label_definitions())
            rig.sync()
            assert rig.snapshot() != before
            other = rig.with_new_store(tmp_path / "empty.sqlite3")
            try:
                reports = run_cleanup(other.config, other.store, rig.registry, env=rig.tool.env())
            finally:
                other.store.dispose()
            assert reports[0].errors == []
            assert rig.snapshot() == before
            assert set(rig.inspect().label_definitions()) == definitions

        def test_a_deleted_bot_comment_is_back_after_a_full_pass(self, rig: Rig) -> None:
            # (f) drift = enforce (the default) re-creates it.
            if Capability.COMMENTS not in cls.capabilities:
                pytest.skip("the connector declares no comments")
            rig.sync()
            target = rig.ids[0]
            [ours] = [c for c in rig.tool.comments_of(target) if "OKR status" in c.body]
            rig.inspect().delete_comment_as_person(target, ours.id)
            assert rig.bot_comments(target) == []
            rig.sync(full=True)
            assert len(rig.bot_comments(target)) == 1
            before = rig.writes()
            rig.sync(full=True)
            assert rig.writes() == before

        # -- webhooks -----------------------------------------------------------------------
        def test_webhooks_verify_and_parse(self, rig: Rig) -> None:
            if Capability.WEBHOOKS not in cls.capabilities:
                pytest.skip("the connector declares no webhooks")
            received: list[tuple[str, dict[str, str], bytes]] = []
            url = "http://127.0.0.1:9/webhooks/under-test"
            rig.tool.set_webhook_sink(url, lambda u, h, b: received.append((u, dict(h), b)))
            rig.tool.set_status(rig.ids[2], StatusCategory.DONE)
            rig.tool.set_webhook_sink(None, None)
            assert received, "a person's change emits a delivery"
            with rig.connector() as connector:
                for callback, headers, body in received:
                    lowered = {k.lower(): v for k, v in headers.items()}
                    request = WebhookRequest("POST", callback, lowered, body)
                    assert connector.verify_webhook(request)
                    tampered = WebhookRequest("POST", callback, lowered, body + b" ")
                    assert not connector.verify_webhook(tampered)
                    unsigned = {
                        k: v
                        for k, v in lowered.items()
                        if "sig" not in k and "webhook" not in k and "hub" not in k
                    }
                    assert not connector.verify_webhook(
                        WebhookRequest("POST", callback, unsigned, body)
                    )
                    events = connector.parse_webhook(request)
                    assert all(e.delivery_id for e in events)
                touched = [
                    e
                    for _, h, b in received
                    for e in connector.parse_webhook(
                        WebhookRequest("POST", url, {k.lower(): v for k, v in h.items()}, b)
                    )
                    if e.kind is not EventKind.IGNORE
                ]
            assert any(
                e.external_id == rig.ids[2] or (e.task and e.task.external_id == rig.ids[2])
                for e in touched
            )

        def test_webhook_garbage_is_a_payload_error(self, rig: Rig) -> None:
            if Capability.WEBHOOKS not in cls.capabilities:
                pytest.skip("the connector declares no webhooks")
            from okrbridge.connector.base import WebhookPayloadError

            with rig.connector() as connector:
                for body in (b"not json", b"[]", json.dumps({"x": 1}).encode()):
                    request = WebhookRequest("POST", "http://127.0.0.1/x", {}, body)
                    try:
                        events = connector.parse_webhook(request)
                    except WebhookPayloadError:
                        continue
                    assert all(e.kind is EventKind.IGNORE for e in events)

    ContractSuite.__name__ = f"Contract{cls.__name__}"
    return ContractSuite
