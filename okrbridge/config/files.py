"""Finding and reading the configuration file, and the starter file `okrbridge init` writes."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from okrbridge.config.problems import ConfigError, ConfigProblem

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_NAME",
    "discover_config_path",
    "parse_toml",
    "read_text",
    "render_starter_config",
]

CONFIG_ENV = "OKRBRIDGE_CONFIG"
DEFAULT_NAME = "okrbridge.toml"
_INIT_HINT = "run `okrbridge init` to create a starter file"
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_DATE_LIKE = re.compile(r"=\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
"""A value that looks like a date (2026-10-1, 2026/10/01, 01.10.2026) after `=`."""
_DATE_HINT = "dates are written YYYY-MM-DD without quotes, e.g. start = 2026-10-01"


def _fail(file: str, message: str, line: int | None = None) -> ConfigError:
    return ConfigError([ConfigProblem(file, line, "", message)])


def discover_config_path(explicit: Path | None, env: Mapping[str, str], cwd: Path) -> Path:
    """The file to load: the `--config` value, else `$OKRBRIDGE_CONFIG`, else `./okrbridge.toml`.

    A path that was asked for explicitly (option or variable) must exist; it is never silently
    replaced by the next candidate.
    """
    if explicit is not None:
        path = cwd / explicit
        if not path.exists():
            raise _fail(str(explicit), f"file given by --config does not exist; {_INIT_HINT}")
        return path
    from_env = env.get(CONFIG_ENV)
    if from_env:
        path = cwd / from_env
        if not path.exists():
            raise _fail(from_env, f"file named by ${CONFIG_ENV} does not exist; {_INIT_HINT}")
        return path
    path = cwd / DEFAULT_NAME
    if path.exists():
        return path
    raise _fail(
        str(path),
        f"no configuration found (no --config, ${CONFIG_ENV} unset, no ./{DEFAULT_NAME}); "
        f"{_INIT_HINT}, or pass --config PATH",
    )


def read_text(path: Path) -> str:
    """The file's text; every way of failing becomes a `ConfigError` naming the file."""
    file = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _fail(file, f"file not found; {_INIT_HINT}") from None
    except IsADirectoryError:
        raise _fail(file, "is a directory, not a configuration file") from None
    except PermissionError:
        raise _fail(file, "cannot read the file: permission denied") from None
    except OSError as exc:
        raise _fail(file, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig")  # tolerate the byte-order mark some editors write
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = raw[exc.start : exc.start + 1].hex()
        raise _fail(
            file, f"not valid UTF-8 (byte 0x{bad} at column {column}); save it as UTF-8", line
        ) from None


def parse_toml(path: Path, text: str) -> dict[str, Any]:
    """Parse the text; a syntax error is reported at tomllib's line and column."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POSITION.search(message)
        if match is None:  # "(at end of document)" and the like
            line = text.count("\n") + 1 if "end of document" in message else None
            base = message.replace("(at end of document)", "at end of document").strip()
            raise _fail(str(path), f"invalid TOML: {base}", line) from None
        base = message[: match.start()]
        line = int(match.group(1))
        hint = _date_hint(text, line)
        raise _fail(
            str(path), f"invalid TOML: {base} (column {match.group(2)}){hint}", line
        ) from None


def _date_hint(text: str, line: int) -> str:
    """A hint on how dates are written, when the failing line holds something date-like."""
    lines = text.splitlines()
    if not 1 <= line <= len(lines):
        return ""
    return f"; {_DATE_HINT}" if _DATE_LIKE.search(lines[line - 1]) else ""


def render_starter_config() -> str:
    """Text of the commented starter configuration (`config.example.toml`).

    Installed from a wheel it is the package resource `okrbridge/config/example.toml`; in a
    source checkout it is the file at the repository root.
    """
    try:
        resource = resources.files("okrbridge.config").joinpath("example.toml")
        if resource.is_file():
            return resource.read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError):
        pass
    return (Path(__file__).parents[2] / "config.example.toml").read_text(encoding="utf-8")
