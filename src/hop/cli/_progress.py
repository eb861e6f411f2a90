"""A one-line progress bar on standard error, shown only on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_WIDTH = 30
_INTERVAL = 0.1  # seconds between redraws: enough for the eye, cheap for many messages


class ProgressBar:
    """Shows ``[#####.....]  12/40 delivered`` on one line, redrawn in place.

    Args:
        total: the count that means done.
        stream: where to draw; standard error when None.
        enabled: draw at all; when None, only when ``stream`` is a terminal.
    """

    def __init__(
        self, total: int, stream: TextIO | None = None, enabled: bool | None = None
    ) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _is_tty(self.stream) if enabled is None else enabled
        self.done = 0
        self.failed = 0
        self._drawn_at = 0.0
        self._visible = False

    def advance(self, ok: bool = True) -> None:
        """Count one more message, delivered (``ok``) or failed."""
        if ok:
            self.done += 1
        else:
            self.failed += 1
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._drawn_at >= _INTERVAL or self.done + self.failed >= self.total:
            self._drawn_at = now
            self.draw()

    def render(self) -> str:
        """The bar as text, without the carriage return."""
        finished = self.done + self.failed
        filled = _WIDTH * finished // self.total if self.total else _WIDTH
        bar = "#" * filled + "." * (_WIDTH - filled)
        width = len(str(self.total))
        text = f"[{bar}] {self.done:>{width}}/{self.total} delivered"
        if self.failed:
            text += f", {self.failed} failed"
        return text

    def draw(self) -> None:
        """Redraw the bar now."""
        if not self.enabled:
            return
        self.stream.write("\r" + self.render())
        self.stream.flush()
        self._visible = True

    def clear(self) -> None:
        """Erase the bar, so that the next line starts clean."""
        if self._visible:
            self.stream.write("\r" + " " * len(self.render()) + "\r")
            self.stream.flush()
            self._visible = False


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream is no terminal
        return False
