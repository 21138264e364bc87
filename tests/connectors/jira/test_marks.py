"""The bridge's comment found in the tool: pulls carry marks, creates adopt, reads stay cheap."""

from __future__ import annotations

from connectors.jira import JiraConnector
from connectors.jira.simulator import BOT, JiraSimulator
from okrbridge.connector.base import CommentAction, CommentChange, PushChange
from okrbridge.domain import FoundMarks, Task
from okrbridge.sandbox.harness import SandboxServer
from okrbridge.sandbox.tool import SeedTask

from .conftest import make_connector

BODY = "**OKR status: On track**\n\n_Updated by okrbridge when a status or value changes._"
DIGEST = "0123456789abcdef" * 4
OTHER = "fedcba9876543210" * 4


def seed(sim: JiraSimulator, n: int, project: str = "MKT") -> list[str]:
    return [sim.add_task(SeedTask(title=f"task {i}", container=project)) for i in range(n)]


def full_pull(conn: JiraConnector) -> tuple[dict[str, Task], str | None]:
    pages = list(conn.pull(None, full=True))
    return {t.external_id: t for p in pages for t in p.tasks}, pages[-1].cursor


def create(conn: JiraConnector, task: Task, digest: str = DIGEST, **kw: object) -> str | None:
    change = CommentChange(CommentAction.CREATE, BODY, digest=digest, **kw)  # type: ignore[arg-type]
    return conn.apply(PushChange(task=task, comment=change)).comment_id


def test_full_pull_reports_each_issues_bridge_comment_with_its_digest(
    sim: JiraSimulator, server: SandboxServer, connector: JiraConnector
) -> None:
    ids = seed(sim, 4)
    sim.add_comment(ids[0], "a person mentions okrbridge in passing")  # stamp word, no property
    tasks, _ = full_pull(connector)
    mine = create(connector, tasks[ids[1]], look_first=False)
    old = sim.add_comment(ids[2], "Updated by okrbridge", author=BOT)  # a 0.1 comment...
    sim.issue(ids[2]).comments[-1].properties["okrbridge"] = {"v": 1}  # ...with its v1 mark
    fresh = make_connector(sim, server)
    server.log.clear()
    tasks, _ = full_pull(fresh)
    assert tasks[ids[0]].marks == FoundMarks()
    assert tasks[ids[1]].marks == FoundMarks(comment_id=mine, comment_digest=DIGEST)
    assert tasks[ids[2]].marks == FoundMarks(comment_id=old, comment_digest=None)
    assert tasks[ids[3]].marks == FoundMarks()
    # One confirmation request for all candidates, on top of search + bulkfetch (+ /field).
    assert server.log.count("POST", "/rest/api/3/comment/list") == 1
    assert "comment" not in tasks[ids[1]].raw["fields"]  # read for marks, not kept


def test_a_first_rollout_on_a_clean_tool_adds_no_request(
    sim: JiraSimulator, server: SandboxServer, connector: JiraConnector
) -> None:
    seed(sim, 30)
    server.log.clear()
    tasks, _ = full_pull(connector)
    assert all(t.marks == FoundMarks() for t in tasks.values())
    assert server.log.count("POST", "/rest/api/3/comment/list") == 0
    assert server.log.count("GET", "/rest/api/3/issue/") == 0


def test_a_new_store_adopts_comments_and_writes_only_what_differs(
    sim: JiraSimulator, server: SandboxServer, connector: JiraConnector
) -> None:
    ids = seed(sim, 3)
    tasks, _ = full_pull(connector)
    first = {i: create(connector, tasks[i], look_first=False) for i in ids}
    # Store B knows nothing: it pulls, then asks to create with look_first.
    store_b = make_connector(sim, server)
    tasks, _ = full_pull(store_b)
    writes_before = sim.write_count()
    same = [create(store_b, tasks[i]) for i in ids[:2]]
    changed = create(store_b, tasks[ids[2]], digest=OTHER)
    assert same == [first[ids[0]], first[ids[1]]]
    assert changed == first[ids[2]]
    assert sim.write_count() - writes_before == 1  # only the comment whose meaning changed
    assert all(len(sim.comments_of(i)) == 1 for i in ids)
    assert sim.issue(ids[2]).comments[0].properties["okrbridge"] == {"v": 2, "digest": OTHER}


def test_a_create_without_marks_looks_in_the_tool_first(
    sim: JiraSimulator, server: SandboxServer, connector: JiraConnector
) -> None:
    [issue_id] = seed(sim, 1)
    [task] = connector.fetch([issue_id])
    mine = create(connector, task, look_first=False)
    unknown = task.model_copy(update={"marks": None})  # e.g. loaded from a store
    writes = sim.write_count()
    assert create(connector, unknown) == mine
    assert sim.write_count() == writes
    assert len(sim.comments_of(issue_id)) == 1


def test_capped_embedded_comments_are_paged_for_that_issue_only(
    sim: JiraSimulator, server: SandboxServer, connector: JiraConnector
) -> None:
    busy, quiet = seed(sim, 2)
    for n in range(25):
        sim.add_comment(busy, f"note {n}")
    tasks, _ = full_pull(connector)
    assert tasks[busy].marks == FoundMarks()
    mine = create(connector, tasks[busy], look_first=False)  # the 26th comment: not embedded
    server.log.clear()
    tasks, _ = full_pull(make_connector(sim, server))
    assert tasks[busy].marks == FoundMarks(comment_id=mine, comment_digest=DIGEST)
    assert tasks[quiet].marks == FoundMarks()
    assert server.log.count("GET", f"/rest/api/3/issue/{tasks[busy].key}/comment") == 1


def test_a_deleted_bridge_comment_shows_as_absent_in_a_full_pull(
    sim: JiraSimulator, server: SandboxServer, connector: JiraConnector
) -> None:
    [issue_id] = seed(sim, 1)
    tasks, _ = full_pull(connector)
    mine = create(connector, tasks[issue_id], look_first=False)
    assert mine is not None
    sim.delete_comment(issue_id, mine)
    tasks, _ = full_pull(connector)
    assert tasks[issue_id].marks == FoundMarks()


def test_fetch_omits_issues_outside_the_scope(sim: JiraSimulator, server: SandboxServer) -> None:
    inside = seed(sim, 2)
    outside = seed(sim, 1, project="OPS")
    for jql in ("project = MKT", "project = MKT AND labels is EMPTY"):
        conn = make_connector(sim, server, jql=jql)
        fetched = conn.fetch([*inside, *outside, "99999"])
        assert sorted(t.external_id for t in fetched) == sorted(inside)
        assert all(t.marks == FoundMarks() for t in fetched)


def test_steady_state_costs_one_request_also_after_the_bridges_own_writes(
    sim: JiraSimulator, server: SandboxServer
) -> None:
    ids = seed(sim, 20)
    conn = make_connector(sim, server)  # estimate field given by name: /field resolved once
    pages = list(conn.pull(None))
    cursor = pages[-1].cursor
    tasks = {t.external_id: t for p in pages for t in p.tasks}
    for i in ids[:5]:
        conn.apply(
            PushChange(
                task=tasks[i],
                add_label="okr:on-track",
                comment=CommentChange(CommentAction.CREATE, BODY, digest=DIGEST, look_first=False),
            )
        )
    server.log.clear()
    pages = list(conn.pull(cursor))  # the same process: its own writes need no lookup
    cursor = pages[-1].cursor
    own = [t for p in pages for t in p.tasks]
    assert server.log.count() == 1
    assert {t.external_id for t in own} == set(ids[:5])
    assert all(t.marks is not None and t.marks.comment_digest == DIGEST for t in own)
    for _ in range(2):  # nothing changed, in this process or a new one (a CLI run)
        for reader in (conn, make_connector(sim, server)):
            server.log.clear()
            pages = list(reader.pull(cursor))
            cursor = pages[-1].cursor
            assert [t for p in pages for t in p.tasks] == []
            assert [(r.method, r.path) for r in server.log.snapshot()] == [
                ("POST", "/rest/api/3/search/jql")
            ]


def test_a_change_the_search_index_shows_late_is_read_by_the_next_pull(
    sim: JiraSimulator, server: SandboxServer, connector: JiraConnector
) -> None:
    import time

    from okrbridge.domain import StatusCategory

    ids = seed(sim, 5)
    with sim.state.lock:  # last changed a day ago: outside any overlap
        for issue in sim.state.issues.values():
            issue.updated -= 86_400_000
        sim.state.version += 1
    pages = list(connector.pull(None))
    cursor = pages[-1].cursor
    sim.state.set_index_lag(1500)
    sim.set_status(ids[2], StatusCategory.DONE)
    pages = list(connector.pull(cursor))  # the index does not show it yet
    cursor = pages[-1].cursor
    assert [t for p in pages for t in p.tasks] == []
    assert [t.status_category for t in connector.fetch([ids[2]])] == [StatusCategory.DONE]
    time.sleep(1.6)
    pages = list(connector.pull(cursor))  # the cursor moved on, the overlap reaches back
    assert [(t.external_id, t.status_category) for p in pages for t in p.tasks] == [
        (ids[2], StatusCategory.DONE)
    ]
