"""The bot comment: rendered as markdown (connectors render it for their tool) plus a digest.

The digest has two halves. Its *meaning* is what a reader acts on: the comment's state
(active, final, unmapped), the task's status, the status of each key result it serves and the
set of initiatives and key results it serves. Its *figures* are what drifts as work moves:
values, progress, task counts. A change of meaning edits the comment at once; drifting figures
only refresh it now and then (`push.comment_refresh`), so one task moving does not re-edit the
comment of every sibling. The pace reason and the forecast are in neither half.

A digest is 64 hex digits (so a connector can stamp it into the comment and read it back):
one for the state, 31 for the meaning, 32 for the figures.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from string import Template

from okrbridge.domain import InitiativeResult, KeyResultResult, KRStatus, Metric

__all__ = [
    "CommentContext",
    "CommentMemo",
    "comment_digest",
    "format_value",
    "is_frozen",
    "meaning_of",
    "render_comment",
    "status_title",
]

_TITLES = {
    KRStatus.ACHIEVED: "Achieved",
    KRStatus.ON_TRACK: "On track",
    KRStatus.NEEDS_ATTENTION: "Needs attention",
    KRStatus.OFF_TRACK: "Off track",
    KRStatus.NOT_STARTED: "Not started",
}


def status_title(status: KRStatus) -> str:
    return _TITLES[status]


@dataclass(frozen=True)
class CommentContext:
    """Everything the comment shows about one task."""

    status: KRStatus
    initiatives: Sequence[InitiativeResult]
    key_results: Sequence[KeyResultResult]
    objective_titles: dict[str, str]
    state: str = "active"
    """`active`, `final` (the task is done or out of scope) or `unmapped`."""
    dashboard_url: str | None = None


def format_value(value: float | None, kr: KeyResultResult) -> str:
    if value is None:
        return "no value yet"
    if kr.metric is Metric.PERCENT:
        return f"{_number(value)}%"
    if kr.metric is Metric.CURRENCY:
        return f"{kr.unit}{value:,.2f}" if kr.unit else f"{value:,.2f}"
    if kr.metric is Metric.BOOLEAN:
        return "yes" if value >= 1 else "no"
    return f"{_number(value)}{(' ' + kr.unit) if kr.unit else ''}"


def _number(value: float) -> str:
    """Readable numbers: 118,000 rather than 1.18e+05; at most two decimals below 1,000."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _kr_lines(ctx: CommentContext) -> list[str]:
    lines: list[str] = []
    for kr in ctx.key_results:
        objective = ctx.objective_titles.get(kr.objective_id, kr.objective_id)
        lines.append(
            f"- **{kr.title}** ({objective}): {format_value(kr.value, kr)} of target "
            f"{format_value(kr.target, kr)}, {kr.progress:.0%} of the way — "
            f"{status_title(kr.status)}"
        )
        lines.append(f"  {kr.reason}")
        if kr.forecast is not None:
            when = (
                f"; target reached around {kr.forecast.target_date.isoformat()}"
                if kr.forecast.target_date
                else ""
            )
            lines.append(
                f"  Forecast: {format_value(kr.forecast.projected_value, kr)} at the end "
                f"of the timeframe{when}"
            )
        elif kr.forecast_note:
            lines.append(f"  Forecast: {kr.forecast_note}")
        if ctx.dashboard_url:
            lines.append(
                f"  [Open in the OKR dashboard]({ctx.dashboard_url.rstrip('/')}/kr/{kr.id})"
            )
    return lines


def _initiative_line(ctx: CommentContext) -> str:
    parts = [
        f"{i.title} ({i.progress:.0%} done, {i.counts.done} of {i.counts.total} tasks)"
        for i in ctx.initiatives
    ]
    return "This task serves: " + "; ".join(parts) if parts else ""


def render_comment(ctx: CommentContext, template: str | None = None) -> str:
    """The comment's markdown; `template` is a `string.Template` with the fields below."""
    header = {
        "active": f"**OKR status: {status_title(ctx.status)}**",
        "final": f"**OKR status: {status_title(ctx.status)}** (final: this task is done; "
        "okrbridge no longer updates it)",
        "unmapped": "**OKR status:** this task no longer serves a tracked initiative; "
        "okrbridge no longer updates it",
    }[ctx.state]
    fields = {
        "header": header,
        "status": status_title(ctx.status),
        "initiatives": _initiative_line(ctx),
        "key_results": "\n".join(_kr_lines(ctx)),
        "dashboard_url": ctx.dashboard_url or "",
    }
    if template is not None:
        return Template(template).safe_substitute(fields).strip()
    parts = [header]
    if ctx.state != "unmapped":
        parts += [fields["initiatives"], fields["key_results"]]
    parts.append("_Updated by okrbridge when a status changes; figures refresh now and then._")
    return "\n\n".join(part for part in parts if part)


_STATE_DIGIT = {"active": "0", "final": "1", "unmapped": "2"}


def _hex(data: object, length: int) -> str:
    encoded = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:length]


def comment_digest(ctx: CommentContext, template: str | None = None) -> str:
    """State digit + meaning + figures (see the module docstring); unchanged -> no edit."""
    meaning = {
        "status": ctx.status.value,
        "template": template,
        "dashboard": ctx.dashboard_url,
        "initiatives": sorted(i.id for i in ctx.initiatives),
        "key_results": sorted([k.id, k.status.value] for k in ctx.key_results),
    }
    figures = {
        "initiatives": [
            [i.id, round(i.progress, 2), i.counts.done, i.counts.total] for i in ctx.initiatives
        ],
        "key_results": [
            [k.id, None if k.value is None else round(k.value, 4), round(k.progress, 2)]
            for k in ctx.key_results
        ],
    }
    return _STATE_DIGIT[ctx.state] + _hex(meaning, 31) + _hex(figures, 32)


def meaning_of(digest: str | None) -> str | None:
    """The state and meaning part of a digest (None for none)."""
    return None if digest is None else digest[:32]


def is_frozen(digest: str | None) -> bool:
    """Whether the comment is final or unmapped: written once, then left be."""
    return digest is not None and digest[:1] in ("1", "2")


_UNMAPPED = CommentContext(
    status=KRStatus.NOT_STARTED,
    initiatives=(),
    key_results=(),
    objective_titles={},
    state="unmapped",
)


class CommentMemo:
    """Digests and bodies per (context, state), computed once: tasks serving the same
    initiatives share one context object, so 100,000 tasks cost a few hundred renders."""

    def __init__(self, template: str | None) -> None:
        self.template = template
        self._variants: dict[tuple[int, str], CommentContext] = {}
        self._digests: dict[tuple[int, str], str] = {}
        self._bodies: dict[tuple[int, str], str] = {}

    def _variant(
        self, ctx: CommentContext | None, state: str
    ) -> tuple[tuple[int, str], CommentContext]:
        key = (id(ctx), state)
        variant = self._variants.get(key)
        if variant is None:
            if ctx is None or state == "unmapped":
                variant = _UNMAPPED
            else:
                variant = ctx if ctx.state == state else replace(ctx, state=state)
            self._variants[key] = variant
            if ctx is not None:
                self._variants[(id(ctx), "_keep")] = ctx  # keeps id(ctx) from being reused
        return key, variant

    def digest(self, ctx: CommentContext | None, state: str) -> str:
        key, variant = self._variant(ctx, state)
        if key not in self._digests:
            self._digests[key] = comment_digest(variant, self.template)
        return self._digests[key]

    def body(self, ctx: CommentContext | None, state: str) -> str:
        key, variant = self._variant(ctx, state)
        if key not in self._bodies:
            self._bodies[key] = render_comment(variant, self.template)
        return self._bodies[key]
