"""Cursor helpers: encoding, time arithmetic, monotonic capped advance, overlap de-duplication."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from okrbridge.connector import CursorError
from okrbridge.connector.cursor import (
    Deduper,
    advance,
    decode_cursor,
    encode_cursor,
    epoch_millis,
    from_epoch_millis,
    overlap_start,
)

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
aware = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


def test_encode_is_stable_and_versioned() -> None:
    a = encode_cursor({"updated": 5, "board": "b1"})
    b = encode_cursor({"board": "b1", "updated": 5})
    assert a == b == '{"board":"b1","updated":5,"v":1}'
    assert decode_cursor(a) == {"board": "b1", "updated": 5}


@pytest.mark.parametrize("cursor", [None, ""])
def test_no_cursor_means_from_the_start(cursor: str | None) -> None:
    assert decode_cursor(cursor) == {}


@pytest.mark.parametrize(
    ("cursor", "why"),
    [("{not json", "not valid JSON"), ("[1,2]", "not a JSON object"), ('{"v":2}', "version")],
)
def test_corrupt_cursor_is_a_clear_error(cursor: str, why: str) -> None:
    with pytest.raises(CursorError, match=why) as caught:
        decode_cursor(cursor, instance="trello-main")
    assert "full sync" in str(caught.value)
    assert str(caught.value).startswith("trello-main: ")


def test_version_key_is_reserved() -> None:
    with pytest.raises(ValueError, match="reserved"):
        encode_cursor({"v": 3})


def test_overlap_start_and_naive_times_refused() -> None:
    assert overlap_start(T0, timedelta(minutes=2)) == datetime(2024, 5, 1, 9, 58, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive"):
        overlap_start(datetime(2024, 5, 1), timedelta(minutes=2))
    with pytest.raises(ValueError, match="negative"):
        overlap_start(T0, timedelta(minutes=-1))


def test_epoch_millis_is_exact_and_zone_independent() -> None:
    assert epoch_millis(datetime(1970, 1, 1, tzinfo=UTC)) == 0
    plus_two = timezone(timedelta(hours=2))
    assert epoch_millis(datetime(2024, 5, 1, 12, 0, tzinfo=plus_two)) == epoch_millis(T0)
    assert epoch_millis(T0 + timedelta(microseconds=999)) == epoch_millis(T0)


@given(st.integers(min_value=0, max_value=4_102_444_800_000))
def test_epoch_millis_round_trip(millis: int) -> None:
    assert epoch_millis(from_epoch_millis(millis)) == millis


def test_advance_examples() -> None:
    cap = T0 + timedelta(hours=1)
    assert advance(None, None, cap=cap) is None
    assert advance(None, T0, cap=cap) == T0
    assert advance(T0, T0 - timedelta(days=1), cap=cap) == T0  # never backwards
    assert advance(T0, cap + timedelta(days=1), cap=cap) == cap  # never past the run's start
    assert advance(T0, None, cap=cap) == T0


@given(
    start=st.none() | aware,
    pages=st.lists(st.none() | aware, max_size=20),
    cap=aware,
)
def test_advance_is_monotonic_and_capped(
    start: datetime | None, pages: list[datetime | None], cap: datetime
) -> None:
    cursor = start if start is None or start <= cap else cap
    for page_max in pages:
        after = advance(cursor, page_max, cap=cap)
        if cursor is not None:
            assert after is not None
            assert after >= cursor
        if after is not None:
            assert after <= cap
        if page_max is not None and after is not None:
            assert after >= min(page_max, cap)
        cursor = after


def test_deduper_drops_same_update_keeps_new_update() -> None:
    seen = Deduper(timedelta(minutes=5))
    assert seen.is_new("A-1", T0)
    assert not seen.is_new("A-1", T0)
    assert not seen.is_new("A-1", T0.astimezone(timezone(timedelta(hours=3))))  # same instant
    assert seen.is_new("A-1", T0 + timedelta(seconds=1))
    assert seen.is_new("A-2", T0)


def test_deduper_survives_a_cursor_round_trip_and_prunes() -> None:
    seen = Deduper(timedelta(minutes=5))
    seen.is_new("old", T0 - timedelta(minutes=10))
    seen.is_new("A-1", T0 - timedelta(minutes=1))
    seen.is_new("A-2", T0)
    cursor = encode_cursor({"seen": seen.dump()})
    again = Deduper.load(decode_cursor(cursor)["seen"], timedelta(minutes=5))
    assert len(again) == 2  # "old" fell out of the overlap window
    assert not again.is_new("A-1", T0 - timedelta(minutes=1))
    assert not again.is_new("A-2", T0)
    assert again.is_new("old", T0 - timedelta(minutes=10))


@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 5)), max_size=30))
def test_deduper_admits_each_pair_once(pairs: list[tuple[str, int]]) -> None:
    seen = Deduper(timedelta(days=1))
    admitted = [p for p in pairs if seen.is_new(p[0], T0 + timedelta(seconds=p[1]))]
    assert len(admitted) == len(set(pairs))
