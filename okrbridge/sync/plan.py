"""Planning: desired marks minus pushed marks = the minimal writes for one task.

Pure functions. The bridge owns exactly the status labels `<prefix><slug>` and its own
comment; every other label (including a person's `okr:<initiative-id>` mapping label) is
never touched.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from okrbridge.config.schema import PushScope, PushSettings
from okrbridge.connector.base import Capability, CommentAction, CommentChange, PushChange
from okrbridge.domain import KRStatus, StatusCategory, Task
from okrbridge.sync.comment import CommentContext, comment_digest, render_comment

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


@dataclass(frozen=True)
class Pushed:
    """What the bridge last wrote to a task (from the store's push state)."""

    label: str | None = None
    comment_id: str | None = None
    comment_hash: str | None = None
    field_value: str | None = None

    @property
    def marked(self) -> bool:
        return bool(self.label or self.comment_id or self.field_value)


@dataclass(frozen=True)
class PlannedChange:
    change: PushChange
    reasons: tuple[Reason, ...]
    label: str | None
    """The bridge label the task carries once applied."""
    comment_hash: str | None
    field_value: str | None


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


def plan_task(
    task: Task,
    ctx: CommentContext | None,
    pushed: Pushed,
    settings: PushSettings,
    capabilities: frozenset[Capability],
    scope: PushScope,
) -> PlannedChange | None:
    """The change for one task, or None when it already is as it should be.

    `ctx` is None when the task serves no initiative.
    """
    if task.deleted:
        return None
    owned = owned_labels(settings.label_prefix)
    active = ctx is not None and in_scope(task, scope)
    if not active and not pushed.marked:
        return None
    reasons: list[Reason] = []
    desired_label = settings.label_prefix + ctx.status.label_slug if active and ctx else None

    add_label, remove = _plan_labels(task, desired_label, pushed, owned, settings, reasons)
    if Capability.LABELS not in capabilities:
        add_label, remove = None, ()

    comment, digest = _plan_comment(task, ctx, active, pushed, settings, reasons)
    if Capability.COMMENTS not in capabilities:
        comment, digest = None, pushed.comment_hash

    field_value: str | None = None
    desired_field = ctx.status.label_slug if active and ctx else ""
    if Capability.PROJECT_FIELD in capabilities and (pushed.field_value or "") != desired_field:
        field_value = desired_field

    change = PushChange(
        task=task,
        add_label=add_label,
        remove_labels=remove,
        comment=comment,
        field_value=field_value,
    )
    if change.is_empty:
        return None
    if not reasons:
        reasons.append(Reason.STATUS_CHANGED)
    return PlannedChange(
        change=change,
        reasons=tuple(dict.fromkeys(reasons)),
        label=desired_label if Capability.LABELS in capabilities else None,
        comment_hash=digest,
        field_value=field_value if field_value is not None else pushed.field_value,
    )


def _plan_labels(
    task: Task,
    desired: str | None,
    pushed: Pushed,
    owned: frozenset[str],
    settings: PushSettings,
    reasons: list[Reason],
) -> tuple[str | None, tuple[str, ...]]:
    present = set(task.labels)
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
    stale = sorted((present & owned) - {desired})
    if stale and desired is not None and pushed.label == desired and add is None:
        reasons.append(Reason.STRAY_LABEL)
    if stale and desired is None:
        reasons.append(Reason.FINISHED)
    return add, tuple(stale)


def _plan_comment(
    task: Task,
    ctx: CommentContext | None,
    active: bool,
    pushed: Pushed,
    settings: PushSettings,
    reasons: list[Reason],
) -> tuple[CommentChange | None, str | None]:
    if not settings.comment:
        return None, pushed.comment_hash
    template = settings.comment_template
    frozen = not pushed.comment_id or (pushed.comment_hash or "").startswith(_FROZEN)
    if (ctx is None or not active) and frozen:
        return None, pushed.comment_hash  # a final comment is written once, then left be
    if ctx is None:
        reasons.append(Reason.UNMAPPED)
        if settings.unmapped == "delete-comment":
            return CommentChange(CommentAction.DELETE, comment_id=pushed.comment_id), None
        ctx = CommentContext(
            status=KRStatus.NOT_STARTED,
            initiatives=(),
            key_results=(),
            objective_titles={},
            state="unmapped",
        )
    elif not active:
        reasons.append(Reason.FINISHED)
        ctx = CommentContext(
            status=ctx.status,
            initiatives=ctx.initiatives,
            key_results=ctx.key_results,
            objective_titles=ctx.objective_titles,
            state="final",
            dashboard_url=ctx.dashboard_url,
        )
    digest = comment_digest(ctx, template)
    if ctx.state != "active":
        digest = _FROZEN + digest[len(_FROZEN) :]
    if pushed.comment_id and digest == pushed.comment_hash:
        return None, digest
    body = render_comment(ctx, template)
    if pushed.comment_id is None:
        if pushed.comment_hash is not None:
            reasons.append(Reason.COMMENT_LOST)
        return CommentChange(CommentAction.CREATE, body=body), digest
    if not reasons:
        reasons.append(Reason.CONTENT_CHANGED)
    return CommentChange(CommentAction.UPDATE, body=body, comment_id=pushed.comment_id), digest
