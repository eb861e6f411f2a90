"""An exclusive, non-blocking lock on an open journal file, on every platform hop runs on.

``flock`` where the ``fcntl`` module exists (Linux, macOS, the BSDs), ``msvcrt.locking`` on
Windows; chosen when a journal is first locked, so that importing hop (and starting any
command) needs neither module. Both locks belong to the open file and go with it when it
is closed, also when the process dies.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def lock_exclusive(fd: int) -> None:
    """Lock ``fd`` for this process alone, without waiting.

    Raises:
        BlockingIOError: another process (or another open file) holds the lock.
        OSError: this platform offers no file lock (neither ``fcntl`` nor ``msvcrt``).
    """
    fcntl = _module("fcntl")
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    msvcrt = _module("msvcrt")
    if msvcrt is not None:
        # Windows locks byte ranges: the first byte (the journal's magic) stands for all.
        position = os.lseek(fd, 0, os.SEEK_CUR)
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            raise BlockingIOError(exc.errno, "the file is locked by another process") from exc
        finally:
            os.lseek(fd, position, os.SEEK_SET)
        return
    raise OSError("this platform has no file locking (neither fcntl nor msvcrt)")
