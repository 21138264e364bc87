"""The bridge's own marks, read from the simulated GitHub: comments found in bulk with the pull,
adopted instead of duplicated, the draft field mapped and given back, label definitions
removed, and the same requests a first rollout made before."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.github.marks import marker
from okrbridge.connector.base import CommentAction, CommentChange, PushChange
from okrbridge.connector.errors import RequestFailed
from okrbridge.domain import Task
from okrbridge.sandbox.tool import SeedTask

DIGEST = "0123456789abcdef"


def _seed(sim: Any, count: int, **kwargs: Any) -> list[str]:
    return [
        sim.add_task(SeedTask(title=f"task {i}", container="acme/app", **kwargs))
        for i in range(count)
    ]


def _full(connector: Any) -> dict[str, Task]:
    return {t.external_id: t for p in connector.pull(None, full=True) for t in p.tasks}


def _create(task: Task, body: str = "**OKR status: On track**", **kwargs: Any) -> PushChange:
    digest = kwargs.pop("digest", DIGEST)
    look = kwargs.pop("look_first", True)
    comment = CommentChange(CommentAction.CREATE, body, digest=digest, look_first=look)
    return PushChange(task=task, comment=comment, **kwargs)


def test_a_full_pull_reports_the_bridge_comment_and_its_deletion(
    sim: Any, make_connector: Any
) -> None:
    first, second = _seed(sim, 2)
    sim.add_comment(first, f"{marker(first, 'ffffffff')}\na person copying the marker")
    connector = make_connector()
    tasks = _full(connector)
    assert all(t.marks is not None and t.marks.comment_id is None for t in tasks.values())
    made = connector.apply(_create(tasks[first]))
    tasks = _full(connector)
    marks = tasks[first].marks
    assert marks is not None
    assert (marks.comment_id, marks.comment_digest) == (made.comment_id, DIGEST)
    assert tasks[second].marks is not None
    assert tasks[second].marks.comment_id is None
    assert made.comment_id is not None
    sim.delete_comment(made.comment_id)  # a person deletes it
    marks = _full(connector)[first].marks
    assert marks is not None
    assert marks.comment_id is None


def test_marks_in_the_pull_cost_no_extra_request(sim: Any, make_connector: Any) -> None:
    _seed(sim, 5)
    connector = make_connector(page_size=2)
    tasks = _full(connector)
    assert all(t.marks is not None for t in tasks.values())
    assert connector.stats.requests == 3  # the 3 pages, nothing per task


def test_an_old_comment_beyond_the_window_is_looked_up(sim: Any, make_connector: Any) -> None:
    [issue] = _seed(sim, 1)
    ours = sim.add_comment(issue, f"<!-- okrbridge:v1 task={issue} -->\nold status", "okr-bot")
    for n in range(12):
        sim.add_comment(issue, f"discussion {n}")
    connector = make_connector()
    [task] = _full(connector).values()
    assert task.marks is not None
    assert (task.marks.comment_id, task.marks.comment_digest) == (ours, None)
    assert connector.stats.requests == 2  # the page, then one look past the window
    [fetched] = connector.fetch([issue])
    assert fetched.marks is not None
    assert fetched.marks.comment_id == ours


def test_create_adopts_the_existing_comment_and_skips_a_current_one(
    sim: Any, make_connector: Any
) -> None:
    [issue] = _seed(sim, 1)
    old = sim.add_comment(issue, f"<!-- okrbridge:v1 task={issue} -->\n0.1 text", "okr-bot")
    connector = make_connector()
    [task] = _full(connector).values()
    adopted = connector.apply(_create(task))  # a new store: look first, edit it in place
    assert (adopted.comment_id, adopted.requests) == (old, 1)
    again = connector.apply(_create(task))  # stamped with the same digest: nothing to write
    assert (again.comment_id, again.requests) == (old, 0)
    changed = connector.apply(_create(task, "**OKR status: Off track**", digest="ab" * 8))
    assert (changed.comment_id, changed.requests) == (old, 1)
    bodies = [c.body for c in sim.comments_of(issue)]
    assert len(bodies) == 1
    assert bodies[0].startswith(marker(issue, "ab" * 8))
    assert "Off track" in bodies[0]


def test_create_without_looking_writes_at_once(sim: Any, make_connector: Any) -> None:
    [issue] = _seed(sim, 1)
    connector = make_connector()
    [task] = _full(connector).values()
    before = connector.stats.requests
    result = connector.apply(_create(task, look_first=False))
    assert result.requests == 1
    assert connector.stats.requests - before == 1  # no read before the write
    assert len(sim.comments_of(issue)) == 1


def test_a_persons_comment_with_the_marker_is_never_adopted_or_deleted(
    sim: Any, make_connector: Any
) -> None:
    [issue] = _seed(sim, 1)
    person = sim.add_comment(issue, f"{marker(issue, DIGEST)}\nlooks like the bot's")
    connector = make_connector()
    [task] = _full(connector).values()
    created = connector.apply(_create(task))
    assert created.comment_id != person
    delete = CommentChange(CommentAction.DELETE, comment_id=person)
    connector.apply(PushChange(task=task, comment=delete, uncertain=True))
    ids = [c.id for c in sim.comments_of(issue)]
    assert ids == [person]  # the bridge's own went, the person's stayed


def _draft(sim: Any, value: str | None = None) -> str:
    draft = sim.add_task(SeedTask(title="idea", container="", fields={"draft": "true"}))
    if value is not None:
        with sim.state.lock:
            sim.state.items[draft].values["OKR status"] = value
    return draft


def test_draft_field_maps_statuses_and_gives_back_the_previous_value(
    sim: Any, make_connector: Any
) -> None:
    options = sim.state.projects[1].fields["OKR status"].options
    options["At risk"] = "o-risk"
    options["Maybe later"] = "o-later"
    del options["Needs attention"]
    draft = _draft(sim, "Maybe later")
    connector = make_connector()
    [task] = _full(connector).values()
    assert task.marks is not None
    assert task.marks.field_value == "Maybe later"  # a person's option, as it is
    assert connector.apply(PushChange(task=task, field_value="needs-attention")).requests == 1
    assert sim.field_of(draft, "OKR status") == "At risk"  # the default's second name
    [task] = connector.fetch([draft])
    assert task.marks is not None
    assert task.marks.field_value == "needs-attention"  # read back as the status
    back = PushChange(task=task, field_value="Maybe later", uncertain=True)
    assert connector.apply(back).requests == 1
    assert sim.field_of(draft, "OKR status") == "Maybe later"
    [task] = connector.fetch([draft])
    assert connector.apply(PushChange(task=task, field_value="", uncertain=True)).requests == 1
    assert sim.field_of(draft, "OKR status") is None


def test_preflight_names_the_field_the_status_and_the_options(
    sim: Any, make_connector: Any
) -> None:
    del sim.state.projects[1].fields["OKR status"].options["Off track"]
    assert make_connector().preflight() == [
        "project acme/1: field 'OKR status' has no option for status off_track (looked for "
        "'Off track'; its options: 'Achieved', 'On track', 'Needs attention', 'Not started'); "
        'add one, or name it with status_options = { off_track = "..." }'
    ]
    mapped = make_connector(status_options={"off_track": "achieved"})
    assert mapped.preflight() == []  # case-insensitive
    assert make_connector(kr_status_field="Team").preflight() == [
        "project acme/1 has no field 'Team' (kr_status_field)"
    ]
    unknown = make_connector(projects=[1, 9], kr_status_field=None).preflight()
    assert unknown == [
        "gh: project 9 of organization 'acme' was not found or the token cannot "
        "read it (needs read:project)"
    ]


def test_preflight_passes_on_the_default_options(make_connector: Any) -> None:
    assert make_connector().preflight() == []


def test_an_unmapped_option_fails_clearly(sim: Any, make_connector: Any) -> None:
    _draft(sim)
    connector = make_connector(status_options={"off_track": "Red"})
    [task] = _full(connector).values()
    with pytest.raises(RequestFailed, match="has no option for 'off-track'"):
        connector.apply(PushChange(task=task, field_value="off-track"))


def test_cleanup_artifacts_deletes_unused_label_definitions_it_created(
    sim: Any, make_connector: Any
) -> None:
    first, second = _seed(sim, 2)
    sim.state.ensure_label("acme/app", "okr:achieved", "000000")  # a person's, same name
    connector = make_connector()
    tasks = _full(connector)
    connector.apply(PushChange(task=tasks[first], add_label="okr:on-track"))
    connector.apply(PushChange(task=tasks[second], add_label="okr:off-track"))
    sim.set_labels(second, ())
    dry = connector.cleanup_artifacts(dry_run=True)
    assert dry == ["acme/app: delete label definition okr:off-track"]
    assert "okr:off-track" in sim.state.repo_labels("acme/app")
    assert connector.cleanup_artifacts() == dry
    labels = sim.state.repo_labels("acme/app")
    assert set(labels) >= {"okr:on-track", "okr:achieved"}  # in use / not the bridge's
    assert "okr:off-track" not in labels
    assert connector.cleanup_artifacts() == []


def test_scan_marks_yields_only_marked_tasks(sim: Any, make_connector: Any) -> None:
    labelled, commented, plain = _seed(sim, 3)
    draft = _draft(sim, "On track")
    _draft(sim)
    connector = make_connector()
    tasks = _full(connector)
    connector.apply(PushChange(task=tasks[labelled], add_label="okr:on-track"))
    connector.apply(_create(tasks[commented]))
    assert {t.external_id for t in connector.scan_marks()} == {labelled, commented, draft}
    assert plain not in {t.external_id for t in connector.scan_marks()}


def test_fetch_omits_tasks_outside_the_configured_projects(sim: Any, make_connector: Any) -> None:
    [inside] = _seed(sim, 1)
    sim.state.add_project(2, "Elsewhere")
    with sim.state.lock:
        outside = sim.state.create_issue("acme/app", "not ours")
        sim.state.add_item(2, outside.node_id)
    connector = make_connector(projects=[1])
    assert [t.external_id for t in connector.fetch([inside, outside.node_id])] == [inside]
