"""Streams: open a Kafka URL for writing (``Producer``) or reading (``Consumer``).

from hop import stream

with stream.open("kafka://hostname:9092/topic", "w") as producer:
    producer.write({"alert": "GRB 261126A"})

with stream.open("kafka://hostname:9092/topic", "r") as consumer:
    for message in consumer:
        print(message)
"""

from __future__ import annotations

import difflib
import logging
import os
import threading
import time
import uuid
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast, overload

import confluent_kafka

from . import _rdkafka_config
from ._url import _TOPIC_RE as _TOPIC_NAME
from ._url import KafkaURL, parse_url
from .errors import (
    AuthenticationError,
    BrokerUnavailableError,
    ClientError,
    ConfigurationError,
    CredentialError,
    DeliveryError,
    HopError,
    InvalidMessageError,
    KafkaError,
    KafkaTimeoutError,
    MessageTooLargeError,
    StreamStateError,
    translate_kafka_error,
)
from .models import MessageModel, decode, encode

if TYPE_CHECKING:
    from ._deserializer import Deserializer

__all__ = [
    "Consumer",
    "Deserializer",
    "Metadata",
    "Producer",
    "StartPosition",
    "Stream",
    "list_topics",
    "stream",
]

logger = logging.getLogger("hop.io")
# What a person reading a stream should know at once (a missing topic, a group that hands out
# nothing). Not "hop.io": the command line holds back hop.io's connection warnings at first.
_notices = logging.getLogger("hop.stream")

#: Headers as users give them: a mapping, or a sequence of (key, value) pairs.
HeadersArg: TypeAlias = Mapping[str, str | bytes] | Sequence[tuple[str, str | bytes]] | None
#: Headers as they travel: an ordered list of (str, bytes); keys may repeat.
Headers: TypeAlias = list[tuple[str, bytes]]
DeliveryCallback: TypeAlias = Callable[
    [confluent_kafka.KafkaError | None, confluent_kafka.Message], None
]

_EOF = confluent_kafka.KafkaError._PARTITION_EOF
_PATTERN_REFRESH_MS = 10_000
# A group member with no partitions after this many session timeouts is told so.
_JOIN_TIMEOUT_SESSIONS = 3
_DEFAULT_DUPLICATE_WINDOW = 10_000
# librdkafka retries these forever; to a person they mean the credential is wrong.
_AUTH_CODES = frozenset(
    {
        confluent_kafka.KafkaError._AUTHENTICATION,
        confluent_kafka.KafkaError.SASL_AUTHENTICATION_FAILED,
        confluent_kafka.KafkaError.ILLEGAL_SASL_STATE,
        confluent_kafka.KafkaError.UNSUPPORTED_SASL_MECHANISM,
        confluent_kafka.KafkaError._SSL,
    }
)
# The same client-wide error is logged at most once in this many seconds.
_LOG_INTERVAL = 30.0


#: How long a producer waits for some broker to answer at all before it gives up; a broker
#: that answered once and then went away is waited for as long as necessary.
DEFAULT_CONNECT_TIMEOUT = 15.0

# What librdkafka's reasons for a failed connection mean to a person, most telling first.
_CONNECT_FAILURES = (
    ("SSL_HANDSHAKE", "TLS handshake failed"),
    ("SSL handshake failed", "TLS handshake failed"),
    ("AUTH_HANDSHAKE", "authentication failed"),
    ("SASL", "authentication failed"),
    ("Failed to resolve", "host name not resolved"),
    ("Connection refused", "connection refused"),
    ("timed out", "connection timed out"),
)
_SECURE_FAILURES = frozenset({"TLS handshake failed", "authentication failed"})
_UNREACHABLE_FAILURES = frozenset({"connection refused", "host name not resolved"})
_CONNECT_CODES = frozenset(
    {
        confluent_kafka.KafkaError._TRANSPORT,
        confluent_kafka.KafkaError._RESOLVE,
        confluent_kafka.KafkaError._ALL_BROKERS_DOWN,
    }
)


def _connect_failure(text: str) -> str | None:
    for marker, meaning in _CONNECT_FAILURES:
        if marker in text:
            return meaning
    return None


class _ClientErrors:
    """Receives librdkafka's client-wide errors (``error_cb``) and log lines for one client.

    Logs each kind at most once per ``_LOG_INTERVAL`` (a broker that is down reports itself
    several times a second), and remembers errors that no retry will cure, a fatal error or
    a refused credential, so the client can raise them instead of waiting forever. It also
    remembers why connections failed (refused, not resolved, TLS, authentication) and
    whether librdkafka found every broker down, so that a client which never reached any
    broker can say why instead of waiting.
    """

    def __init__(self, what: str, secure: bool = False) -> None:
        self._what = what
        self._secure = secure
        self._last_logged: dict[int, float] = {}
        self.stopping: confluent_kafka.KafkaError | None = None
        #: why the last connection failed, in a person's words, or None.
        self.failure: str | None = None
        #: librdkafka reported every broker down.
        self.all_down = False
        #: Until this time.monotonic() value, failures to connect are logged at DEBUG only:
        #: a producer within its connect timeout says why it failed once, when it gives up.
        self.quiet_until = 0.0

    def __call__(self, error: confluent_kafka.KafkaError) -> None:
        code = error.code()
        if error.fatal() or code in _AUTH_CODES:
            self.stopping = error
        if code == confluent_kafka.KafkaError._ALL_BROKERS_DOWN:
            self.all_down = True
        else:
            self.failure = _connect_failure(error.str() or "") or self.failure
        now = time.monotonic()
        if now < self.quiet_until and code in _CONNECT_CODES:
            logger.debug("%s: %s", self._what, error.str())
            return
        if now - self._last_logged.get(code, -_LOG_INTERVAL) >= _LOG_INTERVAL:
            self._last_logged[code] = now
            logger.warning("%s: %s", self._what, error.str())

    def log(self, level: int, msg: str, *args: Any, **kwargs: Any) -> None:
        """librdkafka's log lines: passed on at DEBUG, and read for why connecting failed."""
        _rdkafka_config.LIBRDKAFKA_LOGGER.debug(msg, *args)
        if "FAIL" in msg or "FAIL" in args:
            text = " ".join(str(part) for part in (msg, *args))
            self.failure = _connect_failure(text) or self.failure

    def check(self, context: str) -> None:
        """Raise the error that stops this client, if there is one."""
        if self.stopping is not None:
            raise translate_kafka_error(self.stopping, context)

    def never_reached(self, context: str, waited: float | None, detail: str = "") -> KafkaError:
        """The error for a client that no broker ever answered.

        Args:
            context: what hop was doing.
            waited: how long it waited, in seconds, if that is worth saying.
            detail: what was lost, e.g. "3 message(s) not delivered".
        """
        reason = self.failure or "no answer"
        how_long = f" within {waited:g} s" if waited is not None else ""
        message = f"{context}: no broker answered{how_long} ({reason})"
        if detail:
            message += f"; {detail}"
        if reason in _SECURE_FAILURES and self._secure:
            return AuthenticationError(
                f"{message}; if the broker takes no credential (a plaintext listener), "
                "connect without one (hop's --no-auth, Stream(auth=False)), or use a "
                "credential whose protocol is the broker's"
            )
        if reason in _SECURE_FAILURES:
            return AuthenticationError(message)
        return BrokerUnavailableError(
            f"{message} (is the broker address right and the broker running?)"
        )


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


# UUID4 bytes (``uuid.uuid4().bytes``), drawn from the OS's randomness in batches: a
# fresh id per message is on the hot path. The batch is large because os.urandom lets go
# of the GIL, and a busy thread may keep it a while before the refill gets it back.
_ID_BATCH = 4096
_id_pool: list[bytes] = []
_id_lock = threading.Lock()


def _fresh_id() -> bytes:
    try:
        return _id_pool.pop()  # atomic under the GIL
    except IndexError:
        return _refill_ids()


def _refill_ids() -> bytes:
    with _id_lock:
        if not _id_pool:
            pool = bytearray(os.urandom(16 * _ID_BATCH))
            for start in range(0, len(pool), 16):
                pool[start + 6] = (pool[start + 6] & 0x0F) | 0x40  # version 4
                pool[start + 8] = (pool[start + 8] & 0x3F) | 0x80  # RFC 4122 variant
            _id_pool.extend(bytes(pool[i : i + 16]) for i in range(0, len(pool), 16))
        return _id_pool.pop()


def _check_header_key(key: str) -> None:
    # confluent-kafka 2.16 crashes the process (not an exception) on a header key that
    # cannot be encoded as UTF-8, such as a lone surrogate: refuse it first. librdkafka
    # keeps keys as C strings, so a NUL would silently cut the key short on the wire.
    if not key.isascii():
        try:
            key.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidMessageError(f"header key {key!r} is not valid UTF-8 text") from exc
    if "\x00" in key:
        raise InvalidMessageError(
            f"header key {key!r} holds a NUL character, which Kafka clients would cut it at"
        )


def _user_headers(headers: HeadersArg) -> Headers:
    if not headers:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: Headers = []
    for item in items:
        try:
            key, value = item
        except (TypeError, ValueError):
            raise TypeError(
                f"headers must be a mapping or a sequence of (key, value) pairs, got {item!r}"
            ) from None
        if not isinstance(key, str):
            raise TypeError(f"header keys must be str, not {type(key).__name__}")
        _check_header_key(key)
        if key.startswith("_"):
            raise ConfigurationError(
                f"header key {key!r} is reserved: keys starting with '_' belong to hop "
                "(use Producer.write_raw to forward headers that hop already packed)"
            )
        if isinstance(value, str):
            try:
                out.append((key, value.encode("utf-8")))
            except UnicodeEncodeError as exc:
                raise InvalidMessageError(
                    f"header {key!r}: its value is not valid UTF-8 text"
                ) from exc
        elif isinstance(value, bytes | bytearray | memoryview):
            out.append((key, bytes(value)))
        else:
            raise TypeError(f"header {key!r} must be str or bytes, not {type(value).__name__}")
    return out


_TEST_HEADER = ("_test", b"true")
_FORMAT_HEADERS: dict[str, tuple[str, bytes]] = {}


def _format_header(label: str) -> tuple[str, bytes]:
    header = _FORMAT_HEADERS.get(label)
    if header is None:
        header = ("_format", label.encode("utf-8"))
        if len(_FORMAT_HEADERS) < 1000:  # bounded: labels come from models, not data
            _FORMAT_HEADERS[label] = header
    return header


def _sender_header(auth: _rdkafka_config.AuthLike | None) -> tuple[str, bytes] | None:
    return ("_sender", auth.username.encode("utf-8")) if auth is not None else None


def _pack(
    message: object, headers: HeadersArg, test: bool, sender: tuple[str, bytes] | None
) -> tuple[bytes, Headers]:
    label, body = encode(message)
    out = _user_headers(headers) if headers else []
    out.append(("_id", _fresh_id()))
    if sender is not None:
        out.append(sender)
    if test:
        out.append(_TEST_HEADER)
    out.append(_FORMAT_HEADERS.get(label) or _format_header(label))
    return body, out


def _timedelta(value: timedelta | float | int, name: str) -> timedelta:
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        result = timedelta(seconds=value)
    else:
        raise ConfigurationError(f"{name} must be a timedelta or a number of seconds")
    if result < timedelta(0):
        raise ConfigurationError(f"{name} must not be negative")
    return result


class _DeliveryTally:
    """The producer's own delivery callback: counts what the broker did not acknowledge.

    It is an object of its own, not a Producer method, because librdkafka holds the
    callback of every queued message: a bound method would keep a dropped Producer alive,
    and its ResourceWarning would never be given.
    """

    def __init__(self, max_bytes: int | None = None) -> None:
        self.failed = 0
        self.errors: list[confluent_kafka.KafkaError] = []
        self.max_bytes = max_bytes
        #: Set when the producer drops what is queued: reports of dropped messages (and of
        #: any not served yet) go to no callback, the caller's included.
        self.muted = False

    def __call__(
        self, error: confluent_kafka.KafkaError | None, message: confluent_kafka.Message
    ) -> None:
        if error is not None and not self.muted:
            self.failed += 1
            if len(self.errors) < 5 and all(e.code() != error.code() for e in self.errors):
                # Each distinct reason is logged once; the count comes with DeliveryError.
                self.errors.append(error)
                logger.warning(
                    "message to %s not delivered: %s",
                    message.topic(),
                    _describe_delivery_error(error, self.max_bytes),
                )

    def take(self) -> tuple[int, list[confluent_kafka.KafkaError]]:
        """The failures counted since the last call, and their distinct errors."""
        counted = self.failed, self.errors
        self.failed, self.errors = 0, []
        return counted


# librdkafka's default message.max.bytes (and Kafka brokers' default limit, near enough).
_DEFAULT_MAX_MESSAGE_BYTES = 1_000_000


def _max_message_bytes(config: Mapping[str, Any] | None) -> int:
    value = (config or {}).get("message.max.bytes", _DEFAULT_MAX_MESSAGE_BYTES)
    try:
        return int(value)
    except (TypeError, ValueError):
        return _DEFAULT_MAX_MESSAGE_BYTES  # librdkafka refuses it when the client is made


def _describe_delivery_error(
    error: confluent_kafka.KafkaError, max_bytes: int | None = None
) -> str:
    """librdkafka's description of a failed delivery, with the limits and settings to change
    for a message that was too large.

    Args:
        error: the error from a delivery report.
        max_bytes: the producer's ``message.max.bytes``, when known.
    """
    text = error.str() or error.name()
    if error.code() in (
        confluent_kafka.KafkaError.MSG_SIZE_TOO_LARGE,
        confluent_kafka.KafkaError.RECORD_LIST_TOO_LARGE,
    ):
        producer = f" (now {max_bytes:,} bytes)" if max_bytes is not None else ""
        text += (
            f": over the broker's limit (its message.max.bytes, or the topic's "
            f"max.message.bytes) or the producer's message.max.bytes{producer}"
        )
    return text


class _SafeCallback:
    """Calls a delivery callback of the caller's; logs what it raises instead of letting it
    escape into librdkafka (where it would break flush and close)."""

    __slots__ = ("_callback", "_failures", "_tally")

    def __init__(self, callback: DeliveryCallback, tally: _DeliveryTally | None = None) -> None:
        self._callback = callback
        self._failures = 0
        # The producer's own tally says whether reports are muted (messages dropped).
        self._tally = tally

    def __call__(
        self, error: confluent_kafka.KafkaError | None, message: confluent_kafka.Message
    ) -> None:
        if self._tally is not None and self._tally.muted:
            return
        try:
            self._callback(error, message)
        except Exception:
            self._failures += 1
            if self._failures == 1 or self._failures % 1000 == 0:
                logger.exception(
                    "the delivery callback %r raised (%d time(s) so far); its exception is ignored",
                    self._callback,
                    self._failures,
                )


class Producer:
    """Writes messages to Kafka. Obtain one with ``Stream.open(url, "w")``.

    A message that the broker does not acknowledge is never dropped silently: unless a
    ``delivery_callback`` of the caller's takes charge of it, the failure is counted and
    ``flush()`` or ``close()`` raise ``DeliveryError`` saying how many failed.
    """

    def __init__(
        self,
        url: KafkaURL,
        auth: _rdkafka_config.AuthLike | None = None,
        *,
        produce_timeout: timedelta | float = timedelta(0),
        config: Mapping[str, Any] | None = None,
        connect_timeout: timedelta | float | None = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        patterns = [topic for topic in url.topics if topic.startswith("^")]
        if patterns:
            raise ConfigurationError(
                f"{url}: {patterns[0]!r} is a topic pattern, which can only be read; name "
                "the topic to write to"
            )
        self._url = url
        self._produce_timeout = _timedelta(produce_timeout, "produce_timeout")
        self._connect_timeout = (
            None
            if connect_timeout is None
            else _timedelta(connect_timeout, "connect_timeout").total_seconds() or None
        )
        self._opened_at = time.monotonic()
        # Whether some broker ever answered: until then, waiting is bounded by
        # connect_timeout; afterwards a broker that went away is waited for.
        self._reached = False
        self._flush_failures = 0
        self._valid_topics: set[str] = set(url.topics)
        self._max_bytes = _max_message_bytes(config)
        self._callbacks: dict[Any, DeliveryCallback] = {}
        self._default_topic = url.topics[0] if len(url.topics) == 1 else None
        self._auth = auth
        self._sender = _sender_header(auth)
        self._tally = _DeliveryTally(self._max_bytes)
        self._client_errors = _ClientErrors(f"producer for {url}", secure=auth is not None)
        self._unpolled = 0
        self._closed = False
        # The error that ended the librdkafka client (refused credential, fatal error, no
        # broker within the connect timeout): the client is closed then, and every later
        # call raises this again.
        self._ended: HopError | None = None
        self._released = False
        settings = _rdkafka_config.producer_settings(
            url,
            auth,
            produce_timeout=self._produce_timeout,
            error_cb=self._client_errors,
            overrides=config,
            logger=self._client_errors,
        )
        try:
            self._producer = confluent_kafka.Producer(settings)
        except confluent_kafka.KafkaException as exc:
            raise translate_kafka_error(exc, f"opening {url} for writing") from exc
        if self._connect_timeout is not None:
            # The margin covers the last slice of waiting, whose reports come just before
            # the producer gives up.
            self._client_errors.quiet_until = self._opened_at + self._connect_timeout + 5.0

    @property
    def auth(self) -> _rdkafka_config.AuthLike | None:
        """The credential this producer uses (its username goes in ``_sender``), or None."""
        return self._auth

    # -- writing -----------------------------------------------------------------------

    @staticmethod
    def pack(
        message: object,
        headers: HeadersArg = None,
        test: bool = False,
        auth: _rdkafka_config.AuthLike | None = None,
    ) -> tuple[bytes, Headers]:
        """Encode a message and build its headers, exactly as ``write`` would send them.

        Args:
            message: a ``MessageModel``, ``bytes`` (sent as a blob) or any JSON-serializable value.
            headers: the caller's headers (a mapping or a list of pairs; str values are UTF-8).
            test: mark the message as a test message.
            auth: the credential whose username goes in the ``_sender`` header.

        Returns:
            ``(body, headers)`` ready for ``write_raw``.

        Raises:
            TypeError: the message cannot be encoded.
            ConfigurationError: a header key starts with ``_`` (reserved for hop).
        """
        return _pack(message, headers, test, _sender_header(auth))

    def write(
        self,
        message: object,
        headers: HeadersArg = None,
        delivery_callback: DeliveryCallback | None = None,
        test: bool = False,
        topic: str | None = None,
        key: str | bytes | None = None,
    ) -> None:
        """Queue a message for sending.

        Args:
            message: a ``MessageModel``, ``bytes`` (sent as a blob) or any JSON-serializable value.
            headers: extra headers (a mapping or a list of pairs; keys may repeat).
            delivery_callback: called as ``callback(kafka_error, message)`` once the broker
                has acknowledged the message (``kafka_error`` None) or it has failed; passing
                one makes failures the callback's to handle.
            test: mark the message as a test message (consumers skip it by default).
            topic: the topic; required when the stream was opened on zero or several topics.
            key: the Kafka message key.

        Raises:
            TypeError: the message cannot be encoded.
            StreamStateError: the producer is closed.
            KafkaError: librdkafka refused the message.
        """
        body, packed_headers = _pack(message, headers, test, self._sender)
        self._produce(body, packed_headers, delivery_callback, topic, key)

    def write_raw(
        self,
        packed: bytes,
        headers: Headers | HeadersArg = None,
        delivery_callback: DeliveryCallback | None = None,
        topic: str | None = None,
        key: str | bytes | None = None,
    ) -> None:
        """Send bytes and headers as they are (for instance from ``pack``), adding nothing.

        Args:
            packed: the message body.
            headers: the complete headers, as a list of pairs or a mapping.
            delivery_callback: as for ``write``.
            topic: as for ``write``.
            key: the Kafka message key.
        """
        if headers is None or type(headers) is list:
            raw_headers: Any = headers
        elif isinstance(headers, Mapping):
            raw_headers = list(headers.items())
        else:
            raw_headers = list(headers)
        if raw_headers:
            for header_key, _ in raw_headers:
                if not isinstance(header_key, str):
                    raise TypeError(f"header keys must be str, not {type(header_key).__name__}")
                _check_header_key(header_key)
        self._produce(packed, raw_headers, delivery_callback, topic, key)

    def _produce(
        self,
        body: bytes,
        headers: Any,
        callback: DeliveryCallback | None,
        topic: str | None,
        key: str | bytes | None,
    ) -> None:
        if self._closed or self._ended is not None or self._client_errors.stopping is not None:
            self._check_open()
            self._check_client(f"writing to {self._url}")
        if topic is None:
            target = self._default_topic
            if target is None:
                raise ConfigurationError(
                    f"{self._url} names {len(self._url.topics)} topics: pass topic= to say "
                    "which one to write to"
                )
        else:
            target = topic
            if target not in self._valid_topics:
                self._check_topic(target)
        on_delivery = self._tally if callback is None else self._safe_callback(callback)
        produce = self._producer.produce
        while True:
            try:
                produce(target, body, key, headers=headers, on_delivery=on_delivery)
                break
            except (UnicodeEncodeError, ValueError, TypeError) as exc:
                # A key or header that confluent-kafka cannot encode (a lone surrogate, a
                # NUL in a str, a key that is neither str nor bytes).
                raise InvalidMessageError(
                    f"writing to {target} at {self._url}: the message, its key or a header "
                    f"cannot be sent as given ({exc})"
                ) from exc
            except BufferError:
                # The local queue is full: serve delivery reports until there is room.
                self._serve(0.05)
                self._check_reached(0.05, f"writing to {self._url}")
            except confluent_kafka.KafkaException as exc:
                kafka_error = exc.args[0] if exc.args else None
                if (
                    isinstance(kafka_error, confluent_kafka.KafkaError)
                    and kafka_error.code() == confluent_kafka.KafkaError.MSG_SIZE_TOO_LARGE
                ):
                    raise MessageTooLargeError(
                        f"writing to {target} at {self._url}: message too large "
                        f"({len(body):,} bytes, limit {self._max_bytes:,}): raise the "
                        "producer's message.max.bytes (config={'message.max.bytes': N}); "
                        "the broker's limit (its message.max.bytes, or the topic's "
                        "max.message.bytes) must allow it too",
                        kafka_error,
                    ) from exc
                raise translate_kafka_error(exc, f"writing to {target} at {self._url}") from exc
        # Serve delivery reports now and then; flush() and close() serve the rest.
        self._unpolled += 1
        if self._unpolled >= 32:
            self._unpolled = 0
            self._producer.poll(0)

    def _check_topic(self, topic: object) -> None:
        if not isinstance(topic, str):
            raise InvalidMessageError(f"a topic must be a str, not {type(topic).__name__}")
        if not topic:
            raise InvalidMessageError(
                f"writing to {self._url}: the topic is empty (pass topic=None for the "
                "stream's own topic)"
            )
        if len(topic) > 249 or not _TOPIC_NAME.match(topic):
            raise InvalidMessageError(
                f"invalid topic name {topic!r}: Kafka topic names have at most 249 letters, "
                "digits, '.', '_' and '-'"
            )
        if len(self._valid_topics) < 1000:
            self._valid_topics.add(topic)

    def _safe_callback(self, callback: DeliveryCallback) -> DeliveryCallback:
        """The caller's delivery callback, checked and wrapped so that what it raises is
        logged: an exception escaping into librdkafka's poll would break flush() and
        close() (``SystemError``) and lose the other reports."""
        safe = self._callbacks.get(callback)
        if safe is None:
            if not callable(callback):
                raise InvalidMessageError(
                    f"delivery_callback must be callable, not {type(callback).__name__}"
                )
            safe = _SafeCallback(callback, self._tally)
            if len(self._callbacks) < 100:
                self._callbacks[callback] = safe
        return safe

    # -- delivery ----------------------------------------------------------------------

    def poll(self, timeout: float = 0) -> int:
        """Serve delivery reports for up to ``timeout`` seconds; return how many were served."""
        self._check_open()
        self._check_client(f"delivering to {self._url}")
        return self._serve(timeout)

    def flush(self, timeout: float | None = None) -> int:
        """Wait until every queued message is delivered or has failed.

        Args:
            timeout: seconds to wait at most; None waits until the queue is empty (bounded
                by ``produce_timeout`` when one is set).

        Returns:
            How many messages are still queued (0 unless ``timeout`` ran out).

        Raises:
            DeliveryError: messages failed since the last check (each failure is reported once).
        """
        self._check_open()
        remaining = self._wait(timeout)
        self._raise_failures(0)
        return remaining

    def _wait(self, timeout: float | None) -> int:
        """Flush in slices, so that Ctrl+C gets through and a refused credential ends it."""
        if timeout is None and self._produce_timeout > timedelta(0):
            # librdkafka fails every message by then; the margin covers the last retry.
            timeout = self._produce_timeout.total_seconds() + 5.0
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._check_client(f"delivering to {self._url}")
            left = 1.0 if deadline is None else min(1.0, deadline - time.monotonic())
            # len() counts librdkafka's unserved events too: serve them first.
            if not self._reached and self._serve(0) >= 0 and len(self._producer):
                self._check_reached(max(0.0, left), f"delivering to {self._url}")
            remaining = self._flush_slice(max(0.0, left))
            if remaining == 0 or (deadline is not None and time.monotonic() >= deadline):
                return remaining

    def _serve(self, timeout: float) -> int:
        """``poll``, with confluent-kafka's ``SystemError`` made hop's own (see
        ``_flush_slice``)."""
        try:
            served: int = self._producer.poll(timeout)
        except SystemError as exc:
            self._on_system_error(exc, "poll")
            return 0
        return served

    def _on_system_error(self, exc: SystemError, what: str) -> None:
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, KeyboardInterrupt):
            raise KeyboardInterrupt from exc
        self._flush_failures += 1
        if self._flush_failures >= 3:
            raise ClientError(
                f"delivering to {self._url}: confluent-kafka's {what} failed ({exc}); "
                f"{len(self._producer)} message(s) still queued"
            ) from exc
        logger.debug("%s failed (%s); trying again", what, exc)

    def _flush_slice(self, timeout: float) -> int:
        """One slice of ``flush``, with confluent-kafka's ``SystemError`` made hop's own.

        confluent-kafka's flush() sometimes fails with ``SystemError: flush returned NULL``
        when a callback was interrupted (Ctrl+C, or a failure inside a callback while no
        broker answers). An interrupt stays an interrupt; otherwise the messages are still
        queued, so the next slice simply goes on, and only a repeated failure is raised.
        """
        try:
            remaining: int = self._producer.flush(timeout)
        except SystemError as exc:
            self._on_system_error(exc, "flush")
            return len(self._producer)
        self._flush_failures = 0
        return remaining

    def _check_reached(self, wait: float, context: str) -> None:
        """Until some broker has answered, ask for metadata (waiting up to ``wait`` s); give
        up when none has answered within the connect timeout, or at once when the TLS
        handshake or the authentication failed.

        Raises:
            BrokerUnavailableError: no broker answered (refused, not resolved, no answer).
            AuthenticationError: TCP connected but TLS or SASL failed.
        """
        if self._reached or self._connect_timeout is None:
            return
        try:
            self._producer.list_topics(timeout=max(wait, 0.001))
        except confluent_kafka.KafkaException:
            pass
        else:
            self._reached = True
            self._client_errors.quiet_until = 0.0  # an outage from now on is worth a warning
            return
        self._serve(0)  # serves the error and log callbacks
        errors = self._client_errors
        self._check_client(context)
        waited = time.monotonic() - self._opened_at
        timed_out = waited >= self._connect_timeout
        if timed_out or (errors.all_down and errors.failure in _SECURE_FAILURES):
            pending = len(self._producer)
            self._producer.purge()
            self._serve(0)  # the purged messages' delivery reports
            raise self._end(
                errors.never_reached(
                    context,
                    self._connect_timeout if timed_out else round(waited),
                    f"{pending} message(s) not delivered" if pending else "",
                )
            )

    def _check_client(self, context: str) -> None:
        """Raise the error that ended the client, if one did; a client-ending error seen
        for the first time closes the librdkafka client first.

        Raises:
            KafkaError: the client was ended (credential refused, fatal error, no broker).
        """
        if self._ended is None and self._client_errors.stopping is not None:
            self._end(translate_kafka_error(self._client_errors.stopping, context))
        if self._ended is not None:
            raise self._ended

    def _end(self, error: HopError) -> HopError:
        """Close the librdkafka client for good: without it, a refused client would go on
        logging in (and an unreachable one connecting) every few hundred milliseconds,
        however long the caller keeps this producer. Returns ``error``, to raise."""
        self._ended = error
        self._release()
        return error

    def _release(self) -> None:
        """Drop what is still queued, without any delivery report, and close the client."""
        if self._released:
            return
        self._released = True
        self._tally.muted = True
        try:
            self._producer.purge()
            self._producer.close()
        except (RuntimeError, confluent_kafka.KafkaException) as exc:
            logger.debug("closing the client of %s: %s", self._url, exc)

    def _raise_failures(self, undelivered: int) -> None:
        failed, errors = self._tally.take()
        failed += undelivered
        if failed:
            reasons = (
                "; ".join(_describe_delivery_error(e, self._max_bytes) for e in errors)
                or "not delivered in time"
            )
            raise DeliveryError(
                f"{failed} message(s) to {self._url} were not delivered: {reasons}",
                failed,
                errors,
            )

    def close(self, timeout: float | None = None) -> None:
        """Deliver everything queued, then close. Closing twice is harmless.

        Args:
            timeout: seconds to wait for deliveries at most; what is still queued then is
                dropped (no delivery report, its callbacks are not called) and counted in
                the ``DeliveryError``. None waits until the queue is empty (bounded by
                ``produce_timeout`` when one is set).

        Raises:
            DeliveryError: some messages failed or were still undelivered after
                ``produce_timeout`` or ``timeout``; the exception says how many.
        """
        if self._closed:
            return
        try:
            remaining = self._wait(timeout)
            if timeout is not None and remaining:
                self._release()
        finally:
            self._closed = True
        self._raise_failures(remaining)

    def abandon(self) -> None:
        """Close at once, dropping whatever is still queued: no waiting, no delivery report,
        no exception, and no ``ResourceWarning`` later. For a caller that decided to give up
        on the undelivered messages (an interrupted command). Harmless when closed."""
        if self._closed:
            return
        self._closed = True
        self._release()

    def _check_open(self) -> None:
        if self._closed:
            raise StreamStateError(f"this producer for {self._url} is closed")

    def __len__(self) -> int:
        """How many messages are queued and not yet acknowledged."""
        if self._released:
            return 0
        return len(self._producer)

    def __enter__(self) -> Producer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
            return
        try:
            self.close()
        except HopError as close_error:
            # The original exception matters more; keep the delivery failure visible.
            logger.error("while closing after an error: %s", close_error)

    def __del__(self) -> None:
        if not getattr(self, "_closed", True) and hasattr(self, "_producer"):
            pending = len(self)
            if pending:
                warnings.warn(
                    f"producer for {self._url} dropped with {pending} message(s) not flushed; "
                    "call close() or use it as a context manager",
                    ResourceWarning,
                    stacklevel=2,
                )

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<hop.io.Producer {self._url} {state}>"


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


class Consumer:
    """Reads messages from Kafka. Obtain one with ``Stream.open(url, "r")``.

    Iterating over it yields messages (``MessageModel`` instances); ``read()`` offers the
    options.
    """

    def __init__(
        self,
        url: KafkaURL,
        auth: _rdkafka_config.AuthLike | None = None,
        *,
        group_id: str | None = None,
        start_at: StartAt = StartPosition.LATEST,
        until_eos: bool = False,
        ignoretest: bool = True,
        skip_duplicates: bool | int = False,
        session_timeout: timedelta | float | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        if not url.topics:
            raise ConfigurationError(f"{url} names no topic: reading needs at least one")
        self._url = url
        self._start_at = _check_start_at(start_at)
        self._until_eos = until_eos
        self._ignoretest = ignoretest
        self._window = _duplicate_window(skip_duplicates)
        # A group of the caller's, or a subscription to a topic pattern: offsets are stored
        # and committed, so a rebalance (a new matching topic) resumes where reading was.
        self._explicit_group = group_id is not None or any(
            topic.startswith("^") for topic in url.topics
        )
        self._group_id = group_id if group_id is not None else f"hop-{uuid.uuid4()}"
        self._stopped = threading.Event()
        self._closed = False
        self._client_errors = _ClientErrors(f"consumer for {url}", secure=auth is not None)
        # Partitions being read, and those read to their end (for until_eos).
        self._assigned: set[tuple[str, int]] = set()
        self._at_end: set[tuple[str, int]] = set()
        self._assignment_known = False
        # Topics that did not exist yet at open; looked for again while reading.
        self._missing_topics: list[str] = []
        self._subscribed = False
        # The last message handed out per partition, committed once the next is requested.
        self._handed_out: confluent_kafka.Message | None = None
        offset_reset = "earliest" if self._start_at is StartPosition.EARLIEST else "latest"
        settings = _rdkafka_config.consumer_settings(
            url,
            auth,
            group_id=self._group_id,
            # Offsets of a random, throw-away group are worth nothing to anyone.
            auto_commit=self._explicit_group,
            offset_reset=offset_reset,
            partition_eof=until_eos,
            session_timeout=(
                _timedelta(session_timeout, "session_timeout")
                if session_timeout is not None
                else None
            ),
            error_cb=self._client_errors,
            overrides=config,
            logger=self._client_errors,
        )
        if any(topic.startswith("^") for topic in url.topics):
            # librdkafka matches patterns against its periodic full metadata: look for new
            # matching topics every 10 s rather than every 5 minutes.
            settings.setdefault("topic.metadata.refresh.interval.ms", _PATTERN_REFRESH_MS)
        self._session_timeout = (
            _timedelta(session_timeout, "session_timeout")
            if session_timeout is not None
            else _rdkafka_config.DEFAULT_SESSION_TIMEOUT
        ).total_seconds()
        self._join_started = 0.0
        self._join_warned = False
        try:
            self._consumer = confluent_kafka.Consumer(settings)
        except confluent_kafka.KafkaException as exc:
            raise translate_kafka_error(exc, f"opening {url} for reading") from exc
        try:
            names = [topic for topic in url.topics if not topic.startswith("^")]
            known, notices = self._look_for_topics(names)
            if self._explicit_group:
                # Learn which topics exist yet: a subscription to a missing topic would
                # otherwise wait for librdkafka's next periodic metadata refresh (minutes).
                # Topic patterns need a subscription, so a group (a random one if none).
                self._partitions(names, known=known)
                self._consumer.subscribe(
                    list(url.topics), on_assign=self._on_assign, on_revoke=self._on_revoke
                )
                self._subscribed = True
                self._join_started = time.monotonic()
            else:
                self._assign(names, self._start_at, known=known)
            # Only now: a topic the credential may not see fails above with its own error.
            for notice in notices:
                _notices.warning("%s", notice)
        except BaseException:
            self._consumer.close()
            self._closed = True
            raise

    # -- where reading starts ------------------------------------------------------------

    def _look_for_topics(self, names: list[str]) -> tuple[Any, list[str]]:
        """List the cluster's topics, and say which named topics do not exist (yet), with
        the closest existing names. All topics are listed rather than the named ones looked
        up, since asking for a topic by name creates it on brokers that auto-create topics.

        Returns:
            The cluster metadata (which the partition look-up uses) or None, and the
            notices to give once reading can start.
        """
        if not names:
            return None, []
        notices: list[str] = []
        cluster = _cluster_metadata(
            self._consumer,
            self._client_errors,
            f"opening {self._url} for reading",
            topic=None,
            timeout=10.0,
            serve=lambda: self._consumer.poll(0.1),
        )
        existing = sorted(name for name in cluster.topics if not name.startswith("__"))
        for name in names:
            if name in cluster.topics:
                continue
            close = difflib.get_close_matches(name, existing, n=3, cutoff=0.6)
            suggestion = f"; closest existing: {', '.join(close)}" if close else ""
            notices.append(f"topic {name} does not exist (yet) at {self._url}{suggestion}")
        return cluster, notices

    def _partitions(
        self, topics: list[str], timeout: float = 10.0, known: Any = None
    ) -> list[confluent_kafka.TopicPartition]:
        """The partitions of those topics that exist; the others are remembered as missing.

        ``known`` is cluster metadata just fetched: topics it describes fully are not looked
        up again."""
        found: list[confluent_kafka.TopicPartition] = []
        missing: list[str] = []
        for topic in topics:
            listed = known.topics.get(topic) if known is not None else None
            if listed is not None and listed.error is None and listed.partitions:
                found.extend(
                    confluent_kafka.TopicPartition(topic, p) for p in sorted(listed.partitions)
                )
                continue
            cluster = _cluster_metadata(
                self._consumer,
                self._client_errors,
                f"looking up topic {topic} at {self._url}",
                topic=topic,
                timeout=timeout,
                # Before anything is assigned, polling serves error callbacks and can
                # consume nothing.
                serve=(
                    None if self._assigned or self._subscribed else lambda: self._consumer.poll(0.1)
                ),
            )
            meta = cluster.topics.get(topic)
            if meta is None or meta.error is not None or not meta.partitions:
                if meta is not None and meta.error is not None:
                    code = meta.error.code()
                    if code not in (
                        confluent_kafka.KafkaError.UNKNOWN_TOPIC_OR_PART,
                        confluent_kafka.KafkaError._UNKNOWN_TOPIC,
                        confluent_kafka.KafkaError.LEADER_NOT_AVAILABLE,
                    ):
                        raise translate_kafka_error(meta.error, f"reading topic {topic}")
                missing.append(topic)
                continue
            found.extend(confluent_kafka.TopicPartition(topic, p) for p in sorted(meta.partitions))
        self._missing_topics = missing
        return found

    def _assign(
        self, topics: list[str], start_at: StartAt, timeout: float = 10.0, known: Any = None
    ) -> None:
        partitions = self._partitions(topics, timeout, known)
        self._position(partitions, start_at)
        if partitions:
            self._consumer.incremental_assign(partitions)
        self._assigned.update((tp.topic, tp.partition) for tp in partitions)
        self._assignment_known = True

    def _position(
        self, partitions: list[confluent_kafka.TopicPartition], start_at: StartAt
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
                found = self._consumer.offsets_for_times(query, timeout=10)
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

    def _on_assign(
        self, consumer: confluent_kafka.Consumer, partitions: list[confluent_kafka.TopicPartition]
    ) -> None:
        # A group's committed offsets win; the others start where start_at says.
        try:
            committed = consumer.committed(partitions, timeout=10) if partitions else []
        except confluent_kafka.KafkaException as exc:
            # Leave the offsets unset: librdkafka then fetches the committed offsets itself
            # and only falls back to auto.offset.reset, so nothing committed is re-read or
            # skipped. Only a time or -N start position cannot be applied this way.
            logger.warning(
                "could not read committed offsets (%s); librdkafka will resume the group", exc
            )
            self._accept_assignment(consumer, partitions)
            return
        done = {(tp.topic, tp.partition): tp.offset for tp in committed if tp.offset >= 0}
        fresh = [tp for tp in partitions if (tp.topic, tp.partition) not in done]
        self._position(fresh, self._start_at)
        for tp in partitions:
            if (tp.topic, tp.partition) in done:
                tp.offset = done[(tp.topic, tp.partition)]
        self._accept_assignment(consumer, partitions)

    def _accept_assignment(
        self, consumer: confluent_kafka.Consumer, partitions: list[confluent_kafka.TopicPartition]
    ) -> None:
        consumer.assign(partitions)
        self._assigned = {(tp.topic, tp.partition) for tp in partitions}
        self._at_end &= self._assigned
        self._assignment_known = True

    def _on_revoke(
        self, consumer: confluent_kafka.Consumer, partitions: list[confluent_kafka.TopicPartition]
    ) -> None:
        self._commit_handed_out()
        self._assigned -= {(tp.topic, tp.partition) for tp in partitions}

    def _look_for_missing_topics(self) -> None:
        missing = self._missing_topics
        if not missing:
            return
        try:
            if self._explicit_group:
                # Fresh metadata is enough: the group's subscription picks up new topics.
                self._partitions(list(missing), timeout=1.0)
            else:
                # Everything in a topic that appeared after we started is new to us.
                self._assign(missing, StartPosition.EARLIEST, timeout=1.0)
        except (BrokerUnavailableError, KafkaTimeoutError) as exc:
            # Reading goes on; the broker may come back.
            logger.debug("still looking for %s: %s", ", ".join(missing), exc)

    # -- reading ---------------------------------------------------------------------------

    def __iter__(self) -> Iterator[MessageModel]:
        return self.read()

    @overload
    def read(
        self,
        metadata: Literal[False] = ...,
        autocommit: bool = ...,
        batch_size: int = ...,
        batch_timeout: timedelta = ...,
        skip_duplicates: bool | int | None = ...,
    ) -> Iterator[MessageModel]: ...

    @overload
    def read(
        self,
        metadata: Literal[True],
        autocommit: bool = ...,
        batch_size: int = ...,
        batch_timeout: timedelta = ...,
        skip_duplicates: bool | int | None = ...,
    ) -> Iterator[tuple[MessageModel, Metadata]]: ...

    @overload
    def read(
        self,
        metadata: bool,
        autocommit: bool = ...,
        batch_size: int = ...,
        batch_timeout: timedelta = ...,
        skip_duplicates: bool | int | None = ...,
    ) -> Iterator[MessageModel | tuple[MessageModel, Metadata]]: ...

    def read(
        self,
        metadata: bool = False,
        autocommit: bool = True,
        batch_size: int = 100,
        batch_timeout: timedelta = timedelta(seconds=0.2),
        skip_duplicates: bool | int | None = None,
    ) -> Iterator[MessageModel | tuple[MessageModel, Metadata]]:
        """Yield messages as they arrive.

        Args:
            metadata: yield ``(message, Metadata)`` pairs instead of messages.
            autocommit: mark each message done (for a consumer group) once the next one is
                requested; without it only ``mark_done`` commits.
            batch_size: how many messages to fetch from librdkafka at once.
            batch_timeout: how long to wait for a message before checking ``stop()`` again.
            skip_duplicates: drop messages whose ``_id`` was among the last N seen (True:
                N = 10,000; an int: that N); None uses the stream's setting.

        Yields:
            Messages, or ``(message, Metadata)`` pairs.

        Raises:
            StreamStateError: the consumer is closed.
            KafkaError: a fatal error from Kafka (authentication, authorization).
        """
        yield from self._messages(
            False, metadata, autocommit, batch_size, batch_timeout, skip_duplicates
        )

    def read_raw(
        self,
        autocommit: bool = True,
        batch_size: int = 100,
        batch_timeout: timedelta = timedelta(seconds=0.2),
        skip_duplicates: bool | int | None = None,
    ) -> Iterator[confluent_kafka.Message]:
        """Yield the messages as confluent-kafka gives them, without decoding them.

        Test messages (when the stream ignores them) and duplicates are skipped exactly as by
        ``read``; ``Metadata.from_message`` turns one into a ``Metadata``.

        Args:
            autocommit: as for ``read``.
            batch_size: as for ``read``.
            batch_timeout: as for ``read``.
            skip_duplicates: as for ``read``.

        Yields:
            ``confluent_kafka.Message`` objects (``value()`` is the raw body).

        Raises:
            StreamStateError: the consumer is closed.
            KafkaError: a fatal error from Kafka (authentication, authorization).
        """
        yield from self._messages(
            True, False, autocommit, batch_size, batch_timeout, skip_duplicates
        )

    def _messages(
        self,
        raw_mode: bool,
        metadata: bool,
        autocommit: bool,
        batch_size: int,
        batch_timeout: timedelta,
        skip_duplicates: bool | int | None,
    ) -> Iterator[Any]:
        self._check_open()
        if batch_size < 1:
            raise ConfigurationError("batch_size must be at least 1")
        wait = _timedelta(batch_timeout, "batch_timeout").total_seconds()
        window = self._window if skip_duplicates is None else _duplicate_window(skip_duplicates)
        duplicates = _DuplicateFilter(window) if window else None
        store = autocommit and self._explicit_group
        ignoretest = self._ignoretest
        consumer = self._consumer
        until_eos = self._until_eos
        next_topic_check = 0.0
        stopped = self._stopped.is_set
        labels = _LABELS
        while not stopped():
            if until_eos and self._finished():
                return
            if self._missing_topics and not until_eos:
                now = time.monotonic()
                if now >= next_topic_check:
                    next_topic_check = now + 1.0
                    self._look_for_missing_topics()
            # Take what is ready without waiting; only when nothing is, wait for one message,
            # so that a trickle of alerts is delivered at once rather than per batch_timeout.
            batch = consumer.consume(batch_size, 0)
            if not batch:
                first = consumer.poll(wait)
                if first is None:
                    self._client_errors.check(f"reading from {self._url}")
                    if self._subscribed and not self._assignment_known:
                        self._check_join(until_eos)
                    continue
                batch = [first]
            for raw in batch:
                error = raw.error()
                if error is not None:
                    if error.code() == _EOF:
                        self._at_end.add((cast(str, raw.topic()), cast(int, raw.partition())))
                        if until_eos and self._finished():
                            return
                        continue
                    self._on_message_error(error)
                    continue
                try:
                    headers: Headers = raw.headers() or []  # type: ignore[assignment]
                except (UnicodeDecodeError, ValueError, TypeError) as exc:
                    # A header another client wrote that Python cannot read (a key that is
                    # not UTF-8): deliver the message without headers rather than crash.
                    logger.warning("unreadable headers on a message from %s: %s", self._url, exc)
                    headers = []
                label: str | None = None
                message_id: bytes | None = None
                is_test = False
                for hkey, hvalue in headers:
                    if hkey == "_format":
                        label = labels.get(hvalue) if hvalue else None
                        if label is None and hvalue:
                            label = _label_text(hvalue)
                    elif hkey == "_id":
                        message_id = hvalue
                    elif hkey == "_test":
                        is_test = True
                if (is_test and ignoretest) or (
                    duplicates is not None
                    and message_id is not None
                    and duplicates.seen(message_id)
                ):
                    if store:
                        consumer.store_offsets(raw)
                    continue
                if store:
                    self._handed_out = raw
                if raw_mode:
                    yield raw
                elif metadata:
                    yield decode(raw.value(), label), _metadata(raw, headers)
                else:
                    yield decode(raw.value(), label)
                # The caller asked for the next message: this one is done.
                if store:
                    self._handed_out = None
                    consumer.store_offsets(raw)
                if stopped():
                    return

    def _check_join(self, until_eos: bool) -> None:
        """A group reader that has had no partitions for a join timeout (three session
        timeouts): with until_eos, a clear error; otherwise one warning."""
        waited = time.monotonic() - self._join_started
        limit = _JOIN_TIMEOUT_SESSIONS * self._session_timeout
        if waited < limit:
            return
        what = (
            f"consumer group {self._group_id!r} has assigned this reader no partitions of "
            f"{', '.join(self._url.topics)} in {waited:.0f} s (session timeout "
            f"{self._session_timeout:g} s)"
        )
        advice = (
            "another member may still hold them (a reader stopped during its join stays a "
            "member until its session times out)"
        )
        if until_eos:
            raise KafkaTimeoutError(
                f"{what}: {advice}; try again later, use another group, or read without one"
            )
        if not self._join_warned:
            self._join_warned = True
            _notices.warning("%s; still waiting: %s", what, advice)

    def _finished(self) -> bool:
        if self._missing_topics and not self._assigned:
            return True
        return self._assignment_known and self._assigned <= self._at_end

    def _on_message_error(self, error: confluent_kafka.KafkaError) -> None:
        if error.fatal() or error.code() in (
            confluent_kafka.KafkaError.TOPIC_AUTHORIZATION_FAILED,
            confluent_kafka.KafkaError.GROUP_AUTHORIZATION_FAILED,
            confluent_kafka.KafkaError.SASL_AUTHENTICATION_FAILED,
            confluent_kafka.KafkaError._AUTHENTICATION,
        ):
            raise translate_kafka_error(error, f"reading from {self._url}")
        self._client_errors(error)

    # -- committing ------------------------------------------------------------------------

    def mark_done(self, metadata: Metadata, asynchronous: bool = True) -> None:
        """Commit a message as processed, so its group will not be handed it again.

        Args:
            metadata: the message's ``Metadata`` (from ``read(metadata=True)``).
            asynchronous: return without waiting for the broker to confirm the commit.

        Raises:
            KafkaError: a synchronous commit failed.
        """
        self._check_open()
        offset = confluent_kafka.TopicPartition(
            metadata.topic, metadata.partition, metadata.offset + 1
        )
        try:
            if asynchronous:
                self._consumer.commit(offsets=[offset], asynchronous=True)
            else:
                self._consumer.commit(offsets=[offset], asynchronous=False)
        except confluent_kafka.KafkaException as exc:
            raise translate_kafka_error(exc, f"committing offset to {self._url}") from exc

    def _commit_handed_out(self) -> None:
        """Commit offsets stored so far (messages handed out and finished)."""
        if not self._explicit_group:
            return
        try:
            self._consumer.commit(asynchronous=False)
        except confluent_kafka.KafkaException as exc:
            kafka_error = exc.args[0] if exc.args else None
            if (
                isinstance(kafka_error, confluent_kafka.KafkaError)
                and kafka_error.code() == confluent_kafka.KafkaError._NO_OFFSET
            ):
                return
            logger.warning("could not commit offsets for %s: %s", self._url, exc)

    # -- lifecycle ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Make ``read()`` return after the current message. Safe from any thread or a
        signal handler."""
        self._stopped.set()

    def close(self) -> None:
        """Commit what was handed out and finished, leave the group, close. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stopped.set()
        try:
            if self._explicit_group and self._handed_out is not None:
                # Closing normally after receiving a message means it was dealt with.
                try:
                    self._consumer.store_offsets(self._handed_out)
                except confluent_kafka.KafkaException:
                    pass
            self._handed_out = None
            self._commit_handed_out()
        finally:
            self._consumer.close()

    def list_topics(self, timeout: float = -1.0) -> dict[str, Any]:
        """The topics on the broker, as a dict of name to topic metadata.

        Args:
            timeout: seconds to wait at most; -1 waits indefinitely.
        """
        self._check_open()
        try:
            return dict(self._consumer.list_topics(timeout=timeout).topics)
        except confluent_kafka.KafkaException as exc:
            raise translate_kafka_error(exc, f"listing topics at {self._url}") from exc

    def assignment(self) -> list[tuple[str, int]]:
        """The ``(topic, partition)`` pairs this consumer reads now, sorted."""
        return sorted(self._assigned)

    @staticmethod
    def is_test(message: Any) -> bool:
        """Whether a message is a test message (it has a ``_test`` header).

        Args:
            message: a ``Metadata``, a ``(model, Metadata)`` pair, or a raw
                ``confluent_kafka.Message``.
        """
        if isinstance(message, tuple) and len(message) == 2:
            message = message[1]
        if isinstance(message, Metadata):
            headers: Headers | None = message.headers
        elif hasattr(message, "headers"):
            headers = message.headers()
        else:
            raise TypeError(f"cannot tell whether {type(message).__name__} is a test message")
        return any(key == "_test" for key, _ in headers or ())

    def _check_open(self) -> None:
        if self._closed:
            raise StreamStateError(f"this consumer for {self._url} is closed")
        self._client_errors.check(f"reading from {self._url}")

    def __enter__(self) -> Consumer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None and not isinstance(exc, KeyboardInterrupt | GeneratorExit):
            # The message being processed when it failed is not done.
            self._handed_out = None
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<hop.io.Consumer {self._url} group={self._group_id} {state}>"


# ``_format`` header values seen so far, decoded once each: the one bounded label cache,
# kept in hop.models (labels over 64 bytes are never cached).
from .models import _LABELS as _LABELS  # noqa: E402
from .models import _label_text as _label_text  # noqa: E402


def _offset_tail(count: int) -> int:
    # librdkafka's RD_KAFKA_OFFSET_TAIL(count): start `count` messages before the end.
    return -2000 - count


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


def _resolve_auth(auth: Any, url: KafkaURL) -> _rdkafka_config.AuthLike | None:
    """The credential to use for ``url``, from what ``Stream(auth=...)`` was given."""
    if auth is False or auth is None:
        return None
    if auth is True or isinstance(auth, list | tuple):
        try:
            from . import auth as hop_auth
        except ImportError as exc:  # pragma: no cover - hop.auth ships with hop
            raise CredentialError("stored credentials are not available") from exc
        creds = hop_auth.load_auth() if auth is True else list(auth)
        chosen: _rdkafka_config.AuthLike = hop_auth.select_matching_auth(
            creds, list(url.hostnames), url.username
        )
        return chosen
    if all(hasattr(auth, name) for name in ("username", "password", "protocol", "mechanism")):
        single: _rdkafka_config.AuthLike = auth
        return single
    raise ConfigurationError(
        f"auth must be True, False, an Auth or a list of Auth, not {type(auth).__name__}"
    )


_UNSET: Any = object()

_OPEN_OPTIONS = {
    "r": {"start_at", "until_eos", "skip_duplicates", "session_timeout", "config"},
    "w": {"produce_timeout", "connect_timeout", "config"},
}


class Stream:
    """Opens Kafka URLs for reading or writing, with shared defaults.

    Args:
        auth: ``True`` to use the stored credentials (``hop auth add``), ``False`` for none,
            an ``Auth``, or a list of them to choose from by the URL's host and user.
        start_at: where readers without committed offsets start: ``StartPosition.EARLIEST``,
            ``StartPosition.LATEST``, a ``datetime`` or ``-N`` (the last N of each partition).
        until_eos: readers stop once they reach the end of every partition.
        skip_duplicates: readers drop messages whose ``_id`` they saw recently (see
            ``Consumer.read``).
        connect_timeout: writers give up after this many seconds when no broker has
            answered at all (refused, unknown host, TLS or SASL failing); None or 0 waits
            forever. Unset: the ``connect_timeout`` setting, else 15 s. A broker that
            answered once and then went away is always waited for.
    """

    def __init__(
        self,
        auth: Any = True,
        start_at: StartAt = StartPosition.LATEST,
        until_eos: bool = False,
        skip_duplicates: bool | int = False,
        connect_timeout: Any = _UNSET,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.auth = auth
        self.start_at = _check_start_at(start_at)
        self.until_eos = until_eos
        self.skip_duplicates = skip_duplicates

    @overload
    def open(
        self,
        url: str,
        mode: Literal["r"] = ...,
        group_id: str | None = ...,
        ignoretest: bool = ...,
        **kwargs: Any,
    ) -> Consumer: ...

    @overload
    def open(
        self,
        url: str,
        mode: Literal["w"],
        group_id: str | None = ...,
        ignoretest: bool = ...,
        **kwargs: Any,
    ) -> Producer: ...

    @overload
    def open(
        self,
        url: str,
        mode: str,
        group_id: str | None = ...,
        ignoretest: bool = ...,
        **kwargs: Any,
    ) -> Consumer | Producer: ...

    def open(
        self,
        url: str,
        mode: str = "r",
        group_id: str | None = None,
        ignoretest: bool = True,
        **kwargs: Any,
    ) -> Consumer | Producer:
        """Open a Kafka URL.

        Args:
            url: ``kafka://[user@]host[:port][,host2...]/[topic[,topic2...]]``.
            mode: ``"r"`` to read, ``"w"`` to write.
            group_id: (reading) the consumer group to join; a random one when None.
            ignoretest: (reading) skip test messages.
            **kwargs: reading: ``start_at``, ``until_eos``, ``skip_duplicates`` (override the
                stream's), ``session_timeout``; writing: ``produce_timeout`` (a timedelta,
                0 = wait forever), ``connect_timeout`` (seconds to wait for some broker to
                answer at all, default 15; None or 0 = wait forever); both: ``config``,
                extra librdkafka settings. Settings from the general configuration file
                (``hop.configure``) fill in what is not given.

        Returns:
            A ``Consumer`` for ``"r"``, a ``Producer`` for ``"w"``.

        Raises:
            ConfigurationError: (a ``ValueError``) a bad URL, mode or option.
            CredentialError: no stored credential fits the URL.
        """
        if mode not in _OPEN_OPTIONS:
            raise ConfigurationError(f"invalid mode {mode!r}: use 'r' to read or 'w' to write")
        parsed = parse_url(url)
        unknown = set(kwargs) - _OPEN_OPTIONS[mode]
        if unknown:
            raise ConfigurationError(
                f"unexpected option(s) for mode {mode!r}: {', '.join(sorted(unknown))}"
            )
        options = {**_configured_defaults(_OPEN_OPTIONS[mode]), **kwargs}
        if mode == "r":
            if not parsed.topics:
                raise ConfigurationError(f"{parsed} names no topic: reading needs at least one")
            credential = _resolve_auth(self.auth, parsed)
            return Consumer(
                parsed,
                credential,
                group_id=group_id,
                start_at=options.pop("start_at", self.start_at),
                until_eos=options.pop("until_eos", self.until_eos),
                ignoretest=ignoretest,
                skip_duplicates=options.pop("skip_duplicates", self.skip_duplicates),
                **options,
            )
        if "connect_timeout" not in kwargs and self.connect_timeout is not _UNSET:
            options["connect_timeout"] = self.connect_timeout
        credential = _resolve_auth(self.auth, parsed)
        return Producer(parsed, credential, **options)


def _configured_defaults(allowed: set[str]) -> dict[str, Any]:
    """Options from the general configuration (file and HOP_ variables) that apply here."""
    try:
        from .configure import load_config
    except ImportError:  # pragma: no cover - hop.configure ships with hop
        return {}
    settings = load_config()
    return {key: value for key, value in settings.items() if key in allowed}


def list_topics(url: str, auth: Any = True, timeout: float = -1.0) -> dict[str, Any]:
    """List the topics a broker offers.

    Args:
        url: the broker's Kafka URL; topics named in it restrict the listing to those of
            them that exist.
        auth: as for ``Stream``.
        timeout: seconds to wait for the broker; -1 waits indefinitely. Either way, when
            every broker refuses the connection, its name does not resolve, or the TLS
            handshake or authentication fails, the answer comes within seconds.

    Returns:
        A dict of topic name to ``confluent_kafka.admin.TopicMetadata``.

    Raises:
        BrokerUnavailableError: the broker could not be reached (also a
            ``confluent_kafka.KafkaException``, as hop-client 0.13 raised).
        AuthenticationError: TCP connected, but TLS or the credential failed.
        KafkaError: another error from the broker.
    """
    parsed = parse_url(url)
    credential = _resolve_auth(auth, parsed)
    context = f"listing topics at {parsed}"
    errors = _ClientErrors(context, secure=credential is not None)
    # A producer that never produces: its poll() serves error callbacks, so a refused
    # credential is told apart from an unreachable broker.
    client = confluent_kafka.Producer(
        _rdkafka_config.admin_settings(parsed, credential, error_cb=errors, logger=errors)
    )
    # All topics, then filtered: asking for a named topic would create it on brokers that
    # create topics on metadata requests.
    try:
        metadata = _cluster_metadata(
            client,
            errors,
            context,
            topic=None,
            timeout=None if timeout is None or timeout < 0 else float(timeout),
            serve=lambda: client.poll(0.1),
            fail_fast=True,
        )
    finally:
        # Closed at once: a client refused or unable to connect goes on trying otherwise.
        client.close()
    topics = dict(metadata.topics)
    if parsed.topics:
        topics = {name: meta for name, meta in topics.items() if name in parsed.topics}
    return topics


def _cluster_metadata(
    client: confluent_kafka.Producer | confluent_kafka.Consumer,
    errors: _ClientErrors,
    context: str,
    *,
    topic: str | None,
    timeout: float | None,
    serve: Callable[[], object] | None,
    fail_fast: bool = False,
) -> Any:
    """Ask for metadata in one-second slices, so that a refused credential (which librdkafka
    reports only through the error callback, and retries forever) ends the wait at once with
    the right error, and an unreachable broker ends it after ``timeout`` (None: never).

    While ``serve`` is given (nothing was reached yet), a failing TLS handshake or SASL
    exchange on every broker ends the wait at once too, and with ``fail_fast`` so does
    every broker refusing the connection or not resolving."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
        try:
            if topic is None:
                return client.list_topics(timeout=left)
            return client.list_topics(topic, timeout=left)
        except confluent_kafka.KafkaException as exc:
            if serve is not None:
                serve()
            errors.check(context)
            if serve is not None and errors.all_down:
                if errors.failure in _SECURE_FAILURES or (
                    fail_fast and errors.failure in _UNREACHABLE_FAILURES
                ):
                    raise errors.never_reached(context, None) from exc
            kafka_error = exc.args[0] if exc.args else None
            retriable = isinstance(
                kafka_error, confluent_kafka.KafkaError
            ) and kafka_error.code() in (
                confluent_kafka.KafkaError._TRANSPORT,
                confluent_kafka.KafkaError._TIMED_OUT,
            )
            if not retriable or (deadline is not None and time.monotonic() >= deadline):
                if serve is not None and errors.failure is not None:
                    raise errors.never_reached(context, timeout) from exc
                raise translate_kafka_error(exc, context) from exc


def __getattr__(name: str) -> Any:
    # Deserializer is built from the registered models, plugins included: load it on demand.
    if name == "Deserializer":
        from ._deserializer import Deserializer

        return Deserializer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The default stream: ``from hop import stream; stream.open(url, "r")``.
stream = Stream()
