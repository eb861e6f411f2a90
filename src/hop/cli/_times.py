"""Times on the command line: ``-s``/``--start-at`` and ``--end-at``."""

from __future__ import annotations

import argparse
from datetime import datetime

from hop.io import StartAt, StartPosition


def parse_start(text: str) -> StartAt:
    """Read a ``-s`` value: EARLIEST, LATEST, an ISO 8601 time, or ``-N``.

    Args:
        text: what was given.

    Returns:
        A ``StartPosition``, a ``datetime`` (UTC when it names no zone) or a negative int.

    Raises:
        argparse.ArgumentTypeError: the text is none of those.
    """
    word = text.strip().upper()
    if word in StartPosition.__members__:
        return StartPosition[word]
    if word.lstrip("+-").isdigit():
        number = int(word)
        if number < 0:
            return number
        raise argparse.ArgumentTypeError(
            f"{text!r}: a number means the last N messages of each partition and is written "
            "-N, e.g. -10"
        )
    stamp = text.strip()
    if stamp[-1:] in ("Z", "z"):
        # Python 3.10's fromisoformat does not know ISO 8601's "Z" for UTC.
        stamp = stamp[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(stamp)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not EARLIEST, LATEST, an ISO 8601 time (2026-11-26T08:00:00Z) or -N"
        ) from None
