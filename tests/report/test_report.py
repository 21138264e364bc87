"""The weekly report: status changes with reasons, at-risk key results with their overdue or
stalled tasks, forecast misses; as Markdown and as HTML."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from okrbridge.domain import KRStatus
from okrbridge.report import build as build_module
from okrbridge.report import build_report, render_html, render_markdown
from okrbridge.report.build import forecast_shortfall
from okrbridge.report.render import md_escape
from okrbridge.store.db import Store
from okrbridge.store.repos.tasks import load_tasks, upsert_tasks
from okrbridge.sync.comment import format_value
from okrbridge.sync.compute import evaluate_current
from tests.dashboard.html import Page
from tests.dashboard.seed import EVALUATIONS, HOSTILE, NOW, Seeded, config

WEEK = NOW - timedelta(days=7)
A, NA, OT = KRStatus.ON_TRACK, KRStatus.NEEDS_ATTENTION, KRStatus.OFF_TRACK


def test_changes_in_the_window_against_the_status_before_it(seeded: Seeded) -> None:
    report = build_report(seeded.store, seeded.config, now=NOW, since=WEEK)
    changes = [(c.change.key_result_id, c.change.before, c.change.after) for c in report.changes]
    # Only the evaluation 2 days ago is in the window; 10 days ago gives the "before".
    assert changes == [("kr-dau", A, NA), ("kr-reviews", NA, OT)]
    assert {c.change.at for c in report.changes} == {EVALUATIONS[-1]}
    dau = report.changes[0]
    assert dau.change.reason.startswith("1,500 players at the check-in of 2026-11-13")
    assert dau.objective_title == "Grow our new mobile game"


def test_a_longer_window_starts_with_first_evaluations(seeded: Seeded) -> None:
    report = build_report(seeded.store, seeded.config, now=NOW, since=NOW - timedelta(days=60))
    firsts = [c.change.key_result_id for c in report.changes if c.change.before is None]
    assert sorted(firsts) == ["kr-bugs", "kr-dau", "kr-reviews"]
    assert len(report.changes) == 7  # 3 first evaluations, then 2 changes 10 and 2 days ago
    quiet = build_report(seeded.store, seeded.config, now=NOW, since=NOW - timedelta(days=1))
    assert quiet.changes == ()


def test_at_risk_key_results_list_overdue_and_stalled_tasks(seeded: Seeded) -> None:
    report = build_report(seeded.store, seeded.config, now=NOW, since=WEEK)
    risks = {r.key_result.id: r for r in report.at_risk}
    assert [r.key_result.status for r in report.at_risk] == [OT, OT, NA]  # worst first
    assert set(risks) == {"kr-reviews", "kr-bugs", "kr-dau"}
    problems = [(p.task.key, p.overdue_days, p.idle_days) for p in risks["kr-reviews"].tasks]
    # MKT-3 was due 2026-11-05 and last updated 40 days ago; MKT-2 and TR-4 sit for 30 days;
    # TR-6 (due 2026-11-20, updated yesterday) and done tasks are fine.
    assert problems == [("MKT-3", 10, 40), ("MKT-2", None, 30), ("TR-4", None, 30)]
    assert risks["kr-bugs"].tasks == ()  # it counts done tasks only
    patient = build_report(seeded.store, seeded.config, now=NOW, since=WEEK, stalled_days=45)
    late = {r.key_result.id: r for r in patient.at_risk}["kr-reviews"].tasks
    assert [(p.task.key, p.overdue_days, p.idle_days) for p in late] == [("MKT-3", 10, None)]


def test_forecast_misses_are_the_key_results_whose_trend_ends_short(seeded: Seeded) -> None:
    report = build_report(seeded.store, seeded.config, now=NOW, since=WEEK)
    missed = {kr.id: kr for kr, _ in report.forecast_misses}
    assert set(missed) == {"kr-reviews", "kr-dau", "kr-bugs"}
    for kr in missed.values():
        assert kr.forecast is not None
        assert forecast_shortfall(kr) == kr.target - kr.forecast.projected_value > 0
    assert report.counts[OT] == 2
    assert report.counts[NA] == 1


def test_markdown_is_ready_to_paste(seeded: Seeded) -> None:
    report = build_report(seeded.store, seeded.config, now=NOW, since=WEEK)
    text = render_markdown(report)
    assert text.startswith("# OKR update, 2026-11-15\n")
    headings = re.findall(r"^(#+ .*)$", text, flags=re.MULTILINE)
    assert headings[1:4] == ["## Status changes", "## Key results at risk", headings[3]]
    assert "## Forecast misses" in headings
    assert (
        "- **Daily active users** (Grow our new mobile game): On track → **Needs attention**"
        in text
    )
    assert "3 key results: 1 needs attention, 2 off track." in text
    # The hostile title is inert, the link goes to the tool.
    assert re.findall(r"(?<!\\)<(?!https://)", text) == []  # every other < is escaped
    assert (
        '[MKT-3 \\<script>alert("x")\\</script> & co](<https://jira-mkt.example.test/browse/MKT-3>)'
        in text
    )
    assert "- Overdue 10 days, no update for 40 days: [MKT-3" in text
    dau = next(kr for kr, _ in report.forecast_misses if kr.id == "kr-dau")
    assert dau.forecast is not None
    assert f"forecast {format_value(dau.forecast.projected_value, dau)} at the end" in text
    assert "\n\n\n" not in text


def test_html_is_a_standalone_accessible_page(seeded: Seeded) -> None:
    report = build_report(seeded.store, seeded.config, now=NOW, since=WEEK)
    html = render_html(report)
    page = Page(html)
    assert page.one("title").text == "OKR update, 2026-11-15"
    assert page.one("html").attrs["lang"] == "en"
    assert "<script" not in html
    assert HOSTILE in page.text
    assert all(th.attrs.get("scope") == "col" for th in page.find("th"))
    rows = [row.text for row in page.find("tr")][1:3]
    assert rows[0].startswith(
        "Daily active users Grow our new mobile game On track Needs attention"
    )
    assert page.links()["https://jira-mkt.example.test/browse/MKT-3"] == "MKT-3"
    risks = [h.text for h in page.find("h3")]
    assert risks[0].startswith("Off track Over 85% of App Store reviews")
    assert len(page.find("li")) == 3  # three forecast misses


def test_empty_store_reports_calmly(store: Store) -> None:
    report = build_report(store, config(), now=NOW, since=WEEK)
    text = render_markdown(report)
    assert "No status changed in this period." in text
    assert all(risk.tasks == () for risk in report.at_risk)  # no task synced yet
    assert report.forecast_misses == ()  # no history to forecast from
    assert "Every forecast reaches its target" in text


def test_md_escape_makes_markup_inert() -> None:
    assert md_escape("a *b* [c](d) <e> `f` _g_\nnext") == (
        "a \\*b\\* \\[c\\](d) \\<e> \\`f\\` \\_g\\_ next"
    )


def test_a_check_in_after_the_last_sync_ends_the_changes_where_the_risks_stand(
    seeded: Seeded,
) -> None:
    from okrbridge.domain import CheckIn
    from okrbridge.store.repos.history import add_checkin

    with seeded.store.session() as session:
        # Far behind the plan's 3,000 by the end of November: off track, not needs attention.
        add_checkin(
            session, CheckIn(key_result_id="kr-dau", value=1000, at=NOW - timedelta(hours=1))
        )
    report = build_report(seeded.store, seeded.config, now=NOW, since=WEEK)
    risks = {r.key_result.id: r.key_result.status for r in report.at_risk}
    last = [c.change for c in report.changes if c.change.key_result_id == "kr-dau"][-1]
    assert (last.before, last.after) == (NA, OT)
    assert risks["kr-dau"] is last.after
    assert "→ **Off track**" in render_markdown(report)


def test_each_risk_lists_its_worst_tasks_and_counts_the_rest(seeded: Seeded) -> None:
    capped = build_report(seeded.store, seeded.config, now=NOW, since=WEEK, task_limit=2)
    reviews = {r.key_result.id: r for r in capped.at_risk}["kr-reviews"]
    assert [p.task.key for p in reviews.tasks] == ["MKT-3", "MKT-2"]  # the worst first
    assert reviews.more == 1
    assert "- … and 1 more (`okrbridge report --all` lists every one)" in render_markdown(capped)
    assert "and 1 more" in render_html(capped)
    whole = build_report(seeded.store, seeded.config, now=NOW, since=WEEK, task_limit=None)
    everything = {r.key_result.id: r for r in whole.at_risk}["kr-reviews"]
    assert ([p.task.key for p in everything.tasks], everything.more) == (
        ["MKT-3", "MKT-2", "TR-4"],
        0,
    )
    assert "more (`okrbridge report --all`" not in render_markdown(whole)


def _risks(report: object) -> list[tuple[str, list[tuple[str, str, int | None, int | None]], int]]:
    return [
        (
            r.key_result.id,
            [(p.task.key, p.initiative_title, p.overdue_days, p.idle_days) for p in r.tasks],
            r.more,
        )
        for r in report.at_risk  # type: ignore[attr-defined]
    ]


@pytest.mark.parametrize(("limit", "stalled"), [(None, 14), (1, 14), (2, 45), (0, 1)])
def test_stored_tallies_and_a_whole_evaluation_give_the_same_report(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch, limit: int | None, stalled: int
) -> None:
    def build() -> object:
        return build_report(
            seeded.store, seeded.config, now=NOW, since=WEEK, stalled_days=stalled, task_limit=limit
        )

    stored = build()
    assert evaluate_current(seeded.store, seeded.config, now=NOW) is not None  # (that path)
    monkeypatch.setattr(build_module, "evaluate_current", lambda *a, **k: None)
    whole = build()
    assert _risks(stored) == _risks(whole)
    assert stored.counts == whole.counts  # type: ignore[attr-defined]
    assert any(tasks or more for _, tasks, more in _risks(stored))


def test_tasks_changed_since_the_last_sync_are_in_the_report(seeded: Seeded) -> None:
    with seeded.store.session() as session:
        (mkt3,) = [t for t in load_tasks(session) if t.key == "MKT-3"]
        fresh = mkt3.model_copy(update={"due": None, "updated_at": NOW})  # no longer a problem
        upsert_tasks(session, [fresh], None)
    assert evaluate_current(seeded.store, seeded.config, now=NOW) is None  # tallies behind
    report = build_report(seeded.store, seeded.config, now=NOW, since=WEEK)
    keys = [p.task.key for r in report.at_risk for p in r.tasks]
    assert "MKT-3" not in keys
    assert "MKT-2" in keys
