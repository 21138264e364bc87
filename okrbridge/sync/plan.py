"""Planning: desired marks minus pushed marks = the minimal writes for one task.

Pure functions. The bridge owns exactly the status labels `<prefix><slug>` and its own
comment; every other label (including a person's `okr:<initiative-id>` mapping label) is
never touched.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass

from okrbridge.config.schema import PushScope, PushSettings
from okrbridge.connector.base import Capability, CommentAction, CommentChange, PushChange
from okrbridge.domain import KRStatus, StatusCategory, Task
from okrbridge.sync.comment import CommentContext, CommentMemo

__all__ = [
    "PlannedChange",
    "Pushed",
    "Reason",
    "in_scope",
    "owned_labels",
    "plan_task",
]


_FROZEN = "final:"
"""Digest prefix of a final or unmapped comment, which is not edited again."""


class Reason(str, enum.Enum):
    """Why a write is planned; recorded in the audit log."""

    FIRST_ROLLOUT = "first rollout"
    STATUS_CHANGED = "status changed"
    CONTENT_CHANGED = "values changed"
    DRIFT = "status label removed by a person (drift policy: enforce)"
    STRAY_LABEL = "a stale bridge label is on the task"
    FINISHED = "task done or out of scope: final comment, label removed"
    UNMAPPED = "task no longer serves a tracked initiative"
    COMMENT_LOST = "the bridge's comment id is unknown"


@dataclass(frozen=True, slots=True)
class Pushed:
    """What the bridge last wrote to a task (from the store's push state)."""

    label: str | None = None
    comment_id: str | None = None
    comment_hash: str | None = None
    field_value: str | None = None

    @property
    def marked(self) -> bool:
        return bool(self.label or self.comment_id or self.field_value)


@dataclass(frozen=True, slots=True)
class PlannedChange:
    change: PushChange
    reasons: tuple[Reason, ...]
    label: str | None
    """The bridge label the task carries once applied."""
    comment_hash: str | None
    field_value: str | None


@functools.cache
def owned_labels(prefix: str) -> frozenset[str]:
    return frozenset(prefix + status.label_slug for status in KRStatus)


def in_scope(task: Task, scope: PushScope) -> bool:
    """Whether the task should carry the bridge's marks under the push scope."""
    if task.deleted or task.excluded or scope == "none":
        return False
    if scope == "all":
        return True
    if scope == "parents-only":
        return task.parent is None
    return task.status_category is not StatusCategory.DONE


class TaskPlanner:
    """Plans tasks of one connector instance; everything that does not depend on the task is
    worked out once here (owned labels, capabilities, label names), since a sync may plan
    100,000 tasks."""

    def __init__(
        self, settings: PushSettings, capabilities: frozenset[Capability], scope: PushScope
    ) -> None:
        self.settings = settings
        self.scope = scope
        self.capabilities = capabilities
        self.owned = owned_labels(settings.label_prefix)
        self._flags: dict[frozenset[Capability], tuple[bool, bool, bool]] = {}
        self.label_of = {s: settings.label_prefix + s.label_slug for s in KRStatus}
        self.slug_of = {s: s.label_slug for s in KRStatus}
        self.memo = CommentMemo(settings.comment_template)

    def _flags_of(self, capabilities: frozenset[Capability]) -> tuple[bool, bool, bool]:
        flags = self._flags.get(capabilities)
        if flags is None:
            flags = self._flags[capabilities] = (
                Capability.LABELS in capabilities,
                Capability.COMMENTS in capabilities,
                Capability.PROJECT_FIELD in capabilities,
            )
        return flags

    def _settled(
        self,
        task: Task,
        ctx: CommentContext | None,
        pushed: Pushed,
        desired_label: str | None,
        has_labels: bool,
        has_comments: bool,
        has_field: bool,
    ) -> bool:
        """An active task already carrying exactly what it should: no change to plan."""
        if has_field or (has_labels and pushed.label != desired_label):
            return False
        if has_labels:
            owned = self.owned
            present = task.labels
            if desired_label not in present:
                return False
            if any(label in owned and label != desired_label for label in present):
                return False
        if has_comments and self.settings.comment:
            return pushed.comment_id is not None and pushed.comment_hash == self.memo.digest(
                ctx, "active"
            )
        return True

    def plan(
        self,
        task: Task,
        ctx: CommentContext | None,
        pushed: Pushed,
        capabilities: frozenset[Capability] | None = None,
    ) -> PlannedChange | None:
        """The change for one task, or None when it already is as it should be.

        `ctx` is None when the task serves no initiative; tasks sharing a context should pass
        the same object, so its comment is digested and rendered once. `capabilities` are the
        task's own when they differ from the connector's (a GitHub draft item).
        """
        has_labels, has_comments, has_field = self._flags_of(
            self.capabilities if capabilities is None else capabilities
        )
        if task.deleted:
            return None
        active = ctx is not None and in_scope(task, self.scope)
        if not active and not pushed.marked:
            return None
        status = ctx.status if active and ctx is not None else None
        desired_label = None if status is None else self.label_of[status]
        if status is not None and self._settled(
            task, ctx, pushed, desired_label, has_labels, has_comments, has_field
        ):
            return None  # the steady state: checked first, it is most tasks on most syncs
        reasons: list[Reason] = []

        add_label: str | None = None
        remove: tuple[str, ...] = ()
        if has_labels:
            add_label, remove = _plan_labels(
                task, desired_label, pushed, self.owned, self.settings, reasons
            )
        comment: CommentChange | None = None
        digest = pushed.comment_hash
        if has_comments:
            comment, digest = _plan_comment(ctx, active, pushed, self.settings, reasons, self.memo)
        field_value: str | None = None
        if has_field:
            desired_field = "" if status is None else self.slug_of[status]
            if (pushed.field_value or "") != desired_field:
                field_value = desired_field
        if add_label is None and not remove and comment is None and field_value is None:
            return None
        if not reasons:
            reasons.append(Reason.STATUS_CHANGED)
        change = PushChange(
            task=task,
            add_label=add_label,
            remove_labels=remove,
            comment=comment,
            field_value=field_value,
        )
        return PlannedChange(
            change=change,
            reasons=tuple(dict.fromkeys(reasons)),
            label=desired_label if has_labels else None,
            comment_hash=digest,
            field_value=field_value if field_value is not None else pushed.field_value,
        )


def plan_task(
    task: Task,
    ctx: CommentContext | None,
    pushed: Pushed,
    settings: PushSettings,
    capabilities: frozenset[Capability],
    scope: PushScope,
) -> PlannedChange | None:
    """Plan a single task (see `TaskPlanner.plan`; use a planner for many tasks)."""
    return TaskPlanner(settings, capabilities, scope).plan(task, ctx, pushed)


def _plan_labels(
    task: Task,
    desired: str | None,
    pushed: Pushed,
    owned: frozenset[str],
    settings: PushSettings,
    reasons: list[Reason],
) -> tuple[str | None, tuple[str, ...]]:
    present = task.labels
    add: str | None = None
    if desired is not None and desired not in present:
        if pushed.label is None:
            add = desired
            reasons.append(Reason.FIRST_ROLLOUT)
        elif pushed.label != desired:
            add = desired
            reasons.append(Reason.STATUS_CHANGED)
        elif settings.drift == "enforce":
            add = desired
            reasons.append(Reason.DRIFT)
    # The store's labels include the bridge's own applied writes (updated after each apply),
    # so what is absent here is really absent: nothing to remove.
    stale = sorted(label for label in present if label in owned and label != desired)
    if stale and desired is not None and pushed.label == desired and add is None:
        reasons.append(Reason.STRAY_LABEL)
    if stale and desired is None:
        reasons.append(Reason.FINISHED)
    return add, tuple(stale)


def _plan_comment(
    ctx: CommentContext | None,
    active: bool,
    pushed: Pushed,
    settings: PushSettings,
    reasons: list[Reason],
    memo: CommentMemo,
) -> tuple[CommentChange | None, str | None]:
    if not settings.comment:
        return None, pushed.comment_hash
    frozen = not pushed.comment_id or (pushed.comment_hash or "").startswith(_FROZEN)
    if (ctx is None or not active) and frozen:
        return None, pushed.comment_hash  # a final comment is written once, then left be
    if ctx is None:
        reasons.append(Reason.UNMAPPED)
        if settings.unmapped == "delete-comment":
            return CommentChange(CommentAction.DELETE, comment_id=pushed.comment_id), None
        state = "unmapped"
    elif not active:
        reasons.append(Reason.FINISHED)
        state = "final"
    else:
        state = "active"
    digest = memo.digest(ctx, state)
    if state != "active":
        digest = _FROZEN + digest[len(_FROZEN) :]
    if pushed.comment_id and digest == pushed.comment_hash:
        return None, digest
    body = memo.body(ctx, state)
    if pushed.comment_id is None:
        if pushed.comment_hash is not None:
            reasons.append(Reason.COMMENT_LOST)
        return CommentChange(CommentAction.CREATE, body=body), digest
    if not reasons:
        reasons.append(Reason.CONTENT_CHANGED)
    return CommentChange(CommentAction.UPDATE, body=body, comment_id=pushed.comment_id), digest
