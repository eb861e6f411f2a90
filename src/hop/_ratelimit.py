"""The one mechanism that keeps hop's client noise down: a rate limiter keyed by reason.

A broker that is down or restarting reports the same thing many times a second (every
reconnection attempt, every message in flight); a person needs to read it once in a while,
with how many times it happened. :class:`RateLimiter` decides, per key (an error code, a
reason, a log line), whether this occurrence is to be told, and counts those that are not.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Passed:
    """An occurrence that is to be told.

    Attributes:
        count: occurrences since the key was last told, this one included.
        since: seconds since the key was last told, or None the first time.
    """

    count: int
    since: float | None


@dataclass(frozen=True)
class Pending(Generic[K]):
    """Occurrences of a key counted and not told yet (from :meth:`RateLimiter.drain`).

    Attributes:
        key: the key.
        count: occurrences since it was last told.
        since: seconds since it was last told.
    """

    key: K
    count: int
    since: float


class RateLimiter(Generic[K]):
    """Lets each key through at most once per ``interval`` seconds, counting the repeats.

    Thread-safe: librdkafka's callbacks and log lines arrive from its threads.

    Args:
        interval: seconds between two occurrences of a key that are told; ``math.inf``
            tells each key once.
        max_keys: how many keys are remembered at most (a process that runs for months
            meets many distinct reasons).
        when_full: what a new key meets past ``max_keys``: ``"forget"`` clears every key
            first (so it is told, and repeats of old ones may be told early), ``"refuse"``
            keeps the keys and suppresses the new one (a stream of junk stops being told).
    """

    def __init__(
        self,
        interval: float,
        *,
        max_keys: int = 1000,
        when_full: Literal["forget", "refuse"] = "forget",
    ) -> None:
        self.interval = interval
        self._max_keys = max_keys
        self._when_full = when_full
        self._lock = threading.Lock()
        # key -> (when last told, occurrences counted since then and not told)
        self._keys: dict[K, tuple[float, int]] = {}

    def hit(self, key: K, count: int = 1, now: float | None = None) -> Passed | None:
        """Count ``count`` occurrences of ``key``; say whether to tell them now.

        Args:
            key: what happened (an error code, a reason).
            count: how many times it happened.
            now: the time, in seconds of the caller's clock (``time.monotonic()`` unless
                given, e.g. a log record's ``created``).

        Returns:
            ``Passed`` (with the occurrences since it was last told) when the key is to be
            told, None when it is suppressed (and counted).
        """
        if now is None:
            now = time.monotonic()
        with self._lock:
            known = self._keys.get(key)
            if known is not None:
                last, pending = known
                if now - last < self.interval:
                    self._keys[key] = (last, pending + count)
                    return None
                passed = Passed(pending + count, now - last)
            else:
                if len(self._keys) >= self._max_keys and self._when_full == "refuse":
                    return None
                passed = Passed(count, None)
            if len(self._keys) > self._max_keys and self._when_full == "forget":
                self._keys.clear()
            self._keys[key] = (now, 0)
            return passed

    def drain(self, now: float | None = None) -> list[Pending[K]]:
        """Forget every key, and give those with occurrences not told yet.

        Args:
            now: the time, as for :meth:`hit`.

        Returns:
            For each key with suppressed occurrences: the key, their count, and seconds
            since it was last told; in the order the keys were first met.
        """
        if now is None:
            now = time.monotonic()
        with self._lock:
            keys, self._keys = self._keys, {}
        return [Pending(key, count, now - last) for key, (last, count) in keys.items() if count]

    def clear(self) -> None:
        """Forget every key and count."""
        with self._lock:
            self._keys = {}

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[K]:
        with self._lock:
            return iter(list(self._keys))


#: ``interval`` for a key that is told once only.
ONCE = math.inf
