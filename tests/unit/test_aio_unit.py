"""hop.aio without a broker: its public face and the errors raised before connecting."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

import hop.io
from hop import aio
from hop._local_broker import free_port
from hop.errors import ConfigurationError


def test_public_names() -> None:
    for name in ("Stream", "stream", "list_topics", "Producer", "Consumer", "RobustProducer"):
        assert name in aio.__all__
        assert getattr(aio, name) is not None
    assert isinstance(aio.stream, aio.Stream)
    assert inspect.iscoroutinefunction(aio.list_topics)
    assert inspect.iscoroutinefunction(aio.Producer.write)


def test_stream_takes_the_blocking_streams_arguments() -> None:
    blocking = inspect.signature(hop.io.Stream.__init__).parameters
    assert list(inspect.signature(aio.Stream.__init__).parameters) == list(blocking)
    stream = aio.Stream(auth=False, start_at=-5, until_eos=True, skip_duplicates=10)
    assert (stream.start_at, stream.until_eos, stream.skip_duplicates) == (-5, True, 10)
    assert stream.auth is None
    opened = inspect.signature(hop.io.Stream.open).parameters
    assert list(inspect.signature(aio.Stream.open).parameters)[:5] == list(opened)[:5]


def test_a_bad_mode_fails_in_open() -> None:
    with pytest.raises(ConfigurationError, match="invalid mode"):
        aio.Stream(auth=False).open("kafka://localhost/t", "a")


def test_a_bad_url_or_option_fails_when_entered() -> None:
    async def enter(url: str, mode: str, **options: Any) -> None:
        async with aio.Stream(auth=False).open(url, mode, **options):
            pass

    with pytest.raises(ConfigurationError):
        asyncio.run(enter("http://localhost/t", "w"))
    with pytest.raises(ConfigurationError):
        asyncio.run(enter("kafka://localhost/", "r"))
    with pytest.raises(ConfigurationError):
        asyncio.run(enter("kafka://localhost/t", "w", start_at=hop.io.StartPosition.EARLIEST))


class _RecordingClient:
    """Stands in for librdkafka's producer: keeps each message's delivery callback."""

    def __init__(self) -> None:
        self.callbacks: list[Any] = []

    def produce(self, topic: str, body: bytes, key: object, **kwargs: Any) -> None:
        self.callbacks.append(kwargs["on_delivery"])

    def poll(self, timeout: float = 0) -> int:
        return 0


@contextlib.asynccontextmanager
async def _producer_on(client: _RecordingClient) -> AsyncIterator[aio.Producer]:
    """A ``hop.aio.Producer`` whose librdkafka client is ``client`` (abandoned at the end)."""
    producer = await aio.Stream(auth=False).open("kafka://127.0.0.1:1/t", "w")
    blocking = producer.blocking
    real = blocking._producer
    try:
        blocking._producer = client  # type: ignore[assignment]
        producer._produce = client.produce  # write's direct way to the client
        yield producer
    finally:
        blocking._producer = real
        producer.abandon()


def test_a_delivery_future_is_its_own_delivery_callback() -> None:
    """Issue 21 (throughput): one object per message; the future given to librdkafka, unwrapped,
    resolves on the loop with the delivered message."""

    async def main() -> None:
        client = _RecordingClient()
        async with _producer_on(client) as producer:
            future = await producer.write({"n": 1})
            assert client.callbacks == [future]
            delivered = object()
            client.callbacks[0](None, delivered)
            assert not future.done()  # resolved on the loop, not by librdkafka's thread
            for n in range(2, 33):  # every 32nd write resolves the reports served so far
                await producer.write({"n": n})
            assert await asyncio.wait_for(future, 1.0) is delivered
            assert len(producer) == 31

    asyncio.run(main())


class _OverlapClient(_RecordingClient):
    """A client whose ``poll`` takes a moment and notes when two threads poll at once."""

    def __init__(self) -> None:
        super().__init__()
        self.polling = 0
        self.overlaps = 0
        self.loop_polls = 0
        self.loop_thread = threading.get_ident()

    def poll(self, timeout: float = 0) -> int:
        self.polling += 1
        if self.polling > 1:
            self.overlaps += 1
        if threading.get_ident() == self.loop_thread:
            self.loop_polls += 1
        time.sleep(0.0005)
        self.polling -= 1
        return 0


def test_one_thread_at_a_time_serves_delivery_reports() -> None:
    """Issue 21 (the loop is never blocked long): the loop's poll (every 32 writes) and the
    poller's never serve reports together; two threads serving at once traded the GIL for
    every report and held one write for 35-75 ms."""

    async def main() -> None:
        client = _OverlapClient()
        async with _producer_on(client) as producer:
            # No reachability checks (the client has no list_topics): only polls.
            producer.blocking._client_errors.answered = True
            for _ in range(20):
                for i in range(64):
                    await producer.write({"n": i})
                await asyncio.sleep(0.012)  # idle long enough for the poller to serve
            assert client.loop_polls >= 10  # the writer served reports itself
            assert client.overlaps == 0

    asyncio.run(main())


def test_writes_go_on_while_no_broker_has_answered_yet() -> None:
    """Issue 21 (throughput): until a broker answers, the poller asks for metadata now and
    then; it held the lock writes need while it waited (10 ms at a time), so 5,000 writes
    took 0.66 s. Now only closing waits for it: they take about 0.05 s."""

    async def main() -> float:
        url = f"kafka://127.0.0.1:{free_port()}/t"  # nothing listens: no broker ever answers
        producer = await aio.Stream(auth=False).open(
            url, "w", connect_timeout=timedelta(seconds=30)
        )
        try:
            started = time.perf_counter()
            for i in range(5000):
                await producer.write({"i": i})
            return time.perf_counter() - started
        finally:
            producer.abandon()

    assert asyncio.run(main()) < 0.3
