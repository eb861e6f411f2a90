"""Where reading ends (``end_at``): a time, or an offset per partition.

Each partition stops at its first message past the end (stamped after the time, or at or
after the partition's offset) or at the end of the stream; reading ends when every
partition has stopped. The message past the end is not handed out (nor committed), so a
consumer group's next run starts with it. Message timestamps are what the producer (or the
broker, for topics with ``LogAppendTime``) stamped, so a time window holds whatever the
broker."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, TypeAlias

import confluent_kafka

from hop.errors import ConfigurationError

__all__ = ["EndAt", "EndPosition", "check_end_at"]

#: What ``end_at`` takes: a ``datetime`` (UTC when naive), or a mapping of
#: ``(topic, partition)`` to the first offset not to read.
EndAt: TypeAlias = "datetime | Mapping[tuple[str, int], int]"

_NO_TIMESTAMP = confluent_kafka.TIMESTAMP_NOT_AVAILABLE


def check_end_at(end_at: object) -> EndPosition | None:
    """``end_at`` as given to ``Stream`` or ``open``, checked; None for no end.

    Raises:
        ConfigurationError: neither a ``datetime`` nor a mapping of ``(topic, partition)``
            to a non-negative offset.
    """
    if end_at is None:
        return None
    if isinstance(end_at, EndPosition):
        return end_at
    if isinstance(end_at, datetime):
        moment = end_at if end_at.tzinfo else end_at.replace(tzinfo=timezone.utc)
        return EndPosition(millis=int(moment.timestamp() * 1000))
    if isinstance(end_at, Mapping):
        offsets: dict[tuple[str, int], int] = {}
        for key, offset in end_at.items():
            if (
                not isinstance(key, tuple)
                or len(key) != 2
                or not isinstance(key[0], str)
                or not isinstance(key[1], int)
                or isinstance(offset, bool)
                or not isinstance(offset, int)
                or offset < 0
            ):
                raise ConfigurationError(
                    "end_at as offsets maps (topic, partition) to an offset of 0 or more, "
                    f"not {key!r}: {offset!r}"
                )
            offsets[key] = offset
        return EndPosition(offsets=offsets)
    raise ConfigurationError(
        "end_at must be a datetime or a mapping of (topic, partition) to an offset, "
        f"not {type(end_at).__name__}"
    )


class EndPosition:
    """A checked ``end_at``, and which partitions have stopped.

    Attributes:
        stopped: the ``(topic, partition)`` pairs that reached their end.
    """

    __slots__ = ("_millis", "_offsets", "stopped")

    def __init__(
        self, millis: int | None = None, offsets: Mapping[tuple[str, int], int] | None = None
    ) -> None:
        self._millis = millis
        self._offsets = dict(offsets or {})
        self.stopped: set[tuple[str, int]] = set()

    def past(self, raw: Any) -> bool:
        """Whether ``raw`` (a ``confluent_kafka.Message``) is past the end, or comes from a
        partition that already stopped: such a message is not handed out."""
        key = (raw.topic(), raw.partition())
        if key in self.stopped:
            return True
        if self._millis is not None:
            kind, stamp = raw.timestamp()
            beyond = bool(kind != _NO_TIMESTAMP and stamp > self._millis)
        else:
            limit = self._offsets.get(key)
            beyond = bool(limit is not None and raw.offset() >= limit)
        if beyond:
            self.stopped.add(key)
        return beyond

    def __repr__(self) -> str:
        if self._millis is not None:
            moment = datetime.fromtimestamp(self._millis / 1000, tz=timezone.utc)
            return f"EndPosition({moment.isoformat()})"
        return f"EndPosition({self._offsets!r})"
