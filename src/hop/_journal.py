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
import weakref
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from .errors import JournalCorruptError, JournalError

__all__ = [
    "JournalMisuseError",
    "JournalScan",
    "PublicationJournal",
    "salvage_journal",
    "scan_journal",
]

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
# The journal is compacted (its live records rewritten to a new file) when it grows past
# this, or past twice its size after the last compaction, whichever is larger: each
# compaction copies no more than the appends since the one before, and the file stays
# proportional to what is pending rather than to history.
COMPACT_MIN = 1 << 20
# Replay and the other readers read the file in chunks of this size, never all of it.
_READ_CHUNK = 1 << 20
#: The suffix of the copy kept of a hop-client 0.12/0.13 journal until all of it is sent.
LEGACY_BACKUP_SUFFIX = ".hop-client-backup"

Headers = list[tuple[str, bytes]]
# A pending message: body, headers, topic (None: the producer's own), key. A plain tuple
# rather than a class: one is built per message on the publishing path.
_Entry: TypeAlias = tuple[bytes, Headers, str | None, bytes | None]
_BYTES_LIKE = (bytes, bytearray, memoryview)

# Encoded header names (length + UTF-8), which repeat from message to message ("_id", ...).
_NAME_CACHE: dict[str, bytes] = {}


class JournalMisuseError(JournalError, RuntimeError):
    """The journal was asked about a message it does not hold in that state (for instance
    ``requeue_message`` of a message that is not in flight); a ``RuntimeError`` as in
    hop-client 0.13."""


class _Handle:
    """The open file and mapping of a journal, apart from it so that a finalizer can close
    them (a finalizer must not refer to the object it watches)."""

    __slots__ = ("fd", "map")

    def __init__(self) -> None:
        self.fd = -1
        self.map: mmap.mmap | None = None

    def release(self) -> None:
        mapping, self.map = self.map, None
        fd, self.fd = self.fd, -1
        if mapping is not None:
            with contextlib.suppress(BufferError, ValueError):
                mapping.close()
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


class _ChunkReader:
    """Sequential reads of a file region through a buffer of about ``_READ_CHUNK`` bytes,
    so that reading a journal costs memory for one chunk (or one record), not the file."""

    def __init__(self, fd: int, start: int, end: int) -> None:
        self._fd = fd
        self._buffer = b""
        self._buffer_start = start
        self._end = end

    def read(self, offset: int, size: int) -> bytes:
        """Bytes ``offset:offset+size`` (fewer at the end); offsets only move forward."""
        buffer_end = self._buffer_start + len(self._buffer)
        if offset < self._buffer_start or offset + size > buffer_end:
            keep = self._buffer[offset - self._buffer_start :] if offset < buffer_end else b""
            start = offset + len(keep)
            wanted = min(max(size - len(keep), _READ_CHUNK), max(self._end - start, 0))
            parts = [keep]
            while wanted > 0:
                chunk = os.pread(self._fd, wanted, start)
                if not chunk:
                    break
                parts.append(chunk)
                start += len(chunk)
                wanted -= len(chunk)
            self._buffer = b"".join(parts)
            self._buffer_start = offset
        index = offset - self._buffer_start
        return self._buffer[index : index + size]


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


# hop-client 0.12/0.13's journal: records of a 24-byte header (record type u64, body length
# u64, body CRC-32 u32, CRC-32 of those 20 bytes u32) and a body; see docs/robust.md.
_LEGACY_HEADER = struct.Struct(">QQII")
_LEGACY_OLD_MESSAGE, _LEGACY_SENT, _LEGACY_MESSAGE = 0, 1, 2


def _legacy_record_header(header: bytes) -> tuple[int, int, int] | None:
    """(type, body length, body CRC) of a 0.13 record header, or None when it fails its CRC."""
    if len(header) < _LEGACY_HEADER.size:
        return None
    kind, length, body_crc, header_crc = _LEGACY_HEADER.unpack_from(header, 0)
    if header_crc != zlib.crc32(header[:20]) or kind > _LEGACY_MESSAGE:
        return None
    return kind, length, body_crc


def _legacy_field(body: bytes, pos: int) -> tuple[bytes, int]:
    (length,) = _U64.unpack_from(body, pos)
    pos += 8
    if pos + length > len(body):
        raise ValueError("a field runs past the record")
    return body[pos : pos + length], pos + length


def _decode_legacy(kind: int, body: bytes) -> tuple[int, _Entry | None]:
    """A 0.13 record's sequence number and message (None for a sent mark).

    Raises:
        ValueError, struct.error: the body does not parse.
    """
    (seq,) = _U64.unpack_from(body, 0)
    pos = 8
    if kind == _LEGACY_SENT:
        if len(body) != 8:
            raise ValueError("a sent mark is not one sequence number")
        return seq, None
    topic: str | None = None
    key: bytes | None = None
    if kind == _LEGACY_MESSAGE:
        raw_topic, pos = _legacy_field(body, pos)
        topic = raw_topic.decode("utf-8") or None
    message, pos = _legacy_field(body, pos)
    if kind == _LEGACY_MESSAGE:
        raw_key, pos = _legacy_field(body, pos)
        key = raw_key or None
    (count,) = _U64.unpack_from(body, pos)
    pos += 8
    headers: Headers = []
    for _ in range(count):
        name, pos = _legacy_field(body, pos)
        value, pos = _legacy_field(body, pos)
        headers.append((name.decode("utf-8"), value))
    if pos != len(body):
        raise ValueError("bytes left over after the last field")
    return seq, (message, headers, topic, key)


def _looks_legacy(data: bytes) -> bool:
    """Whether a file starting with ``data`` is a hop-client 0.12/0.13 journal."""
    return data[:8] != MAGIC and _legacy_record_header(data) is not None


class PublicationJournal:
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

    def __init__(
        self, journal_path: str | os.PathLike[str] = "publisher.journal", *, fsync: bool = False
    ) -> None:
        self.path = os.fspath(journal_path)
        self.fsync = fsync
        self._lock = threading.Lock()
        # Notified when messages leave the journal, for writers waiting for room.
        self._room = threading.Condition(self._lock)
        self._entries: dict[int, _Entry] = {}
        # Where each pending message's record starts in the file, for compaction.
        self._where: dict[int, int] = {}
        # Waiting to be sent: never sent, in order (a queue), and requeued after a failed
        # delivery (a heap). Every requeued message is older than every never-sent one, as
        # both were taken from the front of the queue.
        self._to_send: deque[int] = deque()
        self._requeued: list[int] = []
        self._in_flight: set[int] = set()
        self._aside: set[int] = set()
        self._next_seq = 0
        self._fd = -1
        self._map: mmap.mmap | None = None
        self._capacity = 0
        self._end = HEADER_SIZE
        self._compact_at = COMPACT_MIN
        # A converted 0.13 journal: the backup file, and which messages came from it.
        self._backup: str | None = None
        self._legacy: set[int] = set()
        self._handle = _Handle()
        self._finalizer = weakref.finalize(self, _Handle.release, self._handle)
        self._open()

    def _keep_handle(self) -> None:
        """Let the finalizer see the current file and mapping (after either changes)."""
        self._handle.fd = self._fd
        self._handle.map = self._map

    # -- opening and replay ------------------------------------------------------------

    def _open(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            fd = self._create()
        except OSError as exc:
            raise JournalError(f"cannot open the journal {self.path}: {exc}") from exc
        try:
            self._lock_file(fd)
            self._fd = fd
            self._keep_handle()
            self._replay()
            self._remap(max(_INITIAL_CAPACITY, self._end))
        except BaseException:
            os.close(self._fd if self._fd >= 0 else fd)
            self._fd = -1
            self._map = None
            self._keep_handle()
            raise

    def _lock_file(self, fd: int) -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise JournalError(f"the journal {self.path} is in use by another publisher") from exc

    def _create(self) -> int:
        """Create the file with its header under a temporary name, then link it into place.

        This way a journal file never exists without a header: a headerless file is damage
        (or, when it is empty, what hop-client 0.13 leaves: an empty journal).
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
            "lose messages (inspect it with 'hop journal check', or move the file away)",
            path=self.path,
            offset=offset,
        )

    def _replay(self) -> None:
        size = os.fstat(self._fd).st_size
        if size == 0:
            # What hop-client 0.13 leaves after a clean run: an empty journal.
            self._write_all(self._fd, self._header(HEADER_SIZE), 0)
            if self.fsync:
                os.fsync(self._fd)
            size = HEADER_SIZE
        head = os.pread(self._fd, _LEGACY_HEADER.size, 0)
        if _looks_legacy(head):
            self._convert_legacy(size)
            size = os.fstat(self._fd).st_size
            head = os.pread(self._fd, HEADER_SIZE, 0)
        if size < HEADER_SIZE:
            raise self._corrupt(f"the file is {size} bytes long, shorter than its header", size)
        magic, committed, crc = _HEADER.unpack_from(head, 0)
        if magic != MAGIC:
            raise self._corrupt("this is not a hop publication journal (bad magic)", 0)
        if crc != zlib.crc32(head[: HEADER_SIZE - 4]):
            raise self._corrupt("the file header fails its CRC check", 0)
        if committed < HEADER_SIZE:
            raise self._corrupt(f"the header records an impossible end {committed}", 0)
        if size < committed:
            raise self._corrupt(
                f"the file is truncated: it is {size} bytes long but its header records "
                f"complete data up to byte {committed}",
                size,
            )
        max_seq = -1
        for offset, body in self._records(committed):
            try:
                max_seq = self._apply(body, max_seq, offset)
            except JournalError as exc:
                raise self._corrupt(str(exc), offset) from None
            except (ValueError, struct.error, IndexError) as exc:
                raise self._corrupt(f"a record does not parse ({exc})", offset) from None
        if size > committed:
            self._drop_tail(committed, size)
        self._end = committed
        self._next_seq = max_seq + 1
        self._to_send = deque(sorted(self._entries))
        if os.path.exists(self.path + LEGACY_BACKUP_SUFFIX):
            self._backup = self.path + LEGACY_BACKUP_SUFFIX
        if self._entries:
            log.info("%s: replaying %d unacknowledged messages", self.path, len(self._entries))
            if self._end > COMPACT_MIN:
                self._compact_at = 0  # compact what an older hop or a crash left, when mapped
        else:
            self._truncate()

    def _records(self, committed: int) -> Iterator[tuple[int, bytes]]:
        """Each record's offset and body up to ``committed``, checked, read in chunks.

        Raises:
            JournalCorruptError: a record is garbled or fails its CRC.
        """
        reader = _ChunkReader(self._fd, HEADER_SIZE, committed)
        offset = HEADER_SIZE
        while offset < committed:
            if committed - offset < _RECORD.size:
                raise self._corrupt("a record header runs past the committed end", offset)
            length, crc = _RECORD.unpack(reader.read(offset, _RECORD.size))
            if length == 0 or length > _MAX_RECORD or offset + _RECORD.size + length > committed:
                raise self._corrupt(f"garbled record length {length}", offset)
            start = offset + _RECORD.size
            body = reader.read(start, length)
            if crc != zlib.crc32(body, zlib.crc32(_LENGTH.pack(length))):
                raise self._corrupt("a record fails its CRC check", offset)
            yield offset, body
            offset = start + length

    def _drop_tail(self, committed: int, size: int) -> None:
        """Discard bytes past the committed end: zeros are preallocated space, anything else
        an append cut off by a crash."""
        reader = _ChunkReader(self._fd, committed, size)
        torn = 0
        for offset in range(committed, size, _READ_CHUNK):
            chunk = reader.read(offset, _READ_CHUNK).rstrip(b"\0")
            if chunk:
                torn = offset + len(chunk) - committed
        if torn:
            log.warning(
                "%s: discarding %d bytes after the last committed record (an append cut "
                "off by a crash; its write never returned)",
                self.path,
                torn,
            )
        os.ftruncate(self._fd, committed)

    def _apply(self, body: bytes, max_seq: int, offset: int) -> int:
        kind = body[0]
        if kind == _KIND_QUEUED:
            seq, entry = _decode_queued(body)
            if seq <= max_seq:
                raise JournalError(f"message {seq} is out of sequence (after {max_seq})")
            self._entries[seq] = entry
            self._where[seq] = offset
            return seq
        if kind == _KIND_SENT:
            if (len(body) - 1) % 8:
                raise JournalError("a sent-mark record has a partial sequence number")
            for (seq,) in _U64.iter_unpack(body[1:]):
                if self._entries.pop(seq, None) is None:
                    raise JournalError(f"sent mark for message {seq}, which is not queued")
                del self._where[seq]
            return max_seq
        raise JournalError(f"unknown record kind {kind}")

    # -- hop-client 0.12/0.13 journals -------------------------------------------------

    def _read_legacy(self, size: int) -> dict[int, _Entry]:
        """The unsent messages of the 0.13 journal open as ``self._fd``, by sequence number.

        Raises:
            JournalCorruptError: a record fails a CRC, does not parse, or is cut short.
        """
        reader = _ChunkReader(self._fd, 0, size)
        unsent: dict[int, _Entry] = {}
        offset = 0
        while offset < size:
            parsed = _legacy_record_header(reader.read(offset, _LEGACY_HEADER.size))
            if parsed is None:
                raise self._corrupt(
                    "a hop-client 0.13 record header is cut short or fails its CRC check",
                    offset,
                )
            kind, length, body_crc = parsed
            start = offset + _LEGACY_HEADER.size
            if start + length > size:
                raise self._corrupt(
                    f"a hop-client 0.13 record of {length} bytes runs past the end of the file",
                    offset,
                )
            body = reader.read(start, length)
            if zlib.crc32(body) != body_crc:
                raise self._corrupt("a hop-client 0.13 record fails its CRC check", offset)
            try:
                seq, entry = _decode_legacy(kind, body)
            except (ValueError, struct.error, UnicodeDecodeError) as exc:
                raise self._corrupt(
                    f"a hop-client 0.13 record does not parse ({exc})", offset
                ) from None
            if entry is None:
                unsent.pop(seq, None)
            else:
                unsent[seq] = entry
            offset = start + length
        return unsent

    def _convert_legacy(self, size: int) -> None:
        """Replace the 0.13 journal open as ``self._fd`` by a hop journal of its unsent
        messages, keeping it as ``NAME.hop-client-backup`` until they are delivered.

        The new journal is complete (and locked) before it replaces the old file, so a
        crash at any point leaves either the old journal or the new one under the name.
        """
        unsent = self._read_legacy(size)
        entries = [unsent[seq] for seq in sorted(unsent)]
        backup = self.path + LEGACY_BACKUP_SUFFIX
        fd = self._write_new_file(
            self._records_of(_encode_queued(seq, *entry) for seq, entry in enumerate(entries)),
            ".converted",
        )
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(backup)
            try:
                os.link(self.path, backup)
            except OSError:
                # No hard links here: a copy does as well, the original being left as is.
                with open(self.path, "rb") as source, open(backup, "xb") as target:
                    os.fchmod(target.fileno(), 0o600)
                    while chunk := source.read(_READ_CHUNK):
                        target.write(chunk)
            os.rename(f"{self.path}.converted", self.path)
            if self.fsync:
                self._fsync_directory(os.path.dirname(os.path.abspath(self.path)))
        except OSError as exc:
            os.close(fd)
            raise JournalError(f"cannot convert the 0.13 journal {self.path}: {exc}") from exc
        old, self._fd = self._fd, fd
        self._keep_handle()
        os.close(old)
        self._legacy = set(range(len(entries)))
        self._backup = backup if entries else None
        if not entries:
            os.unlink(backup)
        log.warning(
            "%s: converted a hop-client 0.13 journal holding %d unsent message(s)%s",
            self.path,
            len(entries),
            f"; the original is kept as {backup} until they are delivered" if entries else "",
        )

    @staticmethod
    def _records_of(bodies: Iterable[bytes]) -> bytes:
        """Whole records (length, CRC, body) holding these bodies, one after the other."""
        parts = []
        for body in bodies:
            length = len(body)
            parts.append(_RECORD.pack(length, zlib.crc32(body, zlib.crc32(_LENGTH.pack(length)))))
            parts.append(body)
        return b"".join(parts)

    def _write_new_file(self, records: bytes, suffix: str) -> int:
        """Write a journal of these whole records as ``path + suffix``, 0600 and locked.

        Returns:
            Its file descriptor; the caller renames it into place.
        """
        temporary = self.path + suffix
        try:
            fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise JournalError(f"cannot create {temporary}: {exc}") from exc
        try:
            os.fchmod(fd, 0o600)
            self._lock_file(fd)
            end = HEADER_SIZE + len(records)
            self._write_all(fd, self._header(end) + records, 0)
            if self.fsync:
                os.fsync(fd)
        except BaseException as exc:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            if isinstance(exc, OSError):
                raise JournalError(f"cannot write {temporary}: {exc}") from exc
            raise
        return fd

    def _maybe_compact(self) -> None:
        """Compact the journal when at least half of it is history. Lock held.

        Called when the file has grown past ``_compact_at``; the next look comes after
        another ``COMPACT_MIN`` bytes or as many as are pending, whichever is more, so the
        cost of looking and copying stays in proportion to what was appended (a backlog
        that only grows is not copied again and again).
        """
        mapping = self._map
        if mapping is None:
            return
        unpack = _LENGTH.unpack_from
        live = HEADER_SIZE + sum(
            _RECORD.size + unpack(mapping, offset)[0] for offset in self._where.values()
        )
        if 2 * live <= self._end:
            try:
                self._compact()
            except JournalError as exc:
                # The journal as it is stays whole and in use: only its size is at stake.
                log.warning("%s: could not compact the journal: %s", self.path, exc)
        self._compact_at = self._end + max(COMPACT_MIN, live)

    def _compact(self) -> None:
        """Copy the pending messages' records to a new file that replaces this one. Lock
        held.

        Sent marks and the records they cancel are history: they go, and what stays is
        in proportion to what is pending (set aside, in flight or waiting). The records are
        copied as they are, CRCs included. The new file is written whole and locked before
        it is renamed over the old one, so a crash leaves one complete journal or the
        other under the name.
        """
        mapping = self._map
        assert mapping is not None
        parts = []
        where: dict[int, int] = {}
        position = HEADER_SIZE
        unpack = _LENGTH.unpack_from
        for seq, offset in self._where.items():
            end = offset + _RECORD.size + unpack(mapping, offset)[0]
            parts.append(mapping[offset:end])
            where[seq] = position
            position += end - offset
        temporary = f"{self.path}.{os.getpid()}.compact"
        fd = self._write_new_file(b"".join(parts), temporary[len(self.path) :])
        try:
            os.rename(temporary, self.path)
        except OSError as exc:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise JournalError(f"cannot compact the journal {self.path}: {exc}") from exc
        if self.fsync:
            try:
                self._fsync_directory(os.path.dirname(os.path.abspath(self.path)))
            except OSError as exc:
                log.warning(
                    "%s: the compacted journal's rename may not be durable: %s", self.path, exc
                )
        if self._map is not None:
            self._map.close()
            self._map = None
        old, self._fd = self._fd, fd
        os.close(old)
        self._end = os.fstat(fd).st_size
        self._where = where
        self._keep_handle()
        try:
            self._remap(max(_INITIAL_CAPACITY, 2 * self._end))
        except OSError as exc:
            raise JournalError(f"cannot map the compacted journal {self.path}: {exc}") from exc

    def _forget_legacy(self, seqs: Iterable[int]) -> None:
        """Drop the 0.13 backup once every message converted from it is delivered."""
        self._legacy.difference_update(seqs)
        if not self._legacy and self._backup is not None:
            self._remove_backup()

    def _remove_backup(self) -> None:
        backup, self._backup = self._backup, None
        if backup is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(backup)
                log.info("%s: every message of the 0.13 journal was delivered", backup)

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
        self._keep_handle()

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
        self._compact_at = COMPACT_MIN
        if self._backup is not None:
            self._legacy.clear()
            self._remove_backup()
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
                self._keep_handle()
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
        topic: str | None = None,
        headers: Iterable[tuple[str, bytes]] | None = None,
        key: bytes | None = None,
    ) -> int:
        """Record a message to send; it is on disk (in the OS) when this returns.

        The arguments come in hop-client 0.13's order.

        Args:
            message: the encoded message body.
            topic: where it goes; None for the producer's own topic.
            headers: the complete Kafka headers to send with it.
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
            start = self._end
            self._append(record)
            self._next_seq = seq + 1
            self._entries[seq] = (body, header_list, topic, key)
            self._where[seq] = start
            self._to_send.append(seq)
            if self._end > self._compact_at:
                self._maybe_compact()
        return seq

    def get_next_message_to_send(
        self,
    ) -> tuple[int, bytes, str | None, Headers, bytes | None] | None:
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
        """A confluent-kafka delivery callback for message ``seq``.

        On success the message is marked sent; on failure it is requeued.

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


# -- inspection and salvage of a damaged journal ----------------------------------------------


@dataclass
class JournalScan:
    """What a tolerant read of a journal file found (``hop journal check``).

    Attributes:
        path: the file.
        size: its length in bytes.
        kind: ``"hop"``, ``"hop-client 0.13"``, ``"empty"`` or ``"unknown"``.
        records: how many records are intact.
        pending: the intact messages that no intact sent mark names, by sequence number.
        delivered: how many messages an intact sent mark names.
        damaged: the byte ranges ``(start, end)`` that hold no intact record.
        uncommitted: bytes after the committed end that are not zeros (an append cut off
            by a crash: its write never returned, so nothing promised is there).
        problems: what is wrong beyond the damaged ranges (a bad header, a cut-off file).
    """

    path: str
    size: int
    kind: str
    records: int = 0
    pending: dict[int, _Entry] = field(default_factory=dict)
    delivered: int = 0
    damaged: list[tuple[int, int]] = field(default_factory=list)
    uncommitted: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """Whether the journal opens as it is (nothing damaged, nothing cut off)."""
        return not self.damaged and not self.problems and self.kind != "unknown"

    @property
    def damaged_bytes(self) -> int:
        """How many bytes the damaged ranges hold."""
        return sum(end - start for start, end in self.damaged)


def _hop_record_at(data: mmap.mmap | bytes, offset: int, limit: int) -> tuple[int, bytes] | None:
    """The end and body of an intact hop record at ``offset``, or None."""
    if limit - offset < _RECORD.size:
        return None
    length, crc = _RECORD.unpack_from(data, offset)
    end = offset + _RECORD.size + length
    if length == 0 or end > limit:
        return None
    body = data[offset + _RECORD.size : end]
    if crc != zlib.crc32(body, zlib.crc32(data[offset : offset + 4])):
        return None
    return end, body


def _legacy_record_at(
    data: mmap.mmap | bytes, offset: int, limit: int
) -> tuple[int, tuple[int, bytes]] | None:
    """The end, type and body of an intact 0.13 record at ``offset``, or None."""
    parsed = _legacy_record_header(data[offset : offset + _LEGACY_HEADER.size])
    if parsed is None:
        return None
    kind, length, body_crc = parsed
    end = offset + _LEGACY_HEADER.size + length
    if end > limit:
        return None
    body = data[offset + _LEGACY_HEADER.size : end]
    if zlib.crc32(body) != body_crc:
        return None
    return end, (kind, body)


def scan_journal(path: str | os.PathLike[str]) -> JournalScan:
    """Read whatever is intact in a journal (hop's or hop-client 0.13's), never changing it.

    Past a damaged stretch, reading resumes at the next offset where an intact record
    starts (its length and CRC check out and it parses).

    Args:
        path: the journal file.

    Returns:
        What was found.

    Raises:
        JournalError: the file cannot be read.
    """
    name = os.fspath(path)
    try:
        with open(name, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            if size == 0:
                return JournalScan(name, 0, "empty")
            with mmap.mmap(file.fileno(), size, access=mmap.ACCESS_READ) as data:
                if data[:8] == MAGIC:
                    return _scan_hop(name, data, size)
                if _looks_legacy(data[: _LEGACY_HEADER.size]):
                    return _scan_legacy(name, data, size)
                scan = JournalScan(name, size, "unknown")
                scan.problems.append("not a publication journal (neither hop's nor 0.13's)")
                return scan
    except OSError as exc:
        raise JournalError(f"cannot read {name}: {exc}") from exc


def _nonzero_end(data: mmap.mmap, limit: int) -> int:
    """The offset just past the last byte before ``limit`` that is not zero."""
    end = limit
    while end > 0:
        start = max(0, end - _READ_CHUNK)
        chunk = data[start:end].rstrip(b"\0")
        if chunk:
            return start + len(chunk)
        end = start
    return 0


def _scan_hop(name: str, data: mmap.mmap, size: int) -> JournalScan:
    scan = JournalScan(name, size, "hop")
    limit = size
    if size < HEADER_SIZE:
        scan.problems.append(f"the file is {size} bytes long, shorter than its header")
        return scan
    _, committed, crc = _HEADER.unpack_from(data, 0)
    if crc != zlib.crc32(data[: HEADER_SIZE - 4]):
        scan.problems.append("the file header fails its CRC check; reading to the end of the file")
    elif committed > size:
        scan.problems.append(
            f"the file is cut short: {size:,} bytes long, its header records data up to "
            f"byte {committed:,}"
        )
    else:
        limit = committed
        tail = data[committed:size].rstrip(b"\0")
        scan.uncommitted = len(tail)
    sent: set[int] = set()

    def parse(offset: int) -> tuple[int, bytes] | None:
        found = _hop_record_at(data, offset, limit)
        if found is None:
            return None
        body = found[1]
        try:
            if body[0] == _KIND_QUEUED:
                _decode_queued(body)
            elif body[0] != _KIND_SENT or (len(body) - 1) % 8:
                return None
        except (ValueError, struct.error, UnicodeDecodeError):
            return None
        return found

    offset = HEADER_SIZE
    # No record starts in the zeros at the end (preallocated space): its length would be 0.
    nonzero_end = _nonzero_end(data, limit)
    while offset < limit:
        found = parse(offset)
        if found is None:
            start = offset
            offset += 1
            while offset < nonzero_end and parse(offset) is None:
                offset += 1
            if offset >= nonzero_end:
                if start < nonzero_end:  # else nothing but preallocated zeros
                    scan.damaged.append((start, nonzero_end))
                break
            scan.damaged.append((start, offset))
            continue
        offset, body = found
        scan.records += 1
        if body[0] == _KIND_QUEUED:
            seq, entry = _decode_queued(body)
            scan.pending[seq] = entry
        else:
            sent.update(seq for (seq,) in _U64.iter_unpack(body[1:]))
    _settle(scan, sent)
    return scan


def _scan_legacy(name: str, data: mmap.mmap, size: int) -> JournalScan:
    scan = JournalScan(name, size, "hop-client 0.13")
    sent: set[int] = set()

    def parse(offset: int) -> tuple[int, tuple[int, _Entry | None]] | None:
        found = _legacy_record_at(data, offset, size)
        if found is None:
            return None
        end, (kind, body) = found
        try:
            return end, _decode_legacy(kind, body)
        except (ValueError, struct.error, UnicodeDecodeError):
            return None

    offset = 0
    while offset < size:
        found = parse(offset)
        if found is None:
            start = offset
            offset += 1
            while offset < size and parse(offset) is None:
                offset += 1
            scan.damaged.append((start, offset))
            continue
        offset, (seq, entry) = found
        scan.records += 1
        if entry is None:
            sent.add(seq)
        else:
            scan.pending[seq] = entry
    _settle(scan, sent)
    return scan


def _settle(scan: JournalScan, sent: set[int]) -> None:
    """Drop the messages that sent marks name from ``pending``; count them as delivered."""
    scan.delivered = len(sent)
    for seq in sent:
        scan.pending.pop(seq, None)
    scan.pending = dict(sorted(scan.pending.items()))


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
