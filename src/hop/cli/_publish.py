"""``hop publish``: send files, or lines of standard input, to a Kafka topic."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import confluent_kafka

from .. import plugins
from .._url import parse_url
from ..errors import DecodeError, DeliveryError, HopError
from ..io import Deserializer, Producer, Stream
from ..models import Blob, JSONBlob, MessageModel
from ._common import CommandFailed, add_client_opts, add_logging_opts, error_line, on_interrupt
from ._progress import ProgressBar

logger = logging.getLogger("hop.cli")

#: The formats standard input may carry: one message per line only makes sense for these.
_PIPEABLE = ("BLOB", "JSON")


def _builtin_formats() -> list[str]:
    # Plugin formats are accepted too but not listed in the help, which the documentation
    # quotes and which must not depend on what else is installed.
    from_plugins = {label.upper() for label in plugins.plugin_models()}
    return [member.name for member in Deserializer if member.name not in from_plugins]


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be zero (wait forever) or more: {text!r}")
    return value


def _format(text: str) -> str:
    name = text.upper()
    if name not in Deserializer.__members__:
        known = ", ".join(Deserializer.__members__)
        raise argparse.ArgumentTypeError(f"unknown format {text!r} (known: {known})")
    return name


def add_parser(subparsers: Any) -> None:
    """Add ``hop publish`` to the top-level subcommands.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned.
    """
    parser = subparsers.add_parser(
        "publish",
        help="publish messages",
        description=(
            "Publish messages to a Kafka topic. Each MESSAGE is a file loaded in the chosen "
            "format; with no files, each line of standard input is one message (BLOB and "
            "JSON only). The exit status is 0 only when the broker acknowledged every message."
        ),
    )
    add_client_opts(parser)
    add_logging_opts(parser)
    parser.add_argument(
        "-f",
        "--format",
        type=_format,
        default="BLOB",
        metavar="FORMAT",
        help=(
            f"format of the messages: {', '.join(_builtin_formats())} or a plugin's "
            "format, in any case (default: BLOB)"
        ),
    )
    parser.add_argument(
        "-t", "--test", action="store_true", help="mark the messages as test messages"
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="how long to wait for the broker to acknowledge each message; 0 (the default) "
        "waits forever",
    )
    parser.add_argument(
        "--connect-timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="give up when no broker has answered at all within this time (refused, unknown "
        "host, TLS or authentication failing); 0 waits forever (default: the "
        "connect_timeout setting, else 15)",
    )
    parser.add_argument(
        "message",
        metavar="MESSAGE",
        nargs="*",
        help="a file holding one message; none: read standard input, one message a line",
    )
    parser.set_defaults(func=run)


class _Tally:
    """Counts what the broker acknowledged, from the delivery reports."""

    def __init__(self, progress: ProgressBar) -> None:
        self.written = 0
        self.delivered = 0
        self.failed = 0
        self.reasons: list[str] = []
        self.only_timeouts = True
        self.progress = progress

    def on_delivery(
        self, error: confluent_kafka.KafkaError | None, message: confluent_kafka.Message
    ) -> None:
        if error is None:
            self.delivered += 1
        else:
            self.failed += 1
            if error.code() != confluent_kafka.KafkaError._MSG_TIMED_OUT:
                self.only_timeouts = False
            reason = error.str()
            if reason not in self.reasons and len(self.reasons) < 3:
                self.reasons.append(reason)
        self.progress.advance(error is None)

    def summary(self) -> str:
        return f"{self.delivered} of {self.written} message(s) delivered"


def _load_files(paths: list[str], format_name: str) -> list[MessageModel]:
    deserializer = Deserializer[format_name]
    loaded: list[MessageModel] = []
    for path in paths:
        try:
            loaded.append(deserializer.load_file(path))
        except OSError as exc:
            raise CommandFailed(f"cannot read {path}: {exc.strerror or exc}") from exc
        except (DecodeError, ValueError, TypeError) as exc:
            raise CommandFailed(
                f"{path} is not a valid {format_name} message: {error_line(exc)}"
            ) from exc
    return loaded


class _Encoded:
    """A text stream read as bytes, line by line."""

    def __init__(self, text: Any) -> None:
        self._text = text

    def readline(self) -> bytes:
        line: str = self._text.readline()
        return line.encode("utf-8")


class _StdinLines:
    """Messages from standard input, one a line, as they arrive.

    ``reading`` is true only while waiting for input, when an interrupt may safely abort
    (nothing read is lost: a line half read was never going to be sent).
    """

    def __init__(self, format_name: str) -> None:
        self.format_name = format_name
        self.reading = False

    def __iter__(self) -> Iterator[MessageModel]:
        stdin = sys.stdin
        if stdin is None:  # no standard input at all (pythonw, a closed descriptor)
            return
        # A text stream without a binary buffer (a script's StringIO) is read as UTF-8.
        stream: Any = getattr(stdin, "buffer", None) or _Encoded(stdin)
        if stdin.isatty():
            logger.info("reading messages from standard input, one a line (Ctrl+D to end)")
        number = 0
        while True:
            self.reading = True
            try:
                line = stream.readline()
            finally:
                self.reading = False
            if not line:
                return
            number += 1
            line = line.removesuffix(b"\n").removesuffix(b"\r")
            if not line.strip():
                continue
            if self.format_name == "BLOB":
                yield Blob(line)
                continue
            try:
                yield JSONBlob.load(line)
            except DecodeError as exc:
                raise CommandFailed(
                    f"standard input line {number} is not valid JSON: {error_line(exc)}"
                ) from exc


def run(args: argparse.Namespace) -> int:
    """Run ``hop publish``.

    Args:
        args: the parsed command line.

    Returns:
        0 when every message was acknowledged, 1 when some were not, 130 when interrupted.

    Raises:
        HopError: the URL, the credentials or the broker stand in the way.
        CommandFailed: a file cannot be read or parsed.
    """
    url = parse_url(args.url)
    if not url.topics:
        raise CommandFailed(f"{url} names no topic: say which topic to publish to")
    messages: list[MessageModel] | _StdinLines
    if args.message:
        messages = _load_files(args.message, args.format)
    elif args.format not in _PIPEABLE:
        raise CommandFailed(
            f"{args.format} messages cannot be read from standard input (only "
            f"{' and '.join(_PIPEABLE)} can, one a line); give the files to publish"
        )
    else:
        messages = _StdinLines(args.format)
    total = len(messages) * len(url.topics) if isinstance(messages, list) else 0
    progress = ProgressBar(total, enabled=None if total > 1 and not args.quiet else False)
    tally = _Tally(progress)
    connect = {} if args.connect_timeout is None else {"connect_timeout": args.connect_timeout}
    producer = Stream(auth=not args.no_auth).open(
        args.url, "w", produce_timeout=timedelta(seconds=args.timeout), **connect
    )
    state = {"interrupted": False, "abandoned": False}

    def interrupt() -> None:
        state["interrupted"] = True
        if isinstance(messages, _StdinLines) and messages.reading:
            raise KeyboardInterrupt
        progress.clear()
        sys.stderr.write(
            "interrupted: delivering what is queued; press Ctrl+C again to abandon it\n"
        )

    with on_interrupt(interrupt):
        failure = _write_all(producer, messages, url.topics, args.test, tally, state)
        if failure is None:
            progress.draw()
        failure = _close(producer, state) or failure
    progress.clear()
    return _report(str(url), tally, state, failure)


def _write_all(
    producer: Producer,
    messages: list[MessageModel] | _StdinLines,
    topics: tuple[str, ...],
    test: bool,
    tally: _Tally,
    state: dict[str, bool],
) -> BaseException | None:
    """Queue every message; return the error that stopped it early, if any."""
    try:
        for message in messages:
            if state["interrupted"]:
                break
            for topic in topics:
                producer.write(message, test=test, topic=topic, delivery_callback=tally.on_delivery)
                tally.written += 1
    except KeyboardInterrupt:
        state["interrupted"] = True
    except (HopError, CommandFailed, TypeError, ValueError) as exc:
        return exc
    return None


def _close(producer: Producer, state: dict[str, bool]) -> BaseException | None:
    """Deliver what is queued; return the delivery error, if any."""
    try:
        producer.close()
    except KeyboardInterrupt:
        state["abandoned"] = True
    except DeliveryError:
        # The delivery reports already counted what failed; messages still queued when the
        # time ran out are the difference between written and delivered.
        return None
    except HopError as exc:
        return exc
    return None


def _report(url: str, tally: _Tally, state: dict[str, bool], failure: BaseException | None) -> int:
    undelivered = tally.written - tally.delivered
    if state["abandoned"]:
        sys.stderr.write(
            f"hop publish: abandoned: {tally.summary()}; {undelivered} not confirmed\n"
        )
        return 130
    if state["interrupted"]:
        failed = f", {undelivered} failed" if undelivered else ""
        sys.stderr.write(f"hop publish: interrupted: {tally.summary()}{failed}\n")
        return 130
    if failure is not None:
        raise CommandFailed(f"{error_line(failure)} ({tally.summary()})") from failure
    if undelivered:
        reasons = "; ".join(tally.reasons) or "not acknowledged in time"
        if tally.only_timeouts:
            # librdkafka only says the time ran out; the likely cause is the broker.
            reasons += " (is the broker address right and the broker running?)"
        raise CommandFailed(
            f"{undelivered} of {tally.written} message(s) were not delivered to {url}: {reasons}"
        )
    logger.info("published %d message(s) to %s", tally.written, url)
    return 0
