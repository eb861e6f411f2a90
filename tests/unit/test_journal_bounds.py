"""The journal's size, replay memory and room for writers; 0.13 compatibility of its API."""

from __future__ import annotations

import gc
import os
import signal
import stat
import struct
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest

from hop._journal import (
    COMPACT_MIN,
    HEADER_SIZE,
    LEGACY_BACKUP_SUFFIX,
    HeadersLike,
    JournalMisuseError,
    PublicationJournal,
    _encode_queued,
)
from hop.errors import JournalCorruptError, JournalError
from tests.support import legacy_journal as legacy

Taken = tuple[int, bytes, str | None, HeadersLike | None, bytes | None]


def _drain(journal: PublicationJournal) -> list[Taken]:
    taken = []
    while (item := journal.get_next_message_to_send()) is not None:
        taken.append(item)
    return taken


# -- hop-client 0.13's API and files -------------------------------------------------------


def test_a_zero_byte_journal_is_an_empty_journal(tmp_path: Path) -> None:
    path = tmp_path / "publisher.journal"
    path.write_bytes(b"")  # what 0.13 leaves after every clean run
    with PublicationJournal(path) as journal:
        assert journal.pending_count() == 0
        assert journal.queue_message(b"m") == 0
    with PublicationJournal(path) as journal:
        assert [body for _, body, *_ in _drain(journal)] == [b"m"]


def test_queue_message_takes_013s_argument_order_and_returns_its_tuple(tmp_path: Path) -> None:
    with PublicationJournal(tmp_path / "j") as journal:
        journal.queue_message(b"one", "t1", [("h", b"v")], b"k")
        journal.queue_message(b"two", headers=[("a", b"b")], topic="t2")
        journal.queue_message(b"three")
        assert _drain(journal) == [
            (0, b"one", "t1", [("h", b"v")], b"k"),
            (1, b"two", "t2", [("a", b"b")], None),
            (2, b"three", None, None, None),  # headers as given (issue 19)
        ]


def test_misuse_is_a_runtime_error_as_in_013(tmp_path: Path) -> None:
    with PublicationJournal(tmp_path / "j") as journal:
        seq = journal.queue_message(b"m")
        with pytest.raises(RuntimeError, match="not in flight") as info:
            journal.requeue_message(99)
        assert isinstance(info.value, JournalMisuseError | JournalError)
        with pytest.raises(RuntimeError, match="not queued"):
            journal.get_delivery_callback(42)
        callback = journal.get_delivery_callback(seq)
        # Queued but never taken: a delivery report for it is misuse as well.
        with pytest.raises(RuntimeError, match="not in flight"):
            callback(None, object())
        with pytest.raises(JournalMisuseError):
            journal.mark_message_sent(7)
        assert journal.pending_count() == 1


def test_a_dropped_journal_releases_its_lock_when_collected(tmp_path: Path) -> None:
    path = tmp_path / "j"
    journal: PublicationJournal | None = PublicationJournal(path)
    assert journal is not None
    journal.queue_message(b"kept")
    with pytest.raises(JournalError, match="in use"):
        PublicationJournal(path)
    del journal
    gc.collect()
    with PublicationJournal(path) as again:
        assert [body for _, body, *_ in _drain(again)] == [b"kept"]


def _legacy_file() -> bytes:
    return b"".join(
        [
            legacy.message(0, b"gcn.circular", b"delivered", b"k0"),
            legacy.old_message(1, b"old layout", [(b"_id", b"\x01" * 16)]),
            legacy.message(2, b"other.topic", b"keyed", b"k2", [(b"a", b"1"), (b"b", b"")]),
            legacy.sent(0),
            legacy.message(3, b"gcn.circular", b"unsent too"),
        ]
    )


def test_a_013_journal_is_converted_and_its_backup_kept_until_all_is_delivered(
    tmp_path: Path,
) -> None:
    path = tmp_path / "publisher.journal"
    backup = tmp_path / ("publisher.journal" + LEGACY_BACKUP_SUFFIX)
    original = _legacy_file()
    path.write_bytes(original)
    with PublicationJournal(path) as journal:
        assert backup.read_bytes() == original
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes()[:8] == b"HOPJRNL1"  # hop's format from now on
        new = journal.queue_message(b"new")
        taken = _drain(journal)
        assert taken == [
            (0, b"old layout", None, [("_id", b"\x01" * 16)], None),
            (1, b"keyed", "other.topic", [("a", b"1"), ("b", b"")], b"k2"),
            (2, b"unsent too", "gcn.circular", [], None),
            (new, b"new", None, None, None),  # headers as given (issue 19)
        ]
        journal.mark_messages_sent([0, 1])
        journal.mark_message_sent(new)
        assert backup.exists()  # message 2 of the old journal is not delivered yet
    # Restarted: the unsent old message is still there, and so is the backup.
    with PublicationJournal(path) as journal:
        assert [body for _, body, *_ in _drain(journal)] == [b"unsent too"]
        journal.mark_message_sent(2)
        assert not backup.exists()


def test_a_013_journal_with_nothing_unsent_leaves_no_backup(tmp_path: Path) -> None:
    path = tmp_path / "j"
    path.write_bytes(legacy.message(5, b"t", b"m") + legacy.sent(5))
    with PublicationJournal(path) as journal:
        assert journal.pending_count() == 0
    assert sorted(os.listdir(tmp_path)) == ["j"]


@pytest.mark.parametrize("damage", ["flipped body byte", "flipped header byte", "cut short"])
def test_a_corrupt_013_journal_is_journal_corrupt_naming_the_offset(
    tmp_path: Path, damage: str
) -> None:
    path = tmp_path / "j"
    original = bytearray(_legacy_file())
    second = len(legacy.message(0, b"gcn.circular", b"delivered", b"k0"))
    if damage == "flipped body byte":
        original[second + 30] ^= 0x01
    elif damage == "flipped header byte":
        original[second + 9] ^= 0x01
    else:
        original = original[: second + 30]
    path.write_bytes(bytes(original))
    with pytest.raises(JournalCorruptError, match=r"0\.13") as info:
        PublicationJournal(path)
    assert info.value.offset == second
    assert f"offset {second}" in str(info.value)
    assert path.read_bytes() == bytes(original)  # left as found, no backup made
    assert sorted(os.listdir(tmp_path)) == ["j"]


# -- size proportional to what is pending ----------------------------------------------------


def test_the_journal_stays_small_under_steady_traffic_with_a_message_set_aside(
    tmp_path: Path,
) -> None:
    """Never idle (always ~100 in flight) and one message set aside: it used to grow for
    ever, truncation needing nothing pending at all."""
    path = tmp_path / "j"
    body = b"x" * 300
    largest = 0
    with PublicationJournal(path) as journal:
        journal.queue_message(b"too large" * 1000)
        ((aside, *_),) = journal.take_messages_to_send(1)
        journal.set_aside(aside)
        for _ in range(100):
            journal.queue_message(body)
        for round_ in range(400):  # 40,000 messages, 13 MB of history
            in_flight = journal.take_messages_to_send(1000)
            for _ in range(100):
                journal.queue_message(body, headers=[("n", b"%d" % round_)])
            journal.mark_messages_sent([seq for seq, *_ in in_flight])
            largest = max(largest, path.stat().st_size, journal.size)
        assert journal.pending_count() == 101
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert largest < 2 * COMPACT_MIN + 128 * 1024
    assert path.stat().st_size <= COMPACT_MIN + 64 * 1024
    with PublicationJournal(path) as journal:
        taken = _drain(journal)
        assert [body for _, body, *_ in taken[:1]] == [b"too large" * 1000]
        assert [headers for *_, headers, _ in taken[1:]] == [[("n", b"399")]] * 100


def _history_journal(path: Path, delivered: int, pending: int, size: int) -> None:
    """Write, as an older hop would have, a journal of ``delivered`` messages of ``size``
    bytes marked sent and ``pending`` more (never compacted)."""

    def record(body: bytes) -> bytes:
        crc = zlib.crc32(body, zlib.crc32(struct.pack(">I", len(body))))
        return struct.pack(">II", len(body), crc) + body

    body = b"h" * size
    with open(path, "wb") as file:
        file.write(b"\0" * HEADER_SIZE)
        for seq in range(delivered + pending):
            file.write(record(_encode_queued(seq, body, [("_id", b"%16d" % seq)], None, None)))
            if seq < delivered:
                file.write(record(b"\x02" + struct.pack(">Q", seq)))
        end = file.tell()
    header = struct.pack(">8sQ", b"HOPJRNL1", end)
    with open(path, "r+b") as header_file:
        header_file.write(header + struct.pack(">I", zlib.crc32(header)))


def test_replay_streams_memory_follows_pending_not_file_size(tmp_path: Path) -> None:
    path = tmp_path / "j"
    _history_journal(path, delivered=8_000, pending=20, size=4000)
    assert path.stat().st_size > 32_000_000
    script = (
        "import sys, tracemalloc\n"
        "from hop._journal import PublicationJournal\n"
        "tracemalloc.start()\n"
        "journal = PublicationJournal(sys.argv[1])\n"
        "print(journal.pending_count(), tracemalloc.get_traced_memory()[1])\n"
        "journal.close()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    count, peak = map(int, result.stdout.split())
    assert count == 20
    assert peak < 8_000_000, f"replay of a 32 MB journal peaked at {peak:,} bytes"


def test_a_long_history_is_compacted_after_replay(tmp_path: Path) -> None:
    path = tmp_path / "j"
    _history_journal(path, delivered=3000, pending=5, size=1000)
    with PublicationJournal(path) as journal:
        taken = journal.take_messages_to_send(10)
        journal.mark_message_sent(taken[0][0])
        assert journal.size < 10_000
    with PublicationJournal(path) as journal:
        assert [seq for seq, *_ in _drain(journal)] == [3001, 3002, 3003, 3004]


def test_sigkill_during_compacting_traffic_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "j"
    script = (
        "import os, signal, sys\n"
        "from hop._journal import PublicationJournal\n"
        "j = PublicationJournal(sys.argv[1])\n"
        "for i in range(30000):\n"
        "    j.queue_message(b'm%d' % i + b'.' * 200)\n"
        "    if i % 10 == 9:\n"
        "        taken = j.take_messages_to_send(10)\n"
        "        j.mark_messages_sent([seq for seq, *_ in taken if seq % 1000])\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(path)], check=False)
    assert result.returncode == -signal.SIGKILL
    assert path.stat().st_size < 4 * COMPACT_MIN
    with PublicationJournal(path) as journal:
        bodies = [body for _, body, *_ in _drain(journal)]
    assert bodies == [b"m%d" % i + b"." * 200 for i in range(0, 30000, 1000)]


# -- room for writers ------------------------------------------------------------------------


def test_wait_for_room_times_out_then_wakes_when_messages_are_acknowledged(
    tmp_path: Path,
) -> None:
    with PublicationJournal(tmp_path / "j") as journal:
        for _ in range(3):
            journal.queue_message(b"m")
        assert journal.waiting_count() == 3
        assert not journal.wait_for_room(3, 0.05)
        assert journal.wait_for_room(4, 0.05)
        taken = journal.take_messages_to_send(3)
        woke = threading.Event()

        def waiter() -> None:
            if journal.wait_for_room(3, 60):
                woke.set()

        thread = threading.Thread(target=waiter)
        thread.start()
        journal.mark_message_sent(taken[0][0])
        thread.join(60)
        assert woke.is_set()
        journal.set_aside(taken[1][0])  # set aside: no longer waiting
        assert journal.waiting_count() == 1 and journal.pending_count() == 2


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_max_pending_must_be_a_positive_integer(tmp_path: Path, bad: object) -> None:
    from hop.errors import ConfigurationError
    from hop.robust_publisher import RobustProducer

    with pytest.raises(ConfigurationError, match="max_pending"):
        RobustProducer("kafka://127.0.0.1:9/t", journal_path=tmp_path / "j", max_pending=bad)  # type: ignore[arg-type]


def test_a_failed_compaction_leaves_the_journal_whole_and_in_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "j"

    def no_rename(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    with PublicationJournal(path) as journal:
        monkeypatch.setattr(os, "rename", no_rename)
        for i in range(5000):  # 1.6 MB: past COMPACT_MIN
            journal.queue_message(b"%d" % i + b"." * 300)
            if i >= 10:
                journal.take_messages_to_send(1)
                journal.mark_message_sent(i - 10)
        assert "could not compact the journal" in caplog.text
        monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["j"]  # no temporary file left behind
    with PublicationJournal(path) as journal:
        assert [body[:4] for _, body, *_ in _drain(journal)] == [
            b"%d" % i for i in range(4990, 5000)
        ]
