"""The shared rate limiter of client noise (hop._ratelimit)."""

from __future__ import annotations

import threading

from hop._ratelimit import ONCE, Passed, Pending, RateLimiter


def test_first_occurrence_passes_and_repeats_within_interval_are_counted() -> None:
    limiter: RateLimiter[str] = RateLimiter(10.0)
    assert limiter.hit("down", now=100.0) == Passed(1, None)
    assert limiter.hit("down", now=105.0) is None
    assert limiter.hit("down", count=3, now=109.9) is None
    # At the interval exactly, it is told again, with every occurrence since.
    assert limiter.hit("down", now=110.0) == Passed(5, 10.0)
    assert limiter.hit("down", now=125.0) == Passed(1, 15.0)


def test_keys_are_limited_separately() -> None:
    limiter: RateLimiter[int] = RateLimiter(30.0)
    assert limiter.hit(1, now=0.0) is not None
    assert limiter.hit(2, now=1.0) is not None
    assert limiter.hit(1, now=2.0) is None
    assert limiter.hit(2, now=3.0) is None
    assert 1 in limiter and 2 in limiter and 3 not in limiter
    assert len(limiter) == 2
    assert sorted(limiter) == [1, 2]


def test_count_of_the_first_hit_is_given() -> None:
    limiter: RateLimiter[str] = RateLimiter(10.0)
    assert limiter.hit("x", count=7, now=0.0) == Passed(7, None)


def test_default_clock_is_monotonic_time() -> None:
    limiter: RateLimiter[str] = RateLimiter(3600.0)
    assert limiter.hit("x") == Passed(1, None)
    assert limiter.hit("x") is None


def test_drain_gives_untold_counts_and_forgets_every_key() -> None:
    limiter: RateLimiter[str] = RateLimiter(10.0)
    limiter.hit("a", now=0.0)
    limiter.hit("b", now=1.0)
    limiter.hit("a", count=2, now=4.0)
    assert limiter.drain(now=6.0) == [Pending("a", 2, 6.0)]
    assert len(limiter) == 0
    # Forgotten: told again at once.
    assert limiter.hit("a", now=7.0) == Passed(1, None)


def test_clear_forgets_keys_and_counts() -> None:
    limiter: RateLimiter[str] = RateLimiter(10.0)
    limiter.hit("a", now=0.0)
    limiter.hit("a", now=1.0)
    limiter.clear()
    assert limiter.drain(now=2.0) == []
    assert limiter.hit("a", now=2.0) == Passed(1, None)


def test_once_tells_each_key_a_single_time() -> None:
    limiter: RateLimiter[str] = RateLimiter(ONCE)
    assert limiter.hit("label", now=0.0) is not None
    assert limiter.hit("label", now=1e12) is None


def test_forget_when_full_clears_the_keys_past_the_bound() -> None:
    limiter: RateLimiter[int] = RateLimiter(100.0, max_keys=3)
    for key in range(4):
        assert limiter.hit(key, now=0.0) is not None
    assert len(limiter) == 4
    # Past the bound: everything is forgotten before the next key is kept.
    assert limiter.hit(4, now=1.0) is not None
    assert len(limiter) == 1
    assert limiter.hit(0, now=2.0) == Passed(1, None)


def test_refuse_when_full_suppresses_new_keys_and_keeps_old_ones() -> None:
    limiter: RateLimiter[int] = RateLimiter(ONCE, max_keys=2, when_full="refuse")
    assert limiter.hit(1, now=0.0) is not None
    assert limiter.hit(2, now=0.0) is not None
    assert limiter.hit(3, now=0.0) is None
    assert 3 not in limiter
    assert len(limiter) == 2
    limiter.clear()
    assert limiter.hit(3, now=0.0) is not None


def test_counts_from_many_threads_add_up() -> None:
    limiter: RateLimiter[str] = RateLimiter(3600.0)
    told: list[Passed] = []
    lock = threading.Lock()

    def hammer() -> None:
        for _ in range(1000):
            passed = limiter.hit("same", now=0.0)
            if passed is not None:
                with lock:
                    told.append(passed)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert told == [Passed(1, None)]
    assert limiter.drain(now=1.0) == [Pending("same", 3999, 1.0)]
