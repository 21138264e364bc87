"""Planning: desired marks minus pushed marks = the minimal writes for one task.

Pure functions. The bridge owns exactly the status labels `<prefix><slug>` (one rule, from
the configured prefix: `okrbridge.marks.StatusLabels`) and its own comment; every other
label (including a person's `okr:<initiative-id>` mapping label) is never touched.
"""

from __future__ import annotations

import enum
import zlib
from dataclasses import dataclass
from datetime import datetime

from okrbridge.config.schema import PushScope, PushSettings
from okrbridge.connector.base import Capability, CommentAction, CommentChange, PushChange
from okrbridge.domain import KRStatus, StatusCategory, Task
from okrbridge.marks import StatusLabels
from okrbridge.sync.comment import CommentContext, CommentMemo, is_frozen, meaning_of

__all__ = [
    "PRIORITY_CHANGE",
    "PRIORITY_REFRESH",
    "PRIORITY_TRIGGER",
    "PlannedChange",
    "Pushed",
    "Reason",
    "in_scope",
    "plan_task",
]


PRIORITY_TRIGGER = 0
"""Queue priority of the tasks whose change triggered the push (a person waits for them)."""
PRIORITY_CHANGE = 1
PRIORITY_REFRESH = 2
"""Figure refreshes wait behind every real change."""
_STAGGER = 4000
"""A task's refresh comes due up to a quarter of `comment_refresh` late (by its id), so the
comments written together at a rollout do not all refresh at once."""


class Reason(str, enum.Enum):
    """Why a write is planned; recorded in the audit log."""

    FIRST_ROLLOUT = "first rollout"
    STATUS_CHANGED = "status changed"
    CONTENT_CHANGED = "what the comment means changed"
    FIGURES_REFRESH = "figures refreshed (push.comment_refresh)"
    DRIFT = "status label removed by a person (drift policy: enforce)"
    STRAY_LABEL = "a stale bridge label is on the task"
    FINISHED = "task done or out of scope: final comment, label removed"
    UNMAPPED = "task no longer serves a tracked initiative"
    COMMENT_LOST = "the bridge's comment is gone from the tool"


@dataclass(frozen=True, slots=True)
class Pushed:
    """What the bridge last wrote to a task (from the store's push state)."""

    label: str | None = None
    comment_id: str | None = None
    comment_hash: str | None = None
    field_value: str | None = None
    comment_absent: bool = False
    """The last read of the tool found no bridge comment on the task."""
    figures_at: datetime | None = None
    """When the comment's figures were last written."""

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
    priority: int = PRIORITY_CHANGE
    figures_written: bool = False
    """The change writes the comment (so its figures are current once applied)."""


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
        self,
        settings: PushSettings,
        capabilities: frozenset[Capability],
        scope: PushScope,
        *,
        now: datetime | None = None,
    ) -> None:
        self.settings = settings
        self.scope = scope
        self.capabilities = capabilities
        self.now = now
        """The evaluation time; None: figure refreshes are never due (a single-task plan)."""
        self.marks_in_pull = Capability.MARKS_IN_PULL in capabilities
        labels = StatusLabels(settings.label_prefix)
        self.owned = labels.names
        self._flags: dict[frozenset[Capability], tuple[bool, bool, bool]] = {}
        self.label_of = {s: labels.label(s) for s in KRStatus}
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
            if pushed.comment_id is None:
                return False
            digest = self.memo.digest(ctx, "active")
            return digest == pushed.comment_hash or (
                meaning_of(digest) == meaning_of(pushed.comment_hash)
                and not self.refresh_due(task, pushed)
            )
        return True

    def refresh_due(self, task: Task, pushed: Pushed) -> bool:
        """Whether drifting figures may re-write the task's comment now: once per
        `push.comment_refresh`, staggered by the task's id."""
        every = self.settings.comment_refresh
        if every is None or self.now is None:
            return False
        if pushed.figures_at is None:
            return True
        stagger = (zlib.crc32(task.external_id.encode()) % 1000) / _STAGGER
        return self.now >= pushed.figures_at + every * (1 + stagger)

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
            comment, digest = self._plan_comment(task, ctx, active, pushed, reasons)
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
        refresh_only = reasons == [Reason.FIGURES_REFRESH]
        return PlannedChange(
            change=change,
            reasons=tuple(dict.fromkeys(reasons)),
            label=desired_label if has_labels else None,
            comment_hash=digest,
            field_value=field_value if field_value is not None else pushed.field_value,
            priority=PRIORITY_REFRESH if refresh_only else PRIORITY_CHANGE,
            figures_written=comment is not None and comment.action is not CommentAction.DELETE,
        )

    def _plan_comment(
        self,
        task: Task,
        ctx: CommentContext | None,
        active: bool,
        pushed: Pushed,
        reasons: list[Reason],
    ) -> tuple[CommentChange | None, str | None]:
        settings, memo = self.settings, self.memo
        if not settings.comment:
            return None, pushed.comment_hash
        frozen = not pushed.comment_id or is_frozen(pushed.comment_hash)
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
        same_meaning = meaning_of(digest) == meaning_of(pushed.comment_hash)
        if pushed.comment_id is not None:
            if digest == pushed.comment_hash:
                return None, digest
            if same_meaning:
                if not self.refresh_due(task, pushed):
                    return None, pushed.comment_hash  # drifting figures wait their turn
                reasons.append(Reason.FIGURES_REFRESH)
            elif not reasons:
                reasons.append(Reason.CONTENT_CHANGED)
            body = memo.body(ctx, state)
            update = CommentChange(CommentAction.UPDATE, body, pushed.comment_id, digest)
            return update, digest
        if pushed.comment_hash is not None:  # it was there: deleted by a person, or lost
            if settings.drift == "respect" and same_meaning:
                return None, pushed.comment_hash
            reasons.append(Reason.COMMENT_LOST)
        look_first = not (pushed.comment_absent and self.marks_in_pull)
        create = CommentChange(
            CommentAction.CREATE, memo.body(ctx, state), digest=digest, look_first=look_first
        )
        return create, digest


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
