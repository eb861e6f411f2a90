"""The file behind a publication journal: opening, replay, appends, compaction, conversion.

:class:`_JournalStore` owns the file (created 0600 under a temporary name, locked, mapped
and preallocated) and the bookkeeping replay fills in; :class:`hop._journal.
PublicationJournal` adds the queue operations on top. The crash policy is described in
:mod:`hop._journal`'s docstring.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import mmap
import os
import stat
import struct
import threading
import weakref
import zlib
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from hop.errors import JournalCorruptError, JournalError, JournalPermissionError

from ._format import (
    _HEADER,
    _INITIAL_CAPACITY,
    _KIND_QUEUED,
    _KIND_SENT,
    _LENGTH,
    _MAGIC_CRC,
    _MAX_RECORD,
    _READ_CHUNK,
    _RECORD,
    _U64,
    COMPACT_MIN,
    HEADER_SIZE,
    LEGACY_BACKUP_SUFFIX,
    MAGIC,
    _ChunkReader,
    _decode_queued,
    _encode_queued,
    _Entry,
    header_bytes,
    record_crc,
    records_of,
    write_all,
)
from ._legacy import _LEGACY_HEADER, _looks_legacy, read_legacy
from ._lock import lock_exclusive

log = logging.getLogger("hop.robust_publisher")


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


class _JournalStore:
    """A journal file and what replaying it found; see :class:`PublicationJournal`."""

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
        # Headers as queue_message was given them, for messages queued in this session whose
        # headers were not already a list of (str, bytes) pairs (None included): 0.13 gave
        # them back as given until the journal was reopened.
        self._given_headers: dict[int, Any] = {}
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
            raise self._open_error("cannot open the journal", exc) from exc
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

    def _open_error(self, what: str, exc: OSError) -> JournalError:
        """The error for a journal that cannot be opened or created: a
        ``JournalPermissionError`` (a ``PermissionError``, as in hop-client 0.13) when
        permission was refused."""
        message = f"{what} {self.path}: {exc.strerror or exc}"
        if isinstance(exc, PermissionError):
            error = JournalPermissionError(message)
            error.errno = exc.errno
            error.filename = self.path
            return error
        return JournalError(message)

    def _lock_file(self, fd: int) -> None:
        try:
            lock_exclusive(fd)
        except BlockingIOError as exc:
            raise JournalError(f"the journal {self.path} is in use by another publisher") from exc
        except OSError as exc:
            raise JournalError(f"cannot lock the journal {self.path}: {exc}") from exc

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
            raise self._open_error("cannot create the journal", exc) from exc
        try:
            os.fchmod(fd, 0o600)  # exactly, whatever the umask
            write_all(fd, header_bytes(HEADER_SIZE), 0)
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
            write_all(self._fd, header_bytes(HEADER_SIZE), 0)
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
            if crc != record_crc(body):
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

    def _convert_legacy(self, size: int) -> None:
        """Replace the 0.13 journal open as ``self._fd`` by a hop journal of its unsent
        messages, keeping it as ``NAME.hop-client-backup`` until they are delivered.

        The new journal is complete (and locked) before it replaces the old file, so a
        crash at any point leaves either the old journal or the new one under the name.
        """
        unsent = read_legacy(self._fd, size, self._corrupt)
        entries = [unsent[seq] for seq in sorted(unsent)]
        backup = self.path + LEGACY_BACKUP_SUFFIX
        fd = self._write_new_file(
            records_of(_encode_queued(seq, *entry) for seq, entry in enumerate(entries)),
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

    def _write_new_file(self, records: bytes, suffix: str) -> int:
        """Write a journal of these whole records as ``path + suffix``, 0600 and locked.

        Returns:
            Its file descriptor; the caller renames it into place.
        """
        temporary = self.path + suffix
        fd = _create_exclusive(temporary)
        try:
            os.fchmod(fd, 0o600)
            self._lock_file(fd)
            end = HEADER_SIZE + len(records)
            write_all(fd, header_bytes(end) + records, 0)
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

    def _remap(self, capacity: int) -> None:
        """Size the file to ``capacity`` bytes, allocated, and map all of it. Lock held.

        Appends are copies into this shared mapping rather than ``write`` calls: the pages
        belong to the OS's page cache, so they outlive this process exactly as written
        bytes would, and the publishing thread never gives up the interpreter lock to the
        sending thread in the middle of a ``write``. The space is allocated up front
        (``posix_fallocate``) so that a full disk is an error here, not a SIGBUS later.
        """
        # Allocate before letting go of the old mapping: on a full disk the journal keeps
        # the mapping it has, and the next append tries again (once space is free).
        size = os.fstat(self._fd).st_size
        if capacity > size:
            os.posix_fallocate(self._fd, size, capacity - size)
        if self._map is not None:
            self._map.close()
            self._map = None
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
        if self._fd < 0:
            raise JournalError(f"the journal {self.path} is closed")
        length = len(body)
        start = self._end
        end = start + _RECORD.size + length
        try:
            # No mapping while open: an earlier remap failed (a full disk); try again.
            if mapping is None or end > self._capacity:
                grown = 2 * self._capacity if mapping is not None else _INITIAL_CAPACITY
                self._remap(max(end, grown))
                mapping = self._map
                assert mapping is not None
            # Bytes past the committed end are not part of the journal until the header
            # says so; a failed write leaves them to be overwritten by the next append.
            crc = record_crc(body)
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
        header = header_bytes(end)
        if self._map is None:  # while replaying, before the mapping exists
            write_all(self._fd, header, 0)
            if self.fsync:
                os.fdatasync(self._fd)
        else:
            self._map[:HEADER_SIZE] = header
            if self.fsync:
                self._sync(0, HEADER_SIZE)

    def _truncate(self) -> None:
        """Empty the journal when nothing is pending. Lock held.

        It never raises: the sent marks are recorded already, so a journal that cannot be
        emptied or shrunk (a full disk, say) stays whole and in use, and a warning says so.
        """
        if self._backup is not None:
            self._legacy.clear()
            self._remove_backup()
        if self._end == HEADER_SIZE:
            self._next_seq = 0
            self._compact_at = COMPACT_MIN
            return
        try:
            # Header first: a crash between the steps leaves only uncommitted bytes, which
            # opening discards; the other order would look like a cut-off file.
            self._set_header(HEADER_SIZE)
        except OSError as exc:
            # Sequence numbers go on from where they are: the old records still count.
            log.warning("%s: could not empty the journal: %s", self.path, exc)
            return
        self._end = HEADER_SIZE
        self._next_seq = 0
        self._compact_at = COMPACT_MIN
        try:
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
            # Emptied but not shrunk (or not mapped: the next append maps it again).
            log.warning("%s: could not shrink the emptied journal: %s", self.path, exc)


_EXCLUSIVE = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _create_exclusive(path: str) -> int:
    """Create ``path`` as a new file, 0600 from its first byte, never through a link.

    Something already at the name (the temporary file of a compaction or a conversion) is
    removed when it is a regular file of this user, which only a crashed run of this
    journal's owner leaves (the journal is locked, and the name holds the process id); any
    other thing there (a symbolic link, a directory, someone else's file) is never written
    to nor removed: JournalError says what it is.

    Raises:
        JournalError: the file cannot be created.
    """
    try:
        try:
            return os.open(path, _EXCLUSIVE, 0o600)
        except FileExistsError:
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
                raise JournalError(
                    f"cannot create {path}: {_what(info)} is in its place, and hop never "
                    "writes through it (remove it)"
                ) from None
            os.unlink(path)  # a leftover of our own
            return os.open(path, _EXCLUSIVE, 0o600)
    except OSError as exc:
        raise JournalError(f"cannot create {path}: {exc}") from exc


def _what(info: os.stat_result) -> str:
    if stat.S_ISLNK(info.st_mode):
        return "a symbolic link"
    if stat.S_ISDIR(info.st_mode):
        return "a directory"
    if stat.S_ISREG(info.st_mode):
        return "another user's file"
    return "a special file"
