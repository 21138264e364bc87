"""The report as Markdown (to paste into a weekly update) or as a standalone HTML page."""

from __future__ import annotations

import re
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from okrbridge.domain import KeyResultResult, KRStatus
from okrbridge.report.build import AtRisk, ChangeLine, ProblemTask, Report, forecast_shortfall
from okrbridge.report.text import (
    STATUS_COLOURS,
    percent,
    safe_url,
    status_css,
    status_title,
    value_of,
)

__all__ = ["md_escape", "render_html", "render_markdown", "summary_line"]

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<])")
"""Characters that start emphasis, code, links or HTML anywhere in a line."""


def md_escape(text: str) -> str:
    """User text made inert in Markdown: special characters backslash-escaped, one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def summary_line(report: Report) -> str:
    """`4 key results: 1 on track, 2 needs attention, 1 off track.`"""
    total = sum(report.counts.values())
    parts = [f"{n} {status_title(s).lower()}" for s, n in report.counts.items() if n]
    return f"{total} key results: {', '.join(parts)}." if total else "No key results configured."


def _window(report: Report) -> str:
    days = (report.generated_at - report.since).total_seconds() / 86_400
    return f"{report.since:%Y-%m-%d %H:%M} UTC ({days:.3g} days)"


def render_markdown(report: Report) -> str:
    """The report in Markdown."""
    lines = [
        f"# OKR update, {report.generated_at:%Y-%m-%d}",
        "",
        f"Changes since {_window(report)}. {summary_line(report)}",
        "",
        "## Status changes",
        "",
    ]
    lines += [_md_change(c) for c in report.changes] or ["No status changed in this period."]
    lines += ["", "## Key results at risk", ""]
    if not report.at_risk:
        lines.append("No key result needs attention or is off track.")
    for risk in report.at_risk:
        lines += _md_risk(risk, report.stalled_days)
    lines += ["", "## Forecast misses", ""]
    lines += [_md_miss(kr, objective) for kr, objective in report.forecast_misses] or [
        "Every forecast reaches its target (or there is too little history to forecast)."
    ]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).rstrip() + "\n"


def _md_change(line: ChangeLine) -> str:
    change = line.change
    title = line.key_result.title if line.key_result else change.key_result_id
    before = status_title(change.before) if change.before else "first evaluation"
    where = f" ({md_escape(line.objective_title)})" if line.objective_title else ""
    return (
        f"- **{md_escape(title)}**{where}: {before} → **{status_title(change.after)}** "
        f"on {change.at:%Y-%m-%d}. {md_escape(change.reason)}"
    )


def _md_risk(risk: AtRisk, stalled_days: int) -> list[str]:
    kr = risk.key_result
    lines = [
        f"### {status_title(kr.status)}: {md_escape(kr.title)} ({md_escape(risk.objective_title)})",
        "",
        f"{value_of(kr, kr.value)} of target {value_of(kr, kr.target)}, "
        f"{percent(kr.progress)} of the way (pace asks {percent(kr.expected_progress)}). "
        f"{md_escape(kr.reason)}",
        "",
    ]
    if not risk.tasks:
        lines += [f"No overdue task, none idle for {stalled_days}+ days.", ""]
    lines += [_md_task(problem) for problem in risk.tasks]
    if risk.more:
        lines.append(f"- … and {risk.more:,} more (`okrbridge report --all` lists every one)")
    return [*lines, ""] if risk.tasks else lines


def _md_task(problem: ProblemTask) -> str:
    task = problem.task
    label = md_escape(f"{task.key} {task.title}".strip())
    url = safe_url(task.url)
    link = f"[{label}](<{url}>)" if url else label
    return f"- {problem_text(problem)}: {link}, {md_escape(problem.initiative_title)}"


def problem_text(problem: ProblemTask) -> str:
    """`Overdue 3 days, no update for 20 days`."""
    parts = []
    if problem.overdue_days is not None:
        parts.append(f"overdue {_days(problem.overdue_days)}")
    if problem.idle_days is not None:
        parts.append(f"no update for {_days(problem.idle_days)}")
    return ", ".join(parts).capitalize()


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def miss_text(kr: KeyResultResult) -> str:
    """`forecast 70% at the end, short of the 85% target by 15%`."""
    short = forecast_shortfall(kr) or 0.0
    projected = kr.forecast.projected_value if kr.forecast else None
    return (
        f"forecast {value_of(kr, projected)} at the end, short of the "
        f"{value_of(kr, kr.target)} target by {value_of(kr, short)}"
    )


def _md_miss(kr: KeyResultResult, objective: str) -> str:
    return f"- **{md_escape(kr.title)}** ({md_escape(objective)}): {miss_text(kr)}."


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("okrbridge.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        status_title=status_title,
        status_css=status_css,
        percent=percent,
        problem_text=problem_text,
        miss_text=miss_text,
        safe_url=safe_url,
    )
    env.globals.update(value_of=value_of, colours=STATUS_COLOURS, statuses=list(KRStatus))
    return env


def render_html(report: Report) -> str:
    """The report as a standalone, accessible HTML page (inline CSS, no script)."""
    template = _environment().get_template("report.html")
    return template.render(report=report, summary=summary_line(report), window=_window(report))
