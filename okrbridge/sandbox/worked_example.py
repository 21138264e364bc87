"""The README's worked example as seed data and config: a games company's marketing OKR whose
tasks live in Jira, a GitHub project and a Trello board (whichever simulators are installed)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from okrbridge.domain import StatusCategory as S
from okrbridge.sandbox._toml import dumps_table
from okrbridge.sandbox.tool import SeedTask

__all__ = ["INSTANCES", "SEED", "Seeded", "demo_timeframe", "quarter_of", "render_config"]

INSTANCES = {"jira": "jira-mkt", "github": "github-game", "trello": "trello-launch"}
"""Connector type -> instance name used by the demo."""

SEED: dict[str, list[SeedTask]] = {
    "jira": [
        SeedTask("Campaign plan for App Store reviews", "MKT", S.DONE, ("reviews",), 3),
        SeedTask("Campaign kick-off with the community team", "MKT", S.DONE, ("reviews",), 1),
        SeedTask(
            "Creative brief: review prompts and visuals", "MKT", S.IN_PROGRESS, ("reviews",), 5
        ),
        SeedTask("Press release for the 2.0 launch", "MKT", S.TODO, ("reviews", "launch"), 2),
        SeedTask("Influencer outreach list", "MKT", S.TODO, ("launch",), 2),
    ],
    "github": [
        SeedTask(
            "In-app review prompt after level 10",
            "acme/starfall-game",
            S.IN_PROGRESS,
            ("reviews",),
            5,
        ),
        SeedTask(
            "In-app messages for lapsed players",
            "acme/starfall-game",
            S.TODO,
            ("okr:review-campaign",),
            3,
        ),
        SeedTask("Fix crash on older Android devices", "acme/starfall-game", S.DONE, ("bug",), 2),
        SeedTask("Review analysis dashboard", "", S.TODO, (), None, fields={"draft": "true"}),
    ],
    "trello": [
        SeedTask("Campaign emails: 3-part sequence", "launch", S.DONE, ("reviews", "launch"), 2),
        SeedTask("Launch day checklist", "launch", S.TODO, ("reviews", "launch"), 1),
        SeedTask("Review replies playbook", "launch", S.IN_PROGRESS, ("reviews",), 2),
        SeedTask("Store listing screenshots", "launch", S.DONE, ("launch",), 1),
    ],
}


@dataclass(frozen=True)
class Seeded:
    """A simulator that is up and seeded: its connector type, instance name and config table."""

    type: str
    instance: str
    settings: Mapping[str, Any]


def quarter_of(day: date) -> tuple[date, date]:
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    end = date(day.year + 1, 1, 1) if first_month == 10 else date(day.year, first_month + 3, 1)
    return start, date.fromordinal(end.toordinal() - 1)


def demo_timeframe(today: date) -> tuple[date, date]:
    """A 13-week quarter, nine weeks of it gone: enough past for burn-ups and forecasts."""
    return today - timedelta(days=63), today + timedelta(days=27)


_OKRS = """\
[push]
label_prefix = "okr:"
scope = "open"

[[objectives]]
id = "grow-game"
title = "Grow our new mobile game from launch to leader"
owner = "Marketing"
start = {start}
end = {end}

  [[objectives.key_results]]
  id = "kr-reviews"
  title = ">4 stars on over 85% of App Store reviews"
  metric = "percent"
  start = 60
  target = 85
  source = "initiatives"

  [[objectives.key_results]]
  id = "kr-launch"
  title = "Ship 6 launch deliverables"
  start = 0
  target = 6
  source = "tasks"
  tasks = {{ labels_any = ["launch"], status_category = "done" }}

  [[objectives.key_results]]
  id = "kr-installs"
  title = "Reach 250k installs"
  start = 0
  target = 250000
  unit = "installs"

[[initiatives]]
id = "review-campaign"
title = "Multi-channel campaign for App Store reviews"
key_results = [{{ id = "kr-reviews", weight = 1.0 }}]
progress = "weighted"

  [[initiatives.match]]
  labels_any = ["reviews"]

[[initiatives]]
id = "in-game-prompts"
title = "Ask happy players for a review inside the game"
key_results = [{{ id = "kr-reviews", weight = 0.5 }}]

  # The game's repository, but only its review work.
  [[initiatives.match]]
  connector = "github-game"
  container = "acme/starfall-game"
  labels_any = ["reviews"]

  # Marketing's brief for the prompts, found by its title.
  [[initiatives.match]]
  connector = "jira-mkt"
  title_regex = "(?i)review prompt"
"""


def render_config(seeded: list[Seeded], store_url: str, today: date) -> str:
    """The demo's whole config: store, the worked example's OKRs, one table per simulator."""
    start, end = demo_timeframe(today)
    parts = [
        "# okrbridge demo: the README's worked example against the built-in simulators.\n",
        dumps_table(["store"], {"url": store_url}),
        _OKRS.format(start=start.isoformat(), end=end.isoformat()),
    ]
    parts += [dumps_table(["connectors", s.instance], dict(s.settings)) for s in seeded]
    return "\n".join(parts)
