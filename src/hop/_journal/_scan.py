"""Reading a damaged journal: what is intact, and salvaging it (``hop journal check|salvage``).

Unlike opening a journal, which refuses any damage, these read past it: after a damaged
stretch, reading resumes where the next intact record starts.
"""

from __future__ import annotations

import mmap
import os
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from hop.errors import JournalError

from ._format import (
    _HEADER,
    _KIND_QUEUED,
    _KIND_SENT,
    _READ_CHUNK,
    _U64,
    HEADER_SIZE,
    MAGIC,
    _decode_queued,
    _Entry,
    _hop_record_at,
)
from ._legacy import _LEGACY_HEADER, _decode_legacy, _legacy_record_at, _looks_legacy


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


_T = TypeVar("_T")


def _intact_records(
    scan: JournalScan,
    parse: Callable[[int], tuple[int, _T] | None],
    start: int,
    limit: int,
    data_end: int,
) -> Iterator[_T]:
    """What ``parse`` finds from ``start`` to ``limit``, one intact record after another.

    ``parse(offset)`` gives the end and content of an intact record at ``offset``, or None.
    Past a damaged stretch, reading resumes at the next offset where one parses; each such
    stretch is added to ``scan.damaged`` (nothing past ``data_end``, which holds only
    zeros), and each record found is counted in ``scan.records``.
    """
    offset = start
    while offset < limit:
        found = parse(offset)
        if found is None:
            bad = offset
            offset += 1
            while offset < data_end and parse(offset) is None:
                offset += 1
            if offset >= data_end:
                if bad < data_end:  # else nothing but preallocated zeros
                    scan.damaged.append((bad, data_end))
                return
            scan.damaged.append((bad, offset))
            continue
        offset, content = found
        scan.records += 1
        yield content


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

    # No record starts in the zeros at the end (preallocated space): its length would be 0.
    for body in _intact_records(scan, parse, HEADER_SIZE, limit, _nonzero_end(data, limit)):
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

    for seq, entry in _intact_records(scan, parse, 0, size, size):
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
