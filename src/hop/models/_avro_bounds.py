"""Bounded reading of Avro containers: what a container would cost, found before decoding.

Reading refuses containers that would make a small message cost unbounded memory:
compressed blocks that inflate beyond :data:`MAX_INFLATED_BYTES` (or
:data:`MAX_INFLATION_RATIO` times the container's size, if that is more), and data that
would decode to more than :data:`MAX_ITEMS` records and items or an estimated
:data:`MAX_DECODED_BYTES` of Python objects (:func:`_check_decoded_size`, which steps over
the data before anything is built). :mod:`hop.models._avro_io` reads and writes the containers.
"""

from __future__ import annotations

import bz2
import lzma
import threading
import zlib
from collections.abc import Callable
from typing import Any

from hop.errors import DecodeError

#: Decompressed data a container may hold: at least this, more only for big containers.
MAX_INFLATED_BYTES = 64 * 1024 * 1024
#: ... at most this many times the container's own size beyond that.
MAX_INFLATION_RATIO = 50

_MAGIC = b"Obj\x01"
_SYNC_SIZE = 16


#: Codecs whose output can be measured a step at a time. The others (snappy, zstandard,
#: lz4) need packages hop does not install, and are left to fastavro.
_MEASURED_CODECS = ("deflate", "bzip2", "xz")
_STEP = 1024 * 1024


def _inflated_size(codec: str, block: bytes, limit: int) -> int:
    """How many bytes ``block`` inflates to, counted a step at a time, stopping past ``limit``.

    Memory stays at one step whatever the block holds.
    """
    total = 0
    if codec == "deflate":
        inflater = zlib.decompressobj(-15)  # raw deflate, as the Avro specification says
        pending = block
        while total <= limit:
            out = inflater.decompress(pending, _STEP)
            pending = inflater.unconsumed_tail
            total += len(out)
            if not out and not pending:
                break
        return total
    # bzip2 and xz: fastavro decompresses every concatenated stream, so count them all.
    pending = block
    while pending and total <= limit:
        stream: Any = bz2.BZ2Decompressor() if codec == "bzip2" else lzma.LZMADecompressor()
        total += len(stream.decompress(pending, _STEP))
        while total <= limit and not stream.eof and not stream.needs_input:
            total += len(stream.decompress(b"", _STEP))
        if not stream.eof:
            break
        pending = stream.unused_data
    return total


class _Truncated(DecodeError):
    """The data ends in the middle of a value."""


def _read_long(data: bytes, position: int) -> tuple[int, int]:
    """Read a zig-zag varint at ``position``; return it and the position after it."""
    shift = 0
    accumulated = 0
    while True:
        if position >= len(data):
            raise _Truncated("not a valid Avro container file: truncated")
        byte = data[position]
        position += 1
        accumulated |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (accumulated >> 1) ^ -(accumulated & 1), position
        shift += 7
        if shift > 63:
            raise DecodeError("not a valid Avro container file: a number is too long")


def _read_sized(data: bytes, position: int) -> tuple[bytes, int]:
    size, position = _read_long(data, position)
    if size < 0 or position + size > len(data):
        raise DecodeError("not a valid Avro container file: a length is out of range")
    return data[position : position + size], position + size


def _header(data: bytes) -> tuple[dict[str, bytes], int]:
    """The metadata of a container and the position of its first block."""
    if data[:4] != _MAGIC:
        raise DecodeError("not a valid Avro container file: it does not start with Obj\\x01")
    metadata: dict[str, bytes] = {}
    position = 4
    while True:
        count, position = _read_long(data, position)
        if count == 0:
            break
        if count < 0:  # a block of -count entries, preceded by its size in bytes
            count = -count
            _, position = _read_long(data, position)
        for _ in range(count):
            key, position = _read_sized(data, position)
            value, position = _read_sized(data, position)
            metadata[key.decode("utf-8", "replace")] = value
    return metadata, position + _SYNC_SIZE


def _check_inflated_size(data: bytes, codec: str, position: int) -> None:
    """Refuse a container whose compressed blocks inflate beyond the limit.

    A deflate block can inflate a thousand times, and bzip2 or xz far more: without this a
    one-megabyte message could make a subscriber allocate gigabytes.

    Raises:
        DecodeError: the blocks inflate too much, or the container is malformed.
    """
    if codec not in _MEASURED_CODECS:
        return
    limit = max(MAX_INFLATED_BYTES, MAX_INFLATION_RATIO * len(data))
    total = 0
    while position < len(data):
        _, position = _read_long(data, position)  # the block's record count
        block, position = _read_sized(data, position)
        position += _SYNC_SIZE
        try:
            total += _inflated_size(codec, block, limit - total)
        except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
            raise DecodeError(f"not a valid Avro container file: bad {codec} block: {exc}") from exc
        if total > limit:
            raise DecodeError(
                f"Avro container refused: its {codec} blocks inflate to more than "
                f"{limit} bytes ({len(data)} bytes received)"
            )


# --- bounding what decoding builds -------------------------------------------------------

# The defaults keep the check itself fast: it visits values one by one in Python, so a
# message over a limit is refused after at most a few hundred thousand steps.
#: Records plus array items plus map entries that one message may decode to.
MAX_ITEMS = 250_000
#: Estimated memory, in bytes, that the Python objects decoded from one message may take.
MAX_DECODED_BYTES = 64 * 1024 * 1024
# How much of a deflate block is inflated before the walk starts (more as it needs).
_FIRST_INFLATE = 4 * 1024 * 1024

# Estimated sizes of decoded values on 64-bit CPython, in bytes: an int, a float, an empty
# str and bytes, a list and a dict, a pointer in a list, an entry in a dict.
_INT, _FLOAT, _STR, _BYTES, _LIST, _DICT, _SLOT, _ENTRY = 32, 24, 56, 40, 56, 64, 8, 40

Skip = Callable[[bytes, int], int]
# A compiled schema node: the function that steps over one encoded value (None for a
# value that takes no bytes), the cost its parent adds for it without looking at the data,
# and the least it can cost in all.
_Compiled = tuple[Skip | None, int, int]


def _skip_varint(data: bytes, position: int) -> int:
    while data[position] & 0x80:
        position += 1
    return position + 1


def _skip_1(data: bytes, position: int) -> int:
    return position + 1


def _skip_4(data: bytes, position: int) -> int:
    return position + 4


def _skip_8(data: bytes, position: int) -> int:
    return position + 8


_FIXED_PRIMITIVES: dict[str, _Compiled] = {
    "null": (None, 0, 0),
    "boolean": (_skip_1, 0, 0),
    "int": (_skip_varint, _INT, _INT),
    "long": (_skip_varint, _INT, _INT),
    "float": (_skip_4, _FLOAT, _FLOAT),
    "double": (_skip_8, _FLOAT, _FLOAT),
}


class _TooBig(Exception):
    """The message would decode to more than the limits allow."""


class _Walker:
    """Steps over encoded Avro data without building anything, counting what it would build.

    Decoding is bounded by walking first: counts in block and array/map headers are checked
    against the limits before the values they announce are visited, so a message claiming
    millions of values is refused at the header that claims them, after a few steps.
    """

    def __init__(self, max_items: int, max_bytes: int) -> None:
        self.items = 0
        self.size = 0
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._named: dict[str, Any] = {}
        self._compiled: dict[int, _Compiled] = {}

    def reserve(self, count: int, least: int) -> None:
        """Account for ``count`` more items that cost at least ``least`` bytes in all."""
        self.items += count
        if self.items > self.max_items:
            raise _TooBig(f"more than {self.max_items:,} records and items")
        if self.size + least > self.max_bytes:
            raise _TooBig(f"an estimated {self.size + least:,} bytes of Python objects")

    def check(self) -> None:
        if self.size > self.max_bytes:
            raise _TooBig(f"an estimated {self.size:,} bytes of Python objects")

    def over(self) -> None:
        if self.items > self.max_items:
            raise _TooBig(f"more than {self.max_items:,} records and items")
        raise _TooBig(f"more than an estimated {self.max_bytes:,} bytes of Python objects")

    def block(self, data: bytes, position: int, per_item: int, extra: int) -> tuple[int, int]:
        """Read an array or map block header and account for the items it announces.

        Args:
            data: the encoded data.
            position: where the block header starts.
            per_item: the bytes each item costs for sure.
            extra: the bytes each item costs at least beyond that (checked, not counted).

        Returns:
            ``(item count, position of the first item)``; a count of 0 ends the array or map.
        """
        count, position = _read_long(data, position)
        if count < 0:  # a block of -count items, preceded by its size in bytes
            count = -count
            _, position = _read_long(data, position)
        if count:
            self.items += count
            self.size += count * per_item
            if self.items > self.max_items or self.size + count * extra > self.max_bytes:
                self.over()
        return count, position

    def compile(self, node: Any, namespace: str = "") -> _Compiled:
        if isinstance(node, str):
            primitive = _FIXED_PRIMITIVES.get(node)
            if primitive is not None:
                return primitive
            if node in ("string", "bytes"):
                return (
                    self._sized(_STR if node == "string" else _BYTES),
                    0,
                    (_STR if node == "string" else _BYTES),
                )
            target = self._named.get(f"{namespace}.{node}") or self._named.get(node)
            if target is None:
                raise DecodeError(f"not a valid Avro schema: unknown type {node!r:.80}")
            return self.compile(target, namespace)
        if isinstance(node, list):
            return self._union(node, namespace)
        if not isinstance(node, dict):
            raise DecodeError("not a valid Avro schema")
        kind = node.get("type")
        if isinstance(kind, (dict, list)):
            return self.compile(kind, namespace)
        if kind in ("record", "error", "enum", "fixed"):
            namespace = self._name(node, namespace)
        if kind in ("record", "error"):
            return self._record(node, namespace)
        if kind == "enum":
            return _skip_varint, 0, 0  # the symbol, a str shared by every value
        if kind == "fixed":
            size = int(node.get("size", 0))
            return (lambda data, position: position + size), _BYTES + size, _BYTES + size
        if kind == "array":
            return self._array(node.get("items"), namespace)
        if kind == "map":
            return self._map(node.get("values"), namespace)
        if isinstance(kind, str):
            return self.compile(kind, namespace)  # {"type": "long", "logicalType": ...}
        raise DecodeError("not a valid Avro schema")

    def _name(self, node: dict[str, Any], namespace: str) -> str:
        name = node.get("name")
        if not isinstance(name, str):
            raise DecodeError("not a valid Avro schema: a named type has no name")
        space = node.get("namespace", namespace) or ""
        full = name if "." in name or not space else f"{space}.{name}"
        self._named[full] = node
        self._named.setdefault(name.rpartition(".")[2], node)
        return full.rpartition(".")[0]

    def _sized(self, base: int) -> Skip:
        def skip(data: bytes, position: int) -> int:
            length, position = _read_long(data, position)
            if length < 0:
                raise DecodeError("not a valid Avro container file: a negative length")
            self.size += base + length
            return position + length

        return skip

    def _record(self, node: dict[str, Any], namespace: str) -> _Compiled:
        known = self._compiled.get(id(node))
        if known is not None:
            return known
        cell: list[Skip] = []

        def recurse(data: bytes, position: int) -> int:
            return cell[0](data, position)

        # A reference to this record from inside it, before it is compiled.
        self._compiled[id(node)] = (recurse, 0, 0)
        fields = node.get("fields")
        if not isinstance(fields, list):
            raise DecodeError("not a valid Avro schema: a record has no fields list")
        fixed = least = _DICT
        steps: list[Skip] = []
        for field in fields:
            if not isinstance(field, dict):
                raise DecodeError("not a valid Avro schema: a field is not an object")
            step, field_fixed, field_least = self.compile(field.get("type"), namespace)
            fixed += _ENTRY + field_fixed
            least += _ENTRY + field_least
            if step is not None:
                steps.append(step)
        all_steps = tuple(steps)

        def skip(data: bytes, position: int) -> int:
            self.size += fixed
            for step in all_steps:
                position = step(data, position)
            return position

        cell.append(skip)
        compiled: _Compiled = (skip, 0, least)
        self._compiled[id(node)] = compiled
        return compiled

    def _union(self, node: list[Any], namespace: str) -> _Compiled:
        branches = [self.compile(branch, namespace) for branch in node]
        if not branches:
            raise DecodeError("not a valid Avro schema: an empty union")
        steps = tuple(branch[0] for branch in branches)
        costs = tuple(branch[1] for branch in branches)
        count = len(branches)

        def skip(data: bytes, position: int) -> int:
            index, position = _read_long(data, position)
            if not 0 <= index < count:
                raise DecodeError("not a valid Avro container file: a union index out of range")
            self.size += costs[index]
            step = steps[index]
            return position if step is None else step(data, position)

        return skip, 0, min(branch[2] for branch in branches)

    def _array(self, items: Any, namespace: str) -> _Compiled:
        step, item_fixed, item_least = self.compile(items, namespace)
        per_item = _SLOT + item_fixed
        extra_per_item = item_least - item_fixed
        one_byte_items = step is _skip_varint
        walker = self

        def skip(data: bytes, position: int) -> int:
            walker.size += _LIST
            while True:
                count, position = walker.block(data, position, per_item, extra_per_item)
                if count == 0:
                    return position
                if step is None:
                    continue
                # Numbers that fit one byte each (the usual case) are stepped over at once.
                if one_byte_items and data[position : position + count].isascii():
                    position += count
                    continue
                for _ in range(count):
                    position = step(data, position)

        return skip, 0, _LIST

    def _map(self, values: Any, namespace: str) -> _Compiled:
        step, value_fixed, value_least = self.compile(values, namespace)
        key = self._sized(_STR)
        per_entry = _ENTRY + value_fixed
        extra_per_entry = _STR + value_least - value_fixed
        walker = self

        def skip(data: bytes, position: int) -> int:
            walker.size += _DICT
            while True:
                count, position = walker.block(data, position, per_entry, extra_per_entry)
                if count == 0:
                    return position
                for _ in range(count):
                    position = key(data, position)
                    if step is not None:
                        position = step(data, position)

        return skip, 0, _DICT


# Compiled walkers by schema text, per thread (a walker holds the counts of the message
# it walks): a stream's messages share a schema, and compiling one costs as much as
# walking a small message. Bounded: schemas over 64 KiB are not kept, at most 32 are.
_walkers = threading.local()
_MAX_CACHED_SCHEMA = 64 * 1024
_MAX_CACHED_WALKERS = 32


def _walker_for(
    schema_text: bytes, schema: Any, max_items: int, max_bytes: int
) -> tuple[_Walker, _Compiled]:
    cache: dict[bytes, tuple[_Walker, _Compiled]] | None = getattr(_walkers, "cache", None)
    if cache is None:
        cache = _walkers.cache = {}
    entry = cache.get(schema_text)
    if entry is None:
        walker = _Walker(max_items, max_bytes)
        entry = (walker, walker.compile(schema))
        if len(schema_text) <= _MAX_CACHED_SCHEMA:
            if len(cache) >= _MAX_CACHED_WALKERS:
                cache.clear()
            cache[schema_text] = entry
    walker = entry[0]
    walker.items = walker.size = 0
    walker.max_items, walker.max_bytes = max_items, max_bytes
    return entry


def _walk_block(
    walker: _Walker, step: Skip, count: int, data: bytes, more: Callable[[int], bytes]
) -> None:
    """Step over the ``count`` records of a block, asking ``more`` for data as needed.

    ``more(n)`` returns up to ``n`` further bytes of the block (empty at its end). A record
    cut short is walked again, whole, once more data has come: the data at least doubles
    each time, so this costs at most twice a single pass.
    """
    position = 0
    done = 0
    while done < count:
        items, size = walker.items, walker.size
        try:
            end = step(data, position)
            if end > len(data):
                raise _Truncated("not a valid Avro container file: a block is truncated")
        except (IndexError, _Truncated):
            walker.items, walker.size = items, size
            extra = more(max(len(data), _STEP))
            if not extra:
                raise DecodeError("not a valid Avro container file: a block is truncated") from None
            data += extra
            continue
        position = end
        done += 1
        walker.check()


def _check_decoded_size(
    data: bytes,
    schema_text: bytes,
    schema: Any,
    codec: str,
    position: int,
    max_items: int,
    max_bytes: int,
    between: Callable[[], None],
) -> None:
    """Refuse a container whose records would decode to more than the limits allow.

    Runs before anything is decoded, and builds nothing: the record counts of every block
    are checked first, then ``between()`` runs (the inflation check), then the data is
    stepped over, each array or map count checked as it is read, before the values it
    announces are visited. Compressed blocks are inflated a step at a time, as far as the
    walk has got.

    Raises:
        DecodeError: over a limit, or the data does not fit the schema.
    """
    try:
        walker, (step, fixed, least) = _walker_for(schema_text, schema, max_items, max_bytes)
        blocks: list[tuple[int, bytes]] = []
        while position < len(data):
            count, position = _read_long(data, position)
            block, position = _read_sized(data, position)
            position += _SYNC_SIZE
            if count < 0:
                raise DecodeError("not a valid Avro container file: a negative record count")
            walker.reserve(count, count * (_SLOT + least))
            walker.size += count * (_SLOT + fixed)
            blocks.append((count, block))
        between()
        if step is None or codec not in ("null", *_MEASURED_CODECS):
            return
        limit = max(MAX_INFLATED_BYTES, MAX_INFLATION_RATIO * len(data))
        inflated = 0
        for count, block in blocks:
            if codec == "null":
                _walk_block(walker, step, count, block, lambda size: b"")
                continue
            if codec != "deflate":
                raw = bz2.decompress(block) if codec == "bzip2" else lzma.decompress(block)
                _walk_block(walker, step, count, raw, lambda size: b"")
                continue
            inflater = zlib.decompressobj(-15)

            def more(size: int, inflater: Any = inflater) -> bytes:
                nonlocal inflated
                out: bytes = inflater.decompress(inflater.unconsumed_tail, size)
                inflated += len(out)
                if inflated > limit:
                    raise DecodeError(
                        f"Avro container refused: its deflate blocks inflate to more than "
                        f"{limit} bytes ({len(data)} bytes received)"
                    )
                return out

            first = inflater.decompress(block, _FIRST_INFLATE)
            inflated += len(first)
            _walk_block(walker, step, count, first, more)
    except _TooBig as exc:
        raise DecodeError(
            f"Avro message refused: it would decode to {exc} (limits: {max_items:,} records "
            f"and items, an estimated {max_bytes:,} bytes)"
        ) from None
    except RecursionError:
        raise DecodeError("Avro message refused: its values are nested too deeply") from None
    except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
        raise DecodeError(f"not a valid Avro container file: bad {codec} block: {exc}") from exc
