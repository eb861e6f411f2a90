"""Signals for the command line: Ctrl+C and SIGTERM handled as flags, and a reader that
went away (a closed pipe)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType


@contextlib.contextmanager
def on_interrupt(handler: Callable[[], None]) -> Iterator[None]:
    """Call ``handler`` on the first Ctrl+C (or SIGTERM); a second one interrupts at once.

    Outside the main thread (where Python cannot handle signals) this does nothing.

    Args:
        handler: what to do on the first signal; it runs in the main thread between two
            Python instructions, so it must only set flags (it may raise to interrupt).
    """

    def first(signum: int) -> None:
        for sig in _SIGNALS:
            signal.signal(sig, signal.default_int_handler)
        handler()

    with _handling_signals(first):
        yield


@contextlib.contextmanager
def on_signals(handler: Callable[[int], None]) -> Iterator[None]:
    """Call ``handler(signum)`` on every Ctrl+C (SIGINT) and SIGTERM while the block runs.

    Unlike ``on_interrupt`` nothing is raised by itself: the handler decides, so that a
    signal never lands inside librdkafka's C code as an exception (which confluent-kafka
    turns into ``SystemError``). Outside the main thread this does nothing.

    Args:
        handler: what to do; it runs in the main thread between two Python instructions,
            so it should only set flags (it may raise to interrupt).
    """
    with _handling_signals(handler):
        yield


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _handling_signals(handler: Callable[[int], None]) -> Iterator[None]:
    """Call ``handler(signum)`` on SIGINT and SIGTERM in the block; then restore the old ones."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in _SIGNALS}

    def call(signum: int, frame: FrameType | None) -> None:
        handler(signum)

    for sig in _SIGNALS:
        signal.signal(sig, call)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def reader_gone() -> None:
    """Quiet standard output once whoever read it has gone (``hop ... | head``).

    Python flushes standard output at exit; with the pipe closed that would fail once more
    and print "Exception ignored". Pointing the descriptor at /dev/null makes that flush
    harmless.
    """
    stdout = sys.stdout
    if stdout is None:
        return
    try:
        fileno = stdout.fileno()
    except (OSError, ValueError, AttributeError):  # a script's StringIO: nothing to do
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fileno)
        os.close(devnull)
    except OSError:
        pass
