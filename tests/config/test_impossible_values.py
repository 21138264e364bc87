"""The impossible is rejected at its line: bad durations, non-finite numbers, booleans where
numbers belong (and the reverse), unusable store URLs, secrets pasted into `*_env` settings."""

from __future__ import annotations

import pytest

from tests.config.conftest import Loader
from tests.config.helpers import BASE, ENV, edit, line_of, problem_at, problems_of

KR0 = "objectives[0].key_results[0]"

# (case id, text appended or (old, new), key path, gist of the message)
SECTIONS = [
    ("negative-pull", "[schedule]\npull_interval = -1\n", "schedule.pull_interval", "negative"),
    ("zero-pull", '[schedule]\npull_interval = "0s"\n', "schedule.pull_interval", "at least 1"),
    ("sub-second-full", "[schedule]\nfull_interval = 0.5\n", "schedule.full_interval", "at least"),
    ("inf-full", "[schedule]\nfull_interval = inf\n", "schedule.full_interval", "finite"),
    ("nan-jitter", "[schedule]\njitter = nan\n", "schedule.jitter", "finite"),
    ("huge-debounce", "[schedule]\ndebounce = 1e20\n", "schedule.debounce", "longer than 366"),
    ("huge-days", '[schedule]\ndebounce = "99999999999d"\n', "schedule.debounce", "longer than"),
    ("bool-duration", "[schedule]\njitter = true\n", "schedule.jitter", "boolean"),
    ("bool-port", "[web]\nport = true\n", "web.port", "expected a number, got a boolean"),
    ("bool-body", "[web]\nmax_body_bytes = true\n", "web.max_body_bytes", "got a boolean"),
    ("huge-body", "[web]\nmax_body_bytes = 1e300\n", "web.max_body_bytes", "maximum size"),
    ("bool-tolerance", "[engine]\ntolerance = true\n", "engine.tolerance", "got a boolean"),
    ("nan-tolerance", "[engine]\ntolerance = nan\n", "engine.tolerance", "finite"),
    (
        "number-bool",
        "[engine]\nconfidence_overrides = 1\n",
        "engine.confidence_overrides",
        "expected true or false, got a number",
    ),
    (
        "unknown-dialect",
        '[store]\nurl = "mysql://db.example.com/okr"\n',
        "store.url",
        "unknown database 'mysql'",
    ),
    ("bad-scheme", '[store]\nurl = "notaurl"\n', "store.url", "is not a database URL"),
    (
        "port-not-number",
        '[store]\nurl = "postgresql://u:pw@db:notaport/okr"\n',
        "store.url",
        "port that is not a number",
    ),
    ("port-range", '[store]\nurl = "postgresql://u@db:99999/okr"\n', "store.url", "1..65535"),
    (
        "other-driver",
        '[store]\nurl = "postgresql+asyncpg://u@db/okr"\n',
        "store.url",
        "driver 'asyncpg'",
    ),
]


@pytest.mark.parametrize(("case", "section", "key", "gist"), SECTIONS, ids=[c[0] for c in SECTIONS])
def test_impossible_settings_are_located_errors(
    load: Loader, case: str, section: str, key: str, gist: str
) -> None:
    text = section + "\n" + BASE
    problem = problem_at(problems_of(load, text), key)
    assert gist in problem.message, case
    assert problem.line == 2  # the value's own line, under its section header
    assert "pw" not in problem.message  # a store URL's password is never repeated


KR_CASES = [
    ("nan-target", "target = 85", "target = nan", f"{KR0}.target", "finite"),
    ("inf-target", "target = 85", "target = inf", f"{KR0}.target", "finite"),
    ("bool-target", "target = 85", "target = true", f"{KR0}.target", "got a boolean"),
    ("overflow-target", "target = 85", "target = 1e309", f"{KR0}.target", "finite"),
    (
        "bool-kr-tolerance",
        "target = 85",
        "target = 85\ntolerance = true",
        f"{KR0}.tolerance",
        "got a boolean",
    ),
    ("inf-weight", "target = 85", "target = 85\nweight = inf", f"{KR0}.weight", "finite"),
    (
        "nan-plan",
        "target = 85",
        "target = 85\nplan = [{ date = 2026-11-01, value = nan }]",
        f"{KR0}.plan[0].value",
        "finite",
    ),
    (
        "inf-link-weight",
        '{ id = "kr-reviews" }',
        '{ id = "kr-reviews", weight = inf }',
        "initiatives[0].key_results[0].weight",
        "finite",
    ),
    (
        "bool-enabled",
        'type = "jira"',
        'type = "jira"\nenabled = 1',
        "connectors.jira-mkt.enabled",
        "expected true or false",
    ),
]


@pytest.mark.parametrize(
    ("case", "old", "new", "key", "gist"), KR_CASES, ids=[c[0] for c in KR_CASES]
)
def test_impossible_numbers_in_definitions_are_located_errors(
    load: Loader, case: str, old: str, new: str, key: str, gist: str
) -> None:
    text = edit(BASE, old, new)
    problem = problem_at(problems_of(load, text), key)
    assert gist in problem.message, case


@pytest.mark.parametrize(
    "pasted",
    [
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "ATATT3xFfGF0T4nX1s_yJ-1aB2",
        "0123456789abcdef0123456789abcdef",
        "s3cr3t token with spaces",
    ],
)
def test_a_secret_pasted_into_an_env_setting_is_named_but_never_echoed(
    load: Loader, pasted: str
) -> None:
    text = edit(BASE, 'token_env = "JIRA_API_TOKEN"', f'token_env = "{pasted}"')
    problems = problems_of(load, text, env={**ENV, pasted: "x"})
    problem = problem_at(problems, "connectors.jira-mkt.token_env")
    assert "looks like a secret, not a variable name" in problem.message
    assert problem.line == line_of(text, "token_env =")
    assert all(pasted not in str(p) and pasted[:12] not in str(p) for p in problems)


def test_ordinary_variable_names_still_pass(load: Loader) -> None:
    text = edit(BASE, 'token_env = "JIRA_API_TOKEN"', 'token_env = "jira_token_2"')
    loaded = load(text, env={**ENV, "jira_token_2": "x"})
    assert loaded.config.connectors["jira-mkt"].env_fields()["token_env"] == "jira_token_2"


def test_environment_strings_still_coerce(load: Loader) -> None:
    env = {**ENV, "OKRBRIDGE_WEB_PORT": "9090", "OKRBRIDGE_ENGINE_CONFIDENCE_OVERRIDES": "false"}
    loaded = load(BASE, env=env)
    assert loaded.config.web.port == 9090
    assert loaded.config.engine.confidence_overrides is False


def test_a_nan_from_the_environment_is_rejected_without_a_line(load: Loader) -> None:
    problems = problems_of(load, BASE, env={**ENV, "OKRBRIDGE_ENGINE_TOLERANCE": "nan"})
    problem = problem_at(problems, "engine.tolerance")
    assert "finite" in problem.message
    assert "OKRBRIDGE_ENGINE_TOLERANCE" in problem.message
