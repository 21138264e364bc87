"""TokenBucket: pacing under a fake clock, pauses that hold everyone, thread safety."""

from __future__ import annotations

import threading

import pytest

from okrbridge.connector import TokenBucket
from tests.connector.conftest import FakeClock


def bucket(clock: FakeClock, **kwargs: float) -> TokenBucket:
    return TokenBucket.per_window(100, 10.0, clock=clock.time, sleep=clock.sleep, **kwargs)


def test_trello_window_gives_nine_per_second(clock: FakeClock) -> None:
    pacer = bucket(clock)
    assert pacer.rate == pytest.approx(9.0)
    assert pacer.capacity == pytest.approx(10.0)


def test_acquisitions_are_paced_and_never_exceed_the_window(clock: FakeClock) -> None:
    pacer = bucket(clock)
    times = []
    for _ in range(300):
        pacer.acquire()
        times.append(clock.now)
    # a burst of 10, then 9 per second
    assert times[9] == times[0]
    assert times[-1] - times[0] == pytest.approx((300 - 10) / 9.0, rel=1e-6)
    for i, start in enumerate(times):
        in_window = sum(1 for t in times[i:] if t < start + 10.0)
        assert in_window <= 100


def test_acquire_reports_seconds_waited(clock: FakeClock) -> None:
    pacer = TokenBucket(rate=2.0, capacity=1.0, clock=clock.time, sleep=clock.sleep)
    assert pacer.acquire() == 0.0
    assert pacer.acquire() == pytest.approx(0.5)


def test_idle_time_refills_only_up_to_capacity(clock: FakeClock) -> None:
    pacer = TokenBucket(rate=1.0, capacity=3.0, clock=clock.time, sleep=clock.sleep)
    for _ in range(3):
        pacer.acquire()
    clock.now += 1000.0
    waits = [pacer.acquire() for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(1.0)


def test_pause_until_blocks_until_the_deadline(clock: FakeClock) -> None:
    pacer = bucket(clock)
    pacer.pause_until(clock.now + 10.0)
    assert pacer.pause_remaining() == pytest.approx(10.0)
    start = clock.now
    pacer.acquire()
    assert clock.now - start >= 10.0
    assert pacer.pause_remaining() == 0.0


def test_pause_never_shrinks(clock: FakeClock) -> None:
    pacer = bucket(clock)
    pacer.pause_for(30.0)
    pacer.pause_for(5.0)
    assert pacer.pause_remaining() == pytest.approx(30.0)


def test_pause_blocks_every_thread(clock: FakeClock) -> None:
    pacer = TokenBucket(rate=1000.0, capacity=1000.0, clock=clock.time, sleep=clock.sleep)
    deadline = clock.now + 20.0
    pacer.pause_until(deadline)
    served_at: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        pacer.acquire()
        with lock:
            served_at.append(clock.time())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(served_at) == 8
    assert min(served_at) >= deadline


def test_threads_never_overdraw(clock: FakeClock) -> None:
    pacer = TokenBucket(rate=5.0, capacity=5.0, clock=clock.time, sleep=clock.sleep)
    start = clock.now

    def worker() -> None:
        for _ in range(25):
            pacer.acquire()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    # 100 tokens: 5 from the burst, the other 95 at 5/s
    assert clock.now - start >= 95 / 5.0 - 1e-6


def test_invalid_arguments(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(rate=0, capacity=1)
    with pytest.raises(ValueError, match="cannot acquire"):
        TokenBucket(rate=1, capacity=1).acquire(2)
    with pytest.raises(ValueError, match="headroom"):
        TokenBucket.per_window(10, 1.0, headroom=1.5)
