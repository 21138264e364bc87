"""The `report` command's logic: what changed since a moment, what is at risk, what will miss."""

from okrbridge.report.build import AtRisk, ChangeLine, ProblemTask, Report, build_report
from okrbridge.report.history import StatusChange, status_changes, value_points
from okrbridge.report.render import render_html, render_markdown

__all__ = [
    "AtRisk",
    "ChangeLine",
    "ProblemTask",
    "Report",
    "StatusChange",
    "build_report",
    "render_html",
    "render_markdown",
    "status_changes",
    "value_points",
]
