"""`demo` and `sync --dry-run` show what lands in each tool: the label each task gets and the
comment as people will read it, in a summary that fits 80 columns."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sqlalchemy import func, select

from okrbridge.domain import StatusCategory
from okrbridge.sandbox import SeedTask
from okrbridge.store.db import Store
from okrbridge.store.models import KeyResultHistoryRow
from tests.cli.conftest import Sims, run_cli

HEADER = re.compile(
    r"connector +pulled +changed +mapped +labels +comments +(writes|planned) +requests"
)


def _summary_rows(stdout: str) -> dict[str, list[str]]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if HEADER.search(line))
    rows = {}
    for line in lines[start + 1 :]:
        cells = line.split()
        if len(cells) != 8:
            break
        rows[cells[0]] = cells[1:]
    return rows


def test_demo_shows_the_labels_and_comments_it_wrote(
    tmp_path: Path, clean_env: dict[str, str]
) -> None:
    result = run_cli(tmp_path, clean_env, "demo", "--directory", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "…" not in out.split("okrbridge sync")[-1].splitlines()[1]  # whole header names
    assert HEADER.search(out), out
    landed = out.split("What landed in each tool")[1].split("okrbridge sync")[0]
    sections = re.split(r"\n(?=[a-z-]+ \((?:jira|github|trello)\): )", landed)
    for instance in ("jira-mkt", "github-game", "trello-launch"):
        section = next(s for s in sections if s.startswith(f"{instance} ("))
        assert re.search(r"\+ okr:(off-track|on-track|needs-attention|not-started)", section)
        assert "comment on" in section
        assert "OKR status:" in section
    rows = _summary_rows(out)
    # Labels are counted when added: each instance added at least one.
    assert all(int(cells[3]) >= 1 for cells in rows.values()), rows
    assert out.count("reads such as Jira's search use POST") == 0
    assert "Three things to try next" in out
    assert "okrbridge explain" in out
    assert "serve-dashboard" in out


def test_demo_seeds_a_quarter_of_weekly_history(tmp_path: Path, clean_env: dict[str, str]) -> None:
    home = tmp_path / "demo"
    assert run_cli(tmp_path, clean_env, "demo", "--directory", str(home)).returncode == 0
    store = Store(f"sqlite:///{home / 'okrbridge-demo.sqlite3'}")
    try:
        with store.session() as session:
            moments = session.scalar(
                select(func.count(func.distinct(KeyResultHistoryRow.at))).where(
                    KeyResultHistoryRow.key_result_id == "kr-reviews"
                )
            )
    finally:
        store.dispose()
    assert moments is not None
    assert moments >= 8
    report = run_cli(
        tmp_path, clean_env, "report", "--since", "60d", "--config", str(home / "okrbridge.toml")
    )
    assert report.returncode == 0, report.stderr
    assert "→" in report.stdout  # status changes over the quarter


def test_dry_run_is_bounded_on_the_terminal_and_whole_in_out_and_json(
    sims: Sims, tmp_path: Path
) -> None:
    jira = sims.tools["jira-mkt"]
    jira.add_task(SeedTask("Fix [/b] parsing", "MKT", StatusCategory.TODO, ("reviews",)))
    for n in range(12):
        jira.add_task(
            SeedTask(f"Review reply {n} [bold]", "MKT", StatusCategory.TODO, ("reviews",))
        )
    out_file = tmp_path / "planned.txt"
    result = sims.run("sync", "--dry-run", "--out", str(out_file))
    assert result.returncode == 0, result.stderr
    assert "Fix [/b] parsing" in result.stdout  # a title is data, never markup
    assert "and 5 more" in result.stdout  # 2 + 13 open mapped Jira tasks, 10 shown
    assert HEADER.search(result.stdout)
    assert "+ new comment" in result.stdout
    assert "~ new comment" not in result.stdout
    listing = out_file.read_text(encoding="utf-8")
    assert listing.count("+ okr:") >= 15 + 2 + 2
    assert "Review reply 11 [bold]" in listing
    assert "Updated by okrbridge" in listing  # whole comments
    assert jira.write_count() == 0

    doc = json.loads(sims.run("sync", "--dry-run", "--json").stdout)
    jira_doc = next(c for c in doc["connectors"] if c["instance"] == "jira-mkt")
    footprint = jira_doc["footprint"]
    assert footprint["labels_added"] == len(footprint["tasks"]) == 15
    assert all(t["label"].startswith("okr:") for t in footprint["tasks"])
    assert all(t["comment"]["action"] == "create" for t in footprint["tasks"])
    assert all("OKR status" in t["comment"]["body"] for t in footprint["tasks"])
