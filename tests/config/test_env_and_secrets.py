"""Environment overrides of deployment settings, and reading connector secrets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from okrbridge.config import (
    ConfigError,
    ConfigProblem,
    apply_env_overrides,
    override_variables,
)
from tests.config.conftest import Loader
from tests.config.helpers import BASE, ENV, edit, line_of, problems_of


def test_store_url_override(load: Loader) -> None:
    text = edit(BASE, "[push]", '[store]\nurl = "sqlite:///file.db"\n[push]')
    url = "postgresql+psycopg://bridge:pw@db:5432/okr"
    loaded = load(text, env={**ENV, "OKRBRIDGE_STORE_URL": url})
    assert loaded.config.store.url == url


def test_overrides_are_typed_by_the_settings(load: Loader) -> None:
    env = {
        **ENV,
        "OKRBRIDGE_WEB_PORT": "9090",
        "OKRBRIDGE_ENGINE_TOLERANCE": "0.25",
        "OKRBRIDGE_PUSH_COMMENT": "false",
        "OKRBRIDGE_SCHEDULE_PULL_INTERVAL": "2m",
        "OKRBRIDGE_PUSH_LABEL_PREFIX": "",  # empty counts as unset
    }
    config = load(BASE, env=env).config
    assert config.web.port == 9090
    assert config.engine.tolerance == 0.25
    assert config.push.comment is False
    assert config.schedule.pull_interval == timedelta(minutes=2)
    assert config.push.label_prefix == "okr:"


def test_every_scalar_setting_of_the_deployment_sections_has_a_variable() -> None:
    variables = override_variables()
    assert variables["OKRBRIDGE_STORE_URL"] == ("store", "url")
    assert variables["OKRBRIDGE_SCHEDULE_FULL_INTERVAL"] == ("schedule", "full_interval")
    assert variables["OKRBRIDGE_WEB_MAX_BODY_BYTES"] == ("web", "max_body_bytes")
    assert {section for section, _ in variables.values()} == {
        "store",
        "engine",
        "push",
        "schedule",
        "web",
    }


def test_apply_does_not_modify_the_parsed_file() -> None:
    data = {"web": {"port": 1}}
    result, applied = apply_env_overrides(data, {"OKRBRIDGE_WEB_PORT": "2", "OKRBRIDGE_X": "y"})
    assert result == {"web": {"port": "2"}}
    assert applied == {("web", "port"): "OKRBRIDGE_WEB_PORT"}
    assert data == {"web": {"port": 1}}


def test_bad_override_names_the_variable_not_a_line(load: Loader) -> None:
    env = {**ENV, "OKRBRIDGE_WEB_PORT": "eighty", "OKRBRIDGE_PUSH_LABEL_PREFIX": "okr status:"}
    problems = problems_of(load, BASE, env=env)
    port = next(p for p in problems if p.key == "web.port")
    assert port.line is None
    assert port.message.startswith("Input should be a valid integer")
    assert port.message.endswith("(value from environment variable OKRBRIDGE_WEB_PORT)")
    assert "eighty" not in port.message  # values from the environment are not repeated
    prefix = next(p for p in problems if p.key == "push.label_prefix")
    assert prefix.line is None
    assert "OKRBRIDGE_PUSH_LABEL_PREFIX" in prefix.message
    assert len(problems) == 2


def test_bad_duration_override(load: Loader) -> None:
    [problem] = problems_of(load, BASE, env={**ENV, "OKRBRIDGE_SCHEDULE_JITTER": "300"})
    assert problem.key == "schedule.jitter"
    assert "is not a duration" in problem.message
    assert "OKRBRIDGE_SCHEDULE_JITTER" in problem.message


# -- secrets ----------------------------------------------------------------------------------


def test_secret_reads_the_named_variable(load: Loader) -> None:
    loaded = load(BASE, env=ENV)
    assert loaded.secret("jira-mkt", "token_env") == ENV["JIRA_API_TOKEN"]
    assert loaded.secret("jira-mkt", "email") == ENV["JIRA_EMAIL"]
    assert ENV["JIRA_API_TOKEN"] not in repr(loaded)


def test_secret_unset_is_located(load: Loader) -> None:
    loaded = load(BASE, env={"JIRA_EMAIL": "pm@acme.test"}, check_secrets=False)
    with pytest.raises(ConfigError) as caught:
        loaded.secret("jira-mkt", "token_env")
    [problem] = caught.value.problems
    assert problem.line == line_of(BASE, "token_env")
    assert problem.key == "connectors.jira-mkt.token_env"
    assert "JIRA_API_TOKEN is not set or empty" in problem.message
    assert "connector 'jira-mkt'" in problem.message


def test_secret_of_a_setting_that_names_no_variable(load: Loader) -> None:
    loaded = load(BASE, env=ENV)
    with pytest.raises(ConfigError, match="has no environment variable set in 'pat_env'"):
        loaded.secret("jira-mkt", "pat_env")
    with pytest.raises(ConfigError, match="no connector instance 'trello'"):
        loaded.secret("trello", "token_env")


def test_problem_and_error_text() -> None:
    problems = [
        ConfigProblem("okrbridge.toml", 12, "objectives[0].end", "end is not after start"),
        ConfigProblem("okrbridge.toml", None, "web.port", "bad"),
        ConfigProblem("okrbridge.toml", None, "", "file not found"),
    ]
    error = ConfigError(problems)
    assert str(error).splitlines() == [
        "okrbridge.toml:12: objectives[0].end: end is not after start",
        "okrbridge.toml: web.port: bad",
        "okrbridge.toml: file not found",
    ]
    assert error.problems == problems
