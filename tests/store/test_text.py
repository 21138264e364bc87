"""Text every store can keep: lone surrogates become U+FFFD, NUL is dropped, pairs combine."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from okrbridge.store.text import clean, clean_text, may_need_cleaning


def test_lone_surrogates_are_replaced_nul_dropped_pairs_kept() -> None:
    assert clean_text("a\ud800b") == "a\ufffdb"
    assert clean_text("\udc80x\ud83d") == "\ufffdx\ufffd"
    assert clean_text("a\x00b\x00") == "ab"
    assert clean_text("\ud83d\ude00") == "\U0001f600"  # a pair as two code points: one char
    assert clean_text("caf\xe9 \U0001f600 \ud55c") == "caf\xe9 \U0001f600 \ud55c"  # untouched


def test_clean_walks_json_values_keys_included() -> None:
    value = {"t\x00": ["a\ud800", ("b", 1, None)], "n": {"\udfff": 2.5}}
    assert clean(value) == {"t": ["a\ufffd", ("b", 1, None)], "n": {"\ufffd": 2.5}}


@given(st.text(alphabet=st.characters(codec=None), max_size=30))
def test_cleaned_text_encodes_to_utf8_without_nul_and_is_stable(text: str) -> None:
    cleaned = clean_text(text)
    cleaned.encode("utf-8")  # PostgreSQL's client encoding accepts it
    assert "\x00" not in cleaned
    assert clean_text(cleaned) == cleaned
    if not may_need_cleaning(json.dumps(text)):
        assert cleaned == text  # the fast check never misses a string that needs work
