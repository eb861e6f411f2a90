"""The publication journal on its own: replay, truncation, damage detection, crash policy."""

from __future__ import annotations

import logging
import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hop._journal import HEADER_SIZE, BytesLike, HeadersLike, PublicationJournal
from hop._journal._format import header_bytes
from hop.errors import JournalCorruptError, JournalError

HERE = Path(__file__).parent


def _drain(journal: PublicationJournal) -> list[tuple[int, bytes, HeadersLike | None]]:
    taken = []
    while (item := journal.get_next_message_to_send()) is not None:
        seq, message, _, headers, _ = item
        taken.append((seq, message, headers))
    return taken


def _three(path: Path) -> int:
    """A closed journal holding three queued messages, the middle one sent; its size."""
    with PublicationJournal(path) as journal:
        journal.queue_message(b"one", "t1", [("_id", b"\x01" * 16)], key=b"k")
        journal.queue_message(b"two", headers=[("a", b"b")])
        journal.queue_message(b"three")
        for seq, _, _ in _drain(journal):
            if seq == 1:
                journal.mark_message_sent(seq)
    return path.stat().st_size


def test_replay_restores_unsent_messages_in_order_with_everything(tmp_path: Path) -> None:
    path = tmp_path / "j"
    _three(path)
    with PublicationJournal(path) as journal:
        assert journal.has_messages_to_send()
        assert not journal.has_messages_in_flight()
        assert _drain(journal) == [
            (0, b"one", [("_id", b"\x01" * 16)]),
            (2, b"three", []),
        ]
        assert journal.get_message_destination(0) == ("t1", b"k")
        assert journal.get_message_destination(2) == (None, None)
        assert journal.has_messages_in_flight()
        # New messages continue after the highest replayed sequence number.
        assert journal.queue_message(b"four") == 3


def test_all_sent_truncates_and_restarts_sequence_numbers(tmp_path: Path) -> None:
    path = tmp_path / "j"
    with PublicationJournal(path) as journal:
        seqs = [journal.queue_message(b"x" * 100) for _ in range(5)]
        assert seqs == [0, 1, 2, 3, 4]
        assert journal.size > HEADER_SIZE + 500
        taken = _drain(journal)
        journal.mark_messages_sent([seq for seq, _, _ in taken[:4]])
        assert journal.size > HEADER_SIZE
        journal.mark_message_sent(taken[4][0])
        assert journal.size == HEADER_SIZE
        assert path.stat().st_size <= 64 * 1024  # the old records' space is given back
        assert not journal.has_messages_to_send() and not journal.has_messages_in_flight()
        assert journal.queue_message(b"again") == 0
    with PublicationJournal(path) as journal:
        assert _drain(journal) == [(0, b"again", [])]
    assert path.stat().st_size == journal.size  # closing gives back preallocated space


def test_journal_grows_past_its_preallocated_space(tmp_path: Path) -> None:
    path = tmp_path / "j"
    bodies = [bytes([i]) * (1000 * i) for i in range(1, 60)]  # about 1.8 MB in all
    with PublicationJournal(path) as journal:
        for body in bodies:
            journal.queue_message(body)
        size = journal.size
    assert path.stat().st_size == size > sum(map(len, bodies))
    with PublicationJournal(path) as journal:
        assert [body for _, body, _ in _drain(journal)] == bodies


def test_requeued_message_goes_before_newer_ones(tmp_path: Path) -> None:
    with PublicationJournal(tmp_path / "j") as journal:
        for body in (b"a", b"b", b"c"):
            journal.queue_message(body)
        first = journal.get_next_message_to_send()
        second = journal.get_next_message_to_send()
        assert first is not None and second is not None
        journal.requeue_message(first[0])
        assert journal.get_next_message_to_send() == first
        assert journal.get_next_message_to_send() == (2, b"c", None, None, None)
        with pytest.raises(JournalError, match="not in flight"):
            journal.requeue_message(99)
        with pytest.raises(JournalError, match="not in flight"):
            journal.mark_message_sent(99)


def test_requeued_messages_come_before_never_sent_ones_in_a_batch(tmp_path: Path) -> None:
    with PublicationJournal(tmp_path / "j") as journal:
        for body in (b"a", b"b", b"c", b"d", b"e"):
            journal.queue_message(body)
        first = journal.take_messages_to_send(3)
        assert [seq for seq, *_ in first] == [0, 1, 2]
        journal.requeue_message(2)
        journal.requeue_message(0)
        again = journal.take_messages_to_send(3)
        assert [(seq, body) for seq, body, *_ in again] == [(0, b"a"), (2, b"c"), (3, b"d")]
        assert [seq for seq, *_ in journal.take_messages_to_send(10)] == [4]
        assert journal.take_messages_to_send(10) == []


def test_set_aside_message_stops_being_sent_but_stays_in_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "j"
    with PublicationJournal(path) as journal:
        journal.queue_message(b"too large")
        journal.queue_message(b"fine")
        (big, _, _), (fine, _, _) = _drain(journal)
        journal.set_aside(big)
        with pytest.raises(JournalError, match="not in flight"):
            journal.set_aside(big)
        journal.mark_message_sent(fine)
        assert not journal.has_messages_to_send() and not journal.has_messages_in_flight()
        assert journal.pending_count() == 1
        assert journal.size > HEADER_SIZE  # not truncated: it still holds a message
    with PublicationJournal(path) as journal:
        assert _drain(journal) == [(0, b"too large", [])]


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((5,), {}, "message must be str or bytes"),  # bytes(5) would be five zero bytes
        (([1, 2],), {}, "message must be str or bytes"),
        (("\udcff",), {}, "not valid UTF-8"),
        ((b"m",), {"key": 7}, "key must be str or bytes"),
        ((b"m",), {"topic": b"t"}, "topic must be a str"),
        ((b"m",), {"headers": [(1, b"v")]}, "headers"),
        ((b"m", None, [("n", 5)]), {}, "headers"),
        ((b"m", None, [(b"\xff", b"v")]), {}, "headers"),  # a bytes name that is not UTF-8
        ((b"m", None, [("n",)]), {}, "headers"),
        ((b"m",), {"headers": [("n" * 70_000, b"v")]}, "headers"),
    ],
)
def test_malformed_input_is_a_type_error_and_records_nothing(
    tmp_path: Path, args: tuple[object, ...], kwargs: dict[str, object], expected: str
) -> None:
    with PublicationJournal(tmp_path / "j") as journal:
        with pytest.raises(TypeError, match=expected):
            journal.queue_message(*args, **kwargs)  # type: ignore[arg-type]
        assert journal.size == HEADER_SIZE
        assert journal.queue_message(b"ok") == 0


def test_delivery_callback_marks_sent_or_requeues(tmp_path: Path) -> None:
    lock = threading.Lock()
    with PublicationJournal(tmp_path / "j") as journal:
        journal.queue_message(b"a")
        journal.queue_message(b"b")
        (a, _, _), (b, _, _) = _drain(journal)
        journal.get_delivery_callback(a, lock)(None, object())
        # An error that cannot say whether it is retriable is retried.
        journal.get_delivery_callback(b, lock)(object(), object())
        assert journal.pending_count() == 1
        assert journal.get_next_message_to_send() == (b, b"b", None, None, None)
        assert not lock.locked()
        PublicationJournal.error_callback("broker down")  # logs, never raises


@pytest.mark.parametrize("umask", [0, 0o022, 0o277])
def test_file_is_created_with_mode_0600_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        PublicationJournal(tmp_path / "j").close()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "j").stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["j"]  # no temporary file left behind


def test_second_user_of_a_journal_is_refused(tmp_path: Path) -> None:
    with PublicationJournal(tmp_path / "j"), pytest.raises(JournalError, match="in use"):
        PublicationJournal(tmp_path / "j")
    PublicationJournal(tmp_path / "j").close()  # free again once closed


def test_closed_journal_refuses_writes(tmp_path: Path) -> None:
    journal = PublicationJournal(tmp_path / "j")
    journal.close()
    journal.close()
    with pytest.raises(JournalError, match="closed"):
        journal.queue_message(b"x")


@pytest.mark.parametrize("durable", [False, True])
def test_fsync_happens_before_queue_message_returns_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool
) -> None:
    synced: list[tuple[int, int]] = []
    real = PublicationJournal._sync

    def record(journal: PublicationJournal, start: int, stop: int) -> None:
        synced.append((start, stop))
        real(journal, start, stop)

    monkeypatch.setattr(PublicationJournal, "_sync", record)
    with PublicationJournal(tmp_path / "j", fsync=durable) as journal:
        journal.queue_message(b"payload" * 10)
        if durable:
            # The record is made durable first, then the header that covers it.
            assert synced == [(HEADER_SIZE, journal.size), (0, HEADER_SIZE)]
        else:
            assert synced == []


def test_every_flipped_byte_is_detected_with_its_offset(tmp_path: Path) -> None:
    path = tmp_path / "j"
    size = _three(path)
    original = path.read_bytes()
    for offset in range(size):
        damaged = bytearray(original)
        damaged[offset] ^= 0x10
        path.write_bytes(bytes(damaged))
        with pytest.raises(JournalCorruptError) as info:
            PublicationJournal(path)
        error = info.value
        assert error.path == str(path)
        assert str(path) in str(error) and f"offset {error.offset}" in str(error)
        # The reported offset is the start of the damaged record (or the header).
        assert error.offset <= offset
        if offset >= HEADER_SIZE:
            assert error.offset >= HEADER_SIZE


def test_garbled_length_is_named(tmp_path: Path) -> None:
    path = tmp_path / "j"
    _three(path)
    data = bytearray(path.read_bytes())
    data[HEADER_SIZE] = 0x7F  # the first record's length, now far past the end
    path.write_bytes(bytes(data))
    with pytest.raises(JournalCorruptError, match="garbled record length") as info:
        PublicationJournal(path)
    assert info.value.offset == HEADER_SIZE


def test_every_truncation_is_detected_including_at_record_boundaries(tmp_path: Path) -> None:
    path = tmp_path / "j"
    size = _three(path)
    original = path.read_bytes()
    boundaries = []
    offset = HEADER_SIZE
    while offset < size:
        boundaries.append(offset)
        offset += 8 + int.from_bytes(original[offset : offset + 4], "big")
    assert len(boundaries) == 4  # three queued records and one sent mark
    # Length 0 is what hop-client 0.13 leaves after a clean run: an empty journal.
    for length in range(1, size):
        path.write_bytes(original[:length])
        with pytest.raises(JournalCorruptError) as info:
            PublicationJournal(path)
        if length >= HEADER_SIZE:
            assert "truncated" in str(info.value) and info.value.offset == length
    path.write_bytes(original)
    PublicationJournal(path).close()


def test_not_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "j"
    path.write_bytes(b"some other file that happens to be long enough")
    with pytest.raises(JournalCorruptError, match="not a hop publication journal"):
        PublicationJournal(path)


@pytest.mark.parametrize("tail", ["torn", "complete"])
def test_uncommitted_tail_from_a_crash_mid_append_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, tail: str
) -> None:
    path = tmp_path / "j"
    with PublicationJournal(path) as journal:
        journal.queue_message(b"kept")
        committed = journal.size
        journal.queue_message(b"in a write that never returned")
        record = path.read_bytes()[committed : journal.size]
    # Rewind the header to before the second record, as if the process had died between
    # writing the record and the header that covers it (or in the middle of the record).
    data = path.read_bytes()[:committed]
    header = header_bytes(committed)
    extra = record if tail == "complete" else record[: len(record) // 2]
    path.write_bytes(header + data[HEADER_SIZE:] + extra)
    with caplog.at_level(logging.WARNING, "hop.robust_publisher"):
        with PublicationJournal(path) as journal:
            assert _drain(journal) == [(0, b"kept", [])]
            assert journal.size == committed
            assert journal.queue_message(b"next") == 1
    assert f"discarding {len(extra)} bytes" in caplog.text
    with PublicationJournal(path) as journal:
        assert [body for _, body, _ in _drain(journal)] == [b"kept", b"next"]


def test_sigkill_right_after_queue_message_returns_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "j"
    script = (
        "import os, signal, sys\n"
        "from hop._journal import PublicationJournal\n"
        "j = PublicationJournal(sys.argv[1])\n"
        "for i in range(500):\n"
        "    j.queue_message(b'm%d' % i, headers=[('n', b'%d' % i)])\n"
        "    if i % 3 == 2:\n"
        "        sent, *_ = j.get_next_message_to_send()\n"
        "        j.get_next_message_to_send()  # left in flight\n"
        "        j.mark_message_sent(sent)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(path)], check=False)
    assert result.returncode == -signal.SIGKILL
    with PublicationJournal(path) as journal:
        bodies = [body for _, body, _ in _drain(journal)]
    assert bodies == [b"m%d" % i for i in range(500) if i % 2 or i >= 332]


_header_values = st.binary(max_size=40)
_headers = st.lists(st.tuples(st.text(max_size=10), _header_values), max_size=5)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.binary(max_size=300),
            _headers,
            st.none() | st.text(min_size=1, max_size=20),
            st.none() | st.binary(max_size=20),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_any_message_survives_replay_unchanged(
    tmp_path_factory: pytest.TempPathFactory,
    messages: list[tuple[bytes, list[tuple[str, bytes]], str | None, bytes | None]],
) -> None:
    path = tmp_path_factory.mktemp("j") / "journal"
    with PublicationJournal(path) as journal:
        for body, headers, topic, key in messages:
            journal.queue_message(body, topic, headers, key)
    with PublicationJournal(path) as journal:
        replayed = _drain(journal)
        assert [(body, headers) for _, body, headers in replayed] == [
            (body, headers) for body, headers, _, _ in messages
        ]
        assert [journal.get_message_destination(seq) for seq, _, _ in replayed] == [
            (topic, key) for _, _, topic, key in messages
        ]


# --- issue 19 items 18-21: hop-client 0.13's journal interface ---------------------------------


def test_topics_with_messages_in_flight(tmp_path: Path) -> None:
    with PublicationJournal(tmp_path / "j") as journal:
        assert journal.topics_with_messages_in_flight() == set()
        for topic in ("a", "b", "a", "c", None):
            journal.queue_message(b"m", topic)
        assert journal.topics_with_messages_in_flight() == set()  # queued, not handed out
        taken = [journal.get_next_message_to_send() for _ in range(4)]
        seqs = [item[0] for item in taken if item is not None]
        assert journal.topics_with_messages_in_flight() == {"a", "b", "c"}
        journal.mark_message_sent(seqs[1])  # b
        assert journal.topics_with_messages_in_flight() == {"a", "c"}
        journal.requeue_message(seqs[3])  # c
        assert journal.topics_with_messages_in_flight() == {"a"}
        journal.mark_message_sent(seqs[0])  # one of the two for a
        assert journal.topics_with_messages_in_flight() == {"a"}
        journal.mark_message_sent(seqs[2])
        assert journal.topics_with_messages_in_flight() == set()
        # Taken in a batch counts as well; a message for the producer's own topic is None.
        journal.take_messages_to_send(10)
        assert journal.topics_with_messages_in_flight() == {"c", None}


def test_queue_message_takes_str_and_bytes_like_values(tmp_path: Path) -> None:
    path = tmp_path / "j"
    given_headers: list[tuple[str | BytesLike, str | BytesLike]] = [
        ("name", "välue"),
        (b"raw", bytearray(b"\x00\xff")),
        ("m", memoryview(b"v")),
    ]
    with PublicationJournal(path) as journal:
        journal.queue_message("héllo", "t", given_headers, "kéy")
        journal.queue_message(bytearray(b"body"), None, None, memoryview(b"key"))
        journal.queue_message(memoryview(b"plain"), "t", [])
        first = journal.get_next_message_to_send()
        second = journal.get_next_message_to_send()
        third = journal.get_next_message_to_send()
        # Within the session: body and key as bytes, headers exactly as given.
        assert first == (0, "héllo".encode(), "t", given_headers, "kéy".encode())
        assert second == (1, b"body", None, None, b"key")
        assert third == (2, b"plain", "t", [], None)
        assert first is not None and type(first[1]) is bytes and type(first[4]) is bytes
        assert second is not None and type(second[1]) is bytes and type(second[4]) is bytes
    with PublicationJournal(path) as journal:
        # After reopening: headers as (str, bytes) pairs, [] when there were none.
        assert journal.get_next_message_to_send() == (
            0,
            "héllo".encode(),
            "t",
            [("name", "välue".encode()), ("raw", b"\x00\xff"), ("m", b"v")],
            "kéy".encode(),
        )
        assert journal.get_next_message_to_send() == (1, b"body", None, [], b"key")
        assert journal.get_next_message_to_send() == (2, b"plain", "t", [], None)


def test_queue_message_sends_normalised_headers_to_the_producer(tmp_path: Path) -> None:
    with PublicationJournal(tmp_path / "j") as journal:
        journal.queue_message("x", headers=[(b"a", "b")], key="k")
        journal.queue_message(b"y")
        # What the robust producer takes is always ready for the wire.
        assert journal.take_messages_to_send(5) == [
            (0, b"x", [("a", b"b")], None, b"k"),
            (1, b"y", [], None, None),
        ]


class _Error:
    """A stand-in for ``confluent_kafka.KafkaError``: only ``retriable()`` is asked."""

    def __init__(self, retriable: bool) -> None:
        self._retriable = retriable

    def retriable(self) -> bool:
        return self._retriable

    def __str__(self) -> str:
        return f"error (retriable={self._retriable})"


class _Message:
    def __init__(self, error: _Error | None = None) -> None:
        self._error = error

    def error(self) -> _Error | None:
        return self._error


def test_delivery_callback_follows_the_message_error_and_retriability(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with PublicationJournal(tmp_path / "j") as journal:
        for body in (b"ok", b"msg-error-retriable", b"retriable", b"fatal", b"msg-error-fatal"):
            journal.queue_message(body)
        seqs = [seq for seq, _, _ in _drain(journal)]
        cases = [
            (None, _Message()),  # delivered: marked sent
            (None, _Message(_Error(True))),  # the message's own error, retriable: requeued
            (_Error(True), _Message()),  # retriable: requeued
            (_Error(False), _Message()),  # not retriable: logged and dropped
            (None, _Message(_Error(False))),  # the message's own error, not retriable: dropped
        ]
        with caplog.at_level(logging.WARNING, logger="hop.robust_publisher"):
            for seq, (error, message) in zip(seqs, cases, strict=True):
                journal.get_delivery_callback(seq)(error, message)
        assert not journal.has_messages_in_flight()
        assert [body for _, body, _ in _drain(journal)] == [b"msg-error-retriable", b"retriable"]
        assert journal.pending_count() == 2
        assert caplog.text.count("dropped") == 2


def test_a_journal_that_cannot_be_opened_is_a_permission_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "j"
    PublicationJournal(path).close()
    real_open = os.open

    def refusing_open(name: object, *args: object, **kwargs: object) -> int:
        if os.fspath(name) == os.fspath(path):  # type: ignore[call-overload]
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(name, *args, **kwargs)  # type: ignore[arg-type]

    # The tests run as root, whom file modes do not stop: the refusal is simulated.
    monkeypatch.setattr(os, "open", refusing_open)
    with pytest.raises(PermissionError, match="cannot open the journal") as info:
        PublicationJournal(path)
    assert isinstance(info.value, JournalError)
    assert info.value.filename == os.fspath(path)


def test_a_journal_the_user_cannot_read_is_a_permission_error(tmp_path: Path) -> None:
    # As a user who may not read the file: root cannot be refused, so as root the child
    # becomes nobody once hop is imported (the interpreter's own files may be root's only).
    code = (
        "import os, sys\n"
        "from hop._journal import PublicationJournal\n"
        "if os.geteuid() == 0:\n"
        "    os.setuid(65534)\n"
        "try:\n"
        "    PublicationJournal(sys.argv[1])\n"
        "except PermissionError as exc:\n"
        "    print(type(exc).__name__, exc.errno, exc.filename == sys.argv[1])\n"
        "    print(exc)\n"
    )
    journal = tmp_path / "j"
    PublicationJournal(journal).close()
    journal.chmod(0)
    result = subprocess.run(
        [sys.executable, "-c", code, str(journal)], capture_output=True, text=True, check=True
    )
    kind, message = result.stdout.splitlines()
    assert kind == "JournalPermissionError 13 True", result.stderr
    assert message.startswith(f"cannot open the journal {journal}: ")


def test_a_failed_append_is_a_runtime_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with PublicationJournal(tmp_path / "j") as journal:

        def no_space(capacity: int) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(journal, "_remap", no_space)
        with pytest.raises(RuntimeError, match="cannot write to the journal") as info:
            journal.queue_message(b"x" * 200_000)  # past the preallocated space
        assert isinstance(info.value, JournalError)
        monkeypatch.undo()
        assert journal.queue_message(b"small") == 0  # nothing was recorded


def test_damage_found_on_replay_is_a_runtime_error(tmp_path: Path) -> None:
    path = tmp_path / "j"
    path.write_bytes(b"not a journal at all, just text")
    with pytest.raises(RuntimeError) as info:
        PublicationJournal(path)
    assert isinstance(info.value, JournalCorruptError)
    assert issubclass(JournalError, RuntimeError)


def test_queue_message_takes_a_mapping_or_an_iterator_of_headers(tmp_path: Path) -> None:
    path = tmp_path / "j"
    mapping: dict[str | BytesLike, str | BytesLike] = {"a": "1", b"b": b"2"}
    with PublicationJournal(path) as journal:
        journal.queue_message(b"m", headers=mapping)
        journal.queue_message(b"n", headers=((name, b"v") for name in ("x", "y")))
        assert journal.get_next_message_to_send() == (0, b"m", None, mapping, None)
        # An iterator is used up by queueing: it comes back as the list it gave.
        assert journal.get_next_message_to_send() == (
            1,
            b"n",
            None,
            [("x", b"v"), ("y", b"v")],
            None,
        )
    with PublicationJournal(path) as journal:
        assert _drain(journal) == [
            (0, b"m", [("a", b"1"), ("b", b"2")]),
            (1, b"n", [("x", b"v"), ("y", b"v")]),
        ]
