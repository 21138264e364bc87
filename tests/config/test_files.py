"""Finding and reading the file: every failure names the file, nothing is ever written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from okrbridge.config import ConfigError, discover_config_path, load_config, render_starter_config
from okrbridge.connector.registry import ConnectorRegistry
from tests.config.conftest import EXAMPLE, Loader
from tests.config.helpers import BASE, ENV, edit, problems_of


def _only_problem(exc: pytest.ExceptionInfo[ConfigError]) -> tuple[str, int | None, str]:
    [problem] = exc.value.problems
    return problem.file, problem.line, problem.message


def test_missing_file(tmp_path: Path, registry: ConnectorRegistry) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={}, registry=registry)
    file, line, message = _only_problem(caught)
    assert (file, line) == (str(path), None)
    assert "file not found" in message
    assert "okrbridge init" in message
    assert str(caught.value) == f"{path}: {message}"


def test_directory_instead_of_file(tmp_path: Path, registry: ConnectorRegistry) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path, env={}, registry=registry)
    assert _only_problem(caught) == (
        str(tmp_path),
        None,
        "is a directory, not a configuration file",
    )


def test_unreadable_file(
    tmp_path: Path, registry: ConnectorRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "okrbridge.toml"
    path.write_text(BASE)
    path.chmod(0)
    if os.geteuid() == 0:  # root reads anything: simulate what a normal user gets

        def denied(self: Path) -> bytes:
            raise PermissionError(13, "Permission denied", str(self))

        monkeypatch.setattr(Path, "read_bytes", denied)
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=ENV, registry=registry)
    assert _only_problem(caught) == (str(path), None, "cannot read the file: permission denied")


def test_invalid_toml_reports_tomllib_line_and_column(load: Loader) -> None:
    text = edit(BASE, "target = 85", "target = 85 85")
    [problem] = problems_of(load, text)
    assert problem.line == text.splitlines().index("target = 85 85") + 1
    assert problem.key == ""
    assert problem.message.startswith("invalid TOML: ")
    assert "(column 13)" in problem.message


def test_invalid_toml_at_end_of_document(load: Loader) -> None:
    [problem] = problems_of(load, BASE + "[[objectives")
    assert problem.line == len((BASE + "[[objectives").splitlines())
    assert problem.message.startswith("invalid TOML:")


def test_duplicate_key_is_invalid_toml(load: Loader) -> None:
    text = edit(BASE, 'jql = "project = MKT"', 'jql = "a"\njql = "b"')
    [problem] = problems_of(load, text)
    assert problem.line == text.splitlines().index('jql = "b"') + 1


def test_non_utf8(tmp_path: Path, registry: ConnectorRegistry) -> None:
    path = tmp_path / "okrbridge.toml"
    path.write_bytes(BASE.replace('"Installs"', '"Instal\xe9s"').encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_config(path, env=ENV, registry=registry)
    file, line, message = _only_problem(caught)
    assert file == str(path)
    assert line == BASE.splitlines().index('title = "Installs"') + 1
    assert message == "not valid UTF-8 (byte 0xe9 at column 16); save it as UTF-8"


def test_byte_order_mark_is_accepted(tmp_path: Path, registry: ConnectorRegistry) -> None:
    path = tmp_path / "okrbridge.toml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    assert load_config(path, env=ENV, registry=registry).config.objectives[0].id == "grow"


def test_loading_writes_nothing(tmp_path: Path, load: Loader) -> None:
    load(BASE, env=ENV)
    with pytest.raises(ConfigError):
        load(edit(BASE, "target = 85", "target = 60"), env={})
    assert [p.name for p in tmp_path.iterdir()] == ["okrbridge.toml"]


# -- discovery --------------------------------------------------------------------------------


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    return path


def test_discovery_order(tmp_path: Path) -> None:
    local = _touch(tmp_path / "okrbridge.toml")
    from_env = _touch(tmp_path / "etc" / "team.toml")
    explicit = _touch(tmp_path / "mine.toml")
    env = {"OKRBRIDGE_CONFIG": str(from_env)}
    assert discover_config_path(Path("mine.toml"), env, tmp_path) == explicit
    assert discover_config_path(None, env, tmp_path) == from_env
    assert discover_config_path(None, {"OKRBRIDGE_CONFIG": ""}, tmp_path) == local


def test_explicit_path_that_does_not_exist_is_not_replaced(tmp_path: Path) -> None:
    _touch(tmp_path / "okrbridge.toml")
    with pytest.raises(ConfigError, match=r"given by --config does not exist"):
        discover_config_path(Path("typo.toml"), {}, tmp_path)
    with pytest.raises(ConfigError, match=r"named by \$OKRBRIDGE_CONFIG does not exist"):
        discover_config_path(None, {"OKRBRIDGE_CONFIG": "gone.toml"}, tmp_path)


def test_nothing_found_suggests_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        discover_config_path(None, {}, tmp_path)
    message = str(caught.value)
    assert "okrbridge init" in message
    assert "--config" in message
    assert "OKRBRIDGE_CONFIG" in message


# -- the starter file -------------------------------------------------------------------------


def test_starter_config_is_the_example_file() -> None:
    assert render_starter_config() == EXAMPLE.read_text(encoding="utf-8")


def test_example_loads_with_an_empty_environment(registry: ConnectorRegistry) -> None:
    loaded = load_config(EXAMPLE, env={}, registry=registry, check_secrets=True)
    config = loaded.config
    assert sorted(config.connectors) == ["github-game", "jira-mkt", "trello-launch"]
    assert all(not settings.enabled for settings in config.connectors.values())
    [objective] = config.objectives
    assert objective.title == "Grow our new mobile game from launch to leader"
    assert [kr.source.value for kr in objective.key_results] == ["initiatives", "tasks", "manual"]
    [initiative] = config.initiatives
    assert initiative.id == "review-campaign"
    assert [rule.connector for rule in initiative.match] == [
        "jira-mkt",
        "github-game",
        "trello-launch",
    ]


def test_example_with_connectors_enabled_asks_for_their_secrets(
    tmp_path: Path, registry: ConnectorRegistry
) -> None:
    path = tmp_path / "okrbridge.toml"
    path.write_text(render_starter_config().replace("enabled = false", "enabled = true"))
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={"GITHUB_TOKEN": "x"}, registry=registry)
    missing = [(p.key, p.message.split()[2]) for p in caught.value.problems]
    assert missing == [
        ("connectors.jira-mkt.email_env", "JIRA_EMAIL"),
        ("connectors.jira-mkt.token_env", "JIRA_API_TOKEN"),
        ("connectors.trello-launch.key_env", "TRELLO_API_KEY"),
        ("connectors.trello-launch.token_env", "TRELLO_TOKEN"),
        ("connectors.trello-launch.secret_env", "TRELLO_APP_SECRET"),
    ]


def test_example_loads_with_the_real_connectors() -> None:
    from okrbridge.connector.registry import RegistryError, default_registry

    registry = default_registry()
    for kind in ("jira", "github", "trello"):
        try:
            registry.get(kind)
        except RegistryError as exc:
            pytest.skip(f"connector {kind!r} is not importable yet: {exc}")
    loaded = load_config(EXAMPLE, env={}, registry=registry)
    assert sorted(loaded.config.connectors) == ["github-game", "jira-mkt", "trello-launch"]
