"""The producer: ``hop.io.Producer`` (re-exported there), with its header packing, message
ids and delivery bookkeeping.

Just over 600 lines on purpose: the class is one unit (writing, delivery, waiting for a
broker, closing) and most of its length is docstrings of public methods; packing lives in
``_headers`` and client errors in ``_client`` already."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from types import TracebackType
from typing import Any

import confluent_kafka

from hop._duration import to_timedelta as _timedelta
from hop._ratelimit import ONCE, RateLimiter
from hop.errors import (
    ClientError,
    ConfigurationError,
    DeliveryError,
    HopError,
    InvalidMessageError,
    MessageTooLargeError,
    StreamStateError,
    is_broker_answer,
    is_too_large,
    is_unsendable,
    translate_kafka_error,
)

from . import _rdkafka_config
from ._client import _SECURE_FAILURES, _ClientErrors
from ._headers import _check_header_key, _pack, _sender_header
from ._types import ConfigArg, DeliveryCallback, Headers, HeadersArg
from ._url import _TOPIC_RE as _TOPIC_NAME
from ._url import KafkaURL

# Every part of hop.io logs as "hop.io": the command line holds back hop.io's connection
# warnings at first, by that name.
logger = logging.getLogger("hop.io")

#: How long a producer waits for some broker to answer at all before it gives up; a broker
#: that answered once and then went away is waited for as long as necessary.
DEFAULT_CONNECT_TIMEOUT = _rdkafka_config.DEFAULT_CONNECT_TIMEOUT


class _DeliveryTally:
    """The producer's own delivery callback: counts what the broker did not acknowledge.

    It is an object of its own, not a Producer method, because librdkafka holds the
    callback of every queued message: a bound method would keep a dropped Producer alive,
    and its ResourceWarning would never be given.
    """

    def __init__(self, client: _ClientErrors, max_bytes: int | None = None) -> None:
        # Every report a broker gave (an acknowledgement, or a broker's refusal, whose
        # Kafka error code is positive) shows that a broker answered: ``client.answered``.
        self.client = client
        self.failed = 0
        self.errors: list[confluent_kafka.KafkaError] = []
        # Each distinct reason (error code) is logged once, at most five of them, until
        # ``take``; the count comes with DeliveryError.
        self._reasons: RateLimiter[int] = RateLimiter(ONCE, max_keys=5, when_full="refuse")
        self.max_bytes = max_bytes
        #: Set when the producer drops what is queued: reports of dropped messages (and of
        #: any not served yet) go to no callback, the caller's included.
        self.muted = False

    def __call__(
        self, error: confluent_kafka.KafkaError | None, message: confluent_kafka.Message
    ) -> None:
        if is_broker_answer(error):
            self.client.answered = True
        if error is not None and not self.muted:
            self.failed += 1
            if self._reasons.hit(error.code()) is not None:
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
        self._reasons.clear()
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
    if is_unsendable(error):
        producer = f" (now {max_bytes:,} bytes)" if max_bytes is not None else ""
        text += (
            f": over the broker's limit (its message.max.bytes, or the topic's "
            f"max.message.bytes) or the producer's message.max.bytes{producer}"
        )
    return text


class _TrustedCallback:
    """A delivery callback that never raises and honours the producer's muting itself
    (``hop.aio``'s delivery futures): ``write`` passes it to librdkafka unwrapped."""

    __slots__ = ()


class _SafeCallback(_TrustedCallback):
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
        tally = self._tally
        if tally is not None:
            if tally.muted:
                return
            if is_broker_answer(error):
                tally.client.answered = True
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
        config: ConfigArg = None,
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
        self._flush_failures = 0
        self._valid_topics: set[str] = set(url.topics)
        self._max_bytes = _max_message_bytes(config)
        self._callbacks: dict[Any, DeliveryCallback] = {}
        self._default_topic = url.topics[0] if len(url.topics) == 1 else None
        self._auth = auth
        self._sender = _sender_header(auth)
        # Whether some broker ever answered is ``_client_errors.answered`` (see _reached).
        self._client_errors = _ClientErrors(f"producer for {url}", secure=auth is not None, url=url)
        self._tally = _DeliveryTally(self._client_errors, self._max_bytes)
        self._unpolled = 0
        #: ``write`` serves delivery reports every this many messages (hop.aio serves them
        #: itself: it sets this out of reach).
        self._poll_every = 32
        #: False: a full local queue raises ``BufferError`` from ``write`` (for hop.aio).
        self._wait_when_full = True
        #: Held while the client is closed (hop.aio sets a lock its threads share).
        self._client_lock: AbstractContextManager[object] = nullcontext()
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
    def max_message_bytes(self) -> int:
        """The largest message this producer sends, in bytes (its ``message.max.bytes``)."""
        return self._max_bytes

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
        if callback is None:
            on_delivery: Any = self._tally
        elif isinstance(callback, _TrustedCallback):
            on_delivery = callback  # safe already (hop.aio's delivery futures)
        else:
            on_delivery = self._safe_callback(callback)
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
                if not self._wait_when_full:
                    raise  # hop.aio waits for room itself, without blocking its event loop
                # The local queue is full: serve delivery reports until there is room.
                self._serve(0.05)
                self._check_reached(0.05, f"writing to {self._url}")
            except confluent_kafka.KafkaException as exc:
                kafka_error = exc.args[0] if exc.args else None
                if isinstance(kafka_error, confluent_kafka.KafkaError) and is_too_large(
                    kafka_error
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
        if self._unpolled >= self._poll_every:
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
        if isinstance(callback, _TrustedCallback):
            return callback  # safe already (hop.aio's delivery futures)
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

    @property
    def _reached(self) -> bool:
        """Whether some broker ever answered (a delivery report, a metadata reply, a
        connection fully set up): until then, waiting is bounded by the connect timeout;
        afterwards a broker that went away is waited for."""
        return self._client_errors.answered

    def _probe(self, wait: float) -> bool:
        """Ask for metadata, waiting up to ``wait`` s; say whether a broker answered (and
        remember that one did)."""
        try:
            self._producer.list_topics(timeout=max(wait, 0.001))
        except confluent_kafka.KafkaException:
            return False
        self._client_errors.answered = True
        self._client_errors.quiet_until = 0.0  # an outage from now on is worth a warning
        return True

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
        if self._probe(wait):
            return
        self._serve(0)  # serves the error and log callbacks, and delivery reports
        errors = self._client_errors
        self._check_client(context)
        if errors.answered:  # a report or log line just served shows a broker answered
            return
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
                    pending,
                )
            )

    def _check_client(self, context: str) -> None:
        """Raise the error that ended the client, if one did; a client-ending error seen
        for the first time closes the librdkafka client first.

        Raises:
            KafkaError: the client was ended (credential refused, fatal error, no broker).
        """
        if self._ended is None and self._client_errors.stopping is not None:
            self._end(self._client_errors.stopping_error(context))
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
            # hop.aio serves this client from two threads: closing it waits for both.
            with self._client_lock:
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
