"""The asyncio producer: ``hop.aio.Producer``, a blocking ``hop.io.Producer`` driven from an
event loop.

Shape (see docs/asyncio.md): ``write`` packs and queues the message on the loop thread
(librdkafka's ``produce`` never blocks: a full queue raises ``BufferError``, and ``write``
then awaits room); a poller thread serves delivery reports and the blocking producer's
reachability checks, and hands the reports to the loop in batches with
``call_soon_threadsafe``, where they resolve the delivery futures.

Two locks keep the librdkafka client from being closed while another thread uses it
(``hop.io.Producer._client_lock``): ``_produce_lock`` is held by the loop from the first
``write`` of a turn of the loop to the end of that turn (it only ever tries it, and awaits
when it is busy), and by the poller around the checks that may end the client;
``_poll_lock`` is held by the poller while it polls. Closing takes both, in that order.

Per message, ``write`` makes one object (the delivery future, which is also the delivery
callback); every 32 messages it polls on the loop thread itself (``_serve_here``, taking
``_poll_lock`` if it is free), and the reports that poll serves resolve their futures at
once: no per-message closure, lock operation or hand-over callback. Only one thread serves
reports at a time: two serving together trade the GIL for every report (one ``write`` then
took 35-75 ms).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

import confluent_kafka

from hop import io as hop_io
from hop.errors import ClientError, DeliveryError, HopError, StreamStateError
from hop.io import HeadersArg

from ._internals import TrustedCallback, describe_delivery_error, pack

logger = logging.getLogger("hop.io")

#: How long the poller waits for delivery reports per pass (and how soon it notices close).
_POLL_WAIT = 0.005
#: While no broker has answered yet, how long each metadata probe may wait (under
#: ``_poll_lock`` only: writes go on meanwhile).
_REACH_WAIT = 0.01
#: A writer or reader that has not let the loop run for this long gives it a turn.
YIELD_EVERY = 0.002
#: The poller leaves serving to the writer while it wrote this recently (seconds).
_WRITING = 0.005
#: How long a writer waits at most when it finds the poller serving reports (seconds); the
#: poller wakes it as soon as it is done.
_BACK_OFF = 0.001
#: Delivery reports resolved per turn of the loop, at most.
_DRAIN_BATCH = 2000

_PURGED = frozenset(
    (confluent_kafka.KafkaError._PURGE_QUEUE, confluent_kafka.KafkaError._PURGE_INFLIGHT)
)

_Report = tuple["_Delivery", Any, confluent_kafka.Message]


class _Delivery(asyncio.Future[confluent_kafka.Message], TrustedCallback):
    """A message's delivery future, which is also its delivery callback (one object per
    message, not two): called by librdkafka's ``poll`` (on the loop thread or the
    poller's), it queues its report for the loop, where ``Producer._drain`` resolves it.

    Trusted by the blocking producer (it is not wrapped again): it cannot raise, and it
    honours the producer's muting as ``SafeCallback`` does.
    """

    __slots__ = ()

    #: The producer (a class attribute: each producer makes its own subclass, so that no
    #: message pays for setting it).
    _owner: Producer

    def __call__(
        self, error: confluent_kafka.KafkaError | None, message: confluent_kafka.Message
    ) -> None:
        owner = self._owner
        if error is None:
            owner._client.answered = True
            if owner._on_loop:
                # Served by the loop's own poll (``Producer._serve_here``): resolve now.
                self._delivered(message)
                return
        else:
            tally: Any = owner._tally
            if tally.muted:
                return
            # Counted as the blocking producer counts failures: flush() and close() raise
            # DeliveryError for them, so none goes unnoticed even if no one awaits it.
            tally(error, message)
        owner._reports.append((self, error, message))

    def _delivered(self, message: confluent_kafka.Message) -> None:
        """On the loop: the broker acknowledged the message."""
        self._owner._pending.discard(self)
        try:
            self.set_result(message)
        except asyncio.InvalidStateError:
            pass  # cancelled by its caller: the message was sent all the same


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _BothLocks(AbstractContextManager[object]):
    """Closing the client: no write and no poll may run meanwhile."""

    def __init__(self, first: threading.RLock, second: threading.RLock) -> None:
        self._first = first
        self._second = second

    def __enter__(self) -> object:
        self._first.acquire()
        self._second.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._second.release()
        self._first.release()


class Producer:
    """Writes messages to Kafka from asyncio. Obtain one with
    ``async with hop.aio.Stream().open(url, "w") as producer``.

    ``await producer.write(message)`` queues a message and returns an ``asyncio.Future``
    that resolves (to the ``confluent_kafka.Message`` delivered) once the broker has
    acknowledged it, or fails with a ``hop.errors`` exception. As with the blocking
    producer, a failure is never silent: ``flush()`` and ``close()`` raise
    ``DeliveryError`` for the failures since the last check, awaited or not.
    """

    def __init__(self, producer: hop_io.Producer, loop: asyncio.AbstractEventLoop) -> None:
        self._producer = producer
        self._blocking_write = producer.write
        # For ``write``'s direct way to librdkafka.
        self._produce: Callable[..., None] = producer._producer.produce
        self._sender = producer._sender
        self._default_topic = producer._default_topic
        self._loop = loop
        self._url = producer._url
        producer._wait_when_full = False
        producer._poll_every = 1 << 62  # this producer serves the reports (_serve_here)
        self._new_delivery: type[_Delivery] = type(
            "_Delivery", (_Delivery,), {"__slots__": (), "_owner": self}
        )
        #: True while the loop thread itself polls: reports then resolve their futures at
        #: once (they are served on the loop's thread).
        self._on_loop = False
        self._produce_lock = threading.RLock()
        #: The loop thread holds ``_produce_lock`` until its next turn (see ``_hold``).
        self._holding = False
        self._poll_lock = threading.RLock()
        #: True while the poller serves delivery reports (not while it asks for metadata).
        self._poller_serving = False
        #: A writer waiting for the poller to finish serving (``_await_poller``).
        self._writer_waiting: asyncio.Future[None] | None = None
        producer._client_lock = _BothLocks(self._produce_lock, self._poll_lock)
        self._tally = producer._tally
        self._client = producer._tally.client
        self._reports: deque[_Report] = deque()
        self._pending: set[_Delivery] = set()
        self._drain_scheduled = False
        self._room = asyncio.Event()
        #: Set by ``_drain`` once nothing awaits its report (``_wait_idle`` makes one).
        self._idle: asyncio.Future[None] | None = None
        #: The error that ended the client (no broker within connect_timeout, a refused
        #: credential): every later call raises it.
        self._failure: HopError | None = None
        self._closing = False
        self._closed = False
        self._last_turn = time.monotonic()
        self._last_write = 0.0
        self._writes = 0
        self._stop = threading.Event()
        #: Set to end the poller's standing aside at once (flush, close).
        self._wake = threading.Event()
        self._poller_done: asyncio.Future[None] = loop.create_future()
        self._poller = threading.Thread(
            target=self._poll, name=f"hop.aio poller {self._url}", daemon=True
        )
        self._poller.start()

    @property
    def auth(self) -> Any:
        """The credential this producer uses (its username goes in ``_sender``), or None."""
        return self._producer.auth

    @property
    def blocking(self) -> hop_io.Producer:
        """The ``hop.io.Producer`` underneath (for ``pack``; do not write through it)."""
        return self._producer

    # -- writing -----------------------------------------------------------------------

    async def write(
        self,
        message: object,
        headers: HeadersArg = None,
        test: bool = False,
        topic: str | None = None,
        key: str | bytes | None = None,
    ) -> asyncio.Future[confluent_kafka.Message]:
        """Queue a message; wait (without blocking the loop) while librdkafka's queue is full.

        Args:
            message: a ``MessageModel``, ``bytes`` (sent as a blob) or any JSON-serializable
                value.
            headers: extra headers (a mapping or a list of pairs; keys may repeat).
            test: mark the message as a test message (consumers skip it by default).
            topic: the topic; required when the stream was opened on zero or several topics.
            key: the Kafka message key.

        Returns:
            A future: the delivered ``confluent_kafka.Message`` once the broker has
            acknowledged it; ``DeliveryError`` when the broker did not; the error that ended
            the producer (``BrokerUnavailableError`` when no broker answered within
            ``connect_timeout``, ``AuthenticationError``...) for messages still queued then.
            Cancelling it (or the task awaiting it) does not take the message back.

        Raises:
            TypeError, InvalidMessageError, ConfigurationError, MessageTooLargeError: as the
                blocking ``write``.
            StreamStateError: the producer is closed.
            KafkaError: the producer was ended (see above).
        """
        if self._closing or self._failure is not None:
            self._check_writable()
        future = self._new_delivery(loop=self._loop)
        full = True
        if self._holding or self._hold():
            try:
                if (
                    topic is None
                    and self._default_topic is not None
                    and self._producer._ended is None
                    and self._client.stopping is None
                ):
                    # The common case, straight to librdkafka: the blocking write's packing,
                    # without the checks and choices it makes for every message (this
                    # stream's own topic, the client not ended, the callback trusted).
                    body, packed = pack(message, headers, test, self._sender)
                    try:
                        self._produce(
                            self._default_topic, body, key, headers=packed, on_delivery=future
                        )
                    except BufferError:
                        raise
                    except Exception:
                        # Nothing was queued: the blocking write raises it as hop's error.
                        self._blocking_write(message, headers, future, test, topic, key)
                else:
                    self._blocking_write(message, headers, future, test, topic, key)
                full = False
            except BufferError:
                pass
        if full:
            await self._write_when_room(future, message, headers, test, topic, key)
        self._pending.add(future)
        writes = self._writes = self._writes + 1
        if not writes & 31:
            pause = self._serve_here()
            if pause is not None:
                # A task writing in a tight loop never suspends otherwise: give others a
                # turn (and the poller time to finish, when it is serving).
                if pause:
                    await self._await_poller()
                else:
                    await asyncio.sleep(0)
                self._last_turn = time.monotonic()
        return future

    def _serve_here(self) -> float | None:
        """Every 32 writes (as the blocking producer does): serve the delivery reports on
        the loop's own thread, resolving their futures directly, while the poller stands
        aside. Only one thread serves at a time: the loop's ``poll`` and the poller's, run
        together, would fight over the GIL for every report. Returns what the writer should
        do before it goes on: ``_BACK_OFF`` when the poller is serving (wait for it,
        ``_await_poller``), 0 (a turn of the loop) when the writer has had the loop for
        longer than ``YIELD_EVERY``, else None (go on at once)."""
        if not self._holding:
            return self._turn_due()
        if not self._poll_lock.acquire(False):
            self._last_write = time.monotonic()  # the poller stands aside after it
            if not self._poller_serving:
                return self._turn_due()  # it is asking for metadata: serve next time
            # The poller is serving (it began before this burst of writes): writing on
            # meanwhile would make the two threads trade the GIL for every report it serves.
            return _BACK_OFF
        if self._reports:
            self._drain()  # those the poller served: before the later ones
        self._on_loop = True
        try:
            served = self._producer._serve(0)
        finally:
            self._on_loop = False
            self._poll_lock.release()
        if served:
            if self._reports:
                self._drain()  # failed deliveries take the long way
            self._room.set()
            if not self._pending:
                self._wake_idle()
        self._last_write = time.monotonic()
        return self._turn_due()

    async def _await_poller(self) -> None:
        """Wait until the poller has served what it was serving (it wakes this writer),
        ``_BACK_OFF`` at most."""
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._writer_waiting = waiter
        timer = self._loop.call_later(_BACK_OFF, _wake, waiter)
        try:
            if self._poller_serving:  # else it finished before it could see the waiter
                await waiter
        finally:
            timer.cancel()
            self._writer_waiting = None

    def _turn_due(self) -> float | None:
        """0 (sleep for a turn of the loop) when the writer has had it longer than
        ``YIELD_EVERY``, else None."""
        return 0 if time.monotonic() - self._last_turn > YIELD_EVERY else None

    def _hold(self) -> bool:
        """Take ``_produce_lock`` for the writes of this turn of the loop (released by
        ``_let_go`` at the next turn): one lock operation per turn, not two per write.
        False when the poller holds it."""
        if not self._produce_lock.acquire(False):
            return False
        self._holding = True
        self._loop.call_soon(self._let_go)
        return True

    def _let_go(self) -> None:
        self._holding = False
        self._produce_lock.release()

    async def _write_when_room(
        self,
        future: _Delivery,
        message: object,
        headers: HeadersArg,
        test: bool,
        topic: str | None,
        key: str | bytes | None,
    ) -> None:
        """``write`` when librdkafka's queue is full (or the poller holds the client):
        await room, then write."""
        lock = self._produce_lock
        while True:
            if lock.acquire(False):
                try:
                    self._blocking_write(message, headers, future, test, topic, key)
                    return
                except BufferError:
                    pass
                finally:
                    lock.release()
                # librdkafka's queue is full: wait for delivery reports to make room.
                self._room.clear()
                if self._reports:
                    self._drain()
                else:
                    try:
                        await asyncio.wait_for(self._room.wait(), _POLL_WAIT)
                    except asyncio.TimeoutError:
                        pass
            else:
                # The poller is checking whether a broker answered (or closing the client).
                await asyncio.sleep(0.001)
            self._last_turn = time.monotonic()
            self._check_writable()

    def _check_writable(self) -> None:
        if self._closing:
            raise StreamStateError(f"this producer for {self._url} is closed")
        if self._failure is not None:
            raise self._failure

    # -- delivery ----------------------------------------------------------------------

    def _poll(self) -> None:
        """The poller thread: serve delivery reports and, until a broker has answered, the
        blocking producer's reachability checks; hand the reports to the loop."""
        producer = self._producer
        errors = producer._client_errors
        context = f"delivering to {self._url}"
        failure: HopError | None = None
        try:
            while not self._stop.is_set():
                if time.monotonic() - self._last_write < _WRITING:
                    # A writer is busy: its writes serve the reports (``_serve_here``,
                    # every 32 messages); polling here too would only make the two threads
                    # fight over the GIL for every report.
                    self._wake.wait(_WRITING)
                    self._wake.clear()
                    continue
                with self._poll_lock:
                    if producer._released:
                        failure = producer._ended or StreamStateError(
                            f"this producer for {self._url} is closed"
                        )
                        break
                    self._poller_serving = True
                    try:
                        producer._serve(_POLL_WAIT)
                    finally:
                        self._poller_serving = False
                waiter = self._writer_waiting
                if waiter is not None:
                    self._call_soon(_wake, waiter)  # done serving: the writer goes on
                if errors.stopping is not None or (self._pending and not producer._reached):
                    reached = False
                    if errors.stopping is None:
                        # Wait for a broker's answer while writes go on: only _poll_lock
                        # (closing needs it too), not the _produce_lock that writes need.
                        with self._poll_lock:
                            if not producer._released:
                                reached = producer._probe(_REACH_WAIT)
                    if not reached:
                        with self._produce_lock:
                            # What may end the client (no broker within connect_timeout,
                            # a refused credential): brief, since the probe waited.
                            producer._check_client(context)
                            if self._pending:
                                producer._check_reached(0, context)
                if self._reports and not self._drain_scheduled:
                    self._drain_scheduled = True
                    self._call_soon(self._drain)
        except HopError as exc:
            failure = exc
        except BaseException as exc:  # pragma: no cover - a bug; the futures must not hang
            logger.exception("the delivery poller of %s failed", self._url)
            failure = ClientError(f"{context}: the delivery poller failed ({exc})")
        finally:
            self._call_soon(self._poller_ended, failure)

    def _call_soon(self, callback: Any, *args: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:
            pass  # the loop is closed: no one is waiting any more

    def _drain(self) -> None:
        """Resolve the futures of the delivery reports served so far (on the loop)."""
        self._drain_scheduled = False
        reports = self._reports
        pending = self._pending
        served = 0
        while reports and served < _DRAIN_BATCH:
            future, error, message = reports.popleft()
            served += 1
            if error is not None and error.code() in _PURGED:
                # Dropped because the client is being ended: the future fails with the
                # reason (BrokerUnavailableError...) once the poller has stopped.
                continue
            if error is None:
                future._delivered(message)
                continue
            pending.discard(future)
            if not future.done():
                future.set_exception(self._delivery_error(error, message))
                # Also counted for flush() and close(): no "never retrieved" log for it.
                future.exception()
        if reports and not self._drain_scheduled:
            self._drain_scheduled = True
            self._loop.call_soon(self._drain)
        if served:
            self._room.set()
        if not pending:
            self._wake_idle()

    def _delivery_error(
        self, error: confluent_kafka.KafkaError, message: confluent_kafka.Message
    ) -> DeliveryError:
        reason = describe_delivery_error(error, self._producer._max_bytes)
        return DeliveryError(
            f"a message to {message.topic()} at {self._url} was not delivered: {reason}",
            1,
            [error],
        )

    def _poller_ended(self, failure: HopError | None) -> None:
        """On the loop, once the poller has stopped: resolve what was reported, and fail the
        futures of messages that never will be (the client was ended)."""
        while self._reports:
            self._drain()
        if failure is not None and not self._closing:
            self._failure = failure
        if failure is not None:
            for future in self._pending:
                if not future.done():
                    future.set_exception(failure)
                    future.exception()
            self._pending.clear()
        self._wake_idle()
        self._room.set()
        if not self._poller_done.done():
            self._poller_done.set_result(None)

    async def flush(self, timeout: float | None = None) -> int:
        """Wait until every queued message is delivered or has failed.

        Args:
            timeout: seconds to wait at most; None waits until the queue is empty (bounded by
                ``produce_timeout`` when one is set).

        Returns:
            How many messages are still queued (0 unless ``timeout`` ran out).

        Raises:
            DeliveryError: messages failed since the last check (each failure once).
            KafkaError: the producer was ended (``BrokerUnavailableError`` when no broker
                answered within ``connect_timeout``, ``AuthenticationError``...).
        """
        if self._closing:
            raise StreamStateError(f"this producer for {self._url} is closed")
        await self._wait_idle(timeout)
        if self._failure is not None:
            raise self._failure
        while not self._produce_lock.acquire(blocking=False):
            await asyncio.sleep(0.001)
        try:
            # Never waits: raises the failures counted since the last check, as the
            # blocking flush() does.
            self._producer.flush(0)
        finally:
            self._produce_lock.release()
            if self._reports:
                self._drain()
        return len(self._pending)

    async def _wait_idle(self, timeout: float | None) -> None:
        deadline = None if timeout is None else self._loop.time() + timeout
        if self._pending:
            # No more writes are coming from this task: the poller serves the reports now.
            self._last_write = 0.0
            self._wake.set()
        while self._pending and self._failure is None and not self._poller_done.done():
            left = None if deadline is None else deadline - self._loop.time()
            if left is not None and left <= 0:
                return
            idle = self._idle
            if idle is None:
                idle = self._idle = self._loop.create_future()
            try:
                await asyncio.wait_for(asyncio.shield(idle), left)
            except asyncio.TimeoutError:
                return

    def _wake_idle(self) -> None:
        idle, self._idle = self._idle, None
        if idle is not None and not idle.done():
            idle.set_result(None)

    async def close(self, timeout: float | None = None) -> None:
        """Deliver everything queued, then close. Closing twice is harmless.

        Waiting is done on the loop; the librdkafka client is closed in a worker thread.
        Cancelling ``close`` stops the waiting, not the delivery: the worker thread goes on
        delivering what is queued before it closes the client.

        Args:
            timeout: seconds to wait for deliveries at most; what is still queued then is
                dropped and counted in the ``DeliveryError``. None waits until the queue is
                empty (bounded by ``produce_timeout`` when one is set).

        Raises:
            DeliveryError: some messages failed or were undelivered after ``timeout``.
            KafkaError: the producer was ended (see ``flush``).
        """
        if self._closed:
            return
        self._closed = True
        await self._wait_idle(timeout)
        self._closing = True
        if not self._pending and self._failure is None and self._close_at_once():
            return
        self._stop.set()
        self._wake.set()
        await asyncio.shield(self._poller_done)
        # The poller has stopped and no write can start: the worker thread has the client
        # to itself.
        left = 0.0 if timeout is not None and self._pending else timeout
        closing = self._loop.run_in_executor(None, self._producer.close, left)
        try:
            await asyncio.shield(closing)
        finally:
            while self._reports:  # those the worker thread served while closing
                self._drain()
            failure = self._failure
            for future in self._pending:
                if not future.done():
                    future.set_exception(
                        failure
                        or DeliveryError(
                            f"a message to {self._url} was dropped at close, undelivered", 1
                        )
                    )
                    future.exception()
            self._pending.clear()

    def _close_at_once(self) -> bool:
        """Close when everything was delivered: the blocking ``close`` then has nothing to
        wait for, so it runs here, and the poller is told to stop without being waited
        for. False when the poller is busy with the client (close the slow way)."""
        if not self._produce_lock.acquire(False):
            return False
        try:
            self._producer.close()  # nothing to wait for; raises the failures counted
        finally:
            self._produce_lock.release()
            self._stop.set()
            self._wake.set()
        return True

    def abandon(self) -> None:
        """Close at once, dropping whatever is still queued (their futures fail), without
        waiting or raising."""
        if self._closing:
            return
        self._closed = self._closing = True
        self._stop.set()
        self._producer.abandon()  # purges and closes under both locks
        failure = StreamStateError(f"the producer for {self._url} was abandoned")
        for future in self._pending:
            if not future.done():
                future.set_exception(failure)
                future.exception()
        self._pending.clear()

    def __len__(self) -> int:
        """How many written messages await their delivery report."""
        return len(self._pending)

    async def __aenter__(self) -> Producer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            await self.close()
            return
        try:
            await self.close()
        except HopError as close_error:
            # The original exception matters more; keep the delivery failure visible.
            logger.error("while closing after an error: %s", close_error)

    def __repr__(self) -> str:
        state = "closed" if self._closing else "open"
        return f"<hop.aio.Producer {self._url} {state}>"
