"""The asyncio consumer: ``hop.aio.Consumer``, a blocking ``hop.io.Consumer`` driven from an
event loop.

Shape (see docs/asyncio.md): what librdkafka has ready is taken on the loop without waiting
(the blocking consumer's ``_ready_batch``); only when nothing is does the blocking
consumer's own fetch (``_next_batch``: one message waited for up to ``batch_timeout``) run
in a worker thread of the consumer's own; each message is then filtered,
decoded and committed on the loop by the blocking consumer's own per-message steps
(``_read_steps``), one message per ``__anext__``, so both APIs hand out the same messages
with the same offsets stored at the same moment. Messages over ``_BIG`` bytes are decoded
in a worker thread instead, so that parsing them cannot hold the loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections import deque
from collections.abc import AsyncIterator
from datetime import timedelta
from types import TracebackType
from typing import Any, Generic, Literal, TypeVar, overload

import confluent_kafka

from hop import io as hop_io
from hop.errors import StreamStateError
from hop.io import Metadata
from hop.models import MessageModel

from ._internals import FINISHED, SKIPPED, ReadSteps
from ._producer import YIELD_EVERY

#: Messages larger than this (bytes) are decoded in a worker thread, not on the loop.
_BIG = 256 * 1024

_T = TypeVar("_T")


class Consumer:
    """Reads messages from Kafka on an asyncio loop. Obtain one with
    ``async with hop.aio.Stream().open(url, "r") as consumer``.

    ``async for message in consumer`` yields messages (``MessageModel`` instances) as the
    blocking consumer does; ``read()`` offers the same options.
    """

    def __init__(self, consumer: hop_io.Consumer, loop: asyncio.AbstractEventLoop) -> None:
        self._consumer = consumer
        self._loop = loop
        self._url = consumer._url
        # One thread per consumer: fetches, synchronous commits and closing run there in
        # order, so the client is never closed while a fetch is using it.
        self._worker = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="hop.aio reader"
        )
        self._fetching: concurrent.futures.Future[list[confluent_kafka.Message]] | None = None
        self._buffer: deque[confluent_kafka.Message] = deque()
        self._last_turn = time.monotonic()
        self._closed = False

    @property
    def blocking(self) -> hop_io.Consumer:
        """The ``hop.io.Consumer`` underneath (do not read from it directly)."""
        return self._consumer

    # -- reading -------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[MessageModel]:
        return self.read()

    @overload
    def read(
        self,
        metadata: Literal[False] = ...,
        autocommit: bool = ...,
        batch_size: int = ...,
        batch_timeout: timedelta = ...,
        skip_duplicates: bool | int | None = ...,
    ) -> AsyncIterator[MessageModel]: ...

    @overload
    def read(
        self,
        metadata: Literal[True],
        autocommit: bool = ...,
        batch_size: int = ...,
        batch_timeout: timedelta = ...,
        skip_duplicates: bool | int | None = ...,
    ) -> AsyncIterator[tuple[MessageModel, Metadata]]: ...

    @overload
    def read(
        self,
        metadata: bool,
        autocommit: bool = ...,
        batch_size: int = ...,
        batch_timeout: timedelta = ...,
        skip_duplicates: bool | int | None = ...,
    ) -> AsyncIterator[MessageModel | tuple[MessageModel, Metadata]]: ...

    def read(
        self,
        metadata: bool = False,
        autocommit: bool = True,
        batch_size: int = 100,
        batch_timeout: timedelta = timedelta(seconds=0.2),
        skip_duplicates: bool | int | None = None,
    ) -> AsyncIterator[Any]:
        """Yield messages as they arrive, as ``hop.io.Consumer.read`` does (same arguments,
        same filtering, same commits).

        Args:
            metadata: yield ``(message, Metadata)`` pairs instead of messages.
            autocommit: mark each message done (for a consumer group) once the next one is
                requested; without it only ``mark_done`` commits.
            batch_size: how many messages to fetch from librdkafka at once.
            batch_timeout: how long one fetch waits for a message before ``stop()`` and
                cancellation are looked at again.
            skip_duplicates: as for ``hop.io.Consumer.read``.

        Raises:
            StreamStateError: the consumer is closed.
            KafkaError: a fatal error from Kafka (authentication, authorization).
        """
        return _Messages(
            self, False, metadata, autocommit, batch_size, batch_timeout, skip_duplicates
        )

    def read_raw(
        self,
        autocommit: bool = True,
        batch_size: int = 100,
        batch_timeout: timedelta = timedelta(seconds=0.2),
        skip_duplicates: bool | int | None = None,
    ) -> AsyncIterator[confluent_kafka.Message]:
        """Yield the messages undecoded, as ``hop.io.Consumer.read_raw`` does."""
        return _Messages(self, True, False, autocommit, batch_size, batch_timeout, skip_duplicates)

    async def _fetch(self, size: int, wait: float) -> None:
        """Fill the buffer with the next batch: what librdkafka has ready, else a batch
        waited for in the worker thread.

        A fetch abandoned by a cancelled task is kept and its messages are handed out next
        time: cancelling a read loses nothing.
        """
        fetching = self._fetching
        if fetching is None:
            blocking = self._consumer
            if not blocking._topic_check_due(blocking._until_eos):
                # What librdkafka has ready is taken here, without a trip to the worker
                # (consume with no wait: tens of microseconds for a batch).
                ready = blocking._ready_batch(size)
                if ready:
                    self._buffer.extend(ready)
                    return
            fetching = self._fetching = self._worker.submit(
                blocking._next_batch, size, wait, blocking._until_eos
            )
        try:
            batch = await asyncio.shield(asyncio.wrap_future(fetching))
        except asyncio.CancelledError:
            raise
        except BaseException:
            if self._fetching is fetching:
                self._fetching = None
            raise
        finally:
            self._last_turn = time.monotonic()
        if self._fetching is fetching:  # not taken already by another reader
            self._fetching = None
            self._buffer.extend(batch)

    # -- committing ------------------------------------------------------------------------

    async def mark_done(self, metadata: Metadata, asynchronous: bool = True) -> None:
        """Commit a message as processed, as ``hop.io.Consumer.mark_done`` does; a
        synchronous commit waits in the worker thread.

        Raises:
            KafkaError: a synchronous commit failed.
        """
        if asynchronous:
            self._consumer.mark_done(metadata, True)  # queued by librdkafka: no waiting
            return
        await self._in_worker(self._consumer.mark_done, metadata, False)

    async def _in_worker(self, function: Any, *args: Any) -> Any:
        if self._closed:
            raise StreamStateError(f"this consumer for {self._url} is closed")
        return await asyncio.wrap_future(self._worker.submit(function, *args))

    # -- lifecycle ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Make reading end after the current message (or the current fetch, within
        ``batch_timeout``). Safe from any thread."""
        self._consumer.stop()

    async def close(self) -> None:
        """Commit what was handed out and finished, leave the group, close (in the worker
        thread, after any fetch under way). Idempotent."""
        await self._shut(None, None, None)

    async def _shut(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._closed:
            return
        self._closed = True
        self._consumer.stop()
        # The blocking consumer's __exit__: the message being processed when an error came
        # is not done. A cancellation counts as an interrupt there: the message was.
        if isinstance(exc, asyncio.CancelledError):
            exc_type = exc = tb = None
        closing = self._worker.submit(self._consumer.__exit__, exc_type, exc, tb)
        self._worker.shutdown(wait=False)
        self._buffer.clear()
        await asyncio.shield(asyncio.wrap_future(closing))

    async def list_topics(self, timeout: float = -1.0) -> dict[str, Any]:
        """The topics on the broker (as ``hop.io.Consumer.list_topics``), looked up in the
        worker thread."""
        topics: dict[str, Any] = await self._in_worker(self._consumer.list_topics, timeout)
        return topics

    def assignment(self) -> list[tuple[str, int]]:
        """The ``(topic, partition)`` pairs this consumer reads now, sorted."""
        return self._consumer.assignment()

    is_test = staticmethod(hop_io.Consumer.is_test)

    async def __aenter__(self) -> Consumer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._shut(exc_type, exc, tb)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<hop.aio.Consumer {self._url} group={self._consumer._group_id} {state}>"


class _Messages(AsyncIterator[_T], Generic[_T]):
    """One ``read``: the blocking read loop, with the fetch awaited."""

    def __init__(
        self,
        owner: Consumer,
        raw_mode: bool,
        metadata: bool,
        autocommit: bool,
        batch_size: int,
        batch_timeout: timedelta,
        skip_duplicates: bool | int | None,
    ) -> None:
        self._owner = owner
        self._options = (raw_mode, metadata, autocommit, batch_size, batch_timeout, skip_duplicates)
        self._batch_size = batch_size
        self._steps: ReadSteps | None = None
        self._handed_out: confluent_kafka.Message | None = None
        self._ended = False

    def __aiter__(self) -> _Messages[_T]:
        return self

    def _end(self) -> StopAsyncIteration:
        self._ended = True
        return StopAsyncIteration()

    async def __anext__(self) -> _T:
        if self._ended:
            raise StopAsyncIteration
        owner = self._owner
        blocking = owner._consumer
        steps = self._steps
        if steps is None:
            if owner._closed:
                raise StreamStateError(f"this consumer for {owner._url} is closed")
            steps = self._steps = blocking._read_steps(*self._options)
            blocking._next_topic_check = 0.0
        take, finish, wait = steps
        stopped = blocking._stopped.is_set
        if self._handed_out is not None:
            # The caller asked for the next message: the last one is done.
            raw, self._handed_out = self._handed_out, None
            if finish is not None:
                finish(raw)
            if stopped():
                raise self._end()
        buffer = owner._buffer
        while True:
            if stopped():
                raise self._end()
            if not buffer:
                if blocking._until_eos and blocking._assignment.finished():
                    raise self._end()
                await owner._fetch(self._batch_size, wait)
                continue
            raw = buffer.popleft()
            if len(raw) > _BIG:
                item = await owner._loop.run_in_executor(None, take, raw)
                owner._last_turn = time.monotonic()
            else:
                item = take(raw)
            if item is SKIPPED:
                continue
            if item is FINISHED:
                raise self._end()
            self._handed_out = raw
            if time.monotonic() - owner._last_turn > YIELD_EVERY:
                # A caller that never awaits would otherwise hold the loop for a whole batch.
                await asyncio.sleep(0)
                owner._last_turn = time.monotonic()
            result: _T = item
            return result
