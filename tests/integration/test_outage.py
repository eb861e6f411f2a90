"""Broker outages, staged where they happen in production: the connection to a broker that
keeps its data is cut (by a proxy) and later restored, and every message is read back and
counted. The rule: once any broker has answered, an outage is waited out and nothing is
dropped; a client that never reached a broker gives up after ``connect_timeout``.

Cases (the issue's outage matrix):

- library ``Producer``: before first contact; after contact, before and after
  ``connect_timeout`` has passed since opening; after a connection was set up but nothing
  delivered yet; during ``flush``; with a full queue;
- ``hop publish`` reading standard input through an outage;
- ``RobustProducer`` with a small queue and with its defaults, before and after contact;
- a consumer reading through an outage.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hop.errors import BrokerUnavailableError
from hop.io import StartPosition, Stream
from hop.robust_publisher import RobustProducer
from tests.support.tcp_proxy import ProxiedBroker

HOP = str(Path(sys.executable).with_name("hop"))
#: Short, so that "after connect_timeout" comes quickly.
CONNECT_TIMEOUT = 3.0


@pytest.fixture(scope="module")
def proxied() -> Iterator[ProxiedBroker]:
    """A broker reached only through a proxy that tests cut and restore."""
    with ProxiedBroker() as running:
        yield running


@pytest.fixture
def outage(proxied: ProxiedBroker) -> Iterator[ProxiedBroker]:
    """The proxied broker, restored after the test whatever happened."""
    proxied.proxy.restore()
    yield proxied
    proxied.proxy.restore()


@pytest.fixture
def url(outage: ProxiedBroker, topic: str) -> str:
    return f"{outage.url}/{topic}"


def restore_after(outage: ProxiedBroker, seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, outage.proxy.restore)
    timer.daemon = True
    timer.start()
    return timer


def read_ids(url: str) -> Counter[int]:
    """Every message on the topic, read from the start to the end: how often each ``n``
    came, after checking that copies of a message share its ``_id``."""
    ids_of: dict[int, set[bytes]] = {}
    counts: Counter[int] = Counter()
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    with stream.open(url, "r") as reader:
        for message, metadata in reader.read(metadata=True):
            n = message.content["n"]
            counts[n] += 1
            ids_of.setdefault(n, set()).update(v for k, v in metadata.headers if k == "_id")
    copies_with_other_ids = {n: ids for n, ids in ids_of.items() if len(ids) != 1}
    assert not copies_with_other_ids, "a message was duplicated under another _id"
    return counts


def assert_all_delivered(url: str, count: int) -> None:
    counts = read_ids(url)
    missing = sorted(set(range(count)) - set(counts))
    assert not missing, f"{len(missing)} of {count} lost: {missing[:10]}"
    assert set(counts) == set(range(count))


def deliver_first(producer: Any, count: int) -> None:
    """Write ``count`` messages and let the broker acknowledge them, serving delivery
    reports with ``poll`` only (no ``flush``), as a long-running publisher does."""
    for n in range(count):
        producer.write({"n": n})
    deadline = time.monotonic() + 20
    while len(producer) and time.monotonic() < deadline:
        producer.poll(0.05)
    assert len(producer) == 0


# -- the library Producer -----------------------------------------------------------------


def test_producer_before_first_contact_gives_up_after_connect_timeout(
    outage: ProxiedBroker, url: str
) -> None:
    outage.proxy.cut()
    producer = Stream(auth=False).open(url, "w", connect_timeout=CONNECT_TIMEOUT)
    producer.write({"n": 0})
    started = time.monotonic()
    with pytest.raises(BrokerUnavailableError, match=r"no broker answered within 3 s") as info:
        producer.close()
    assert time.monotonic() - started < CONNECT_TIMEOUT + 5
    assert "1 message(s) not delivered" in str(info.value)


def test_producer_outage_after_connect_timeout_loses_nothing(
    outage: ProxiedBroker, url: str
) -> None:
    """The issue's case: 500 acknowledged, open longer than connect_timeout, 20 more during
    a 6 s outage."""
    with Stream(auth=False).open(url, "w", connect_timeout=CONNECT_TIMEOUT) as producer:
        deliver_first(producer, 500)
        time.sleep(CONNECT_TIMEOUT + 0.5)
        outage.proxy.cut()
        restore_after(outage, 6)
        for n in range(500, 520):
            producer.write({"n": n})
        started = time.monotonic()
        assert producer.flush() == 0
        assert time.monotonic() - started > 4  # it did wait the outage out
    assert_all_delivered(url, 520)


def test_producer_outage_before_connect_timeout_outlasting_it(
    outage: ProxiedBroker, url: str
) -> None:
    """Cut 1 s after opening, for longer than connect_timeout."""
    with Stream(auth=False).open(url, "w", connect_timeout=CONNECT_TIMEOUT) as producer:
        deliver_first(producer, 50)
        outage.proxy.cut()
        restore_after(outage, CONNECT_TIMEOUT + 3)
        for n in range(50, 70):
            producer.write({"n": n})
    assert_all_delivered(url, 70)


def test_producer_with_a_connection_but_nothing_delivered_waits(
    outage: ProxiedBroker, url: str
) -> None:
    """A connection that was set up counts as an answer, even with no delivery yet."""
    producer = Stream(auth=False).open(url, "w", connect_timeout=CONNECT_TIMEOUT)
    try:
        deadline = time.monotonic() + 10
        while outage.proxy.connections == 0 and time.monotonic() < deadline:
            producer.poll(0.05)
        time.sleep(CONNECT_TIMEOUT + 0.5)
        producer.poll(0)
        outage.proxy.cut()
        restore_after(outage, 6)
        for n in range(20):
            producer.write({"n": n})
        assert producer.flush() == 0
    finally:
        producer.close()
    assert_all_delivered(url, 20)


def test_producer_outage_during_flush(outage: ProxiedBroker, url: str) -> None:
    """The connection stalls, then is cut, while flush() waits."""
    with Stream(auth=False).open(url, "w", connect_timeout=CONNECT_TIMEOUT) as producer:
        deliver_first(producer, 100)
        outage.proxy.stall()
        for n in range(100, 120):
            producer.write({"n": n})
        flushed: list[int] = []
        flusher = threading.Thread(target=lambda: flushed.append(producer.flush()))
        flusher.start()
        time.sleep(CONNECT_TIMEOUT + 1)
        assert flusher.is_alive()  # still waiting for the stalled broker
        outage.proxy.cut()
        time.sleep(3)
        outage.proxy.restore()
        flusher.join(60)
        assert flushed == [0]
    assert_all_delivered(url, 120)


def test_producer_outage_with_a_full_queue(outage: ProxiedBroker, url: str) -> None:
    """write() blocks on a full queue during the outage, and goes on afterwards."""
    config = {"queue.buffering.max.messages": 50}
    stream = Stream(auth=False)
    with stream.open(url, "w", connect_timeout=CONNECT_TIMEOUT, config=config) as producer:
        deliver_first(producer, 50)
        time.sleep(CONNECT_TIMEOUT + 0.5)
        outage.proxy.cut()
        restore_after(outage, 6)
        started = time.monotonic()
        for n in range(50, 250):
            producer.write({"n": n})
        assert time.monotonic() - started > 4  # write waited for room
    assert_all_delivered(url, 250)


# -- hop publish -----------------------------------------------------------------------------


def test_hop_publish_from_stdin_through_an_outage(
    outage: ProxiedBroker, url: str, tmp_path: Path
) -> None:
    """One line every 0.25 s; the outage starts after connect_timeout, outlasts the input
    (standard input ends during it, so hop publish flushes into the outage) and lasts 6 s."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOP_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    errors = tmp_path / "stderr"
    with errors.open("wb") as stderr_file:
        process = subprocess.Popen(
            [HOP, "publish", url, "-f", "JSON", "--no-auth", "--connect-timeout", "3"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=stderr_file,
            env=env,
        )
    assert process.stdin is not None
    timer: threading.Timer | None = None
    started = time.monotonic()
    for n in range(24):
        if timer is None and time.monotonic() - started > CONNECT_TIMEOUT + 1:
            outage.proxy.cut()
            timer = restore_after(outage, 6)
        process.stdin.write(json.dumps({"n": n}).encode() + b"\n")
        process.stdin.flush()
        time.sleep(0.25)
    process.stdin.close()
    process.wait(120)
    stderr = errors.read_text()
    assert timer is not None
    assert process.returncode == 0, stderr
    assert_all_delivered(url, 24)


# -- RobustProducer --------------------------------------------------------------------------


#: librdkafka's queue of the issue's RobustProducer.
SMALL_QUEUE = {"config": {"queue.buffering.max.messages": 200}}


@pytest.mark.parametrize(
    ("options", "cut_after"),
    [
        # The case: the outage starts 16 s after start(), past the default 15 s
        # connect timeout, with a queue that fills during it.
        pytest.param(SMALL_QUEUE, 16.0, id="small-queue"),
        pytest.param({}, CONNECT_TIMEOUT + 1, id="defaults"),
    ],
)
def test_robust_producer_survives_an_outage_after_contact(
    outage: ProxiedBroker, url: str, tmp_path: Path, options: dict[str, Any], cut_after: float
) -> None:
    journal = tmp_path / "outage.journal"
    publisher = RobustProducer(url, auth=False, journal_path=journal, **options)
    with publisher:
        for n in range(100):  # fewer than the queue holds: no full queue before the cut
            publisher.write({"n": n})
        time.sleep(cut_after)
        outage.proxy.cut()
        for n in range(100, 800):
            publisher.write({"n": n})
        time.sleep(5)
        assert publisher.is_alive()
        publisher.write({"n": 800})  # no JournalError: the thread is alive
        outage.proxy.restore()
    assert_all_delivered(url, 801)


def test_robust_producer_with_connect_timeout_survives_an_outage_past_it(
    outage: ProxiedBroker, url: str, tmp_path: Path
) -> None:
    """The issue's case: a small queue and an outage after connect_timeout since start()."""
    publisher = RobustProducer(
        url,
        auth=False,
        journal_path=tmp_path / "outage.journal",
        connect_timeout=CONNECT_TIMEOUT,
        config={"queue.buffering.max.messages": 200},
    )
    with publisher:
        for n in range(100):  # fewer than the queue holds: no full queue before the cut
            publisher.write({"n": n})
        time.sleep(CONNECT_TIMEOUT + 1)
        outage.proxy.cut()
        for n in range(100, 600):
            publisher.write({"n": n})
        time.sleep(CONNECT_TIMEOUT + 3)
        assert publisher.is_alive()
        publisher.write({"n": 600})
        outage.proxy.restore()
    assert_all_delivered(url, 601)


@pytest.mark.parametrize(
    ("options", "wait"),
    [
        # A queue that fills before the broker was ever reached, kept down past the default
        # 15 s connect timeout.
        pytest.param(SMALL_QUEUE, 17.0, id="small-queue"),
        pytest.param({}, CONNECT_TIMEOUT + 3, id="defaults"),
    ],
)
def test_robust_producer_before_first_contact_waits(
    outage: ProxiedBroker, url: str, tmp_path: Path, options: dict[str, Any], wait: float
) -> None:
    """A broker down from the start is waited for: the journal keeps everything."""
    outage.proxy.cut()
    journal = tmp_path / "outage.journal"
    publisher = RobustProducer(url, auth=False, journal_path=journal, **options)
    with publisher:
        for n in range(300):
            publisher.write({"n": n})
        time.sleep(wait)
        assert publisher.is_alive()
        publisher.write({"n": 300})
        outage.proxy.restore()
    assert_all_delivered(url, 301)


# -- a consumer ----------------------------------------------------------------------------


def test_consumer_reads_through_an_outage(outage: ProxiedBroker, url: str) -> None:
    with Stream(auth=False).open(url, "w") as producer:
        for n in range(100):
            producer.write({"n": n})
    seen: Counter[int] = Counter()
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST)
    with stream.open(url, "r") as reader:
        stop = threading.Timer(90, reader.stop)
        stop.start()
        try:
            for message in reader:
                seen[message.content["n"]] += 1
                if len(seen) == 50:
                    outage.proxy.cut()
                    time.sleep(1)
                    threading.Thread(target=_write_after_outage, args=(outage, url)).start()
                if len(seen) == 200:
                    break
        finally:
            stop.cancel()
    assert set(seen) == set(range(200))


def _write_after_outage(outage: ProxiedBroker, url: str) -> None:
    time.sleep(5)
    outage.proxy.restore()
    with Stream(auth=False).open(url, "w") as producer:
        for n in range(100, 200):
            producer.write({"n": n})
