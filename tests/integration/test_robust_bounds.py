"""RobustProducer: a hop-client 0.13 journal delivered after a restart, writers held back by
``max_pending``, and one "not delivered" line per reason while the broker is away."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from hop._journal import LEGACY_BACKUP_SUFFIX, PublicationJournal
from hop._local_broker import LocalBroker, free_port
from hop.io import Producer, StartPosition, Stream
from hop.robust_publisher import PendingLimitError, RobustProducer
from tests.support import legacy_journal as legacy

FAST_RECONNECT = {"reconnect.backoff.max.ms": 200}


def _read(url: str) -> list[int]:
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    with stream.open(url, "r") as consumer:
        return [message.content["i"] for message in consumer]


def _packed(i: int) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body, headers = Producer.pack({"i": i})
    return body, [(name.encode(), value) for name, value in headers]


def _wait_until(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.01)


def test_unsent_messages_of_a_013_journal_are_delivered_after_restart(
    topic_url: str, topic: str, tmp_path: Path
) -> None:
    path = tmp_path / "publisher.journal"
    records = []
    for seq in range(5):
        body, headers = _packed(seq)
        if seq == 3:  # the oldest layout: no topic (the producer's own), no key
            records.append(legacy.old_message(seq, body, headers))
        else:
            records.append(legacy.message(seq, topic.encode(), body, b"key-%d" % seq, headers))
    records.insert(3, legacy.sent(1))  # delivered before the old client stopped
    path.write_bytes(b"".join(records))
    backup = tmp_path / ("publisher.journal" + LEGACY_BACKUP_SUFFIX)

    with RobustProducer(topic_url, auth=False, journal_path=path) as publisher:
        assert backup.exists()
        publisher.write({"i": 10})
    assert sorted(_read(topic_url)) == [0, 2, 3, 4, 10]
    assert not backup.exists()  # everything it held is delivered
    with PublicationJournal(path) as journal:
        assert journal.pending_count() == 0


def test_max_pending_holds_writers_until_the_broker_acknowledges(tmp_path: Path) -> None:
    port = free_port()
    url = f"kafka://127.0.0.1:{port}/alerts"
    broker = LocalBroker(port=port)
    try:
        publisher = RobustProducer(
            url,
            auth=False,
            journal_path=tmp_path / "j",
            max_pending=20,
            produce_timeout=timedelta(seconds=1),
            config=FAST_RECONNECT,
        )
        with publisher:
            for i in range(20):
                publisher.write({"i": i}, timeout=0)
            with pytest.raises(PendingLimitError, match="max_pending=20") as info:
                publisher.write({"i": 99}, timeout=0.3)
            assert isinstance(info.value, TimeoutError)
            finished = threading.Event()

            def blocked_writer() -> None:
                publisher.write({"i": 20})
                finished.set()

            writer = threading.Thread(target=blocked_writer)
            writer.start()
            assert not finished.wait(0.3)  # no room until the broker is there
            broker.start()
            writer.join(60)
            assert finished.is_set()
        assert sorted(set(_read(url))) == list(range(21))
    finally:
        broker.stop()


def test_not_delivered_is_logged_once_per_reason_with_a_count(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    url = f"kafka://127.0.0.1:{port}/alerts"
    broker = LocalBroker(port=port)
    requeued = 0
    requeue = PublicationJournal.requeue_message

    def counting(journal: PublicationJournal, seq: int) -> None:
        nonlocal requeued
        requeued += 1
        requeue(journal, seq)

    monkeypatch.setattr(PublicationJournal, "requeue_message", counting)
    try:
        with caplog.at_level(logging.WARNING, "hop.robust_publisher"):
            with RobustProducer(
                url,
                auth=False,
                journal_path=tmp_path / "j",
                produce_timeout=timedelta(seconds=0.5),
                config=FAST_RECONNECT,
            ) as publisher:
                for i in range(50):
                    publisher.write({"i": i})
                _wait_until(lambda: requeued >= 4 * 50)  # four rounds of failures at least
                lines = [r.getMessage() for r in caplog.records if "not delivered" in r.message]
                assert len(lines) == 1, lines
                assert lines[0].startswith("50 message(s) not delivered (")
                broker.start()
        assert sorted(set(_read(url))) == list(range(50))
    finally:
        broker.stop()


def test_a_message_set_aside_no_longer_keeps_the_journal_from_shrinking(
    topic_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "j"
    publisher = RobustProducer(topic_url, auth=False, journal_path=path)
    publisher.start()
    publisher.write(b"x" * 2_000_000)  # over librdkafka's default message.max.bytes
    padding = "p" * 500
    for i in range(20_000):  # about 12 MB of history
        publisher.write({"i": i, "padding": padding})
    with pytest.raises(Exception, match="could not be sent"):
        publisher.stop()
    assert path.stat().st_size < 2_100_000  # the message set aside, and little else
    with PublicationJournal(path) as journal:
        assert journal.pending_count() == 1
        taken = journal.get_next_message_to_send()
        assert taken is not None and taken[1] == b"x" * 2_000_000


_NO_BROKER_WRITER = """
import os, sys, tracemalloc
from datetime import timedelta
from hop.robust_publisher import PendingLimitError, RobustProducer

tracemalloc.start()
publisher = RobustProducer(
    sys.argv[1], auth=False, journal_path=sys.argv[2], max_pending=2000,
    produce_timeout=timedelta(seconds=60),
)
publisher.start()
accepted = refused = 0
for i in range(20_000):
    try:
        publisher.write(b"%05d" % i + b"." * 1000, timeout=0)
        accepted += 1
    except PendingLimitError:
        refused += 1
print(accepted, refused, tracemalloc.get_traced_memory()[1], flush=True)
os._exit(0)  # stop() would wait for a broker that never comes
"""


def test_without_a_broker_max_pending_bounds_memory(tmp_path: Path) -> None:
    url = f"kafka://127.0.0.1:{free_port()}/alerts"
    result = subprocess.run(
        [sys.executable, "-c", _NO_BROKER_WRITER, url, str(tmp_path / "j")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    accepted, refused, peak = map(int, result.stdout.split())
    assert (accepted, refused) == (2000, 18_000)
    # 20,000 messages of 1 KB would be 20 MB and more; 2,000 of them are 2 MB.
    assert peak < 8_000_000, f"peak {peak:,} bytes"
    with PublicationJournal(tmp_path / "j") as journal:
        assert journal.pending_count() == 2000
