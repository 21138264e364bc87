"""Fuzz: random mutations of `config.example.toml` through the real loader and `config check`
never end in a traceback: the answer is exit 0 (valid) or exit 2 (located problems), nothing else.

Mutations work on the text, line by line, so they also make TOML that does not parse: a value
replaced by another type, a negative, nan/inf, a huge number, unicode or an empty string; a
key deleted or written twice; a line of garbage. The CLI runs in-process (typer's CliRunner);
300 mutants from a fixed seed, so a failure repeats.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

from okrbridge.cli import app
from okrbridge.config import render_starter_config

EXAMPLE = render_starter_config()
LINES = EXAMPLE.splitlines()

VALUES = [
    "true",
    "false",
    "0",
    "-1",
    "-0.0",
    "1",
    "nan",
    "-nan",
    "inf",
    "-inf",
    "1e309",
    "-1e309",
    "1e20",
    "99999999999999999999999999",
    "1e-320",
    '""',
    '" "',
    '"ünïcödé ✓ 日本 🚀"',
    '"\\u0000"',
    '"-5m"',
    '"0s"',
    '"1e400s"',
    '"99999999999999d"',
    '"nan"',
    '"sqlite:///x"',
    '"mysql://u@h:notaport/db"',
    '"ghp_16C7e42F292c6912E7710c838347Ae178B4a"',
    "[]",
    "[1, true]",
    '["a", 2]',
    "{}",
    "{ a = 1 }",
    "2026-10-1",
    "2026-02-30",
    "9999-12-31",
    "0001-01-01",
    "12:00:00",
]

KINDS = ["value"] * 5 + ["delete", "repeat", "negate", "garbage"]
"""Most mutations change a value: that is where the loader must hold its ground."""
GARBAGE = ["=", "[", "[[objectives]]", "x = ", "é = 1", "\t\u00a0", "key = 'unterminated"]
MUTANTS = 300
"""Configurations tried per run (each with 1 to 6 mutations); the seed makes them repeatable."""


def mutate(lines: list[str], rng: random.Random) -> tuple[list[str], str]:
    """`lines` with one random mutation, and what it was (for the failure report)."""
    result = list(lines)
    kind = rng.choice(KINDS)
    assignments = [n for n, line in enumerate(result) if re.match(r"^\s*[A-Za-z_]+\s*=", line)]
    at = rng.choice(assignments)
    if kind == "value":
        value = rng.choice(VALUES)
        result[at] = f"{result[at].split('=', 1)[0]}= {value}"
    elif kind == "delete":
        del result[at]
    elif kind == "repeat":
        result.insert(at, result[at])
    elif kind == "negate":
        result[at] = re.sub(r"=\s*(\d)", r"= -\1", result[at])
    else:
        result.insert(rng.randrange(len(result) + 1), rng.choice(GARBAGE))
    return result, f"{kind} {result[at] if at < len(result) else ''!r}"


def check(config: Path) -> str | None:
    """None when `config check` answers 0 or 2 without a traceback, else what happened."""
    result = CliRunner().invoke(app, ["config", "check", "--config", str(config)], env={})
    crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
    if result.exit_code not in (0, 2) or crashed or "Traceback" in result.output:
        return f"exit {result.exit_code}: {result.exception!r}"
    if "ghp_16C7e42F" in result.output:
        return "echoed a secret pasted into an _env setting"
    return None


def test_config_check_answers_0_or_2_and_never_a_traceback(tmp_path: Path) -> None:
    rng = random.Random(20261204)
    found: dict[str, list[str]] = {}
    codes: Counter[bool] = Counter()
    for number in range(MUTANTS):
        lines, done = LINES, []
        for _ in range(rng.randint(1, 6)):
            lines, what = mutate(lines, rng)
            done.append(what)
        config = tmp_path / f"mutant-{number}.toml"
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        problem = check(config)
        if problem is not None:
            found.setdefault(problem, []).append("; ".join(done))
        codes[problem is None] += 1
    assert not found, "\n".join(f"{p} <- {cases[:3]}" for p, cases in found.items())
    assert codes[True] == MUTANTS


def test_the_unmutated_example_passes() -> None:
    assert check(Path(__file__).parents[2] / "config.example.toml") is None
