"""``hop publish``: send files, or lines of standard input, to a Kafka topic."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import confluent_kafka

from hop import plugins
from hop.errors import (
    DecodeError,
    DeliveryError,
    HopError,
    KafkaError,
    is_delivery_timeout,
    is_too_large,
)
from hop.io import Deserializer, Producer, Stream
from hop.io._url import parse_url
from hop.models import Blob, JSONBlob, MessageModel

from ._args import add_client_opts, add_logging_opts
from ._connect import seconds_arg
from ._errors import CommandFailed, error_line
from ._json import non_standard_reason
from ._progress import ProgressBar
from ._records import load_records
from ._signals import on_signals

logger = logging.getLogger("hop.cli")

#: The formats standard input may carry: one message per line only makes sense for these.
_PIPEABLE = ("BLOB", "JSON")


def _builtin_formats() -> list[str]:
    # Plugin formats are accepted too but not listed in the help, which the documentation
    # quotes and which must not depend on what else is installed.
    from_plugins = {label.upper() for label in plugins.plugin_models()}
    return [member.name for member in Deserializer if member.name not in from_plugins]


def _format(text: str) -> str:
    name = text.upper()
    if name not in Deserializer.__members__:
        known = ", ".join(Deserializer.__members__)
        raise argparse.ArgumentTypeError(f"unknown format {text!r} (known: {known})")
    return name


def _schema_id(text: str) -> int:
    if not text.isdigit() or int(text) > 2**32 - 1:
        raise argparse.ArgumentTypeError(f"a schema id is a number from 0 to 4294967295: {text!r}")
    return int(text)


def _header(text: str) -> tuple[str, bytes]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, not {text!r}")
    if name.startswith("_"):
        raise argparse.ArgumentTypeError(f"header names starting with '_' are hop's own: {name!r}")
    return name, value.encode("utf-8")


def add_parser(subparsers: Any) -> None:
    """Add ``hop publish`` to the top-level subcommands.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned.
    """
    parser = subparsers.add_parser(
        "publish",
        help="publish messages",
        description=(
            "Publish messages to a Kafka topic. Each MESSAGE is a file holding one message, "
            "in the format -f names or, without -f, the one its extension says (.xml VOEVENT, "
            ".gcn3 CIRCULAR, .avro AVRO, .json JSON; any other: BLOB). With no files, each "
            "line of standard input is one message (BLOB and JSON only). Every file is "
            "attempted; the exit status is 0 only when the broker acknowledged every message. "
            "Ctrl+C delivers what is queued (twice: abandons it); SIGTERM delivers it for at "
            "most --term-grace seconds."
        ),
    )
    add_client_opts(parser)
    add_logging_opts(parser)
    parser.add_argument(
        "-f",
        "--format",
        type=_format,
        default=None,
        metavar="FORMAT",
        help=(
            f"format of the messages: {', '.join(_builtin_formats())} or a plugin's "
            "format, in any case (default: from each file's extension, else BLOB)"
        ),
    )
    parser.add_argument(
        "-t", "--test", action="store_true", help="mark the messages as test messages"
    )
    parser.add_argument("--key", metavar="KEY", help="the Kafka key of every message")
    parser.add_argument(
        "--header",
        type=_header,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="add a header to every message (repeatable)",
    )
    parser.add_argument(
        "--timeout",
        type=seconds_arg,
        default=None,
        metavar="SECONDS",
        help="how long to wait for the broker to acknowledge each message; 0 waits forever "
        "(default: the produce_timeout setting, else 0)",
    )
    parser.add_argument(
        "--term-grace",
        type=seconds_arg,
        default=_TERM_GRACE,
        metavar="SECONDS",
        help="after SIGTERM, how long to keep delivering what is queued before giving up "
        f"(default: {_TERM_GRACE:g})",
    )
    parser.add_argument(
        "--connect-timeout",
        type=seconds_arg,
        default=None,
        metavar="SECONDS",
        help="give up when no broker has answered at all within this time (refused, unknown "
        "host, TLS or authentication failing); 0 waits forever (default: the "
        "connect_timeout setting, else 15)",
    )
    parser.add_argument(
        "--schema-id",
        type=_schema_id,
        metavar="ID",
        help="send each file, a JSON object, as one Avro record in the Confluent wire format "
        "(as Rubin's alerts) with this schema id; the schema is --schema, else looked up by "
        "id (HOP_SCHEMA_REGISTRY, the schema_registry setting, lsst-alert-packet)",
    )
    parser.add_argument(
        "--schema",
        metavar="FILE",
        help="the Avro schema (.avsc) of the records --schema-id sends",
    )
    parser.add_argument(
        "message",
        metavar="MESSAGE",
        nargs="*",
        help="a file holding one message (optional: without files, standard input is read, "
        "one message a line)",
    )
    parser.set_defaults(func=run)


#: After SIGTERM (a service manager, ``timeout``), seconds to keep delivering what is queued.
_TERM_GRACE = 10.0

#: The format a file's extension says, when -f is not given.
_EXTENSIONS = {".xml": "VOEVENT", ".gcn3": "CIRCULAR", ".avro": "AVRO", ".json": "JSON"}

#: How many failures the final line names one by one.
_NAMED_FAILURES = 5


class _Tally:
    """Counts what the broker acknowledged, from the delivery reports, and what failed."""

    def __init__(self, progress: ProgressBar, max_bytes: int) -> None:
        self.attempted = 0
        self.expected = 0
        self.delivered = 0
        self.failures: list[tuple[str, str]] = []
        self.failed = 0
        self.only_timeouts = True
        self.progress = progress
        self.max_bytes = max_bytes

    def callback(
        self, name: str, message: MessageModel
    ) -> Callable[[confluent_kafka.KafkaError | None, Any], None]:
        """The delivery callback of one message, which names it if it fails."""

        def on_delivery(error: confluent_kafka.KafkaError | None, _: Any) -> None:
            if error is None:
                self.delivered += 1
            else:
                if not is_delivery_timeout(error):
                    self.only_timeouts = False
                reason = self.reason(error.code(), error.str(), message, by_broker=True)
                self.fail(name, reason, counted=True)
            self.progress.advance(error is None)

        return on_delivery

    def reason(
        self, code: int | None, text: str, message: MessageModel, by_broker: bool = False
    ) -> str:
        """Why a message failed, in words; a size refusal says the size and the limit."""
        if not is_too_large(code):
            return text
        try:
            size = f"{len(Producer.pack(message)[0]):,} bytes"
        except (TypeError, ValueError, HopError):
            size = "size unknown"
        if by_broker:
            # The producer let it through: the broker's (or the topic's) limit is lower.
            return f"message too large for the broker ({size}; see its message.max.bytes)"
        return f"message too large ({size}, limit {self.max_bytes:,})"

    def fail(self, name: str, reason: str, counted: bool = False) -> None:
        self.failed += 1
        self.failures.append((name, reason))
        if not counted:
            self.progress.advance(False)

    @property
    def total(self) -> int:
        """Messages to send: all of them for files (even those a signal left unsent), those
        read so far for standard input."""
        return max(self.attempted, self.expected)

    def summary(self) -> str:
        return f"{self.delivered} of {self.total} message(s) delivered"

    def failure_list(self) -> str:
        named = "; ".join(f"{name}: {reason}" for name, reason in self.failures[:_NAMED_FAILURES])
        more = len(self.failures) - _NAMED_FAILURES
        return named + (f"; and {more} more" if more > 0 else "")


def _json_lines_hint(path: str, exc: BaseException) -> str:
    # json's "Extra data" means a second value after the first: JSON Lines, most likely.
    if "Extra data" not in str(exc):
        return ""
    return (
        f" (a file holds one message; to publish one message per line, use "
        f"'hop publish URL -f JSON < {path}')"
    )


def _file_format(path: str, given: str | None) -> str:
    if given is not None:
        return given
    return _EXTENSIONS.get(os.path.splitext(path)[1].lower(), "BLOB")


def _load_files(paths: list[str], given: str | None) -> list[tuple[str, MessageModel]]:
    """Load every file; report all that cannot be loaded at once, before anything is sent."""
    loaded: list[tuple[str, MessageModel]] = []
    problems: list[str] = []
    for path in paths:
        format_name = _file_format(path, given)
        try:
            message = Deserializer[format_name].load_file(path)
            reason = non_standard_reason(message.content) if format_name == "JSON" else None
            if reason is not None:
                problems.append(f"{path} is not a valid JSON message: {reason}")
                continue
            loaded.append((path, message))
        except OSError as exc:
            problems.append(f"cannot read {path}: {exc.strerror or exc}")
        except (DecodeError, ValueError, TypeError) as exc:
            problems.append(
                f"{path} is not a valid {format_name} message: {error_line(exc)}"
                + (_json_lines_hint(path, exc) if format_name == "JSON" else "")
            )
    if problems:
        raise CommandFailed("; ".join(problems) + " (nothing was published)")
    return loaded


class _Encoded:
    """A text stream read as bytes, line by line."""

    def __init__(self, text: Any) -> None:
        self._text = text

    def readline(self) -> bytes:
        line: str = self._text.readline()
        return line.encode("utf-8")


class _StdinLines:
    """Messages from standard input, one a line, as they arrive, named ``line N``.

    ``reading`` is true only while waiting for input, when an interrupt may safely abort
    (nothing read is lost: a line half read was never going to be sent).
    """

    def __init__(self, format_name: str) -> None:
        self.format_name = format_name
        self.reading = False

    def __iter__(self) -> Iterator[tuple[str, MessageModel]]:
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
                yield f"line {number}", Blob(line)
                continue
            try:
                message = JSONBlob.load(line)
            except DecodeError as exc:
                raise CommandFailed(
                    f"standard input line {number} is not valid JSON: {error_line(exc)}"
                ) from exc
            reason = non_standard_reason(message.content)
            if reason is not None:
                raise CommandFailed(f"standard input line {number} is not standard JSON: {reason}")
            yield f"line {number}", message


class _State:
    """What the signals asked for; set by the signal handler, read by the loops."""

    def __init__(self) -> None:
        self.interrupted = False  # a first Ctrl+C: stop reading, deliver what is queued
        self.abandoned = False  # a second Ctrl+C: stop at once
        self.term_deadline: float | None = None  # after SIGTERM: deliver until then

    @property
    def stopping(self) -> bool:
        return self.interrupted or self.abandoned or self.term_deadline is not None

    def out_of_time(self) -> bool:
        if self.abandoned:
            return True
        return self.term_deadline is not None and time.monotonic() >= self.term_deadline


def run(args: argparse.Namespace) -> int:
    """Run ``hop publish``.

    Args:
        args: the parsed command line.

    Returns:
        0 when every message was acknowledged, 130 when interrupted (Ctrl+C), 143 when
        terminated (SIGTERM).

    Raises:
        HopError: the URL, the credentials or the broker stand in the way.
        CommandFailed: a file cannot be read or parsed, or messages were not delivered.
    """
    url = parse_url(args.url)
    if not url.topics:
        raise CommandFailed(f"{url} names no topic: say which topic to publish to")
    messages: list[tuple[str, MessageModel]] | _StdinLines
    if args.schema_id is not None or args.schema is not None:
        messages = load_records(args.message, args.schema_id, args.schema, args.format)
    elif args.message:
        messages = _load_files(args.message, args.format)
    elif (args.format or "BLOB") not in _PIPEABLE:
        raise CommandFailed(
            f"{args.format} messages cannot be read from standard input (only "
            f"{' and '.join(_PIPEABLE)} can, one a line); give the files to publish"
        )
    else:
        messages = _StdinLines(args.format or "BLOB")
    total = len(messages) * len(url.topics) if isinstance(messages, list) else 0
    progress = ProgressBar(total, enabled=None if total > 1 and not args.quiet else False)
    # A flag given wins; otherwise Stream.open takes the configured setting (config.toml,
    # HOP_* variables); otherwise the library's default.
    options: dict[str, Any] = {}
    if args.timeout is not None:
        options["produce_timeout"] = timedelta(seconds=args.timeout)
    if args.connect_timeout is not None:
        options["connect_timeout"] = args.connect_timeout
    producer = Stream(auth=not args.no_auth).open(args.url, "w", **options)
    tally = _Tally(progress, producer.max_message_bytes)
    tally.expected = total
    state = _State()

    def on_signal(signum: int) -> None:
        progress.clear()
        if signum == signal.SIGTERM:
            if state.term_deadline is None:
                state.term_deadline = time.monotonic() + args.term_grace
                sys.stderr.write(
                    f"terminated: delivering what is queued for at most {args.term_grace:g} s\n"
                )
        elif state.interrupted:
            state.abandoned = True
        else:
            state.interrupted = True
            sys.stderr.write(
                "interrupted: delivering what is queued; press Ctrl+C again to abandon it\n"
            )
        if isinstance(messages, _StdinLines) and messages.reading:
            raise KeyboardInterrupt  # stop waiting for input; nothing read is lost

    with on_signals(on_signal):
        failure = _write_all(producer, messages, url.topics, args, tally, state)
        if failure is None:
            progress.draw()
        failure = _deliver(producer, state) or failure
    progress.clear()
    if len(producer):
        _abandon(producer)
    return _report(str(url), tally, state, failure)


def _abandon(producer: Producer) -> None:
    """Drop what is still queued: abandoned (Ctrl+C twice), out of time after SIGTERM, or a
    broker that cannot be reached. That is what was asked for, not the unflushed producer
    ``Producer`` warns about when it is collected."""
    producer.abandon()


def _write_all(
    producer: Producer,
    messages: list[tuple[str, MessageModel]] | _StdinLines,
    topics: tuple[str, ...],
    args: argparse.Namespace,
    tally: _Tally,
    state: _State,
) -> BaseException | None:
    """Queue every message; return the error that stopped it early, if any.

    A message refused on its own (too large, not encodable) is counted as failed and the
    next one is tried; an error that would refuse every message (credentials, the broker,
    the topic) stops here.
    """
    headers = args.header or None
    try:
        for name, message in messages:
            if state.stopping:
                break
            for topic in topics:
                try:
                    producer.write(
                        message,
                        headers=headers,
                        test=args.test,
                        topic=topic,
                        key=args.key,
                        delivery_callback=tally.callback(name, message),
                    )
                except KafkaError as exc:
                    if not is_too_large(exc.code):
                        raise
                    tally.attempted += 1
                    tally.fail(name, tally.reason(exc.code, error_line(exc), message))
                    continue
                except TypeError as exc:
                    tally.attempted += 1
                    tally.fail(name, error_line(exc))
                    continue
                tally.attempted += 1
    except KeyboardInterrupt:
        state.interrupted = True
    except (HopError, CommandFailed, TypeError, ValueError) as exc:
        return exc
    return None


def _deliver(producer: Producer, state: _State) -> BaseException | None:
    """Deliver what is queued, unless told to stop; return the error that stopped it.

    The wait is in short slices and the signal handler only sets flags, so a second Ctrl+C
    or the end of SIGTERM's grace period is noticed within a fraction of a second, and no
    signal ever interrupts librdkafka's own code.
    """
    try:
        while not state.out_of_time():
            if producer.flush(0.2) == 0:
                producer.close()
                return None
    except DeliveryError:
        # The delivery reports already counted what failed.
        return None
    except (HopError, SystemError) as exc:
        # SystemError: confluent-kafka's flush returning NULL when a signal or a dying
        # broker connection interrupts it; what matters to the user is the count below.
        return exc
    return None


def _report(url: str, tally: _Tally, state: _State, failure: BaseException | None) -> int:
    undelivered = tally.total - tally.delivered
    if state.abandoned:
        sys.stderr.write(
            f"hop publish: abandoned: {tally.summary()}; {undelivered} not confirmed\n"
        )
        return 130
    if state.term_deadline is not None:
        sys.stderr.write(
            f"hop publish: terminated: {tally.summary()}; {undelivered} not delivered\n"
        )
        return 143
    if state.interrupted:
        failed = f", {undelivered} failed" if undelivered else ""
        sys.stderr.write(f"hop publish: interrupted: {tally.summary()}{failed}\n")
        return 130
    if failure is not None:
        text = error_line(failure)
        if isinstance(failure, KafkaError) and failure.undelivered:
            raise CommandFailed(text) from failure  # its message already gives the count
        if tally.total == 0:
            raise CommandFailed(f"{text} (nothing was published)") from failure
        lost = f"; {undelivered} not delivered" if undelivered else ""
        raise CommandFailed(f"{text} ({tally.summary()}{lost})") from failure
    if undelivered:
        reasons = sorted({reason for _, reason in tally.failures}) or ["not acknowledged in time"]
        hint = ""
        if tally.only_timeouts and all("too large" not in r for r in reasons):
            # librdkafka only says the time ran out; the likely cause is the broker.
            hint = " (is the broker address right and the broker running?)"
        if any(not name.startswith("line ") for name, _ in tally.failures):
            raise CommandFailed(
                f"{tally.summary()}; {undelivered} failed: {tally.failure_list()}{hint}"
            )
        raise CommandFailed(
            f"{undelivered} of {tally.total} message(s) were not delivered to {url}: "
            f"{'; '.join(reasons[:3])}{hint}"
        )
    logger.info("published %d message(s) to %s", tally.attempted, url)
    return 0
