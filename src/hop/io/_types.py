"""Type aliases and small value types shared by hop's modules (and re-exported by
``hop.io`` where they are public)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import TYPE_CHECKING, TypeAlias, TypedDict

import confluent_kafka

if TYPE_CHECKING:
    from hop.auth._settings import AuthLike

#: A credential choice: ``True`` (the stored credentials), ``False`` or ``None`` (none), an
#: ``Auth``, or several to choose from by the URL's host and user.
AuthArg: TypeAlias = "bool | AuthLike | Sequence[AuthLike] | None"
#: A duration: a ``timedelta`` or a number of seconds.
Seconds: TypeAlias = timedelta | float
#: Extra librdkafka settings, by their librdkafka names.
ConfigArg: TypeAlias = Mapping[str, object] | None

#: Headers as users give them: a mapping, or a sequence of (key, value) pairs.
HeadersArg: TypeAlias = Mapping[str, str | bytes] | Sequence[tuple[str, str | bytes]] | None
#: Headers as they travel: an ordered list of (str, bytes); keys may repeat.
Headers: TypeAlias = list[tuple[str, bytes]]
#: A delivery callback: ``callback(kafka_error_or_None, message)``.
DeliveryCallback: TypeAlias = Callable[
    [confluent_kafka.KafkaError | None, confluent_kafka.Message], None
]


#: An error callback (``error_callback``): ``callback(kafka_error)``, for client-wide errors.
ErrorCallback: TypeAlias = Callable[[confluent_kafka.KafkaError], object]


class WriteOptions(TypedDict, total=False):
    """The options ``Stream.open(url, "w", ...)`` takes by keyword, for callers that pass
    them on (``RobustProducer(**options)``); the last seven are hop-client 0.13's."""

    group_id: str | None
    ignoretest: bool
    produce_timeout: Seconds
    connect_timeout: Seconds | None
    config: ConfigArg
    produce_backoff_time: Seconds | None
    use_idempotence: bool | None
    reconnect_backoff_time: Seconds | None
    reconnect_max_time: Seconds | None
    compression_type: str | None
    message_max_bytes: int | None
    error_callback: ErrorCallback | None


class StartPosition(Enum):
    """Where a consumer without committed offsets starts reading."""

    EARLIEST = "earliest"
    LATEST = "latest"

    def __str__(self) -> str:
        return self.name


#: ``StartPosition``, a ``datetime`` (first message at or after it), or ``-N`` (the last N
#: messages of each partition).
StartAt: TypeAlias = StartPosition | datetime | int


@dataclass(frozen=True)
class Metadata:
    """Where a message came from.

    Attributes:
        topic: the topic.
        partition: the partition.
        offset: the message's offset in its partition.
        timestamp: the message's timestamp, milliseconds since the Unix epoch.
        key: the message key, or None.
        headers: the message headers, an ordered list of (str, bytes) pairs.
    """

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: str | bytes | None
    headers: Headers
    _raw: confluent_kafka.Message = field(repr=False, compare=False)

    @classmethod
    def from_message(cls, msg: confluent_kafka.Message) -> Metadata:
        """The metadata of a message as confluent-kafka gives it (from ``read_raw``).

        Args:
            msg: a ``confluent_kafka.Message`` that carries a message, not an error.

        Returns:
            Its ``Metadata``, as ``read(metadata=True)`` would give it.
        """
        headers: Headers = msg.headers() or []  # type: ignore[assignment]
        return _metadata(msg, headers)


def _metadata(raw: confluent_kafka.Message, headers: Headers) -> Metadata:
    return Metadata(
        topic=raw.topic() or "",
        partition=raw.partition() or 0,
        offset=raw.offset() or 0,
        timestamp=raw.timestamp()[1],
        key=raw.key(),
        headers=headers,
        _raw=raw,
    )
