"""Load `okrbridge.toml`: parse, apply environment overrides, validate everything, report all.

Validation runs in passes that each add to one report, so a file with five mistakes gets five
located messages: the connector tables (type first, then the connector's own settings model),
the rest of the file against `Config`, the cross-section checks and, last, the secrets that
enabled connectors need. Loading never writes anything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from okrbridge.config.checks import cross_problems
from okrbridge.config.env import apply_env_overrides
from okrbridge.config.files import parse_toml, read_text
from okrbridge.config.locator import KeyLines, line_for, locate_keys
from okrbridge.config.messages import suggest
from okrbridge.config.partial import partial_config
from okrbridge.config.problems import ConfigError, ConfigProblem, KeyPath, format_path
from okrbridge.config.schema import Config, ConnectorSettings, ConnectorTable
from okrbridge.config.validate import validate_all

if TYPE_CHECKING:
    from okrbridge.connector.registry import ConnectorRegistry

__all__ = ["INSTANCE_NAME", "LoadedConfig", "load_config"]

M = TypeVar("M", bound=BaseModel)
INSTANCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass
class _Report:
    """Collects problems and locates them in the file (or names the overriding variable)."""

    file: str
    lines: KeyLines
    overrides: dict[KeyPath, str] = field(default_factory=dict)
    problems: list[ConfigProblem] = field(default_factory=list)

    def add(self, path: KeyPath, message: str) -> None:
        variable = next((v for p, v in self.overrides.items() if path[: len(p)] == p), None)
        if variable is not None:
            message = f"{message} (value from environment variable {variable})"
            line = None
        else:
            line = line_for(self.lines, path)
        self.problems.append(ConfigProblem(self.file, line, format_path(path), message))

    def validate(self, model: type[M], data: Any, prefix: KeyPath = ()) -> M | None:
        """`model` from `data`, or None after adding every problem found."""
        return validate_all(model, data, self.add, prefix=prefix, hide_input=set(self.overrides))

    def raise_if_any(self) -> None:
        if self.problems:
            ordered = sorted(self.problems, key=lambda p: (p.line is None, p.line or 0))
            raise ConfigError(ordered)


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration and where it came from."""

    path: Path
    config: Config
    env: Mapping[str, str] = field(repr=False, compare=False, default_factory=dict)
    lines: KeyLines = field(repr=False, compare=False, default_factory=dict)

    def secret(self, instance: str, field: str) -> str:
        """The value of the environment variable that setting `field` (e.g. `token_env`) of
        connector `instance` names; `ConfigError` at the setting's line when unset or empty."""
        report = _Report(str(self.path), self.lines)
        settings = self.config.connectors.get(instance)
        if settings is None:
            report.add(("connectors", instance), f"no connector instance '{instance}'")
            report.raise_if_any()
        assert settings is not None
        name = field if field.endswith("_env") else f"{field}_env"
        variable = getattr(settings, name, None)
        at: KeyPath = ("connectors", instance, name)
        if not isinstance(variable, str) or not variable:
            report.add(at, f"connector '{instance}' has no environment variable set in '{name}'")
        elif not self.env.get(variable):
            report.add(at, _unset_message(instance, name, variable))
        report.raise_if_any()
        return self.env[str(variable)]


def load_config(
    path: Path,
    *,
    env: Mapping[str, str],
    registry: ConnectorRegistry,
    check_secrets: bool = True,
) -> LoadedConfig:
    """Read and validate the configuration at `path`; `ConfigError` lists every problem."""
    text = read_text(path)
    data = parse_toml(path, text)
    report = _Report(str(path), locate_keys(text))
    data, report.overrides = apply_env_overrides(data, env)
    connectors = _connectors(data.get("connectors"), registry, report)
    core = {key: value for key, value in data.items() if key != "connectors"}
    config = report.validate(Config, core)
    raw_ids = _raw_ids(data)
    if config is None:
        config, remap = partial_config(core)
    else:
        remap = dict[KeyPath, KeyPath]()
    config = config.model_copy(update={"connectors": connectors})
    limits = _label_limits(connectors, registry)
    for location, message in cross_problems(config, **raw_ids, label_limits=limits):
        report.add(_remapped(location, remap), message)
    if check_secrets:
        _secrets(connectors, env, report)
    report.raise_if_any()
    return LoadedConfig(path=path, config=config, env=env, lines=report.lines)


def _label_limits(
    connectors: Mapping[str, ConnectorSettings], registry: ConnectorRegistry
) -> list[tuple[str, int]]:
    """The label length each configured instance's connector declares (validated types only)."""
    limits = []
    for name, settings in connectors.items():
        declared = registry.get(settings.type).max_label_length
        if declared is not None:
            limits.append((name, declared))
    return limits


def _connectors(
    raw: Any, registry: ConnectorRegistry, report: _Report
) -> dict[str, ConnectorSettings]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        report.add(("connectors",), "must be a table of instances, e.g. [connectors.jira-mkt]")
        return {}
    result: dict[str, ConnectorSettings] = {}
    for name, table in raw.items():
        settings = _connector(name, table, registry, report)
        if settings is not None:
            result[name] = settings
    return result


def _connector(
    name: str, table: Any, registry: ConnectorRegistry, report: _Report
) -> ConnectorSettings | None:
    from okrbridge.connector.registry import RegistryError  # lazy: the registry imports config

    at: KeyPath = ("connectors", name)
    if not INSTANCE_NAME.match(name):
        report.add(
            at,
            f"invalid instance name '{name}': use lower-case letters, digits, '-' "
            "and '_', starting with a letter or digit",
        )
    if not isinstance(table, dict):
        report.add(at, f"must be a table: [connectors.{name}] with a `type`")
        return None
    known = ", ".join(registry.names()) or "none installed"
    try:
        kind = ConnectorTable.model_validate(table).type
    except ValidationError:
        report.add((*at, "type"), f"needs `type` = the connector type (known: {known})")
        return None
    try:
        cls = registry.get(kind)
    except RegistryError as exc:
        best = None if kind in registry else suggest(kind, registry.names())
        hint = f" (did you mean '{best}'?)" if best else ""
        report.add((*at, "type"), f"{exc}{hint}")
        return None
    return report.validate(cls.settings_model, table, at)


def _raw_ids(data: Mapping[str, Any]) -> dict[str, set[str]]:
    """Ids written in the file, even in parts that failed validation."""

    def ids(items: Any, inner: str | None = None) -> set[str]:
        found: set[str] = set()
        # A table written where an array of tables belongs still names its ids.
        for item in items if isinstance(items, list) else [items]:
            if not isinstance(item, dict):
                continue
            if inner is None and isinstance(item.get("id"), str):
                found.add(item["id"])
            elif inner is not None:
                found |= ids(item.get(inner))
        return found

    connectors = data.get("connectors")
    return {
        "known_key_results": ids(data.get("objectives"), "key_results"),
        "linked_key_results": ids(data.get("initiatives"), "key_results"),
        "known_connectors": set(connectors) if isinstance(connectors, dict) else set(),
    }


def _remapped(location: KeyPath, remap: Mapping[KeyPath, KeyPath]) -> KeyPath:
    head = location[:2]
    return (*remap.get(head, head), *location[2:])


def _secrets(
    connectors: Mapping[str, ConnectorSettings], env: Mapping[str, str], report: _Report
) -> None:
    for name, settings in connectors.items():
        if not settings.enabled:
            continue  # validated, but its secrets are only needed once it is switched on
        for setting, variable in settings.env_fields().items():
            if not env.get(variable):
                report.add(("connectors", name, setting), _unset_message(name, setting, variable))


def _unset_message(instance: str, setting: str, variable: str) -> str:
    return (
        f"environment variable {variable} is not set or empty (connector '{instance}' reads "
        f"its {setting.removesuffix('_env').replace('_', ' ')} from it); set it, or set "
        "enabled = false for this connector"
    )
