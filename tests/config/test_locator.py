"""The locator maps key paths to the lines where they are written."""

from __future__ import annotations

import tomllib

from hypothesis import given, settings
from hypothesis import strategies as st

from okrbridge.config.locator import line_for, locate_keys

DOC = '''\
# comment with [brackets] and key = "value"
title = "x"  # trailing
[store]
url = "sqlite:///x.db"

[[objectives]]
id = "o1"
notes = """
[[objectives]]
fake = 1 \\"""
"""
[[objectives.key_results]]
id = "a"
tasks = { connector = "jira", labels_any = ["a", "b"] }
[[objectives.key_results]]
id = "b"
"dotted key".'quoted.part' = 3

[[objectives]]
id = "o2"
literal = \'\'\'
[not a table]
\'\'\'
[[objectives.key_results]]
id = "c"
target = 5

[[initiatives]]
id = "i1"
match = [
  { connector = "jira-mkt", container = "MKT" },  # first
  # a comment between elements
  { connector = "github-game", title_regex = "^x(" },
]
key_results = [{ id = "c", weight = 2 }]
tags.nested.deep = 1
[connectors.jira-mkt]
type = "jira"
'''


def test_document_is_valid_toml() -> None:
    tomllib.loads(DOC)


def test_tables_and_array_of_tables_are_counted_per_parent() -> None:
    lines = locate_keys(DOC)
    assert lines[("store", "url")] == 4
    assert lines[("objectives", 0)] == 6
    assert lines[("objectives", 0, "key_results", 0)] == 12
    assert lines[("objectives", 0, "key_results", 1, "id")] == 16
    assert lines[("objectives", 1, "id")] == 20
    assert lines[("objectives", 1, "key_results", 0, "target")] == 26
    assert ("objectives", 2) not in lines  # the fake header inside a string is skipped
    assert ("not a table",) not in lines


def test_inline_tables_arrays_and_dotted_keys() -> None:
    lines = locate_keys(DOC)
    assert lines[("objectives", 0, "key_results", 0, "tasks", "labels_any", 1)] == 14
    assert lines[("objectives", 0, "key_results", 1, "dotted key", "quoted.part")] == 17
    assert lines[("initiatives", 0, "match", 0, "container")] == 31
    assert lines[("initiatives", 0, "match", 1)] == 33
    assert lines[("initiatives", 0, "match", 1, "title_regex")] == 33
    assert lines[("initiatives", 0, "key_results", 0, "weight")] == 35
    assert lines[("initiatives", 0, "tags", "nested", "deep")] == 36
    assert lines[("connectors", "jira-mkt", "type")] == 38


def test_missing_keys_fall_back_to_the_enclosing_table() -> None:
    lines = locate_keys(DOC)
    assert line_for(lines, ("objectives", 1, "key_results", 0, "title")) == 24
    assert line_for(lines, ("connectors", "jira-mkt", "token_env")) == 37
    assert line_for(lines, ("web", "port")) is None


def test_garbage_does_not_raise() -> None:
    lines = locate_keys("a = [1, 2\n[[x")
    assert lines[("a",)] == 1
    assert lines[("a", 1)] == 1


_keys = st.text(alphabet="abcxyz_-", min_size=1, max_size=6)
_scalars = st.one_of(
    st.integers(),
    st.booleans(),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=8),
)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_keys, st.lists(st.dictionaries(_keys, _scalars), max_size=3), max_size=4))
def test_every_array_of_tables_element_is_found(doc: dict[str, list[dict[str, object]]]) -> None:
    text = ""
    expected = {}
    for name, elements in doc.items():
        for index, element in enumerate(elements):
            text += f'\n[["{name}"]]\n'
            expected[(name, index)] = text.count("\n")
            for key, value in element.items():
                literal = tomllib_literal(value)
                text += f'"{key}" = {literal}\n'
                expected[(name, index, key)] = text.count("\n")
    assert tomllib.loads(text) == {k: v for k, v in doc.items() if v}
    lines = locate_keys(text)
    for path, line in expected.items():
        assert lines[path] == line


def tomllib_literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _paths(value: object, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found: list[tuple[str | int, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def test_every_path_of_the_example_and_the_sample_is_located() -> None:
    from tests.config.conftest import EXAMPLE

    for text in (DOC, EXAMPLE.read_text(encoding="utf-8")):
        lines = locate_keys(text)
        missing = [path for path in _paths(tomllib.loads(text)) if path not in lines]
        assert missing == []
        assert len(lines) == len(_paths(tomllib.loads(text)))
