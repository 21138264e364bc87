"""Cross-section checks on a validated configuration, and on a partially valid file."""

from __future__ import annotations

import tomllib

from okrbridge.config import cross_problems
from okrbridge.config.schema import Config, PushSettings
from tests.config.conftest import Loader
from tests.config.helpers import BASE, ENV, edit, line_of, problems_of


def _config(text: str) -> Config:
    data = tomllib.loads(text)
    data.pop("connectors")
    return Config.model_validate(data)


def test_a_sound_config_has_no_cross_problems() -> None:
    assert cross_problems(_config(BASE), known_connectors={"jira-mkt"}) == []


def test_locations_are_key_paths() -> None:
    text = edit(BASE, 'connector = "jira-mkt"', 'connector = "jira-mkt", title_regex = "a{2,1}"')
    assert cross_problems(_config(text)) == [
        (
            ("initiatives", 0, "match", 0, "connector"),
            "unknown connector instance 'jira-mkt' (none are defined)",
        ),
        (
            ("initiatives", 0, "match", 0, "title_regex"),
            "invalid regular expression: min repeat greater than max repeat at position 2",
        ),
    ]


def test_label_prefix_that_makes_status_labels_too_long() -> None:
    config = _config(BASE)
    long_prefix = PushSettings.model_construct(label_prefix="p" * 36)  # past the model's limit
    config = config.model_copy(update={"push": long_prefix})
    limits = [("jira-mkt", 255), ("gh", 50)]
    problems = cross_problems(config, known_connectors={"jira-mkt"}, label_limits=limits)
    assert problems == [
        (
            ("push", "label_prefix"),
            f"label '{'p' * 36}needs-attention' is longer than 50 characters "
            "(the label limit of connector 'gh'); use a shorter prefix",
        ),
        (
            ("initiatives", 0, "id"),
            f"label '{'p' * 36}review-campaign' is longer than 50 characters "
            "(the label limit of connector 'gh'); use a shorter id",
        ),
    ]


GITHUB_TABLE = """
[connectors.gh]
type = "github"
token_env = "JIRA_API_TOKEN"
owner = "acme"
projects = [1]
"""


def test_a_label_limit_applies_only_where_a_connector_declares_it(load: Loader) -> None:
    long_id = edit(BASE, 'id = "review-campaign"', f'id = "{"x" * 47}"')
    load(long_id, env=ENV)  # Jira declares no limit: a long label is fine there
    problems = problems_of(load, long_id + GITHUB_TABLE)
    assert [str(p) for p in problems] == [
        f"{p.file}:{line_of(long_id, 'x' * 47)}: initiatives[0].id: label 'okr:{'x' * 47}' is "
        "longer than 50 characters (the label limit of connector 'gh'); use a shorter id"
        for p in problems[:1]
    ]


def test_ids_in_invalid_parts_are_not_reported_as_unknown(load: Loader) -> None:
    # The key result is invalid (bad metric), so its objective is left out of the checks; the
    # initiative that links to it must not be told that the key result does not exist.
    text = edit(BASE, 'metric = "percent"', 'metric = "ratio"')
    text = edit(text, 'container = "MKT"', 'container = "MKT", title_regex = "("')
    problems = problems_of(load, text, env=ENV)
    assert [(p.line, p.key) for p in problems] == [
        (line_of(text, "metric ="), "objectives[0].key_results[0].metric"),
        (line_of(text, "title_regex"), "initiatives[0].match[0].title_regex"),
    ]


def test_cross_problems_are_located_at_written_positions_in_partial_files(load: Loader) -> None:
    # The first initiative is invalid and left out; the second one's problem must still be
    # reported as initiatives[1], not as the first kept initiative.
    broken = '[[initiatives]]\nid = "broken"\ntitle = "No links"\nkey_results = []\n\n'
    at = BASE.index("[[initiatives]]")
    text = BASE[:at] + broken + BASE[at:].replace('{ id = "kr-reviews" }', '{ id = "kr-nope" }')
    problems = problems_of(load, text, env=ENV)
    assert [(p.key, p.line, p.message) for p in problems] == [
        (
            "objectives[0].key_results[0].source",
            line_of(text, 'source = "initiatives"'),
            "source = \"initiatives\" but no initiative links to key result 'kr-reviews' "
            '(add it to an initiative\'s key_results, or use source = "manual")',
        ),
        ("initiatives[0].key_results", line_of(text, "key_results = []"), "needs at least 1 item"),
        (
            "initiatives[1].key_results[0].id",
            line_of(text, "kr-nope"),
            "unknown key result 'kr-nope' (known: kr-installs, kr-reviews)",
        ),
    ]
