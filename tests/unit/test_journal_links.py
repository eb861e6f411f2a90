"""The journal's compaction file is created exclusively, never through a link, and 0600 from
its first byte (issue 18 item 2)."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hop._journal import PublicationJournal


def _churn(journal: PublicationJournal, count: int = 5000) -> None:
    """Queue ``count`` messages of 300 bytes, all sent but the last 10: past COMPACT_MIN with
    most of the file history, so the journal compacts."""
    for i in range(count):
        journal.queue_message(b"%d" % i + b"." * 300)
        if i >= 10:
            journal.take_messages_to_send(1)
            journal.mark_message_sent(i - 10)


def _pending(path: Path) -> list[bytes]:
    with PublicationJournal(path) as journal:
        taken = []
        while (item := journal.get_next_message_to_send()) is not None:
            taken.append(item[1].split(b".")[0])
        return taken


@pytest.fixture
def compact_path(tmp_path: Path) -> Path:
    return tmp_path / f"j.{os.getpid()}.compact"


def test_a_link_planted_at_the_compaction_file_is_not_followed(
    tmp_path: Path, compact_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    compact_path.symlink_to(victim)
    path = tmp_path / "j"
    with caplog.at_level(logging.WARNING), PublicationJournal(path) as journal:
        _churn(journal)
    assert victim.read_bytes() == b"precious"
    assert compact_path.is_symlink()  # left alone
    assert not path.is_symlink() and stat.S_ISREG(path.lstat().st_mode)
    # Compaction failed clearly; the journal stayed whole and in use.
    assert "could not compact the journal" in caplog.text and "symbolic link" in caplog.text
    assert _pending(path) == [b"%d" % i for i in range(4990, 5000)]


def test_a_dangling_link_at_the_compaction_file_creates_nothing(
    tmp_path: Path, compact_path: Path
) -> None:
    target = tmp_path / "created-through-the-link"
    compact_path.symlink_to(target)
    path = tmp_path / "j"
    with PublicationJournal(path) as journal:
        _churn(journal)
    assert not target.exists()
    assert _pending(path) == [b"%d" % i for i in range(4990, 5000)]


def test_a_stale_compaction_file_of_ours_is_replaced_and_the_journal_compacts(
    tmp_path: Path, compact_path: Path
) -> None:
    compact_path.write_bytes(b"left by a crash" * 1000)
    compact_path.chmod(0o644)
    path = tmp_path / "j"
    with PublicationJournal(path) as journal:
        _churn(journal)
        assert journal.size < 5000 * 300 // 2  # compacted (1.5 MB were written)
    assert not compact_path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _pending(path) == [b"%d" % i for i in range(4990, 5000)]


@pytest.fixture
def no_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("no_umask")
def test_the_compaction_file_is_created_0600_exclusively_without_following_links(
    tmp_path: Path, compact_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[tuple[int, int]] = []
    real_open = os.open

    def recording_open(file: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        if os.fspath(file) == os.fspath(compact_path):
            opened.append((flags, mode))
            fd = real_open(file, flags, mode, **kwargs)
            # Its mode when it is created, before a byte is written.
            assert stat.S_IMODE(os.fstat(fd).st_mode) == 0o600
            return fd
        return real_open(file, flags, mode, **kwargs)

    path = tmp_path / "j"
    with PublicationJournal(path) as journal:
        monkeypatch.setattr(os, "open", recording_open)
        _churn(journal)
        monkeypatch.undo()
    assert opened, "the journal never compacted"
    for flags, mode in opened:
        assert flags & os.O_CREAT and flags & os.O_EXCL and flags & os.O_NOFOLLOW
        assert not flags & os.O_TRUNC
        assert mode == 0o600
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
