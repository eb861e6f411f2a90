"""Robust publication: a journaled producer that delivers every message at least once.

    from hop.robust_publisher import RobustProducer

    with RobustProducer("kafka://broker:9092/alerts", journal_path="alerts.journal") as pub:
        pub.write({"alert": "GRB 261126A"})   # returns once the message is in the journal

``write`` packs the message once (body and every header, ``_id`` included) and appends it to
the journal before returning. A background thread sends what the journal holds and marks a
message sent only when the broker has acknowledged it; a failed delivery is requeued and
retried, with backoff while the broker is down; a message too large to ever send is set
aside (kept in the journal) and reported by ``stop()``, and a refused credential ends the
thread, so neither makes ``stop()`` wait for ever. ``stop()`` (or leaving the ``with`` block)
waits until everything is acknowledged. A publisher that dies before that leaves the rest in
the journal, and the next one started on the same journal sends it. Resent copies keep
their ``_id``, so readers opened with ``skip_duplicates=True`` see each message once.

The journal format and its crash policy are described in ``docs/robust.md``.
"""

from __future__ import annotations

import enum
import functools
import logging
import os
import sys
import threading
import time
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING

import confluent_kafka

from hop.io._rdkafka_config import AuthLike
from hop.io._types import AuthArg, WriteOptions
from hop.io._url import parse_url, redact_url

from ._journal import JournalMisuseError, PublicationJournal
from ._ratelimit import RateLimiter
from .errors import (
    AuthenticationError,
    ConfigurationError,
    DeliveryError,
    HopError,
    JournalError,
    KafkaError,
    StreamStateError,
    is_unsendable,
)
from .io import HeadersArg, Producer, Stream

# Unpack is in typing from Python 3.11; on 3.10 it is needed by the type checker only.
if sys.version_info >= (3, 11):
    from typing import Unpack
elif TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["JournalMisuseError", "PendingLimitError", "PublicationJournal", "RobustProducer"]

log = logging.getLogger("hop.robust_publisher")

#: How long librdkafka tries a message before handing it back to be requeued, unless the
#: caller sets ``produce_timeout``. Finite, so that failures come back here while the
#: broker is down instead of sitting in librdkafka's queue for ever.
DEFAULT_PRODUCE_TIMEOUT = timedelta(seconds=30)
_BACKOFF_FIRST = 0.1
_BACKOFF_MAX = 5.0
# Messages handed to librdkafka per pass before delivery reports are served again.
_SEND_BATCH = 5_000
# The longest the thread waits in one poll when nothing happens, so that new writes are
# noticed quickly while older messages wait for their acknowledgement.
_IDLE_POLL_MAX = 0.02


#: How many messages may wait in the journal (queued or in flight, not counting those set
#: aside) before ``write`` blocks for room, unless the caller sets ``max_pending``.
DEFAULT_MAX_PENDING = 100_000
# "Not delivered; retrying" is logged once per reason per this many seconds, with a count.
_RETRY_LOG_INTERVAL = 10.0
# While the journal refuses acknowledgements (a full disk), they are tried again this often.
_MARK_RETRY = 1.0
# A blocked write looks at the sending thread's state this often.
_ROOM_POLL = 0.1


class PendingLimitError(JournalError, TimeoutError):
    """``write`` waited ``timeout`` seconds for room among ``max_pending`` messages in vain
    (the broker is probably unreachable); nothing was journaled. A ``TimeoutError``."""


class _RetryLog:
    """Logs failed deliveries once per reason per interval, with how many there were.

    A broker that restarts fails every message in flight, each with its own report: one
    line each would be hundreds of lines a second saying the same thing.
    """

    def __init__(
        self, interval: float = _RETRY_LOG_INTERVAL, what: str = "message(s) not delivered"
    ) -> None:
        self._limiter: RateLimiter[str] = RateLimiter(interval)
        self._what = what

    def failed(self, reason: str, count: int, backoff: float) -> None:
        """Count ``count`` failures for ``reason``; log them when the interval has passed."""
        passed = self._limiter.hit(reason, count)
        if passed is not None:
            log.warning(
                "%d %s (%s)%s; retrying in %.1f s",
                passed.count,
                self._what,
                reason,
                "" if passed.since is None else f" in the last {passed.since:.0f} s",
                backoff,
            )

    def flush(self) -> None:
        """Log the failures counted and not yet logged."""
        for pending in self._limiter.drain():
            log.warning(
                "%d %s (%s) in the last %.0f s; retried",
                pending.count,
                self._what,
                pending.key,
                pending.since,
            )


class _Phase(enum.Enum):
    """Where a RobustProducer is in its life; it only ever moves down this list."""

    NEW = "new"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


def _next_backoff(backoff: float) -> float:
    """The pause after another failure: doubled, from ``_BACKOFF_FIRST`` up to ``_BACKOFF_MAX``."""
    return min(max(_BACKOFF_FIRST, backoff * 2), _BACKOFF_MAX)


class RobustProducer(threading.Thread):
    """A producer that keeps every message in a journal until the broker acknowledges it.

    Start it (``start()`` or ``with``), ``write`` messages, then ``stop()``. It is a thread:
    ``run()`` is its body and not for callers. (It stays a ``threading.Thread`` subclass
    rather than owning one because hop-client 0.13's was, and callers use the Thread
    names it inherits: ``join``, ``is_alive``, ``name``, ``daemon``.)

    Args:
        url: the Kafka URL to write to (as for ``Stream.open``).
        auth: as for ``Stream``: True (stored credentials), False, an ``Auth`` or a list.
        journal_path: the journal file; created with mode 0600 when missing, replayed when
            it holds unacknowledged messages.
        poll_wait: seconds the thread waits for delivery reports per pass while messages are
            in flight.
        fsync: make each ``write`` durable against power loss before it returns.
        max_pending: how many messages may wait (queued or in flight) before ``write``
            blocks until the broker has acknowledged some (100,000 by default).
        **kwargs: passed to ``Stream.open`` (``produce_timeout``, ``config``). Without a
            ``produce_timeout`` a failed delivery is reported back after 30 s and retried.

    Raises:
        ConfigurationError: a bad URL, or ``max_pending`` below 1.
    """

    def __init__(
        self,
        url: str,
        auth: AuthArg = True,
        journal_path: str | os.PathLike[str] = "publisher.journal",
        poll_wait: float = 1e-4,
        *,
        fsync: bool = False,
        max_pending: int = DEFAULT_MAX_PENDING,
        **kwargs: Unpack[WriteOptions],
    ) -> None:
        # The thread name shows up in tracebacks and thread dumps: never the password.
        super().__init__(name=f"hop RobustProducer {redact_url(url)}", daemon=True)
        self.url = url
        self.journal_path = os.fspath(journal_path)
        self.poll_wait = poll_wait
        self.fsync = fsync
        if not isinstance(max_pending, int) or max_pending < 1:
            raise ConfigurationError(f"max_pending must be a positive integer, not {max_pending!r}")
        self.max_pending = max_pending
        self._retry_log = _RetryLog()
        self._journal_trouble = _RetryLog(what="acknowledgement(s) not journaled")
        self._url = parse_url(url)
        self._auth = auth
        self._open_kwargs: WriteOptions = {**kwargs}
        self._open_kwargs.setdefault("produce_timeout", DEFAULT_PRODUCE_TIMEOUT)
        # The journal keeps every message, so a broker that is down (even one never reached
        # yet) is waited for however long it takes, unless the caller says otherwise.
        self._open_kwargs.setdefault("connect_timeout", None)
        self._phase = _Phase.NEW
        self._phase_lock = threading.Lock()
        self._wake = threading.Event()
        self._journal: PublicationJournal | None = None
        self._producer: Producer | None = None
        self._credential: AuthLike | None = None
        self._failure: BaseException | None = None
        # Filled by delivery callbacks, which run on this thread inside poll().
        self._acked: list[int] = []
        self._failed: list[tuple[int, confluent_kafka.KafkaError]] = []
        self._unsendable: list[confluent_kafka.KafkaError] = []

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Open the journal (replaying it) and the stream, then start sending.

        Raises:
            StreamStateError: it was started before.
            JournalCorruptError: the journal is damaged; nothing is sent rather than lost.
            JournalError: the journal cannot be opened (for instance, another publisher
                uses it).
            ConfigurationError, CredentialError, KafkaError: the stream cannot be opened.
        """
        with self._phase_lock:
            if self._phase != _Phase.NEW:
                raise StreamStateError(
                    f"this RobustProducer was already started (it is {self._phase.value}); "
                    "create a new one"
                )
            journal = PublicationJournal(self.journal_path, fsync=self.fsync)
            try:
                self._producer = Stream(auth=self._auth).open(self.url, "w", **self._open_kwargs)
                self._credential = self._producer.auth
            except BaseException:
                journal.close()
                raise
            self._journal = journal
            if journal.has_messages_to_send():
                log.info(
                    "%s: resending %d messages left by an earlier publisher",
                    self.journal_path,
                    journal.pending_count(),
                )
            self._phase = _Phase.RUNNING
            super().start()

    def stop(self) -> None:
        """Wait until every queued message is acknowledged, then end the thread.

        Stopping twice is harmless.

        Raises:
            StreamStateError: it was never started.
            DeliveryError: messages were set aside as impossible to send (too large for the
                broker); they stay in the journal, and everything else was delivered.
            HopError: the sending thread failed (for instance, the journal could not be
                written, or the broker refused the credential); unsent messages stay in
                the journal.
        """
        with self._phase_lock:
            if self._phase == _Phase.NEW:
                raise StreamStateError("this RobustProducer was not started")
            if self._phase == _Phase.RUNNING:
                self._phase = _Phase.STOPPING
        self._wake.set()
        self.join()
        with self._phase_lock:
            self._phase = _Phase.STOPPED
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        if self._unsendable:
            errors, self._unsendable = self._unsendable, []
            raise DeliveryError(
                f"{len(errors)} message(s) could not be sent ({errors[0].str()}); they are "
                f"kept in the journal {self.journal_path}",
                len(errors),
                errors,
            )

    def __enter__(self) -> RobustProducer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- writing -----------------------------------------------------------------------

    def write(
        self,
        message: object,
        headers: HeadersArg = None,
        test: bool = False,
        topic: str | None = None,
        key: str | bytes | None = None,
        timeout: float | None = None,
    ) -> None:
        """Journal a message for sending; it is safe from a crash of this process on return.

        When ``max_pending`` messages wait already, it first blocks until the broker has
        acknowledged some, for at most ``timeout`` seconds.

        Args:
            message: a ``MessageModel``, ``bytes`` (sent as a blob) or any JSON value.
            headers: extra headers (a mapping or a list of pairs; keys may repeat).
            test: mark it as a test message.
            topic: the topic; required when the URL names zero or several topics.
            key: the Kafka message key.
            timeout: the longest to wait for room, in seconds; None waits as long as it
                takes.

        Raises:
            StreamStateError: not started yet, or stopped.
            TypeError: the message cannot be encoded, or the key or topic has the wrong type.
            ConfigurationError: a reserved header key, or no topic to write to.
            PendingLimitError: no room came within ``timeout``; nothing was journaled.
            JournalError: the journal could not be written (or the sending thread failed).
        """
        if isinstance(key, str):
            raw_key: bytes | None = key.encode("utf-8")
        elif key is None or isinstance(key, bytes):
            raw_key = key
        else:
            raise TypeError(f"key must be str or bytes, not {type(key).__name__}")
        if topic is None and len(self._url.topics) != 1:
            raise ConfigurationError(
                f"{redact_url(self.url)} names {len(self._url.topics)} topics: pass topic= to "
                "say which one to write to"
            )
        body, packed_headers = Producer.pack(message, headers, test, auth=self._credential)
        journal = self._journal
        if journal is not None and journal.waiting_count() >= self.max_pending:
            self._wait_for_room(journal, timeout)
        with self._phase_lock:
            if self._phase != _Phase.RUNNING:
                raise StreamStateError(
                    "call start() (or use a with block) before write()"
                    if self._phase == _Phase.NEW
                    else "this RobustProducer is stopped"
                )
            if self._failure is not None:
                raise JournalError(
                    f"the publisher's sending thread failed: {self._failure}"
                ) from self._failure
            assert self._journal is not None
            self._journal.queue_message(body, topic, packed_headers, raw_key)
        # The sender clears the event before it looks at the journal, so skipping set()
        # when it is already set loses no wake-up (and saves a lock per message).
        if not self._wake.is_set():
            self._wake.set()

    def _wait_for_room(self, journal: PublicationJournal, timeout: float | None) -> None:
        """Block until fewer than ``max_pending`` messages wait, or raise."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._phase != _Phase.RUNNING or self._failure is not None:
                return  # write() itself reports why it cannot go on
            left = _ROOM_POLL if deadline is None else min(_ROOM_POLL, deadline - time.monotonic())
            if left <= 0:
                raise PendingLimitError(
                    f"{journal.waiting_count():,} messages are waiting to be acknowledged "
                    f"(max_pending={self.max_pending:,}) and none was within {timeout} s; "
                    "is the broker reachable? Nothing was journaled"
                )
            if journal.wait_for_room(self.max_pending, left):
                return

    # -- the thread --------------------------------------------------------------------

    def run(self) -> None:
        """The thread's body: send, serve delivery reports, journal acknowledgements."""
        journal, producer = self._journal, self._producer
        assert journal is not None and producer is not None
        backoff = 0.0
        resume_at = 0.0
        mark_at = 0.0
        idle_wait = self.poll_wait
        try:
            while True:
                sent = 0
                if time.monotonic() >= resume_at:
                    sent = self._send(journal, producer)
                    if sent < 0:  # librdkafka refused a message: back off
                        backoff = _next_backoff(backoff)
                        resume_at = time.monotonic() + backoff
                if journal.has_messages_in_flight():
                    served = producer.poll(idle_wait)
                    idle_wait = (
                        self.poll_wait if served or sent else min(idle_wait * 2, _IDLE_POLL_MAX)
                    )
                if self._acked and time.monotonic() >= mark_at:
                    acked, self._acked = self._acked, []
                    try:
                        journal.mark_messages_sent(acked)
                    except JournalError as exc:
                        # A full disk, say: the messages were delivered, so their marks
                        # wait here (in flight, counted against max_pending) and are
                        # written once the journal takes them again; when stopping, they
                        # are left for the next publisher, which sends them again.
                        if self._phase != _Phase.RUNNING:
                            raise JournalError(
                                f"{len(acked)} delivered message(s) could not be marked sent "
                                f"in the journal ({exc}); the next publisher on "
                                f"{self.journal_path} sends them again, under the same _id"
                            ) from exc
                        self._acked = acked + self._acked
                        mark_at = time.monotonic() + _MARK_RETRY
                        self._journal_trouble.failed(str(exc), len(acked), _MARK_RETRY)
                    else:
                        backoff = 0.0
                if self._failed:
                    reported, self._failed = self._failed, []
                    failed = []
                    for seq, error in reported:
                        # No retry cures it: set aside (kept in the journal, no longer
                        # sent) so that it does not hold up every message behind it.
                        if is_unsendable(error):
                            self._set_aside(journal, seq, error)
                        else:
                            journal.requeue_message(seq)
                            failed.append((seq, error))
                    if not failed:
                        continue
                    backoff = _next_backoff(backoff)
                    resume_at = time.monotonic() + backoff
                    reasons: dict[str, int] = {}
                    for _, error in failed:
                        reasons[error.str()] = reasons.get(error.str(), 0) + 1
                    for reason, count in reasons.items():
                        self._retry_log.failed(reason, count, backoff)
                if journal.has_messages_in_flight():
                    continue
                if not journal.has_messages_to_send():
                    if self._phase != _Phase.RUNNING:
                        break
                    self._wake.wait(1.0)
                    self._wake.clear()
                    idle_wait = self.poll_wait
                elif time.monotonic() < resume_at:
                    self._wake.wait(resume_at - time.monotonic())
                    self._wake.clear()
        except BaseException as exc:
            self._failure = exc
            log.error("the robust publisher's sending thread failed: %s", exc)
        finally:
            self._close(journal, producer)

    def _send(self, journal: PublicationJournal, producer: Producer) -> int:
        """Hand waiting messages to librdkafka; how many, or -1 when it refused one.

        Raises:
            KafkaError: an error no retry can cure (a refused credential, a fatal error),
                which ends the thread; the messages stay in the journal.
        """
        batch = journal.take_messages_to_send(_SEND_BATCH)
        write_raw, on_delivery, partial = producer.write_raw, self._on_delivery, functools.partial
        for index, (seq, body, headers, topic, key) in enumerate(batch):
            try:
                write_raw(
                    body, headers, delivery_callback=partial(on_delivery, seq), topic=topic, key=key
                )
            except HopError as exc:
                if isinstance(exc, KafkaError) and exc.kafka_error is not None:
                    if is_unsendable(exc.kafka_error):
                        self._set_aside(journal, seq, exc.kafka_error)
                        continue
                for unsent, *_ in batch[index:]:
                    journal.requeue_message(unsent)
                if isinstance(exc, AuthenticationError) or (
                    isinstance(exc, KafkaError) and exc.fatal
                ):
                    raise
                self._retry_log.failed(f"could not be queued for sending: {exc}", 1, _BACKOFF_FIRST)
                return -1
        return len(batch)

    def _set_aside(
        self, journal: PublicationJournal, seq: int, error: confluent_kafka.KafkaError
    ) -> None:
        journal.set_aside(seq)
        self._unsendable.append(error)
        log.error(
            "message %d can never be sent (%s): set aside; it stays in the journal %s",
            seq,
            error.str(),
            self.journal_path,
        )

    def _on_delivery(
        self, seq: int, error: confluent_kafka.KafkaError | None, _: confluent_kafka.Message
    ) -> None:
        if error is None:
            self._acked.append(seq)
        else:
            self._failed.append((seq, error))

    def _close(self, journal: PublicationJournal, producer: Producer) -> None:
        self._retry_log.flush()
        self._journal_trouble.flush()
        try:
            producer.close()
        except HopError as exc:
            # Whatever librdkafka still held is still in the journal, so nothing is lost.
            log.warning("closing the robust publisher's stream: %s", exc)
        finally:
            journal.close()
