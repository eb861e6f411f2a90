"""Waiting on conditions instead of sleeping for a guessed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone


def wait_until(
    condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.01
) -> None:
    """Return as soon as ``condition()`` is true.

    Raises:
        AssertionError: it was still false after ``timeout`` seconds (``what`` says of what).
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}")
        time.sleep(interval)


def _milliseconds() -> int:
    return time.time_ns() // 1_000_000


def a_later_millisecond(after: datetime | None = None) -> datetime:
    """Now, once the clock has reached a later millisecond than ``after`` (default: now).

    Kafka timestamps count milliseconds: a message produced before this call has an earlier
    timestamp than the returned time, and one produced after it a later or equal one.
    """
    start = _milliseconds() if after is None else int(after.timestamp() * 1000)
    wait_until(lambda: _milliseconds() > start, 5, "the clock to reach the next millisecond")
    return datetime.now(timezone.utc)
