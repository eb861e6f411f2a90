"""A small file system that tests fill up, to stage a full disk where it happens: a tmpfs of
a given size, mounted for the test (as root, or through ``sudo -n``)."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path


def _as_root(*command: str) -> list[str]:
    return list(command) if os.geteuid() == 0 else ["sudo", "-n", *command]


@contextlib.contextmanager
def small_disk(where: Path, size_kib: int) -> Iterator[Path]:
    """Mount a tmpfs of ``size_kib`` KiB at ``where`` (created), yield it, unmount it.

    Raises:
        RuntimeError: it cannot be mounted (not root and no password-less sudo).
    """
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        _as_root("mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0777", "tmpfs", str(where)),
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        raise RuntimeError(
            f"the full-disk tests mount a small tmpfs, which needs root or password-less "
            f"sudo: {mounted.stderr.strip()}"
        )
    try:
        yield where
    finally:
        subprocess.run(_as_root("umount", "-l", str(where)), capture_output=True, check=False)


def fill(directory: Path, name: str = "filler") -> Path:
    """Write a file in ``directory`` until the file system is full; return its path."""
    path = directory / name
    block = b"\0" * 4096
    with path.open("wb", buffering=0) as file:
        try:
            while True:
                file.write(block)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    return path
