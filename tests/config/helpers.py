"""Helpers shared by the config tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from okrbridge.config import ConfigError, ConfigProblem, LoadedConfig

BASE = """\
[push]
label_prefix = "okr:"

[connectors.jira-mkt]
type = "jira"
base_url = "https://acme.atlassian.net"
jql = "project = MKT"
email_env = "JIRA_EMAIL"
token_env = "JIRA_API_TOKEN"

[[objectives]]
id = "grow"
title = "Grow our new mobile game"
start = 2026-10-01
end = 2026-12-31

[[objectives.key_results]]
id = "kr-reviews"
title = "Reviews"
metric = "percent"
start = 60
target = 85
source = "initiatives"

[[objectives.key_results]]
id = "kr-installs"
title = "Installs"
target = 250000

[[initiatives]]
id = "review-campaign"
title = "Campaign"
key_results = [{ id = "kr-reviews" }]
match = [
  { connector = "jira-mkt", container = "MKT", labels_any = ["reviews"] },
]
"""
ENV = {"JIRA_EMAIL": "pm@acme.test", "JIRA_API_TOKEN": "s3cr3t-token-value"}


def edit(text: str, old: str, new: str) -> str:
    """Replace exactly one occurrence of `old` (so a test cannot silently edit nothing)."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    """1-based line of the only line containing `needle`."""
    found = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(found) == 1, f"{needle!r} is on lines {found}"
    return found[0]


def problems_of(
    load: Callable[..., LoadedConfig], text: str, **kwargs: object
) -> list[ConfigProblem]:
    kwargs.setdefault("env", ENV)
    with pytest.raises(ConfigError) as caught:
        load(text, **kwargs)
    return caught.value.problems


def problem_at(problems: list[ConfigProblem], key: str) -> ConfigProblem:
    found = [p for p in problems if p.key == key]
    assert len(found) == 1, f"no single problem at {key!r}: {[str(p) for p in problems]}"
    return found[0]
