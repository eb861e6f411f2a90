"""A RobustProducer whose journal's disk fills up: writes say "No space left on device",
the sending thread lives on, and everything works again once space is free. The disk is a
real, small tmpfs filled by a real file."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hop.errors import JournalError
from hop.io import StartPosition, Stream
from hop.robust_publisher import RobustProducer
from tests.support.disk import fill, small_disk
from tests.support.tcp_proxy import ProxiedBroker


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "disk", 1024) as mounted:
        yield mounted


def read_all(url: str) -> list[int]:
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    with stream.open(url, "r") as reader:
        return sorted(message.content["n"] for message in reader)


def wait_delivered(journal: Path, seconds: float = 20) -> None:
    """Until the journal holds nothing pending (the file shrinks to its header)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if journal.stat().st_size <= 4096:
            return
        time.sleep(0.05)


def test_writes_on_a_full_disk_say_why_and_recover(topic_url: str, disk: Path) -> None:
    journal = disk / "alerts.journal"
    big = "x" * 200_000  # more than the journal has room for: it must grow the file
    with RobustProducer(topic_url, auth=False, journal_path=journal) as publisher:
        for n in range(10):
            publisher.write({"n": n})
        filler = fill(disk)
        for _ in range(2):  # the second write says the same, not "the journal is closed"
            with pytest.raises(JournalError, match="No space left on device"):
                publisher.write({"n": -1, "pad": big})
        assert publisher.is_alive()
        filler.unlink()
        publisher.write({"n": 10, "pad": big})
        publisher.write({"n": 11})
    assert read_all(topic_url) == list(range(12))


def committed_end(journal: Path) -> int:
    """The journal's committed end, from its header (docs/robust.md: magic, then the end as
    a big-endian 64-bit number)."""
    with journal.open("rb") as file:
        header = file.read(16)
    assert header[:8] == b"HOPJRNL1"
    return int.from_bytes(header[8:16], "big")


def test_acknowledgements_on_a_full_disk_wait_for_space(
    topic: str, disk: Path, tmp_path: Path
) -> None:
    """The broker acknowledges messages while the disk is full: the journal cannot record
    it (its file must grow for the marks), the thread keeps the marks and writes them once
    space is free; nothing is sent twice and stop() is clean."""
    journal = disk / "alerts.journal"
    with ProxiedBroker() as proxied:
        url = f"{proxied.url}/{topic}"
        with RobustProducer(url, auth=False, journal_path=journal) as publisher:
            publisher.write({"n": 0})
            wait_delivered(journal)
            proxied.proxy.stall()
            # Fill the journal's first 64 KiB (its initial size) to 8 bytes from the end:
            # the sent marks need more, so the file must grow to record them.
            before = committed_end(journal)
            publisher.write({"n": 1, "pad": "y" * 1000})
            overhead = committed_end(journal) - before - 1000
            left = 64 * 1024 - committed_end(journal)
            publisher.write({"n": 2, "pad": "y" * (left - overhead - 8)})
            assert committed_end(journal) == 64 * 1024 - 8
            n = 3
            filler = fill(disk)
            proxied.proxy.restore()
            time.sleep(3)  # the broker acknowledges; the marks cannot be journaled
            assert publisher.is_alive()
            with pytest.raises(JournalError, match="No space left on device"):
                publisher.write({"n": -1, "pad": "z" * 200_000})
            filler.unlink()
        assert read_all(url) == list(range(n))
    assert journal.stat().st_size <= 4096
