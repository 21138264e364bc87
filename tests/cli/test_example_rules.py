"""config.example.toml shows one match rule per kind; uncommented, they load and each is the
kind its comment says."""

from __future__ import annotations

from pathlib import Path

from okrbridge.config import load_config
from okrbridge.connector.registry import default_registry

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
MARK = "# More ways to map work"


def test_the_commented_rules_load_one_per_kind(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    head, block = text.split(MARK, 1)
    lines = block.split("# [[initiatives]]", 1)[1].split("\n")
    lines[0] = "# [[initiatives]]"
    uncommented = "\n".join(line[2:] if line.startswith("# ") else "" for line in lines)
    path = tmp_path / "okrbridge.toml"
    path.write_text(head + uncommented, encoding="utf-8")
    config = load_config(path, env={}, registry=default_registry(), check_secrets=False).config
    rules = {i.id: i.match for i in config.initiatives}["launch-readiness"]
    kinds = [
        {name for name, value in rule.model_dump(exclude_defaults=True).items() if value}
        for rule in rules
    ]
    assert kinds == [
        {"connector", "container"},  # a whole Jira project
        {"connector", "container"},  # a whole Trello board
        {"labels_any"},
        {"connector", "parent"},
        {"connector", "field"},
        {"title_regex"},
    ]
