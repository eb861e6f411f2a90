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
  a file cut inside the header (or emptied) has no valid header. A journal is created
  under a temporary name and linked into place with its header already written, so an
  existing journal file is never legitimately empty.

All of these raise :class:`hop.errors.JournalCorruptError` with the path and byte offset.

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
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import heapq
import logging
import mmap
import os
import struct
import threading
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeAlias

from .errors import JournalCorruptError, JournalError

__all__ = ["PublicationJournal"]

log = logging.getLogger("hop.robust_publisher")

MAGIC = b"HOPJRNL1"
_HEADER = struct.Struct(">8sQI")  # magic, committed end, CRC-32 of the 16 bytes before
HEADER_SIZE = _HEADER.size
_MAGIC_CRC = zlib.crc32(MAGIC)
_RECORD = struct.Struct(">II")
_LENGTH = struct.Struct(">I")
_QUEUED_FIXED = struct.Struct(">BQh")
# The common QUEUED prefix, no topic and no key: kind, seq, -1, -1, header count.
_QUEUED_PLAIN = struct.Struct(">BQhiI")
_I32 = struct.Struct(">i")
_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")
_U64 = struct.Struct(">Q")
_KIND_QUEUED = 1
_KIND_SENT = 2
# A record longer than this cannot come from this module (Kafka messages are far smaller);
# a length beyond it is garbage, reported before trying to read that much.
_MAX_RECORD = 1 << 31
# The file grows in steps (doubling from this) so that appends are memory copies.
_INITIAL_CAPACITY = 64 * 1024

Headers = list[tuple[str, bytes]]
# A pending message: body, headers, topic (None: the producer's own), key. A plain tuple
# rather than a class: one is built per message on the publishing path.
_Entry: TypeAlias = tuple[bytes, Headers, str | None, bytes | None]
_BYTES_LIKE = (bytes, bytearray, memoryview)

# Encoded header names (length + UTF-8), which repeat from message to message ("_id", ...).
_NAME_CACHE: dict[str, bytes] = {}


def _encoded_name(name: str) -> bytes:
    encoded = _NAME_CACHE.get(name)
    if encoded is None:
        raw = name.encode("utf-8")
        encoded = _U16.pack(len(raw)) + raw
        if len(_NAME_CACHE) < 1024:
            _NAME_CACHE[name] = encoded
    return encoded


def _encode_queued(
    seq: int,
    message: bytes,
    headers: Sequence[tuple[str, bytes]],
    topic: str | None,
    key: bytes | None,
) -> bytes:
    """The body of a QUEUED record; TypeError (or AttributeError) for a malformed header."""
    if topic is None and key is None:
        parts = [_QUEUED_PLAIN.pack(_KIND_QUEUED, seq, -1, -1, len(headers))]
    else:
        topic_bytes = topic.encode("utf-8") if topic is not None else b""
        parts = [
            _QUEUED_FIXED.pack(_KIND_QUEUED, seq, -1 if topic is None else len(topic_bytes)),
            topic_bytes,
            _I32.pack(-1 if key is None else len(key)),
            key or b"",
            _U32.pack(len(headers)),
        ]
    append = parts.append
    pack_length = _U32.pack
    names = _NAME_CACHE
    for name, value in headers:
        append(names.get(name) or _encoded_name(name))
        append(pack_length(len(value)))
        append(value)
    append(message)
    return b"".join(parts)


def _decode_queued(body: bytes) -> tuple[int, _Entry]:
    """Decode a QUEUED body; raises ValueError (or struct.error) when it does not parse."""
    _, seq, topic_len = _QUEUED_FIXED.unpack_from(body, 0)
    pos = _QUEUED_FIXED.size
    topic: str | None = None
    if topic_len >= 0:
        topic = body[pos : pos + topic_len].decode("utf-8")
        pos += topic_len
    elif topic_len != -1:
        raise ValueError("bad topic length")
    (key_len,) = _I32.unpack_from(body, pos)
    pos += 4
    key: bytes | None = None
    if key_len >= 0:
        key = body[pos : pos + key_len]
        pos += key_len
    elif key_len != -1:
        raise ValueError("bad key length")
    (count,) = _U32.unpack_from(body, pos)
    pos += 4
    headers: Headers = []
    for _ in range(count):
        (name_len,) = _U16.unpack_from(body, pos)
        pos += 2
        name = body[pos : pos + name_len].decode("utf-8")
        pos += name_len
        (value_len,) = _U32.unpack_from(body, pos)
        pos += 4
        value = body[pos : pos + value_len]
        if len(value) != value_len:
            raise ValueError("header value runs past the record")
        pos += value_len
        headers.append((name, value))
    if pos > len(body):
        raise ValueError("fields run past the record")
    return seq, (body[pos:], headers, topic, key)


class PublicationJournal:
    """The on-disk record of messages queued for publication and not yet acknowledged.

    Opening a journal replays it: every message queued and not marked sent is queued again,
    in order. When nothing is queued or in flight the file is truncated and sequence
    numbers restart, so its size stays near the size of what is pending. The file is
    created with mode 0600 and locked (``flock``) while open, so two publishers cannot share
    it. The journal is safe to use from several threads.

    Args:
        journal_path: the journal file; created when missing.
        fsync: make every append durable (``fsync``) before the call that made it returns.

    Raises:
        JournalCorruptError: the file is damaged (bad CRC, garbled length, cut short).
        JournalError: the file cannot be created, opened or locked.
    """

    def __init__(
        self, journal_path: str | os.PathLike[str] = "publisher.journal", *, fsync: bool = False
    ) -> None:
        self.path = os.fspath(journal_path)
        self.fsync = fsync
        self._lock = threading.Lock()
        self._entries: dict[int, _Entry] = {}
        # Waiting to be sent: never sent, in order (a queue), and requeued after a failed
        # delivery (a heap). Every requeued message is older than every never-sent one, as
        # both were taken from the front of the queue.
        self._to_send: deque[int] = deque()
        self._requeued: list[int] = []
        self._in_flight: set[int] = set()
        self._next_seq = 0
        self._fd = -1
        self._map: mmap.mmap | None = None
        self._capacity = 0
        self._end = HEADER_SIZE
        self._open()

    # -- opening and replay ------------------------------------------------------------

    def _open(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            fd = self._create()
        except OSError as exc:
            raise JournalError(f"cannot open the journal {self.path}: {exc}") from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise JournalError(
                    f"the journal {self.path} is in use by another publisher"
                ) from exc
            self._fd = fd
            self._replay()
            self._remap(max(_INITIAL_CAPACITY, self._end))
        except BaseException:
            os.close(fd)
            self._fd = -1
            raise

    def _create(self) -> int:
        """Create the file with its header under a temporary name, then link it into place.

        This way a journal file never exists without a header, so an empty or headerless
        file is always damage, never a crash during creation.
        """
        directory = os.path.dirname(os.path.abspath(self.path))
        temporary = f"{self.path}.{os.getpid()}.{threading.get_ident()}.new"
        try:
            fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise JournalError(f"cannot create the journal {self.path}: {exc}") from exc
        try:
            os.fchmod(fd, 0o600)  # exactly, whatever the umask
            self._write_all(fd, self._header(HEADER_SIZE), 0)
            if self.fsync:
                os.fsync(fd)
            try:
                os.link(temporary, self.path)
            except FileExistsError:
                # Another process created it first: use theirs (the lock settles who runs).
                os.close(fd)
                return os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                    raise
                os.rename(temporary, self.path)  # a file system without hard links
            if self.fsync:
                self._fsync_directory(directory)
            return fd
        except OSError as exc:
            os.close(fd)
            raise JournalError(f"cannot create the journal {self.path}: {exc}") from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)

    @staticmethod
    def _fsync_directory(directory: str) -> None:
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def _corrupt(self, message: str, offset: int) -> JournalCorruptError:
        return JournalCorruptError(
            f"the publication journal is damaged: {message}; refusing to use it rather than "
            "lose messages (inspect or move the file away)",
            path=self.path,
            offset=offset,
        )

    def _replay(self) -> None:
        size = os.fstat(self._fd).st_size
        data = self._read_all(size)
        if size < HEADER_SIZE:
            raise self._corrupt(f"the file is {size} bytes long, shorter than its header", size)
        magic, committed, crc = _HEADER.unpack_from(data, 0)
        if magic != MAGIC:
            raise self._corrupt("this is not a hop publication journal (bad magic)", 0)
        if crc != zlib.crc32(data[: HEADER_SIZE - 4]):
            raise self._corrupt("the file header fails its CRC check", 0)
        if committed < HEADER_SIZE:
            raise self._corrupt(f"the header records an impossible end {committed}", 0)
        if size < committed:
            raise self._corrupt(
                f"the file is truncated: it is {size} bytes long but its header records "
                f"complete data up to byte {committed}",
                size,
            )
        offset = HEADER_SIZE
        max_seq = -1
        while offset < committed:
            if committed - offset < _RECORD.size:
                raise self._corrupt("a record header runs past the committed end", offset)
            length, crc = _RECORD.unpack_from(data, offset)
            if length == 0 or length > _MAX_RECORD or offset + _RECORD.size + length > committed:
                raise self._corrupt(f"garbled record length {length}", offset)
            start = offset + _RECORD.size
            body = data[start : start + length]
            if crc != zlib.crc32(body, zlib.crc32(data[offset : offset + 4])):
                raise self._corrupt("a record fails its CRC check", offset)
            try:
                max_seq = self._apply(body, max_seq)
            except JournalError as exc:
                raise self._corrupt(str(exc), offset) from None
            except (ValueError, struct.error) as exc:
                raise self._corrupt(f"a record does not parse ({exc})", offset) from None
            offset = start + length
        if size > committed:
            # Zeros are preallocated space; anything else is an append cut off by a crash.
            torn = len(data[committed:].rstrip(b"\0"))
            if torn:
                log.warning(
                    "%s: discarding %d bytes after the last committed record (an append cut "
                    "off by a crash; its write never returned)",
                    self.path,
                    torn,
                )
            os.ftruncate(self._fd, committed)
        self._end = committed
        self._next_seq = max_seq + 1
        self._to_send = deque(sorted(self._entries))
        if self._entries:
            log.info("%s: replaying %d unacknowledged messages", self.path, len(self._entries))
        else:
            self._truncate()

    def _apply(self, body: bytes, max_seq: int) -> int:
        kind = body[0]
        if kind == _KIND_QUEUED:
            seq, entry = _decode_queued(body)
            if seq <= max_seq:
                raise JournalError(f"message {seq} is out of sequence (after {max_seq})")
            self._entries[seq] = entry
            return seq
        if kind == _KIND_SENT:
            if (len(body) - 1) % 8:
                raise JournalError("a sent-mark record has a partial sequence number")
            for (seq,) in _U64.iter_unpack(body[1:]):
                if self._entries.pop(seq, None) is None:
                    raise JournalError(f"sent mark for message {seq}, which is not queued")
            return max_seq
        raise JournalError(f"unknown record kind {kind}")

    def _read_all(self, size: int) -> bytes:
        chunks = []
        offset = 0
        while offset < size:
            chunk = os.pread(self._fd, min(size - offset, 1 << 24), offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
        return b"".join(chunks)

    # -- writing -----------------------------------------------------------------------

    @staticmethod
    def _header(end: int) -> bytes:
        return _HEADER.pack(MAGIC, end, zlib.crc32(_U64.pack(end), _MAGIC_CRC))

    @staticmethod
    def _write_all(fd: int, data: bytes, offset: int) -> None:
        view = memoryview(data)
        while view:
            written = os.pwrite(fd, view, offset)
            view = view[written:]
            offset += written

    def _remap(self, capacity: int) -> None:
        """Size the file to ``capacity`` bytes, allocated, and map all of it. Lock held.

        Appends are copies into this shared mapping rather than ``write`` calls: the pages
        belong to the OS's page cache, so they outlive this process exactly as written
        bytes would, and the publishing thread never gives up the interpreter lock to the
        sending thread in the middle of a ``write``. The space is allocated up front
        (``posix_fallocate``) so that a full disk is an error here, not a SIGBUS later.
        """
        if self._map is not None:
            self._map.close()
            self._map = None
        size = os.fstat(self._fd).st_size
        if capacity > size:
            os.posix_fallocate(self._fd, size, capacity - size)
        self._map = mmap.mmap(self._fd, capacity, mmap.MAP_SHARED)
        self._capacity = capacity

    def _sync(self, start: int, stop: int) -> None:
        """Make bytes ``start:stop`` of the file durable (``fsync=True``). Lock held."""
        assert self._map is not None
        aligned = start - start % mmap.PAGESIZE
        self._map.flush(aligned, stop - aligned)

    def _append(self, body: bytes) -> None:
        """Append one record holding ``body`` and move the committed end past it. Lock held."""
        mapping = self._map
        if mapping is None:
            raise JournalError(f"the journal {self.path} is closed")
        length = len(body)
        start = self._end
        end = start + _RECORD.size + length
        try:
            if end > self._capacity:
                self._remap(max(end, 2 * self._capacity))
                mapping = self._map
                assert mapping is not None
            # Bytes past the committed end are not part of the journal until the header
            # says so; a failed write leaves them to be overwritten by the next append.
            crc = zlib.crc32(body, zlib.crc32(_LENGTH.pack(length)))
            _RECORD.pack_into(mapping, start, length, crc)
            mapping[start + _RECORD.size : end] = body
            if self.fsync:
                self._sync(start, end)
                self._set_header(end)
            else:
                _HEADER.pack_into(mapping, 0, MAGIC, end, zlib.crc32(_U64.pack(end), _MAGIC_CRC))
        except (OSError, ValueError) as exc:
            raise JournalError(f"cannot write to the journal {self.path}: {exc}") from exc
        self._end = end

    def _set_header(self, end: int) -> None:
        """Record ``end`` as the committed end (durably when ``fsync``). Lock held."""
        header = self._header(end)
        if self._map is None:  # while replaying, before the mapping exists
            self._write_all(self._fd, header, 0)
            if self.fsync:
                os.fdatasync(self._fd)
        else:
            self._map[:HEADER_SIZE] = header
            if self.fsync:
                self._sync(0, HEADER_SIZE)

    def _truncate(self) -> None:
        """Empty the journal when nothing is pending. Lock held."""
        self._next_seq = 0
        if self._end == HEADER_SIZE:
            return
        try:
            # Header first: a crash between the steps leaves only uncommitted bytes, which
            # opening discards; the other order would look like a cut-off file.
            self._set_header(HEADER_SIZE)
            mapped = self._map is not None
            if mapped:
                assert self._map is not None
                self._map.close()  # touching a mapping past the end of its file is SIGBUS
                self._map = None
            # Shrinking drops the old records (messages may be sensitive) and their space.
            os.ftruncate(self._fd, HEADER_SIZE)
            if self.fsync:
                os.fsync(self._fd)
            if mapped:
                self._remap(_INITIAL_CAPACITY)
        except OSError as exc:
            raise JournalError(f"cannot truncate the journal {self.path}: {exc}") from exc
        self._end = HEADER_SIZE

    # -- the public interface ----------------------------------------------------------

    def queue_message(
        self,
        message: bytes,
        headers: Iterable[tuple[str, bytes]] | None = None,
        topic: str | None = None,
        key: bytes | None = None,
    ) -> int:
        """Record a message to send; it is on disk (in the OS) when this returns.

        Args:
            message: the encoded message body.
            headers: the complete Kafka headers to send with it.
            topic: where it goes; None for the producer's own topic.
            key: the Kafka message key, if any.

        Returns:
            The message's sequence number.

        Raises:
            TypeError: the message or key is not bytes, the topic not a str, or a header
                not a (str, bytes) pair; nothing is recorded then.
            JournalError: the journal is closed or the write failed.
        """
        # bytes() of an int would be that many zero bytes: check the type first.
        if not isinstance(message, _BYTES_LIKE):
            raise TypeError(f"a journaled message must be bytes, not {type(message).__name__}")
        if key is not None and not isinstance(key, _BYTES_LIKE):
            raise TypeError(f"a message key must be bytes, not {type(key).__name__}")
        if topic is not None and not isinstance(topic, str):
            raise TypeError(f"a topic must be a str, not {type(topic).__name__}")
        header_list: Headers = list(headers) if headers else []
        body = bytes(message)
        key = bytes(key) if key is not None else None
        with self._lock:
            seq = self._next_seq
            try:
                record = _encode_queued(seq, body, header_list, topic, key)
            except (TypeError, AttributeError, ValueError, struct.error) as exc:
                raise TypeError(
                    f"cannot journal these headers ((str, bytes) pairs): {exc}"
                ) from None
            self._append(record)
            self._next_seq = seq + 1
            self._entries[seq] = (body, header_list, topic, key)
            self._to_send.append(seq)
        return seq

    def get_next_message_to_send(self) -> tuple[int, bytes, Headers] | None:
        """Take the oldest message waiting to be sent and count it as in flight.

        Returns:
            ``(seq, message, headers)``, or None when nothing waits. Its topic and key come
            from :meth:`get_message_destination`.
        """
        with self._lock:
            if self._requeued:
                seq = heapq.heappop(self._requeued)
            elif self._to_send:
                seq = self._to_send.popleft()
            else:
                return None
            self._in_flight.add(seq)
            message, headers, _, _ = self._entries[seq]
            return seq, message, headers

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
            JournalError: the message is not in flight, or the write failed.
        """
        self.mark_messages_sent((seq,))

    def mark_messages_sent(self, seqs: Sequence[int]) -> None:
        """Record acknowledgements for several messages in flight with one append.

        Raises:
            JournalError: one of them is not in flight, or the write failed.
        """
        if not seqs:
            return
        with self._lock:
            unknown = [seq for seq in seqs if seq not in self._in_flight]
            if unknown:
                raise JournalError(f"message {unknown[0]} is not in flight")
            self._append(bytes((_KIND_SENT,)) + struct.pack(f">{len(seqs)}Q", *seqs))
            self._in_flight.difference_update(seqs)
            entries = self._entries
            for seq in seqs:
                del entries[seq]
            if not self._entries:
                self._truncate()

    def requeue_message(self, seq: int) -> None:
        """Put a message whose delivery failed back in line, ahead of newer ones.

        Raises:
            JournalError: the message is not in flight.
        """
        with self._lock:
            self._leave_flight(seq)
            heapq.heappush(self._requeued, seq)

    def set_aside(self, seq: int) -> None:
        """Stop sending a message in flight that can never be sent (too large, say).

        It stays in the journal (which is therefore not truncated) and is sent again by the
        next publisher that opens it; meanwhile it no longer holds up the others.

        Raises:
            JournalError: the message is not in flight.
        """
        with self._lock:
            self._leave_flight(seq)

    def _leave_flight(self, seq: int) -> None:
        """Take a message out of flight (the caller holds the lock)."""
        if seq not in self._in_flight:
            raise JournalError(f"message {seq} is not in flight")
        self._in_flight.remove(seq)

    def has_messages_to_send(self) -> bool:
        """Whether a message waits to be sent (never sent, or requeued)."""
        return bool(self._to_send or self._requeued)

    def has_messages_in_flight(self) -> bool:
        """Whether a message was handed to the producer and not yet acknowledged."""
        return bool(self._in_flight)

    @property
    def size(self) -> int:
        """Bytes of journal data (header and records); the open file may be larger, its
        tail preallocated."""
        return self._end

    def pending_count(self) -> int:
        """How many messages are queued, in flight or set aside."""
        return len(self._entries)

    def get_delivery_callback(
        self, seq: int, lock: threading.Lock | threading.RLock | None = None
    ) -> Callable[[Any, Any], None]:
        """A confluent-kafka delivery callback for message ``seq``.

        On success the message is marked sent; on failure it is requeued.

        Args:
            seq: the message's sequence number.
            lock: held while the journal is updated, to coordinate with the caller.

        Returns:
            ``callback(kafka_error, message)``.
        """

        def on_delivery(kafka_error: Any, message: Any) -> None:
            with lock if lock is not None else contextlib.nullcontext():
                if kafka_error is None:
                    self.mark_message_sent(seq)
                else:
                    log.warning("delivery of message %d failed, requeued: %s", seq, kafka_error)
                    self.requeue_message(seq)

        return on_delivery

    @staticmethod
    def error_callback(kafka_error: Any) -> None:
        """A confluent-kafka ``error_cb``: logs client-wide errors (such as the broker down).

        Messages are never dropped because of them: undelivered ones come back through
        their delivery callbacks and are retried.
        """
        log.warning("Kafka error: %s", kafka_error)

    def close(self) -> None:
        """Close the file (and release its lock); pending messages stay in it. Idempotent."""
        with self._lock:
            fd, self._fd = self._fd, -1
            mapping, self._map = self._map, None
            if mapping is not None:
                mapping.close()
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, self._end)  # give back the preallocated space
                os.close(fd)

    def __enter__(self) -> PublicationJournal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
