"""The pure planner: desired marks minus pushed marks."""

from __future__ import annotations

import pytest

from okrbridge.config.schema import PushSettings
from okrbridge.connector.base import Capability, CommentAction
from okrbridge.domain import (
    InitiativeResult,
    KeyResultResult,
    KRStatus,
    StatusCategory,
    Task,
    TaskAggregate,
)
from okrbridge.sync.comment import CommentContext
from okrbridge.sync.task_changes import Pushed, Reason, TaskPlanner

ALL = frozenset({Capability.LABELS, Capability.COMMENTS})


def task(
    status: StatusCategory = StatusCategory.TODO,
    labels: tuple[str, ...] = ("x",),
    parent: str | None = None,
) -> Task:
    return Task(
        connector="c",
        external_id="1",
        key="K-1",
        status_category=status,
        labels=labels,
        parent=parent,
    )


def ctx(status: KRStatus = KRStatus.ON_TRACK, value: float = 70) -> CommentContext:
    kr = KeyResultResult(
        id="kr",
        objective_id="o",
        title="KR",
        value=value,
        start=60,
        target=85,
        progress=0.4,
        expected_progress=0.5,
        status=status,
        reason="r",
    )
    initiative = InitiativeResult(
        id="i",
        title="Init",
        progress=0.5,
        counts=TaskAggregate(todo=1, done=1),
        task_count=2,
        reason="r",
    )
    return CommentContext(
        status=status,
        initiatives=(initiative,),
        key_results=(kr,),
        objective_titles={"o": "Objective"},
    )


def planner(scope: str = "open", caps: frozenset[Capability] = ALL, **push: object) -> TaskPlanner:
    return TaskPlanner(PushSettings(**push), caps, scope)  # type: ignore[arg-type]


def applied(t: Task, plan: object) -> tuple[Task, Pushed]:
    """The task and push state after `plan` was applied (as the drain records them)."""
    assert plan is not None
    change = plan.change  # type: ignore[attr-defined]
    labels = [x for x in t.labels if x not in change.remove_labels]
    if change.add_label:
        labels.append(change.add_label)
    new = t.model_copy(update={"labels": tuple(labels)})
    comment_id = (
        "c1" if change.comment and change.comment.action is not CommentAction.DELETE else None
    )
    return new, Pushed(plan.label, comment_id, plan.comment_hash)  # type: ignore[attr-defined]


def test_first_rollout_then_nothing() -> None:
    p = planner()
    first = p.plan(task(), ctx(), Pushed())
    assert first is not None
    assert first.change.add_label == "okr:on-track"
    assert first.change.comment is not None
    assert first.change.comment.action is CommentAction.CREATE
    assert first.reasons == (Reason.FIRST_ROLLOUT,)
    after, pushed = applied(task(), first)
    assert p.plan(after, ctx(), pushed) is None


def test_status_change_swaps_label_and_edits_comment() -> None:
    p = planner()
    after, pushed = applied(task(), p.plan(task(), ctx(), Pushed()))
    change = p.plan(after, ctx(KRStatus.OFF_TRACK), pushed)
    assert change is not None
    assert change.change.add_label == "okr:off-track"
    assert change.change.remove_labels == ("okr:on-track",)
    assert change.change.comment is not None
    assert change.change.comment.action is CommentAction.UPDATE


def test_done_task_gets_a_final_comment_once_and_loses_its_label() -> None:
    p = planner()
    after, pushed = applied(task(), p.plan(task(), ctx(), Pushed()))
    done = after.model_copy(update={"status_category": StatusCategory.DONE})
    final = p.plan(done, ctx(), pushed)
    assert final is not None
    assert final.change.remove_labels == ("okr:on-track",)
    assert final.change.add_label is None
    assert "final" in final.change.comment.body  # type: ignore[union-attr]
    done2, pushed2 = applied(done, final)
    # values keep moving, but a final comment is not edited again
    assert p.plan(done2, ctx(KRStatus.OFF_TRACK, value=61), pushed2) is None


@pytest.mark.parametrize("unmapped", ["update-comment", "delete-comment"])
def test_unmapped_task(unmapped: str) -> None:
    p = planner(unmapped=unmapped)
    after, pushed = applied(task(), p.plan(task(), ctx(), Pushed()))
    change = p.plan(after, None, pushed)
    assert change is not None
    assert change.change.remove_labels == ("okr:on-track",)
    assert change.reasons[-1] is Reason.UNMAPPED or Reason.UNMAPPED in change.reasons
    comment = change.change.comment
    assert comment is not None
    if unmapped == "delete-comment":
        assert comment.action is CommentAction.DELETE
    else:
        assert comment.action is CommentAction.UPDATE
        assert "no longer serves" in comment.body


def test_unmarked_unmapped_or_done_tasks_need_nothing() -> None:
    p = planner()
    assert p.plan(task(), None, Pushed()) is None
    assert p.plan(task(StatusCategory.DONE), ctx(), Pushed()) is None


@pytest.mark.parametrize(
    ("scope", "status", "parent", "marked"),
    [
        ("open", StatusCategory.IN_PROGRESS, None, True),
        ("open", StatusCategory.DONE, None, False),
        ("all", StatusCategory.DONE, None, True),
        ("parents-only", StatusCategory.TODO, "EPIC-1", False),
        ("parents-only", StatusCategory.TODO, None, True),
        ("none", StatusCategory.TODO, None, False),
    ],
)
def test_scopes(scope: str, status: StatusCategory, parent: str | None, marked: bool) -> None:
    change = planner(scope).plan(task(status, parent=parent), ctx(), Pushed())
    assert (change is not None) is marked


def test_drift_policies() -> None:
    for drift, readds in (("enforce", True), ("respect", False)):
        p = planner(drift=drift)
        after, pushed = applied(task(), p.plan(task(), ctx(), Pushed()))
        removed = after.model_copy(update={"labels": ("x",)})
        change = p.plan(removed, ctx(), pushed)
        assert (change is not None and change.change.add_label == "okr:on-track") is readds


def test_only_owned_labels_are_removed() -> None:
    mine = ("okr:off-track", "okr:review-campaign", "okr:notes", "team")
    change = planner().plan(task(labels=mine), ctx(), Pushed())
    assert change is not None
    assert change.change.remove_labels == ("okr:off-track",)


def test_capabilities_are_respected() -> None:
    labels_only = planner(caps=frozenset({Capability.LABELS})).plan(task(), ctx(), Pushed())
    assert labels_only is not None
    assert labels_only.change.comment is None
    field = planner(caps=frozenset({Capability.PROJECT_FIELD})).plan(task(), ctx(), Pushed())
    assert field is not None
    assert field.change.add_label is None
    assert field.change.field_value == "on-track"
    assert planner(comment=False).plan(task(), ctx(), Pushed()).change.comment is None  # type: ignore[union-attr]


def test_a_task_s_own_capabilities_win() -> None:
    """A GitHub draft item takes only the project field; its issues never plan one."""
    caps = frozenset({Capability.LABELS, Capability.COMMENTS, Capability.PROJECT_FIELD})
    p = planner(caps=caps)
    issue = p.plan(task(), ctx(), Pushed(), frozenset({Capability.LABELS, Capability.COMMENTS}))
    assert issue is not None
    assert issue.change.field_value is None
    assert issue.change.add_label == "okr:on-track"
    draft = p.plan(task(), ctx(), Pushed(), frozenset({Capability.PROJECT_FIELD}))
    assert draft is not None
    assert draft.change.add_label is None
    assert draft.change.comment is None
    assert draft.change.field_value == "on-track"
    assert p.plan(task(), ctx(), Pushed(), frozenset()) is None
