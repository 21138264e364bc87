"""`describe_sandbox` text and the TOML it embeds."""

from __future__ import annotations

import math
import shlex
import tomllib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox_example import ItemsSimulator

from okrbridge.sandbox import SimulatedTool, config_snippet, describe_sandbox
from okrbridge.sandbox._toml import dumps_table


def _without_none(table: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in table.items() if value is not None}


def test_example_simulator_satisfies_the_protocol() -> None:
    assert isinstance(ItemsSimulator(), SimulatedTool)


def test_describes_url_credentials_and_a_config_that_parses() -> None:
    sim = ItemsSimulator()
    url = "http://127.0.0.1:40001"

    text = describe_sandbox({"items": (url, sim)})

    assert f"URL: {url}" in text
    for key, value in sim.env().items():
        line = f"export {key}={shlex.quote(value)}"
        assert line in text
        assert shlex.split(line.removeprefix("export "))[0] == f"{key}={value}"
    config_lines = text.split("Config:\n", 1)[1].splitlines()
    parsed = tomllib.loads("\n".join(line.removeprefix("  ") for line in config_lines))
    assert parsed == {"connectors": {"items": _without_none(sim.settings(url))}}


def test_several_simulators_get_one_combined_config() -> None:
    servers = {
        "items-a": ("http://127.0.0.1:40001", ItemsSimulator()),
        "items b": ("http://127.0.0.1:40002", ItemsSimulator()),
    }

    text = describe_sandbox(servers)

    combined = text.split("== okrbridge.toml (all connectors) ==\n", 1)[1]
    parsed = tomllib.loads(combined)
    assert parsed["connectors"]["items-a"]["base_url"] == "http://127.0.0.1:40001"
    assert parsed["connectors"]["items b"]["base_url"] == "http://127.0.0.1:40002"
    assert text.count("== ") == 3


def test_config_snippet_roundtrips_the_settings() -> None:
    sim = ItemsSimulator()
    table = tomllib.loads(config_snippet("items", "http://127.0.0.1:1", sim))
    assert table["connectors"]["items"] == _without_none(sim.settings("http://127.0.0.1:1"))


VALUES: dict[str, Any] = {
    "plain": "text",
    "quotes": 'say "hi" \\ back\\slash',
    "controls": "tab\tnew\nline\r\x00\x1f\x7f",
    "unicode": "naïve ✓ 日本",
    "int": -42,
    "big": 2**62,
    "float": 0.1,
    "exp": 1e300,
    "bool": True,
    "list": [1, "two", [3.5, False]],
    "empty": [],
    "inline": [{"a": 1, "b c": "d"}],
    "when": datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
    "needs quoting.key": "x",
    "trailing\n": "y",
    "": "empty key",
}


def test_emitter_writes_what_tomllib_reads_back() -> None:
    parsed = tomllib.loads(dumps_table(["t"], VALUES))
    assert parsed == {"t": VALUES}


def test_emitter_nests_tables_and_drops_none() -> None:
    text = dumps_table(["a", "b.c"], {"x": None, "y": 1, "sub": {"z": "w", "deep": {"k": 2}}})

    assert tomllib.loads(text) == {"a": {"b.c": {"y": 1, "sub": {"z": "w", "deep": {"k": 2}}}}}
    assert text.splitlines()[0] == '[a."b.c"]'


def test_durations_are_written_as_the_config_reads_them() -> None:
    text = dumps_table(
        ["t"], {"every": timedelta(seconds=90), "soon": timedelta(milliseconds=1500)}
    )
    assert tomllib.loads(text) == {"t": {"every": "90s", "soon": "1.5s"}}


def test_nan_and_inf_survive() -> None:
    parsed = tomllib.loads(dumps_table(["t"], {"n": math.nan, "i": -math.inf}))["t"]
    assert math.isnan(parsed["n"])
    assert parsed["i"] == -math.inf


@pytest.mark.parametrize("value", [b"bytes", object()])
def test_unwritable_values_are_refused(value: object) -> None:
    with pytest.raises(TypeError):
        dumps_table(["t"], {"v": value})


# Generation speed depends on the machine's load (2 shared cores), not on the code under test.
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text(min_size=1), st.text() | st.integers() | st.booleans()))
def test_any_flat_table_roundtrips(table: dict[str, Any]) -> None:
    assert tomllib.loads(dumps_table(["t"], table)) == {"t": table}
