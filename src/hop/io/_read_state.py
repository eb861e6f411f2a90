"""What a consumer keeps track of while reading: its assignment (the partitions it reads,
those read to their end, the named topics that do not exist yet), recently seen message ids,
and where reading starts."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any, NamedTuple

import confluent_kafka

from hop.errors import ConfigurationError, translate_kafka_error

from ._types import StartAt, StartPosition

_DEFAULT_DUPLICATE_WINDOW = 10_000


class _Assignment:
    """The partitions a consumer reads and how far it got: one object, so that "finished"
    (``until_eos``) and what a rebalance changes are decided in one place.

    Attributes:
        partitions: the ``(topic, partition)`` pairs being read.
        at_end: those read to their end (with ``until_eos``).
        known: whether the assignment is known yet (a group hands it out later).
        missing: named topics that did not exist (yet) when last looked up.
    """

    __slots__ = ("at_end", "known", "missing", "partitions")

    def __init__(self) -> None:
        self.partitions: set[tuple[str, int]] = set()
        self.at_end: set[tuple[str, int]] = set()
        self.known = False
        self.missing: list[str] = []

    def add(self, partitions: Iterable[confluent_kafka.TopicPartition]) -> None:
        """Partitions assigned by the consumer itself (no group)."""
        self.partitions.update((tp.topic, tp.partition) for tp in partitions)
        self.known = True

    def replace(self, partitions: Iterable[confluent_kafka.TopicPartition]) -> None:
        """The group's new assignment; what was read to the end and is kept stays so."""
        self.partitions = {(tp.topic, tp.partition) for tp in partitions}
        self.at_end &= self.partitions
        self.known = True

    def revoke(self, partitions: Iterable[confluent_kafka.TopicPartition]) -> None:
        """Partitions the group took away."""
        self.partitions -= {(tp.topic, tp.partition) for tp in partitions}

    def reached_end(self, topic: str, partition: int) -> None:
        """A partition was read to its end."""
        self.at_end.add((topic, partition))

    def finished(self) -> bool:
        """Every partition was read to its end (or nothing named exists to be read)."""
        if self.missing and not self.partitions:
            return True
        return self.known and self.partitions <= self.at_end


class _DuplicateFilter:
    """Remembers the last ``size`` message ids and says whether one was seen already."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def seen(self, message_id: bytes) -> bool:
        if message_id in self._seen:
            self._seen.move_to_end(message_id)
            return True
        self._seen[message_id] = None
        if len(self._seen) > self._size:
            self._seen.popitem(last=False)
        return False


def _duplicate_window(skip_duplicates: bool | int) -> int:
    if skip_duplicates is True:
        return _DEFAULT_DUPLICATE_WINDOW
    if skip_duplicates is False:
        return 0
    if isinstance(skip_duplicates, int) and skip_duplicates > 0:
        return skip_duplicates
    raise ConfigurationError("skip_duplicates must be True, False or a positive number of ids")


def _offset_tail(count: int) -> int:
    # librdkafka's RD_KAFKA_OFFSET_TAIL(count): start `count` messages before the end.
    return -2000 - count


def _check_start_at(start_at: object) -> StartAt:
    if isinstance(start_at, StartPosition | datetime):
        return start_at
    if isinstance(start_at, int) and not isinstance(start_at, bool):
        if start_at < 0:
            return start_at
        raise ConfigurationError(
            f"start_at={start_at}: a number means the last N messages and must be negative "
            "(-N); use StartPosition.EARLIEST to read from the beginning"
        )
    raise ConfigurationError(
        f"start_at must be a StartPosition, a datetime or a negative int, not {start_at!r}"
    )


#: What ``_ReadSteps.take`` returns for a message not handed out, and once every partition
#: has been read to its end (until_eos).
_SKIPPED: Any = object()
_FINISHED: Any = object()


class _ReadSteps(NamedTuple):
    """The per-message steps of a read (``Consumer._read_steps``)."""

    take: Callable[[confluent_kafka.Message], Any]
    finish: Callable[[confluent_kafka.Message], None] | None
    wait: float


def _start_offsets(
    consumer: confluent_kafka.Consumer,
    partitions: list[confluent_kafka.TopicPartition],
    start_at: StartAt,
) -> None:
    """Set each partition's starting offset from ``start_at``."""
    if not partitions:
        return
    if isinstance(start_at, datetime):
        moment = start_at if start_at.tzinfo else start_at.replace(tzinfo=timezone.utc)
        millis = int(moment.timestamp() * 1000)
        query = [
            confluent_kafka.TopicPartition(tp.topic, tp.partition, millis) for tp in partitions
        ]
        try:
            found = consumer.offsets_for_times(query, timeout=10)
        except confluent_kafka.KafkaException as exc:
            raise translate_kafka_error(exc, "finding offsets by time") from exc
        by_key = {(tp.topic, tp.partition): tp.offset for tp in found}
        for tp in partitions:
            offset = by_key.get((tp.topic, tp.partition), -1)
            # -1: no message at or after that time, so start at the end.
            tp.offset = offset if offset >= 0 else confluent_kafka.OFFSET_END
    elif isinstance(start_at, int):
        for tp in partitions:
            tp.offset = _offset_tail(-start_at)
    elif start_at is StartPosition.EARLIEST:
        for tp in partitions:
            tp.offset = confluent_kafka.OFFSET_BEGINNING
    else:
        for tp in partitions:
            tp.offset = confluent_kafka.OFFSET_END
