"""Hand-made Avro containers for the decoding-limit tests: tiny messages that claim millions."""

from __future__ import annotations

import json
import zlib
from typing import Any

SYNC = b"S" * 16


def zigzag(value: int) -> bytes:
    """Avro's zig-zag varint encoding of ``value``."""
    encoded = (value << 1) ^ (value >> 63)
    out = bytearray()
    while True:
        byte = encoded & 0x7F
        encoded >>= 7
        if encoded:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _sized(data: bytes) -> bytes:
    return zigzag(len(data)) + data


def container(schema: Any, blocks: list[tuple[int, bytes]], codec: str = "deflate") -> bytes:
    """An Avro Object Container File of ``(record count, encoded records)`` blocks."""
    metadata = {"avro.schema": json.dumps(schema).encode(), "avro.codec": codec.encode()}
    out = bytearray(b"Obj\x01")
    out += zigzag(len(metadata))
    for key, value in metadata.items():
        out += _sized(key.encode()) + _sized(value)
    out += zigzag(0) + SYNC
    for count, data in blocks:
        if codec == "deflate":
            packer = zlib.compressobj(9, zlib.DEFLATED, -15)
            data = packer.compress(data) + packer.flush()
        out += zigzag(count) + _sized(data) + SYNC
    return bytes(out)


LONG_RECORD = {"type": "record", "name": "r", "fields": [{"name": "a", "type": "long"}]}


def record_bomb(count: int) -> bytes:
    """``count`` one-byte records (each ``{"a": 1}``) in one deflate block."""
    return container(LONG_RECORD, [(count, b"\x02" * count)])


def array_bomb(count: int, per_block: int | None = None) -> bytes:
    """One record holding an array of ``count`` longs, in blocks of ``per_block`` items."""
    schema = {
        "type": "record",
        "name": "r",
        "fields": [{"name": "a", "type": {"type": "array", "items": "long"}}],
    }
    per_block = per_block or count
    data = bytearray()
    for start in range(0, count, per_block):
        size = min(per_block, count - start)
        data += zigzag(size) + b"\x02" * size
    data += zigzag(0)
    return container(schema, [(1, bytes(data))])


def map_bomb(count: int) -> bytes:
    """One record holding a map of ``count`` entries (keys of one byte)."""
    schema = {
        "type": "record",
        "name": "r",
        "fields": [{"name": "m", "type": {"type": "map", "values": "long"}}],
    }
    data = zigzag(count) + b"\x02k\x02" * count + zigzag(0)
    return container(schema, [(1, data)])


def wide_record_bomb(fields: int, count: int) -> bytes:
    """``count`` records of ``fields`` long fields each: few items, many objects."""
    schema = {
        "type": "record",
        "name": "r",
        "fields": [{"name": f"f{n}", "type": "long"} for n in range(fields)],
    }
    return container(schema, [(count, b"\x02" * (fields * count))])
