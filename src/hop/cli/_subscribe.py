"""``hop subscribe``: print the messages of Kafka topics as they arrive."""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import sys
from datetime import datetime
from typing import IO, Any

from .._url import parse_url
from ..io import Metadata, StartAt, StartPosition, Stream
from ..models import AvroBlob, GCNCircular, JSONBlob, MessageModel, format_name
from ._common import add_client_opts, add_logging_opts, on_interrupt

logger = logging.getLogger("hop.cli")

#: Formats whose body is not JSON; ``-j`` gives their bytes base64-encoded.
_BINARY_FORMATS = frozenset({"blob", "voevent", "avro", "gcntextnotice"})


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


def add_parser(subparsers: Any) -> None:
    """Add ``hop subscribe`` to the top-level subcommands.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned.
    """
    parser = subparsers.add_parser(
        "subscribe",
        help="subscribe to topics and print their messages",
        description=(
            "Print the messages of one or more Kafka topics to standard output as they "
            "arrive, one record each: a circular as its text, a VOEvent as its XML, JSON as "
            "one line of JSON, a blob as its bytes. Ctrl+C ends cleanly."
        ),
    )
    add_client_opts(parser)
    add_logging_opts(parser)
    parser.add_argument(
        "-s",
        "--start-at",
        type=parse_start,
        default=StartPosition.LATEST,
        metavar="START",
        help="where to start: EARLIEST, LATEST (the default), an ISO 8601 time (UTC unless "
        "it says otherwise) or -N for the last N messages of each partition",
    )
    parser.add_argument(
        "-e",
        "--until-eos",
        action="store_true",
        help="stop at the end of the stream instead of waiting for new messages",
    )
    parser.add_argument(
        "-g",
        "--group-id",
        metavar="GROUP_ID",
        help="join this consumer group (and resume where it left off); a random one by default",
    )
    parser.add_argument(
        "-j",
        "--json",
        action="store_true",
        help='print each message as one line of JSON: {"format": ..., "content": ..., '
        '"headers": {...}}, bytes base64-encoded',
    )
    parser.add_argument(
        "-t", "--test", action="store_true", help="show test messages too (skipped by default)"
    )
    parser.set_defaults(func=run)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _json_default(value: object) -> Any:
    # Avro records may hold bytes and datetimes, which JSON has no type for.
    if isinstance(value, bytes | bytearray):
        return _b64(bytes(value))
    if isinstance(value, datetime):
        return value.isoformat()
    return repr(value)


def render_text(message: MessageModel) -> bytes:
    """A message as ``hop subscribe`` prints it, ending with a newline.

    Args:
        message: the message.

    Returns:
        A circular's text, a VOEvent's XML, JSON as one line, a blob's bytes; Avro records as
        one line of JSON; any other model as the body it travels as.
    """
    if isinstance(message, GCNCircular):
        data = str(message).encode("utf-8")
    elif isinstance(message, JSONBlob):
        data = json.dumps(message.content).encode("utf-8")
    elif isinstance(message, AvroBlob):
        data = json.dumps(message.content, default=_json_default).encode("utf-8")
    else:
        data = bytes(message.serialize()["content"])
    return data if data.endswith(b"\n") else data + b"\n"


def render_json(message: MessageModel, metadata: Metadata) -> bytes:
    """A message as ``hop subscribe -j`` prints it: one line of JSON.

    ``content`` is the JSON value for formats that travel as JSON (``json``, ``circular``, and
    plugin formats whose body is JSON), otherwise the body's bytes base64-encoded. Header
    values are base64-encoded bytes; a key that occurs several times maps to a list of them.

    Args:
        message: the message.
        metadata: where it came from (for its headers).

    Returns:
        The line, ending with a newline.
    """
    label = format_name(message)
    content: Any
    if isinstance(message, JSONBlob):
        content = message.content
    elif isinstance(message, GCNCircular):
        content = {"header": message.header, "body": message.body}
    else:
        body = bytes(message.serialize()["content"])
        content = _b64(body)
        if label not in _BINARY_FORMATS:
            try:
                content = json.loads(body)
            except ValueError:
                pass
    headers: dict[str, Any] = {}
    for key, value in metadata.headers:
        encoded = _b64(value or b"")
        if key not in headers:
            headers[key] = encoded
        elif isinstance(headers[key], list):
            headers[key].append(encoded)
        else:
            headers[key] = [headers[key], encoded]
    record = {"format": label, "content": content, "headers": headers}
    return json.dumps(record, default=_json_default).encode("utf-8") + b"\n"


def run(args: argparse.Namespace) -> int:
    """Run ``hop subscribe``.

    Args:
        args: the parsed command line.

    Returns:
        0 when the stream ended (``-e``), was interrupted (Ctrl+C) or the reader of the
        output went away.

    Raises:
        HopError: the URL, the credentials or the broker stand in the way.
    """
    parse_url(args.url)
    stream = Stream(auth=not args.no_auth, start_at=args.start_at, until_eos=args.until_eos)
    consumer = stream.open(args.url, "r", group_id=args.group_id, ignoretest=not args.test)
    out: IO[bytes] = sys.stdout.buffer
    render = render_json if args.json else None
    try:
        with on_interrupt(consumer.stop), consumer:
            for message, metadata in consumer.read(metadata=True):
                try:
                    line = render(message, metadata) if render else render_text(message)
                except Exception as exc:  # a plugin model's own code failed
                    # One bad message must not end a long-running subscriber.
                    logger.warning(
                        "cannot print message at %s:%d offset %d (%s): %s",
                        metadata.topic,
                        metadata.partition,
                        metadata.offset,
                        type(message).__name__,
                        exc,
                    )
                    continue
                out.write(line)
                out.flush()
    except BrokenPipeError:
        # Whoever read the output has gone (`hop subscribe ... | head`): a normal end. The
        # message being written was not committed, so a group will see it again.
        _silence_stdout()
    return 0


def _silence_stdout() -> None:
    # Python flushes stdout at exit; with the pipe gone that would fail once more.
    if sys.stdout is not sys.__stdout__:
        return
    try:
        fileno = sys.stdout.fileno()  # type: ignore[union-attr]
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fileno)
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
