"""The records of a hop publication journal: layout, encoding, decoding, chunked reading.

The layout is drawn in :mod:`hop._journal`'s docstring; this module is its one definition in
code, shared by the journal itself (:mod:`hop._journal._store`) and the tolerant reader
(:mod:`hop._journal._scan`).
"""

from __future__ import annotations

import mmap
import os
import struct
import zlib
from collections.abc import Iterable, Sequence
from typing import TypeAlias

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


def header_bytes(end: int) -> bytes:
    """The file header recording ``end`` as the committed end."""
    return _HEADER.pack(MAGIC, end, zlib.crc32(_U64.pack(end), _MAGIC_CRC))


def record_crc(body: bytes) -> int:
    """The CRC-32 a record stores: of its length field, then its body."""
    return zlib.crc32(body, zlib.crc32(_LENGTH.pack(len(body))))


def records_of(bodies: Iterable[bytes]) -> bytes:
    """Whole records (length, CRC, body) holding these bodies, one after the other."""
    parts = []
    for body in bodies:
        parts.append(_RECORD.pack(len(body), record_crc(body)))
        parts.append(body)
    return b"".join(parts)


def write_all(fd: int, data: bytes, offset: int) -> None:
    """Write all of ``data`` at ``offset`` (``pwrite`` may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


def _hop_record_at(data: mmap.mmap | bytes, offset: int, limit: int) -> tuple[int, bytes] | None:
    """The end and body of an intact hop record at ``offset``, or None."""
    if limit - offset < _RECORD.size:
        return None
    length, crc = _RECORD.unpack_from(data, offset)
    end = offset + _RECORD.size + length
    if length == 0 or end > limit:
        return None
    body = data[offset + _RECORD.size : end]
    if crc != record_crc(body):
        return None
    return end, body
