"""The robust publisher's journal: an append-only file of length- and CRC-checked records.

Layout (all integers big-endian)::

    file    = header record*
    header  = magic "HOPJRNL1" (8 bytes) | committed end u64 | CRC-32 of the 16 bytes before u32
    record  = body length u32 | CRC-32 of (length field + body) u32 | body
    body    = kind u8 | payload
    QUEUED  (kind 1): seq u64 | topic length i16 (-1: none) | topic UTF-8
                      | key length i32 (-1: none) | key | header count u32
                      | (name length u16 | name UTF-8 | value length u32 | value)*
                      | message bytes (the rest of the body)
    SENT    (kind 2): seq u64 * n (the rest of the body)

Records are only ever appended. The header is the one place written over: after each
append it is rewritten with the new *committed end*, the offset just past the last complete
record. That pointer is what makes every kind of damage detectable:

* a flipped byte inside a record fails its CRC; a garbled length points past the committed
  end or makes the CRC fail; a flipped byte in the header fails the header's CRC;
* a file cut short, *even exactly at a record boundary*, ends before the committed end;
  a file cut inside the header has no valid header. A journal is created under a
  temporary name and linked into place with its header already written, so an existing
  hop journal is never legitimately shorter than its header. (An *empty* file is what
  hop-client 0.13 leaves after a clean run: an empty journal, given a header.)

All of these raise :class:`hop.errors.JournalCorruptError` with the path and byte offset.

The file's size follows what is pending, not history: it is truncated when nothing is
pending, and compacted (the pending records copied to a new file renamed over it) once it is
past ``COMPACT_MIN`` and at least half history. Replay reads it in chunks. A journal of
hop-client 0.12/0.13 (layout in ``docs/robust.md``) is converted when opened, the original
kept as ``NAME.hop-client-backup`` until its messages are delivered. ``scan_journal`` and
``salvage_journal`` (``hop journal check|salvage``) read what a damaged file still holds.

While open, the file is preallocated in doubling steps (from 64 KiB) and mapped into
memory (shared), so an append is two memory copies (record, then header) into pages of the
OS's page cache rather than two system calls; closing gives the unused space back.

Crashes are a different matter. ``write`` returns only after both the record and the new
header were handed to the OS, so a process killed (even with SIGKILL) after ``write``
returned leaves a journal whose header covers that record: the OS keeps the bytes even
without ``fsync``. A process killed *during* an append can leave bytes after the
committed end (a torn record, or a complete record whose header update never happened),
besides zeros of preallocated space.
Those bytes belong to the one write that never returned to its caller; they are not
covered by the header, so opening the journal discards them (logged as a warning) and
nothing a caller was promised is lost. Records are never read past the committed end.

With ``fsync=True`` the record is made durable before the header that covers it, and the
header before ``write`` returns, so the same holds after a power loss. With the default
``fsync=False`` a power loss may lose recent writes or leave a header that points past the
data that reached the disk; the latter is reported as corruption rather than guessed at.

The code is split by concern: :mod:`hop._journal._format` (the records, encoded and decoded),
:mod:`hop._journal._legacy` (hop-client 0.12/0.13 journals), :mod:`hop._journal._store` (the
file: opening, replay, appends, compaction, conversion), :mod:`hop._journal._scan` (reading
a damaged journal); this module is :class:`PublicationJournal`'s queue operations on top of
the store, and salvage.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import os
import struct
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias

from hop.errors import JournalError

from ._format import _BYTES_LIKE, _KIND_SENT, Headers

# Re-exported: the names the robust publisher, the CLI and the tests know hop._journal by.
from ._format import COMPACT_MIN as COMPACT_MIN
from ._format import HEADER_SIZE as HEADER_SIZE
from ._format import LEGACY_BACKUP_SUFFIX as LEGACY_BACKUP_SUFFIX
from ._format import MAGIC as MAGIC
from ._format import _encode_queued as _encode_queued
from ._scan import JournalScan, scan_journal
from ._store import _JournalStore

__all__ = [
    "JournalMisuseError",
    "JournalScan",
    "PublicationJournal",
    "salvage_journal",
    "scan_journal",
]

log = logging.getLogger("hop.robust_publisher")


#: What ``queue_message`` takes for a message, a key, a header name or value besides str.
BytesLike: TypeAlias = bytes | bytearray | memoryview
#: Headers as ``queue_message`` takes them: (name, value) pairs or a mapping.
HeadersLike: TypeAlias = (
    Iterable[tuple[str | BytesLike, str | BytesLike]] | Mapping[str | BytesLike, str | BytesLike]
)


def _as_bytes(value: object, what: str) -> bytes:
    """A message or key as bytes: str is UTF-8 encoded, bytes-like copied."""
    if type(value) is bytes:
        return value
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise TypeError(f"{what} is not valid UTF-8 text: {exc.reason}") from None
    if isinstance(value, _BYTES_LIKE):
        return bytes(value)
    raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")


def _header_pairs(headers: HeadersLike | None) -> tuple[Headers, bool]:
    """Headers as they are journaled and sent: a new list of (str, bytes) pairs, and
    whether it equals ``headers`` as given (a list of such pairs, the robust producer's case).

    Raises:
        TypeError: a header is not a (name, value) pair of str or bytes-like values, or a
            name given as bytes is not UTF-8.
    """
    if headers is None:
        return [], False
    if type(headers) is list:
        for pair in headers:
            if type(pair) is not tuple or len(pair) != 2:
                break
            if type(pair[0]) is not str or type(pair[1]) is not bytes:
                break
        else:
            return list(headers), True
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    try:
        converted = [
            (_header_name(name), _as_bytes(value, "a header value")) for name, value in pairs
        ]
        return converted, False
    except (TypeError, ValueError) as exc:
        raise TypeError(f"cannot journal these headers ((str, bytes) pairs): {exc}") from None


def _header_name(name: object) -> str:
    if isinstance(name, str):
        return name
    if isinstance(name, _BYTES_LIKE):
        return bytes(name).decode("utf-8")
    raise TypeError(f"a header name must be str or bytes, not {type(name).__name__}")


def _retriable(error: object) -> bool:
    """Whether a delivery error is worth retrying; an error that cannot tell (not a
    ``confluent_kafka.KafkaError``) is retried rather than lose the message."""
    retriable = getattr(error, "retriable", None)
    if not callable(retriable):
        return True
    return bool(retriable())


class JournalMisuseError(JournalError, RuntimeError):
    """The journal was asked about a message it does not hold in that state (for instance
    ``requeue_message`` of a message that is not in flight); a ``RuntimeError`` as in
    hop-client 0.13."""


class PublicationJournal(_JournalStore):
    """The on-disk record of messages queued for publication and not yet acknowledged.

    Opening a journal replays it: every message queued and not marked sent is queued again,
    in order. Its size follows what is pending, not history: when nothing is queued or in
    flight the file is truncated and sequence numbers restart, and when it has grown past
    ``COMPACT_MIN`` (1 MiB) and at least half of it is history, the records of the pending
    messages are copied to a new file that replaces it. The file is created with mode 0600 and
    locked (``flock``) while open, so two publishers cannot share it; a journal dropped
    without ``close()`` releases the lock when it is collected. A 0-byte file is an empty
    journal, and a journal of hop-client 0.12/0.13 is converted (its unsent messages first,
    the old file kept as ``NAME.hop-client-backup`` until they are all delivered). The
    journal is safe to use from several threads.

    Args:
        journal_path: the journal file; created when missing.
        fsync: make every append durable (``fsync``) before the call that made it returns.

    Raises:
        JournalCorruptError: the file is damaged (bad CRC, garbled length, cut short).
        JournalError: the file cannot be created, opened or locked.
    """

    # -- the public interface ----------------------------------------------------------

    def queue_message(
        self,
        message: str | BytesLike,
        topic: str | None = None,
        headers: HeadersLike | None = None,
        key: str | BytesLike | None = None,
    ) -> int:
        """Record a message to send; it is on disk (in the OS) when this returns.

        The arguments come in hop-client 0.13's order, and take what it took: ``str``
        (UTF-8 encoded) or bytes-like (``bytes``, ``bytearray``, ``memoryview``) for the
        message, the key, and each header's name and value.

        Args:
            message: the encoded message body.
            topic: where it goes; None for the producer's own topic.
            headers: the complete Kafka headers to send with it: (name, value) pairs, or a
                mapping of name to value.
            key: the Kafka message key, if any.

        Returns:
            The message's sequence number. Until the journal is reopened,
            ``get_next_message_to_send`` gives the message and key back as ``bytes`` and
            the headers as given (None stays None); after reopening, headers are
            ``[(str, bytes)]`` pairs (``[]`` when there were none).

        Raises:
            TypeError: the message or key is neither str nor bytes-like, the topic not a
                str, or a header not a pair of them (or not UTF-8, or too long); nothing
                is recorded then.
            JournalError: the journal is closed or the write failed (a ``RuntimeError``).
        """
        # bytes() of an int would be that many zero bytes: check the type first.
        body = _as_bytes(message, "a journaled message")
        key = None if key is None else _as_bytes(key, "a message key")
        if topic is not None and not isinstance(topic, str):
            raise TypeError(f"a topic must be a str, not {type(topic).__name__}")
        header_list, as_given = _header_pairs(headers)
        with self._lock:
            seq = self._next_seq
            try:
                record = _encode_queued(seq, body, header_list, topic, key)
            except (TypeError, AttributeError, ValueError, struct.error) as exc:
                raise TypeError(
                    f"cannot journal these headers ((str, bytes) pairs): {exc}"
                ) from None
            start = self._end
            self._append(record)
            self._next_seq = seq + 1
            self._entries[seq] = (body, header_list, topic, key)
            if not as_given and (headers is None or isinstance(headers, list | tuple | Mapping)):
                # Given back as given (an iterator, used up here, as the converted list).
                self._given_headers[seq] = headers
            self._where[seq] = start
            self._to_send.append(seq)
            if self._end > self._compact_at:
                self._maybe_compact()
        return seq

    def get_next_message_to_send(
        self,
    ) -> tuple[int, bytes, str | None, HeadersLike | None, bytes | None] | None:
        """Take the oldest message waiting to be sent and count it as in flight.

        Returns:
            ``(seq, message, topic, headers, key)`` as in hop-client 0.13 (topic None: the
            producer's own), or None when nothing waits.
        """
        with self._lock:
            if self._requeued:
                seq = heapq.heappop(self._requeued)
            elif self._to_send:
                seq = self._to_send.popleft()
            else:
                return None
            self._in_flight.add(seq)
            message, headers, topic, key = self._entries[seq]
            if seq in self._given_headers:
                return seq, message, topic, self._given_headers[seq], key
            return seq, message, topic, headers, key

    def take_messages_to_send(
        self, limit: int
    ) -> list[tuple[int, bytes, Headers, str | None, bytes | None]]:
        """Take up to ``limit`` of the oldest waiting messages at once, counting them in flight.

        Returns:
            ``(seq, message, headers, topic, key)`` for each, oldest first.
        """
        with self._lock:
            # Requeued messages are older than any never sent: they come first.
            seqs = [heapq.heappop(self._requeued) for _ in range(min(limit, len(self._requeued)))]
            to_send = self._to_send
            popleft = to_send.popleft
            seqs += [popleft() for _ in range(min(limit - len(seqs), len(to_send)))]
            self._in_flight.update(seqs)
            entries = self._entries
            return [(seq, *entries[seq]) for seq in seqs]

    def get_message_destination(self, seq: int) -> tuple[str | None, bytes | None]:
        """The topic (None: the producer's own) and key of a pending message.

        Raises:
            KeyError: no such message is pending.
        """
        with self._lock:
            _, _, topic, key = self._entries[seq]
            return topic, key

    def mark_message_sent(self, seq: int) -> None:
        """Record that the broker acknowledged a message in flight.

        Raises:
            JournalMisuseError: the message is not in flight (also a ``RuntimeError``).
            JournalError: the write failed.
        """
        self.mark_messages_sent((seq,))

    def mark_messages_sent(self, seqs: Sequence[int]) -> None:
        """Record acknowledgements for several messages in flight with one append.

        Raises:
            JournalMisuseError: one of them is not in flight (also a ``RuntimeError``).
            JournalError: the write failed.
        """
        if not seqs:
            return
        with self._lock:
            unknown = [seq for seq in seqs if seq not in self._in_flight]
            if unknown:
                raise JournalMisuseError(f"message {unknown[0]} is not in flight")
            self._append(bytes((_KIND_SENT,)) + struct.pack(f">{len(seqs)}Q", *seqs))
            self._in_flight.difference_update(seqs)
            entries, where = self._entries, self._where
            for seq in seqs:
                del entries[seq]
                del where[seq]
            if self._given_headers:
                for seq in seqs:
                    self._given_headers.pop(seq, None)
            if self._legacy:
                self._forget_legacy(seqs)
            if not entries:
                self._truncate()
            elif self._end > self._compact_at:
                self._maybe_compact()
            self._room.notify_all()

    def requeue_message(self, seq: int) -> None:
        """Put a message whose delivery failed back in line, ahead of newer ones.

        Raises:
            JournalMisuseError: the message is not in flight (also a ``RuntimeError``).
        """
        with self._lock:
            self._leave_flight(seq)
            heapq.heappush(self._requeued, seq)

    def set_aside(self, seq: int) -> None:
        """Stop sending a message in flight that can never be sent (too large, say).

        It stays in the journal (compaction keeps it) and is sent again by the next
        publisher that opens it; meanwhile it no longer holds up the others, nor counts
        towards :meth:`waiting_count`.

        Raises:
            JournalMisuseError: the message is not in flight (also a ``RuntimeError``).
        """
        with self._lock:
            self._leave_flight(seq)
            self._aside.add(seq)
            self._room.notify_all()

    def _leave_flight(self, seq: int) -> None:
        """Take a message out of flight (the caller holds the lock)."""
        if seq not in self._in_flight:
            raise JournalMisuseError(f"message {seq} is not in flight")
        self._in_flight.remove(seq)

    def has_messages_to_send(self) -> bool:
        """Whether a message waits to be sent (never sent, or requeued)."""
        return bool(self._to_send or self._requeued)

    def has_messages_in_flight(self) -> bool:
        """Whether a message was handed to the producer and not yet acknowledged."""
        return bool(self._in_flight)

    def topics_with_messages_in_flight(self) -> set[str | None]:
        """The topics of the messages handed out (``get_next_message_to_send``,
        ``take_messages_to_send``) and not yet marked sent or requeued; None stands for
        the producer's own topic."""
        with self._lock:
            entries = self._entries
            return {entries[seq][2] for seq in self._in_flight}

    @property
    def size(self) -> int:
        """Bytes of journal data (header and records); the open file may be larger, its
        tail preallocated."""
        return self._end

    def pending_count(self) -> int:
        """How many messages are queued, in flight or set aside."""
        return len(self._entries)

    def waiting_count(self) -> int:
        """How many messages are queued or in flight (pending and not set aside)."""
        return len(self._entries) - len(self._aside)

    def wait_for_room(self, limit: int, timeout: float) -> bool:
        """Wait until fewer than ``limit`` messages are queued or in flight.

        Args:
            limit: the number of waiting messages that leaves no room.
            timeout: the longest to wait, in seconds.

        Returns:
            Whether there is room now.
        """
        with self._lock:
            return self._room.wait_for(
                lambda: len(self._entries) - len(self._aside) < limit, timeout
            )

    def get_delivery_callback(
        self, seq: int, lock: threading.Lock | threading.RLock | None = None
    ) -> Callable[[Any, Any], None]:
        """A confluent-kafka delivery callback for message ``seq``, as in hop-client 0.13.

        ``callback(err, msg)``: the message was delivered only when ``err`` is None and
        ``msg.error()`` is None; it is then marked sent. Otherwise the error (``err``, else
        ``msg.error()``) decides: a retriable one requeues the message; one that is not
        retriable is logged and the message dropped (marked sent, so it is never sent
        again). (``RobustProducer`` does not use this callback: it retries every failure
        and sets aside a message too large to send, keeping it in the journal.)

        Args:
            seq: the message's sequence number.
            lock: held while the journal is updated, to coordinate with the caller.

        Returns:
            ``callback(kafka_error, message)``.

        Raises:
            JournalMisuseError: no message ``seq`` is queued (also a ``RuntimeError``); the
                callback raises it too when its message is not in flight.
        """
        with self._lock:
            if seq not in self._entries:
                raise JournalMisuseError(f"message {seq} is not queued in {self.path}")

        def on_delivery(kafka_error: Any, message: Any) -> None:
            error = kafka_error
            if error is None:
                message_error = getattr(message, "error", None)
                error = message_error() if callable(message_error) else None
            with lock if lock is not None else contextlib.nullcontext():
                if error is None:
                    self.mark_message_sent(seq)
                elif _retriable(error):
                    log.warning("delivery of message %d failed, requeued: %s", seq, error)
                    self.requeue_message(seq)
                else:
                    log.error(
                        "delivery of message %d failed and cannot be retried, dropped: %s",
                        seq,
                        error,
                    )
                    self.mark_message_sent(seq)

        return on_delivery

    @staticmethod
    def error_callback(kafka_error: Any) -> None:
        """A confluent-kafka ``error_cb``: logs client-wide errors (such as the broker down).

        Messages are never dropped because of them: undelivered ones come back through
        their delivery callbacks and are retried.
        """
        log.warning("Kafka error: %s", kafka_error)

    def close(self) -> None:
        """Close the file (and release its lock); pending messages stay in it. Idempotent.

        A file past ``COMPACT_MIN`` that is at least half history is compacted first.
        """
        with self._lock:
            fd = self._fd
            if self._map is not None and self._end > COMPACT_MIN:
                # Leave a file in proportion to what is pending, whatever the peak was.
                self._maybe_compact()
                fd = self._fd
            if self._map is not None:
                self._map.close()
                self._map = None
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, self._end)  # give back the preallocated space
            self._keep_handle()
            self._fd = -1
            self._finalizer()
            self._room.notify_all()

    def __enter__(self) -> PublicationJournal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def salvage_journal(path: str | os.PathLike[str], out: str | os.PathLike[str]) -> JournalScan:
    """Copy every intact pending message of a journal into a new hop journal ``out``.

    The original is only read. Messages keep their order, topic, key and headers (their
    ``_id`` too, so readers with ``skip_duplicates`` drop copies already delivered).

    Args:
        path: the (damaged) journal.
        out: the new journal; it must not exist.

    Returns:
        The scan of the original, which says what could not be read.

    Raises:
        JournalError: ``out`` exists, or a file cannot be read or written.
    """
    scan = scan_journal(path)
    if scan.kind == "unknown":
        raise JournalError(f"{scan.path} is not a publication journal; nothing to salvage")
    if os.path.lexists(out):
        raise JournalError(f"{os.fspath(out)} exists already; name a new file to salvage into")
    with PublicationJournal(out) as journal:
        for message, headers, topic, key in scan.pending.values():
            journal.queue_message(message, topic, headers, key)
    return scan
