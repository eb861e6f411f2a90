"""Build hop-client 0.12/0.13 journals byte by byte, from the layout in issue 9.

Each record: type (u64), body length (u64), body CRC-32 (u32), CRC-32 of those 20 bytes
(u32), then the body; integers big-endian. Type 2 is a message (sequence number, topic,
message, key, headers), type 0 an old message (no topic, no key), type 1 a sent mark.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence


def _field(data: bytes) -> bytes:
    return struct.pack(">Q", len(data)) + data


def _headers(headers: Sequence[tuple[bytes, bytes]]) -> bytes:
    return struct.pack(">Q", len(headers)) + b"".join(
        _field(name) + _field(value) for name, value in headers
    )


def record(kind: int, body: bytes) -> bytes:
    """One record of type ``kind`` holding ``body``, with both CRCs."""
    head = struct.pack(">QQI", kind, len(body), zlib.crc32(body))
    return head + struct.pack(">I", zlib.crc32(head)) + body


def message(
    seq: int,
    topic: bytes,
    body: bytes,
    key: bytes = b"",
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> bytes:
    """A type-2 record: a message with its topic and key (an empty key is none)."""
    payload = struct.pack(">Q", seq) + _field(topic) + _field(body) + _field(key)
    return record(2, payload + _headers(headers))


def old_message(seq: int, body: bytes, headers: Sequence[tuple[bytes, bytes]] = ()) -> bytes:
    """A type-0 record: a message of the oldest layout, without topic or key."""
    return record(0, struct.pack(">Q", seq) + _field(body) + _headers(headers))


def sent(seq: int) -> bytes:
    """A type-1 record: message ``seq`` was delivered."""
    return record(1, struct.pack(">Q", seq))
