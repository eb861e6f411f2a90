"""RobustProducer against real brokers and real processes: crashes, outages, damage."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from hop._journal import HEADER_SIZE, PublicationJournal
from hop._local_broker import LocalBroker, free_port
from hop.auth import Auth
from hop.errors import (
    AuthenticationError,
    ConfigurationError,
    DeliveryError,
    JournalCorruptError,
    JournalError,
    StreamStateError,
)
from hop.io import Consumer, Producer, StartPosition, Stream
from hop.robust_publisher import RobustProducer
from tests.support.messages import content
from tests.support.waiting import wait_until

HERE = Path(__file__).parent
SCRIPT = HERE.parent / "support" / "robust_publisher_child.py"
# Reconnect quickly to a broker that comes (back) up; librdkafka's default backoff reaches 10 s.
FAST_RECONNECT = {"reconnect.backoff.max.ms": 200}


def _read(url: str, *, skip_duplicates: bool = False) -> list[int]:
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    with stream.open(url, "r", skip_duplicates=skip_duplicates) as consumer:
        return [content(message)["i"] for message in consumer]


def _read_after_restart(url: str, within: float = 60.0) -> list[int]:
    """``_read`` for a broker just killed and restarted: a reader that has not reached the end
    of every partition within ``within`` s is stopped and a fresh one tried once, with a
    warning naming the partitions that never ended. (Once in CI, under load, a reader
    started right after such a restart waited for ever for the end of a partition; it was
    never reproduced here. What this test checks is what the publisher left on the broker.)
    """
    for _ in range(2):
        stream = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
        with stream.open(url, "r") as consumer:
            gave_up = threading.Event()

            def give_up(reader: Consumer = consumer, flag: threading.Event = gave_up) -> None:
                flag.set()
                reader.stop()

            timer = threading.Timer(within, give_up)
            timer.start()
            try:
                read = [content(message)["i"] for message in consumer]
            finally:
                timer.cancel()
            if not gave_up.is_set():
                return read
            unfinished = sorted(consumer._assignment.partitions - consumer._assignment.at_end)
            warnings.warn(
                f"a reader of {url} did not reach the end of {unfinished} within {within} s "
                f"({len(read)} messages read); trying a fresh one",
                stacklevel=1,
            )
    pytest.fail(f"no reader of {url} reached the end of every partition within {within} s")


def _publisher(
    url: str, journal: Path, first: int, count: int, mode: str, pace: float = 0
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), url, str(journal), str(first), str(count), mode, str(pace)],
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def own_broker() -> Iterator[LocalBroker]:
    """A broker of this test's own, which it may kill and restart."""
    broker = LocalBroker()
    try:
        yield broker.start()
    finally:
        broker.stop()


class _Signal(logging.Handler):
    """Sets an event when a log line containing ``text`` is emitted."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.event = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.event.set()


# -- lifecycle ---------------------------------------------------------------------------


def test_lifecycle_misuse_is_a_clear_error(topic_url: str, tmp_path: Path) -> None:
    publisher = RobustProducer(topic_url, auth=False, journal_path=tmp_path / "j")
    with pytest.raises(StreamStateError, match="start"):
        publisher.write({"i": 0})
    with pytest.raises(StreamStateError, match="not started"):
        publisher.stop()
    publisher.start()
    with pytest.raises(StreamStateError, match="already started"):
        publisher.start()
    publisher.write({"i": 0})
    publisher.stop()
    publisher.stop()  # harmless
    with pytest.raises(StreamStateError, match="stopped"):
        publisher.write({"i": 1})
    with pytest.raises(StreamStateError, match="already started"):
        publisher.start()
    assert _read(topic_url) == [0]


def test_bad_url_is_refused_at_construction(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        RobustProducer("http://example.org/t", auth=False, journal_path=tmp_path / "j")


def test_messages_go_out_as_written_and_the_journal_empties(
    broker_url: str, topic: str, tmp_path: Path
) -> None:
    other = topic + "-other"
    url = f"{broker_url}/{topic},{other}"
    path = tmp_path / "j"
    with RobustProducer(url, auth=False, journal_path=path) as publisher:
        with pytest.raises(ConfigurationError, match="topic="):
            publisher.write({"i": 0})
        publisher.write({"i": 1}, headers={"h": "v"}, topic=topic, key="k1")
        publisher.write({"i": 2}, headers=[("h", b"a"), ("h", b"b")], topic=other, test=True)
        publisher.write(b"raw", topic=topic)
    assert path.stat().st_size == HEADER_SIZE
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    with stream.open(f"{broker_url}/{topic}", "r") as consumer:
        # Two partitions (keyed and not): order between them is not defined.
        second, first = sorted(consumer.read(metadata=True), key=lambda m: str(content(m[0])))
    assert content(first[0]) == {"i": 1}
    assert first[1].key == b"k1"
    names = [name for name, _ in first[1].headers]
    assert names == ["h", "_id", "_format"]
    assert content(second[0]) == b"raw"
    with stream.open(f"{broker_url}/{other}", "r", ignoretest=False) as consumer:
        ((message, meta),) = list(consumer.read(metadata=True))
    assert content(message) == {"i": 2}
    assert [(n, v) for n, v in meta.headers if n in ("h", "_test")] == [
        ("h", b"a"),
        ("h", b"b"),
        ("_test", b"true"),
    ]


# -- a publisher killed ------------------------------------------------------------------


def test_sigkill_after_last_write_then_restart_delivers_everything(
    topic_url: str, tmp_path: Path
) -> None:
    journal = tmp_path / "publisher.journal"
    process = _publisher(topic_url, journal, 0, 3000, "kill")
    process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL
    with PublicationJournal(journal) as left:
        # The last messages cannot have been acknowledged in the microseconds before the kill.
        assert left.pending_count() > 0
    with RobustProducer(topic_url, auth=False, journal_path=journal):
        pass
    assert journal.stat().st_size == HEADER_SIZE
    received = _read(topic_url)
    assert set(received) == set(range(3000))
    # The resent copies carry the original _id, so a reader can drop them.
    assert sorted(_read(topic_url, skip_duplicates=True)) == list(range(3000))


def test_resent_copies_after_a_kill_are_exactly_what_skip_duplicates_removes(
    topic_url: str, tmp_path: Path
) -> None:
    # The publisher dies after the broker acknowledged every message but before the
    # journal recorded the second half of those acknowledgements: exactly those are resent.
    total = 200
    journal = tmp_path / "publisher.journal"
    process = _publisher(topic_url, journal, 0, total, "hold")
    out, _ = process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL
    assert out.split()[-1] == "acked"
    with PublicationJournal(journal) as left:
        assert left.pending_count() == total - total // 2
    with RobustProducer(topic_url, auth=False, journal_path=journal):
        pass
    assert journal.stat().st_size == HEADER_SIZE
    assert Counter(_read(topic_url)) == Counter(
        {i: 1 if i < total // 2 else 2 for i in range(total)}
    )
    assert sorted(_read(topic_url, skip_duplicates=True)) == list(range(total))


# -- a broker down, a broker killed --------------------------------------------------------


def test_broker_down_at_first_then_up_on_the_same_port(tmp_path: Path) -> None:
    port = free_port()
    url = f"kafka://127.0.0.1:{port}/alerts"
    waiting = _Signal("not delivered")
    logger = logging.getLogger("hop.robust_publisher")
    logger.addHandler(waiting)
    broker = LocalBroker(port=port)
    try:
        with RobustProducer(
            url,
            auth=False,
            journal_path=tmp_path / "j",
            produce_timeout=timedelta(seconds=1),
            config=FAST_RECONNECT,
        ) as publisher:
            started = time.monotonic()
            for i in range(300):
                publisher.write({"i": i})
            assert time.monotonic() - started < 5  # write never waits for the broker
            # Deliveries time out and are requeued with backoff before the broker is up.
            assert waiting.event.wait(30)
            broker.start()
        assert sorted(set(_read(url))) == list(range(300))
    finally:
        logger.removeHandler(waiting)
        broker.stop()


def test_broker_killed_and_restarted_in_the_middle_of_a_stream(
    own_broker: LocalBroker, tmp_path: Path
) -> None:
    url = f"{own_broker.url}alerts"
    process = _publisher(url, tmp_path / "j", 0, 2000, "stop", pace=0.002)
    assert process.stdout is not None
    try:
        for line in process.stdout:
            if int(line) >= 800:
                break
        # The broker keeps messages in memory only, so what it acknowledged dies with it.
        # Pause the publisher to read the broker's whole content just before killing it;
        # whatever was in flight then is the publisher's to resend.
        process.send_signal(signal.SIGSTOP)
        # Requests already in the broker's socket may still land: read until nothing more does.
        reads = [_read(url)]

        def settled() -> bool:
            reads.append(_read(url))
            return reads[-1] == reads[-2]

        wait_until(settled, 30, "the broker to take no more messages")
        before = reads[-1]
        own_broker.kill()
        own_broker.start()
        process.send_signal(signal.SIGCONT)
        rest, _ = process.communicate(timeout=120)
    finally:
        process.kill()
        process.wait()
    assert rest.split()[-1] == "stopped"
    after = _read_after_restart(url)
    assert 0 < len(before) < 2000
    assert set(before) | set(after) == set(range(2000))


def test_a_refused_credential_ends_the_publisher_instead_of_retrying_for_ever(
    broker_url: str, topic: str, tmp_path: Path
) -> None:
    # This broker refuses every SASL handshake: no retry can succeed, so stop() must
    # report it rather than wait for ever; the message stays in the journal.
    journal = tmp_path / "j"
    publisher = RobustProducer(
        f"{broker_url}/{topic}",
        auth=Auth("user", "the-secret-password", ssl=False),
        journal_path=journal,
        produce_timeout=timedelta(seconds=1),
    )
    publisher.start()
    publisher.write({"i": 1})
    started = time.monotonic()
    with pytest.raises(AuthenticationError) as info:
        publisher.stop()
    assert time.monotonic() - started < 30
    assert "the-secret-password" not in str(info.value)
    assert not publisher.is_alive()
    with PublicationJournal(journal) as left:
        assert left.pending_count() == 1


def test_a_message_too_large_to_send_is_set_aside_without_holding_up_the_rest(
    topic_url: str, tmp_path: Path
) -> None:
    journal = tmp_path / "j"
    publisher = RobustProducer(topic_url, auth=False, journal_path=journal)
    publisher.start()
    publisher.write(b"x" * 2_000_000)  # over librdkafka's default message.max.bytes
    for i in range(3):
        publisher.write({"i": i})
    with pytest.raises(DeliveryError, match="kept in the journal") as info:
        publisher.stop()
    assert info.value.failures == 1
    assert sorted(_read(topic_url)) == [0, 1, 2]
    with PublicationJournal(journal) as left:  # kept, for the next publisher or a person
        taken = left.get_next_message_to_send()
        assert taken is not None and taken[1] == b"x" * 2_000_000


# -- a damaged journal -----------------------------------------------------------------------


def _journal_with_pending(path: Path) -> bytes:
    with PublicationJournal(path) as journal:
        for i in range(3):
            body, headers = Producer.pack({"i": i})
            journal.queue_message(body, headers=headers)
    return path.read_bytes()


@pytest.mark.parametrize("damage", ["flipped byte", "cut at a record boundary", "cut mid-record"])
def test_damaged_journal_stops_the_publisher_from_starting(
    topic_url: str, tmp_path: Path, damage: str
) -> None:
    path = tmp_path / "j"
    data = bytearray(_journal_with_pending(path))
    first_record_end = HEADER_SIZE + 8 + int.from_bytes(data[HEADER_SIZE : HEADER_SIZE + 4], "big")
    if damage == "flipped byte":
        data[first_record_end - 3] ^= 0xFF
        expected = "CRC"
    elif damage == "cut at a record boundary":
        data = data[:first_record_end]
        expected = "truncated"
    else:
        data = data[: first_record_end - 5]
        expected = "truncated"
    path.write_bytes(bytes(data))
    publisher = RobustProducer(topic_url, auth=False, journal_path=path)
    with pytest.raises(JournalCorruptError, match=expected) as info:
        publisher.start()
    assert info.value.path == str(path)
    assert not publisher.is_alive()
    assert path.read_bytes() == bytes(data)  # left exactly as found
    with pytest.raises(StreamStateError):
        publisher.write({"i": 9})


def test_a_journal_in_use_is_refused(topic_url: str, tmp_path: Path) -> None:
    with RobustProducer(topic_url, auth=False, journal_path=tmp_path / "j"):
        other = RobustProducer(topic_url, auth=False, journal_path=tmp_path / "j")
        with pytest.raises(JournalError, match="in use"):
            other.start()


# -- readers of an at-least-once stream ------------------------------------------------------


def test_skip_duplicates_removes_exactly_the_resent_copies(topic_url: str) -> None:
    packed = [Producer.pack({"i": i}) for i in range(6)]
    twin = Producer.pack({"i": 0})  # same content, a different message: must be kept
    with Stream(auth=False).open(topic_url, "w") as producer:
        for body, headers in packed:
            producer.write_raw(body, headers)
        for i in (1, 4, 4):  # resent copies, as a robust publisher sends them
            producer.write_raw(*packed[i])
        producer.write_raw(*twin)
    everything = Counter(_read(topic_url))
    assert everything == Counter({0: 2, 1: 2, 2: 1, 3: 1, 4: 3, 5: 1})
    once = Counter(_read(topic_url, skip_duplicates=True))
    assert once == Counter({0: 2, 1: 1, 2: 1, 3: 1, 4: 1, 5: 1})


def test_wrong_key_or_topic_types_are_refused_and_nothing_is_journaled(
    topic_url: str, tmp_path: Path
) -> None:
    with RobustProducer(topic_url, auth=False, journal_path=tmp_path / "j") as publisher:
        with pytest.raises(TypeError, match="key"):
            publisher.write({"i": 0}, key=5)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="topic"):
            publisher.write({"i": 0}, topic=5)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            publisher.write(object())
        publisher.write({"i": 1}, key="k")
    assert _read(topic_url) == [1]


@pytest.mark.parametrize("fsync", [False, True])
def test_fsync_makes_each_write_durable_before_it_returns(
    topic_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fsync: bool
) -> None:
    writer = threading.get_ident()
    synced: list[tuple[int, int]] = []
    real = PublicationJournal._sync

    def spy(journal: PublicationJournal, start: int, stop: int) -> None:
        real(journal, start, stop)
        if threading.get_ident() == writer:  # not the sender's acknowledgement marks
            synced.append((start, stop))

    monkeypatch.setattr(PublicationJournal, "_sync", spy)
    path = tmp_path / "j"
    with RobustProducer(topic_url, auth=False, journal_path=path, fsync=fsync) as publisher:
        for i in range(5):
            before = len(synced)
            publisher.write({"i": i})
            if fsync:
                # This write's record, then the header that covers it, both synced.
                (record_start, record_end), header = synced[before:]
                assert HEADER_SIZE <= record_start < record_end
                assert header == (0, HEADER_SIZE)
    assert len(synced) == (10 if fsync else 0)
    assert sorted(_read(topic_url)) == list(range(5))
    assert path.stat().st_size == HEADER_SIZE


def test_default_journal_is_in_the_working_directory(
    tmp_path: Path, topic_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with RobustProducer(topic_url, auth=False) as publisher:
        publisher.write({"i": 5})
    assert (tmp_path / "publisher.journal").stat().st_size == HEADER_SIZE
    assert _read(topic_url) == [5]
