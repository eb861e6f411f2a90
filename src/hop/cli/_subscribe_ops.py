"""``hop subscribe`` for long-running readers: ``--end-at TIME`` (read a window of time) and
``--expect-every DURATION`` (exit with status 3 when a stream falls silent)."""

from __future__ import annotations

import argparse
import re
import sys
import threading
import time
from datetime import datetime
from types import TracebackType

from hop.io import Consumer

from ._times import parse_start

__all__ = ["SILENT_STATUS", "Liveness", "add_options", "parse_duration", "parse_end"]

#: The exit status of ``hop subscribe --expect-every`` when the stream fell silent.
SILENT_STATUS = 3

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h|d)?\s*$", re.IGNORECASE)
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str) -> float:
    """Read a duration: a number with an optional unit, ``ms``, ``s`` (the default), ``m``,
    ``h`` or ``d`` (``30s``, ``5m``, ``1.5h``).

    Returns:
        Seconds, more than zero.

    Raises:
        argparse.ArgumentTypeError: not such a duration, or zero.
    """
    match = _DURATION.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration such as 30s, 5m, 2h or 1d (a bare number is seconds)"
        )
    seconds = float(match.group(1)) * _UNITS[(match.group(2) or "s").lower()]
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: the duration must be more than zero")
    return seconds


def parse_end(text: str) -> datetime:
    """Read an ``--end-at`` time: an ISO 8601 time, as ``-s`` takes (UTC unless it says).

    Raises:
        argparse.ArgumentTypeError: not such a time.
    """
    try:
        moment = parse_start(text)
    except argparse.ArgumentTypeError:
        moment = None
    if not isinstance(moment, datetime):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time such as 2026-11-26T08:00:00Z"
        )
    return moment


def add_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--end-at`` and ``--expect-every`` to ``hop subscribe``.

    Args:
        parser: the command's parser.
    """
    parser.add_argument(
        "--end-at",
        type=parse_end,
        metavar="TIME",
        help="stop each partition at its first message stamped after TIME (an ISO 8601 time, "
        "as -s takes) or at the end of the stream, and end once every partition has "
        "stopped; with -s TIME, reads exactly that window",
    )
    parser.add_argument(
        "--expect-every",
        type=parse_duration,
        metavar="DURATION",
        help="exit with status 3 and one line when no message at all (test messages and "
        "heartbeats included) has arrived for DURATION, e.g. 30s, 5m, 2h",
    )


class Liveness:
    """Watches a consumer for silence from a helper thread; stops it once silent.

    Args:
        consumer: the reader (its ``last_arrival`` tells when a message last came).
        every: the longest silence allowed, in seconds; None watches nothing.
        what: what is read, for the message (the topics).
    """

    def __init__(self, consumer: Consumer, every: float | None, what: str) -> None:
        self._consumer = consumer
        self._every = every
        self._what = what
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        #: the silence that stopped the reader, in seconds, or None.
        self.silence: float | None = None

    def __enter__(self) -> Liveness:
        if self._every is not None:
            self._thread = threading.Thread(target=self._watch, name="hop-liveness", daemon=True)
            self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()

    def _watch(self) -> None:
        every = self._every
        assert every is not None
        step = min(1.0, every / 4)
        while not self._done.wait(step):
            silence = time.monotonic() - self._consumer.last_arrival
            if silence >= every:
                self.silence = silence
                self._consumer.stop()
                return

    def report(self) -> int | None:
        """When the stream fell silent: say so in one line and give the exit status."""
        if self.silence is None or self._every is None:
            return None
        sys.stderr.write(
            f"hop subscribe: no message on {self._what} for {_span(self.silence)} "
            f"(--expect-every {_span(self._every)})\n"
        )
        sys.stderr.flush()
        return SILENT_STATUS


def _span(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 < 1:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 < 1:
        return f"{seconds // 60:g} min"
    return f"{seconds:.3g} s" if seconds < 10 else f"{seconds:.0f} s"
