"""`cleanup` undoes the bridge's writes and nothing else."""

from __future__ import annotations

from okrbridge.domain import StatusCategory
from okrbridge.sandbox import SeedTask
from okrbridge.sync.cleanup import run_cleanup
from tests.sync.conftest import Bench


def tool_state(bench: Bench, ids: list[str]) -> dict[str, tuple[list[str], list[str]]]:
    return {
        tid: (bench.tool.labels_of(tid), [c.body for c in bench.tool.comments_of(tid)])
        for tid in ids
    }


def test_cleanup_restores_the_tool(bench: Bench) -> None:
    ids = [
        bench.tool.add_task(SeedTask(f"t{i}", "MKT", StatusCategory.TODO, ("reviews", "p2")))
        for i in range(3)
    ]
    person = bench.tool.add_comment_as_person(ids[0], "a person's note")
    before = tool_state(bench, ids)
    bench.sync()
    bench.tool.set_status(ids[1], StatusCategory.DONE)  # gets a final comment, loses its label
    bench.sync()
    assert tool_state(bench, ids) != before

    dry = run_cleanup(bench.config, bench.store, bench.registry, dry_run=True, env=bench.tool.env())
    assert dry[0].tasks == 3
    assert tool_state(bench, ids) != before

    reports = run_cleanup(bench.config, bench.store, bench.registry, env=bench.tool.env())
    assert reports[0].errors == []
    assert tool_state(bench, ids) == before
    assert [c.id for c in bench.tool.comments_of(ids[0])] == [person]


def test_sync_after_cleanup_starts_over_without_duplicates(bench: Bench) -> None:
    tid = bench.tool.add_task(SeedTask("t", "MKT", StatusCategory.TODO, ("reviews",)))
    bench.sync()
    run_cleanup(bench.config, bench.store, bench.registry, env=bench.tool.env())
    bench.sync()
    assert len(bench.tool.comments_of(tid)) == 1
    assert len([x for x in bench.tool.labels_of(tid) if x.startswith("okr:")]) == 1


def test_a_second_cleanup_finds_nothing_left(bench: Bench) -> None:
    tid = bench.tool.add_task(SeedTask("t", "MKT", StatusCategory.TODO, ("reviews",)))
    bench.sync()
    run_cleanup(bench.config, bench.store, bench.registry, env=bench.tool.env())
    before = bench.tool.write_count()
    again = run_cleanup(
        bench.config, bench.store, bench.registry, dry_run=True, env=bench.tool.env()
    )
    assert again[0].tasks == 0
    assert again[0].actions == []
    run_cleanup(bench.config, bench.store, bench.registry, env=bench.tool.env())
    assert bench.tool.write_count() == before
    assert bench.tool.labels_of(tid) == ["reviews"]
