"""Logging for the command line: the level from -v/-q, hop's handler, repeated lines
folded, and client warnings held back while a command connects."""

from __future__ import annotations

import argparse
import logging
import re
import sys
import threading

from hop._ratelimit import RateLimiter

_DIGITS = re.compile(r"\d+")
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def get_log_level(args: argparse.Namespace) -> int:
    """The logging level the options ask for.

    Args:
        args: parsed options, possibly with ``quiet`` and ``verbose``.

    Returns:
        ``logging.DEBUG`` with ``-v``, ``logging.WARNING`` with ``-q``, else ``logging.INFO``.
    """
    if getattr(args, "verbose", False):
        return logging.DEBUG
    if getattr(args, "quiet", False):
        return logging.WARNING
    return logging.INFO


class _HopHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``set_up_logger`` installs, so that a second call replaces it."""


class _RepeatFilter(logging.Filter):
    """Lets each distinct message through once per ``interval`` seconds.

    librdkafka reports the same failure on every reconnection attempt (several a second
    while a broker is unreachable); a person needs to read it once, not fill a terminal.
    Numbers are ignored when comparing, since they are mostly timings.
    """

    def __init__(self, interval: float = 30.0) -> None:
        super().__init__()
        # Bounded memory for a subscriber that runs for months.
        self._limiter: RateLimiter[tuple[str, int, str]] = RateLimiter(interval, max_keys=1000)

    @property
    def interval(self) -> float:
        """Seconds between two emissions of the same message."""
        return self._limiter.interval

    @interval.setter
    def interval(self, value: float) -> None:
        self._limiter.interval = value

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether to emit ``record``."""
        key = (record.name, record.levelno, _DIGITS.sub("#", record.getMessage()))
        return self._limiter.hit(key, now=record.created) is not None


def set_up_logger(args: argparse.Namespace) -> None:
    """Send log messages to standard error at the level the options ask for.

    Calling it again (a script running several commands) replaces the handler it installed
    before rather than adding another.

    Args:
        args: parsed options, possibly with ``quiet`` and ``verbose``.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _HopHandler):
            root.removeHandler(handler)
    handler = _HopHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    level = get_log_level(args)
    if level > logging.DEBUG:  # with -v, everything, as it happens
        handler.addFilter(_RepeatFilter())
    root.addHandler(handler)
    root.setLevel(level)


class HeldClientWarnings(logging.Filter):
    """Holds back the client's connection warnings while a command starts.

    librdkafka reports a refused connection or credential as warnings (logger ``hop.io``)
    before the command gives up with an error saying the same; a command that fails early
    should print that one error line only. Warnings are held for ``grace`` seconds (longer
    than the default 15-second connect timeout), then shown (a command still waiting deserves
    to know why); ``discard`` drops what is held once the command has ended.

    Args:
        handler: the handler to filter; the filter goes first, before its other filters.
        grace: seconds to hold warnings for.
    """

    def __init__(self, handler: logging.Handler, grace: float = 20.0) -> None:
        super().__init__()
        self._handler = handler
        self._lock = threading.Lock()
        self._holding = True
        self._held: list[logging.LogRecord] = []
        handler.filters.insert(0, self)
        self._timer = threading.Timer(grace, self.release)
        self._timer.daemon = True
        self._timer.start()

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether to emit ``record`` now (held ones are emitted by ``release``)."""
        if record.levelno != logging.WARNING or not record.name.startswith("hop.io"):
            return True
        with self._lock:
            if self._holding:
                self._held.append(record)
                return False
        return True

    def release(self) -> None:
        """Stop holding, and emit what was held."""
        with self._lock:
            self._holding = False
            held, self._held = self._held, []
        for record in held:
            self._handler.handle(record)

    def discard(self) -> None:
        """Stop holding, drop what was held, and take the filter off its handler."""
        self._timer.cancel()
        with self._lock:
            self._holding = False
            self._held = []
        self._handler.removeFilter(self)


def hop_handler() -> logging.Handler | None:
    """The handler ``set_up_logger`` installed, if any.

    Returns:
        The handler, or None.
    """
    for handler in logging.getLogger().handlers:
        if isinstance(handler, _HopHandler):
            return handler
    return None
