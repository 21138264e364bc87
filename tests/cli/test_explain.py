"""Mapping you can see: `explain` says which rules matched or failed on which condition, and
`sync`, `status` and `config check` name initiatives and rules that match nothing."""

from __future__ import annotations

import json

from okrbridge.domain import StatusCategory
from okrbridge.sandbox import SeedTask
from tests.cli.conftest import Sims

GHOST = """
[[initiatives]]
id = "ghost-project"
title = "Work in a project nobody synced"
key_results = [{ id = "kr-reviews", weight = 0.2 }]

  [[initiatives.match]]
  connector = "jira-mkt"
  container = "NOPE"
"""

HALF = """
[[initiatives]]
id = "half-mapped"
title = "Launch work, by label or by a typo"
key_results = [{ id = "kr-reviews", weight = 0.2 }]

  [[initiatives.match]]
  labels_any = ["launch"]

  [[initiatives.match]]
  labels_any = ["lanch"]
"""


def _append(sims: Sims, text: str) -> None:
    with sims.config.open("a", encoding="utf-8") as handle:
        handle.write(text)


def test_explain_lists_matched_and_failed_conditions(sims: Sims) -> None:
    assert sims.run("sync").returncode == 0
    result = sims.run("explain", "jira-mkt:MKT-3")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "✓ matched review-campaign" in out
    assert "✓ labels_any: reviews" in out
    # in-game-prompts: rule 1 fails on its connector and container, rule 2 matches by title.
    assert "rule 1 failed" in out
    assert "✗ connector: github-game" in out
    assert "✗ container: acme/starfall-game" in out
    assert "rule 2 matched" in out
    assert "✓ title_regex: matches (?i)review prompt" in out
    assert "kr-reviews" in out
    assert "okr:off-track" in out or "okr:on-track" in out or "okr:needs-attention" in out
    assert "OKR status:" in out  # the comment it carries


def test_explain_finds_tasks_the_way_people_name_them(sims: Sims) -> None:
    card = sims.tools["trello-launch"].add_task(
        SeedTask("Trailer for the store page", "launch", StatusCategory.TODO, ("reviews",))
    )
    assert sims.run("sync").returncode == 0
    by_id = sims.run("explain", f"trello-launch:{card}")
    assert by_id.returncode == 0, by_id.stderr
    assert "Trailer for the store page" in by_id.stdout
    link = next(
        line.split("/c/")[1].split("/")[0] for line in by_id.stdout.splitlines() if "/c/" in line
    )
    by_link = sims.run("explain", f"trello-launch:{link}")
    assert "Trailer for the store page" in by_link.stdout
    issue = sims.run("explain", "github-game:acme/starfall-game#3")
    assert "✗ no match review-campaign" in issue.stdout
    assert "✗ labels_any: reviews" in issue.stdout
    missing = sims.run("explain", "jira-mkt:MKT-999")
    assert missing.returncode == 1
    assert "sync first" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_sync_names_an_initiative_matching_nothing(sims: Sims) -> None:
    _append(sims, GHOST + HALF)
    result = sims.run("sync")
    assert result.returncode == 0, result.stderr
    assert "initiative 'ghost-project' matches no task" in result.stdout
    assert "container = 'NOPE'" in result.stdout
    assert "rule 2 of initiative 'half-mapped' matches no task" in result.stdout
    assert "review-campaign' matches no task" not in result.stdout
    assert "of initiative 'review-campaign'" not in result.stdout
    # The next sync is incremental: it names what no task serves from its tallies, and leaves
    # the rules (judged on every mapped task) to a whole evaluation.
    notes = json.loads(sims.run("sync", "--json").stdout)["mapping_notes"]
    assert [note.split(" (")[0] for note in notes] == ["initiative 'ghost-project' matches no task"]
    full = json.loads(sims.run("sync", "--full", "--json").stdout)["mapping_notes"]
    assert len(full) == 2
    assert "rule 2 of initiative 'half-mapped' matches no task" in full[1]


def test_status_and_config_check_name_rules_matching_nothing(sims: Sims) -> None:
    _append(sims, GHOST + HALF)
    assert sims.run("sync").returncode == 0
    status = sims.run("status")
    assert "initiative 'ghost-project' matches no task" in status.stdout
    assert "rule 2 of initiative 'half-mapped' matches no task" in status.stdout
    assert "rule 1 of initiative 'half-mapped'" not in status.stdout
    check = sims.run("config", "check")
    assert check.returncode == 0, check.stderr
    assert "rule 2 of initiative 'half-mapped' matches no task" in check.stdout
