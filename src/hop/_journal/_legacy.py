"""hop-client 0.12/0.13's journal: its records, and reading the unsent messages out of one.

Its layout is in ``docs/robust.md``. :mod:`hop._journal._store` converts such a journal when
it opens one; :mod:`hop._journal._scan` reads a damaged one.
"""

from __future__ import annotations

import mmap
import struct
import zlib
from collections.abc import Callable

from hop.errors import JournalCorruptError

from ._format import _U64, MAGIC, Headers, _ChunkReader, _Entry

# Records of a 24-byte header (record type u64, body length
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


def read_legacy(
    fd: int, size: int, corrupt: Callable[[str, int], JournalCorruptError]
) -> dict[int, _Entry]:
    """The unsent messages of the 0.13 journal open as ``fd``, by sequence number.

    ``corrupt(message, offset)`` makes the error raised for damage.

    Raises:
        JournalCorruptError: a record fails a CRC, does not parse, or is cut short.
    """
    reader = _ChunkReader(fd, 0, size)
    unsent: dict[int, _Entry] = {}
    offset = 0
    while offset < size:
        parsed = _legacy_record_header(reader.read(offset, _LEGACY_HEADER.size))
        if parsed is None:
            raise corrupt(
                "a hop-client 0.13 record header is cut short or fails its CRC check",
                offset,
            )
        kind, length, body_crc = parsed
        start = offset + _LEGACY_HEADER.size
        if start + length > size:
            raise corrupt(
                f"a hop-client 0.13 record of {length} bytes runs past the end of the file",
                offset,
            )
        body = reader.read(start, length)
        if zlib.crc32(body) != body_crc:
            raise corrupt("a hop-client 0.13 record fails its CRC check", offset)
        try:
            seq, entry = _decode_legacy(kind, body)
        except (ValueError, struct.error, UnicodeDecodeError) as exc:
            raise corrupt(f"a hop-client 0.13 record does not parse ({exc})", offset) from None
        if entry is None:
            unsent.pop(seq, None)
        else:
            unsent[seq] = entry
        offset = start + length
    return unsent


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
