"""``hop subscribe --save`` creates new files only, never through a link (issue 18 item 2)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, cast

import pytest

from hop.cli._errors import CommandFailed
from hop.cli._subscribe import _save
from hop.io import Metadata
from hop.models import JSONBlob


def _metadata(topic: str, partition: int = 0, offset: int = 7) -> Metadata:
    return Metadata(topic, partition, offset, 0, None, [], cast(Any, None))


def test_a_dangling_link_as_the_topic_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "t").symlink_to(tmp_path / "nowhere")
    with pytest.raises(CommandFailed, match="symbolic link"):
        _save(tmp_path, JSONBlob(1), _metadata("t"))
    assert not (tmp_path / "nowhere").exists()


def test_a_link_to_a_file_as_the_topic_directory_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (tmp_path / "t").symlink_to(victim)
    with pytest.raises(CommandFailed, match="symbolic link"):
        _save(tmp_path, JSONBlob(1), _metadata("t"))
    assert victim.read_bytes() == b"precious"


@pytest.mark.parametrize("topic", ["..", ".", "", "a/b"])
def test_a_topic_name_that_is_no_file_name_is_refused(tmp_path: Path, topic: str) -> None:
    with pytest.raises(CommandFailed, match="cannot save"):
        _save(tmp_path / "saved", JSONBlob(1), _metadata(topic))


def test_a_dangling_link_at_the_name_is_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "0-7.json").symlink_to(tmp_path / "would-be-created")
    path = Path(os.fsdecode(_save(tmp_path, JSONBlob(1), _metadata("t"))))
    assert path == folder / "0-7.1.json" and path.read_bytes() == b"1"
    assert not (tmp_path / "would-be-created").exists()


def test_a_fifo_at_the_name_is_neither_read_nor_written(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    folder.mkdir()
    os.mkfifo(folder / "0-7.json")
    path = Path(os.fsdecode(_save(tmp_path, JSONBlob(1), _metadata("t"))))
    assert path.name == "0-7.1.json"
    assert stat.S_ISFIFO(os.lstat(folder / "0-7.json").st_mode)
