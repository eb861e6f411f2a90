"""``hop journal check|salvage``: what a damaged journal still holds, rescued untouched."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

import hop.cli
from hop._journal import HEADER_SIZE, PublicationJournal, scan_journal
from tests.support import legacy_journal as legacy


def _journal(path: Path) -> list[int]:
    """Ten messages, the first three marked sent; the offsets of the records."""
    with PublicationJournal(path) as journal:
        for i in range(10):
            journal.queue_message(
                b"m%d" % i,
                "t" if i % 2 else None,
                [("_id", b"%016d" % i)],
                b"k" if i % 3 == 0 else None,
            )
        journal.mark_messages_sent([seq for seq, *_ in journal.take_messages_to_send(3)])
    data = path.read_bytes()
    offsets, offset = [], HEADER_SIZE
    while offset < len(data):
        offsets.append(offset)
        offset += 8 + int.from_bytes(data[offset : offset + 4], "big")
    return offsets


def _pending(path: Path) -> list[tuple[bytes, str | None, list[tuple[str, bytes]], bytes | None]]:
    with PublicationJournal(path) as journal:
        taken = journal.take_messages_to_send(100)
    return [(body, topic, headers, key) for _, body, headers, topic, key in taken]


def test_check_of_an_intact_journal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "j"
    _journal(path)
    assert hop.cli.main(["journal", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "hop journal" in out and "7 pending" in out and "3 marked sent" in out
    assert "intact records: 11" in out and "status: intact" in out


def test_check_reports_damage_and_salvage_keeps_every_intact_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "j"
    offsets = _journal(path)
    data = bytearray(path.read_bytes())
    data[offsets[5] + 10] ^= 0xFF  # message 5's record
    path.write_bytes(bytes(data))
    with pytest.raises(Exception, match="CRC"):
        PublicationJournal(path)  # as found: the publisher refuses it
    assert hop.cli.main(["journal", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"damaged: {offsets[6] - offsets[5]} bytes in 1 range(s) (offsets " in out
    assert f"{offsets[5]:,}-{offsets[6]:,}" in out
    assert "6 pending" in out and "DAMAGED" in out

    out_path = tmp_path / "rescued"
    assert hop.cli.main(["journal", "salvage", str(path), str(out_path)]) == 0
    out = capsys.readouterr().out
    assert "salvaged 6 pending message(s)" in out and "lost:" in out
    assert path.read_bytes() == bytes(data)  # the original is never touched
    assert stat.S_IMODE(out_path.stat().st_mode) == 0o600
    assert _pending(out_path) == [
        (b"m%d" % i, "t" if i % 2 else None, [("_id", b"%016d" % i)], b"k" if i % 3 == 0 else None)
        for i in (3, 4, 6, 7, 8, 9)
    ]


def test_a_damaged_sent_mark_means_a_resend_not_a_loss(tmp_path: Path) -> None:
    path = tmp_path / "j"
    offsets = _journal(path)
    data = bytearray(path.read_bytes())
    data[offsets[10] + 9] ^= 0x01  # the sent mark of messages 0-2
    path.write_bytes(bytes(data))
    scan = scan_journal(path)
    assert not scan.intact and scan.delivered == 0
    assert list(scan.pending) == list(range(10))


def test_salvage_defaults_to_a_new_file_and_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "j"
    _journal(path)
    path.write_bytes(path.read_bytes()[:-5])  # cut short, inside the last record: a sent mark
    assert hop.cli.main(["journal", "salvage", str(path)]) == 0
    assert "cut short" in capsys.readouterr().out
    salvaged = tmp_path / "j.salvaged"
    assert [body for body, *_ in _pending(salvaged)] == [b"m%d" % i for i in range(10)]
    before = salvaged.read_bytes()
    assert hop.cli.main(["journal", "salvage", str(path)]) == 1
    assert "exists already" in capsys.readouterr().err
    assert salvaged.read_bytes() == before


def test_check_and_salvage_read_013_journals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "old.journal"
    first = legacy.message(0, b"t", b"a")
    data = bytearray(first + legacy.message(1, b"t", b"b") + legacy.old_message(2, b"c"))
    data[len(first) + 30] ^= 0x01
    path.write_bytes(bytes(data))
    assert hop.cli.main(["journal", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "hop-client 0.13 journal" in out and "2 pending" in out
    assert hop.cli.main(["journal", "salvage", str(path), str(tmp_path / "new")]) == 0
    assert [(body, topic) for body, topic, *_ in _pending(tmp_path / "new")] == [
        (b"a", "t"),
        (b"c", None),
    ]
    assert path.read_bytes() == bytes(data)


def test_something_else_is_not_a_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a journal at all, just text\n")
    assert hop.cli.main(["journal", "check", str(path)]) == 1
    assert "not a publication journal" in capsys.readouterr().out
    assert hop.cli.main(["journal", "salvage", str(path)]) == 1
    assert not (tmp_path / "notes.txt.salvaged").exists()
    assert hop.cli.main(["journal", "check", str(tmp_path / "missing")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_a_bad_header_is_read_past_and_preallocated_zeros_are_not_damage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "j"
    crashed = tmp_path / "crashed"
    with PublicationJournal(path) as journal:
        for i in range(5):
            journal.queue_message(b"m%d" % i)
        # As a crash leaves it: the preallocated tail of zeros is still there.
        image = bytearray(path.read_bytes())
    assert len(image) >= 64 * 1024 and not image[-1000:].strip(b"\0")
    image[3] ^= 0x01  # the header's magic
    crashed.write_bytes(bytes(image))
    scan = scan_journal(crashed)
    assert scan.kind == "unknown"  # bad magic: not recognised at all
    image[3] ^= 0x01
    image[10] ^= 0x01  # the committed end: the header fails its CRC
    crashed.write_bytes(bytes(image))
    scan = scan_journal(crashed)
    assert scan.kind == "hop" and scan.damaged == [] and not scan.intact
    assert [body for body, *_ in scan.pending.values()] == [b"m%d" % i for i in range(5)]
    assert hop.cli.main(["journal", "check", str(crashed)]) == 1
    assert "header fails its CRC" in capsys.readouterr().out
