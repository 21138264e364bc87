"""A bounded drain pauses with the rest of the queue left for the next one, which goes on
where it stopped: every task is written once, none twice."""

from __future__ import annotations

from okrbridge.domain import StatusCategory
from okrbridge.sandbox import SeedTask
from okrbridge.sync.drain import DrainBound
from tests.support.memory.tool import BOT
from tests.sync.conftest import Bench


def seed(bench: Bench, n: int) -> list[str]:
    return [
        bench.tool.add_task(SeedTask(f"task {i}", "MKT", StatusCategory.IN_PROGRESS, ("reviews",)))
        for i in range(n)
    ]


def marked(bench: Bench, ids: list[str]) -> list[str]:
    return [tid for tid in ids if any(x.startswith("okr:") for x in bench.tool.labels_of(tid))]


def test_a_drain_bounded_by_rows_leaves_the_rest_queued_and_the_next_sync_resumes(
    bench: Bench,
) -> None:
    ids = seed(bench, 12)
    first = bench.sync(drain_bound=DrainBound(max_rows=5)).connectors[0]
    assert first.ok, first.error
    assert (len(marked(bench, ids)), first.writes_pending) == (5, 7)
    second = bench.sync(drain_bound=DrainBound(max_rows=5)).connectors[0]
    assert (len(marked(bench, ids)), second.writes_pending) == (10, 2)
    last = bench.sync().connectors[0]
    assert (len(marked(bench, ids)), last.writes_pending) == (12, 0)
    for tid in ids:  # one label swap and one comment per task across the three syncs
        assert len([c for c in bench.tool.comments_of(tid) if c.author == BOT]) == 1
    assert bench.tool.write_count() == 2 * len(ids)


def test_a_drain_yields_as_soon_as_another_job_asks(bench: Bench) -> None:
    ids = seed(bench, 8)
    asked = iter([False, False, False, True])
    report = bench.sync(drain_bound=DrainBound(yield_when=lambda: next(asked))).connectors[0]
    assert report.ok, report.error
    assert (len(marked(bench, ids)), report.writes_pending) == (3, 5)


def test_a_drain_out_of_time_writes_nothing_more(bench: Bench) -> None:
    ids = seed(bench, 4)
    report = bench.sync(drain_bound=DrainBound(seconds=0)).connectors[0]
    assert report.ok, report.error
    assert (marked(bench, ids), report.writes_pending, bench.tool.write_count()) == ([], 4, 0)
