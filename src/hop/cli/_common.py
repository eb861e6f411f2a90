"""What every subcommand shares: logging options, client options, errors, signal handling."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import signal
import sys
import threading
import typing
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import TypeAlias

from hop._ratelimit import RateLimiter
from hop.errors import AuthenticationError, HopError, NoCredentialsError

__all__ = [
    "CommandFailed",
    "HeldClientWarnings",
    "IntermixedParser",
    "Subparsers",
    "add_client_opts",
    "add_command_group",
    "add_leaf_logging_opts",
    "add_logging_opts",
    "error_line",
    "get_log_level",
    "hop_handler",
    "on_interrupt",
    "on_signals",
    "reader_gone",
    "set_up_logger",
]


_DIGITS = re.compile(r"\d+")
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class CommandFailed(Exception):
    """A command cannot do what was asked; the message is the one line to print."""


class IntermixedParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that lets options stand anywhere among positional arguments.

    ``parse_intermixed_args`` refuses parsers with subcommands, so a parser that has them
    parses normally, and each leaf command (which has none) parses intermixed when its parent
    hands it the rest of the command line. ``hop publish URL -f CIRCULAR FILE --no-auth``
    then works as well as ``hop publish -f CIRCULAR --no-auth URL FILE``.
    """

    _intermixing = False

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """Parse like ``ArgumentParser.parse_known_args``, intermixed for leaf commands.

        Args:
            args: the arguments; ``sys.argv[1:]`` when None.
            namespace: the namespace to fill.

        Returns:
            The namespace and the arguments that were not recognised.
        """
        if self._intermixing or self._has_subcommands():
            return super().parse_known_args(args, namespace)
        # parse_known_intermixed_args calls parse_known_args itself; let those calls through.
        self._intermixing = True
        try:
            return super().parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False

    def error(self, message: str) -> typing.NoReturn:
        """Print the usage and ``message``, and exit with status 2.

        argparse's intermixed parsing lists positional arguments that may be left out (a
        ``nargs="*"`` one such as ``hop publish``'s MESSAGE) among the missing ones; only
        those that are really required are named.

        Args:
            message: what is wrong.
        """
        prefix = "the following arguments are required: "
        if message.startswith(prefix):
            optional = {
                action.metavar or action.dest
                for action in self._actions
                if not action.option_strings and action.nargs in ("*", "?")
            }
            names = [name for name in message[len(prefix) :].split(", ") if name not in optional]
            message = prefix + ", ".join(names)
        super().error(message)

    def _has_subcommands(self) -> bool:
        return any(isinstance(action, argparse._SubParsersAction) for action in self._actions)


#: What ``IntermixedParser.add_subparsers()`` returns (argparse gives it no public name).
Subparsers: TypeAlias = "argparse._SubParsersAction[IntermixedParser]"


def add_client_opts(parser: argparse.ArgumentParser) -> None:
    """Add the options of every command that talks to a broker: ``URL`` and ``--no-auth``.

    Args:
        parser: the command's parser.
    """
    parser.add_argument(
        "url",
        metavar="URL",
        help="Kafka URL: kafka://[username@]host[:port][,host2[:port2]...]/[topic[,topic2...]]",
    )
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="connect without credentials (for a local broker, e.g. 'hop local-broker')",
    )


def add_logging_opts(parser: argparse.ArgumentParser, default: bool | str = False) -> None:
    """Add ``-q/--quiet`` and ``-v/--verbose``, which exclude each other.

    Args:
        parser: the command's parser.
        default: their value when not given; ``argparse.SUPPRESS`` leaves them out of the
            namespace then (for options a parent parser may have set already).
    """
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default,
        help="show only warnings and errors",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default,
        help="show debug messages, and full tracebacks on errors",
    )


def add_command_group(
    subparsers: Subparsers, name: str, *, help: str, description: str, commands: Sequence[str]
) -> Subparsers:
    """Add a command made of subcommands (``hop auth``, ``hop configure``, ``hop journal``).

    The command takes ``-q`` and ``-v``, and one of ``commands`` is required; the chosen one
    is in the namespace as ``NAME_command``.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned.
        name: the command's name.
        help: the line about it in ``hop --help``.
        description: the text of ``hop NAME --help``.
        commands: the subcommands' names, as its usage lists them.

    Returns:
        What to add the subcommands to.
    """
    parser = subparsers.add_parser(name, help=help, description=description)
    add_logging_opts(parser)
    group = parser.add_subparsers(
        title="commands", dest=f"{name}_command", metavar="{" + ",".join(commands) + "}"
    )
    group.required = True
    return group


def add_leaf_logging_opts(*leaves: argparse.ArgumentParser) -> None:
    """Let ``-q`` and ``-v`` stand after a subcommand too (``hop auth list -v``).

    Absent from the namespace unless given, so that a leaf does not overwrite what was
    given before it.

    Args:
        leaves: the subcommands' parsers.
    """
    for leaf in leaves:
        add_logging_opts(leaf, default=argparse.SUPPRESS)


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


def error_line(exc: BaseException) -> str:
    """What to print for an error: one line (the credentials message keeps its lines).

    Args:
        exc: the error.

    Returns:
        The text, without a trailing newline.
    """
    # An error about credentials for a broker on this machine says first: --no-auth.
    cli_text = getattr(exc, "cli_text", None)
    if isinstance(cli_text, str):
        if isinstance(exc, NoCredentialsError):
            return cli_text.strip()
        hinted = " ".join(cli_text.split())
        if isinstance(exc, AuthenticationError):
            hinted = f"authentication failed: {hinted}"
        return hinted
    if isinstance(exc, NoCredentialsError):
        return str(exc).strip()
    if isinstance(exc, OSError) and not isinstance(exc, HopError) and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}" if exc.filename is not None else exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    if isinstance(exc, AuthenticationError) and "authenticat" not in text.lower():
        # librdkafka describes a refused credential by the step that failed (a SASL
        # handshake, say); say plainly what it means.
        text = f"authentication failed: {text}"
    return " ".join(text.split())


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
