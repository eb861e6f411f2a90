"""``hop subscribe``: print the messages of Kafka topics as they arrive."""

from __future__ import annotations

import argparse
import base64
import codecs
import contextlib
import functools
import json
import logging
import os
import re
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from hop.io import Metadata, StartPosition, Stream
from hop.io._url import parse_url
from hop.models import AvroBlob, AvroRecord, GCNCircular, JSONBlob, MessageModel, format_name

from . import _subscribe_ops
from ._args import add_client_opts, add_logging_opts
from ._closing import closed_interruptibly
from ._connect import add_connect_timeout, connect_timeout
from ._errors import CommandFailed
from ._json import finite
from ._signals import on_interrupt, reader_gone
from ._times import parse_start

logger = logging.getLogger("hop.cli")

#: Formats whose body is text (``-j`` gives it as a string, ``--save`` the extension).
_TEXT_FORMATS = {"voevent": ".xml", "circular": ".gcn3", "gcntextnotice": ".txt"}

#: Control characters other than white space: text that holds them is binary to a reader.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

#: File extensions ``--save`` uses for the other built-in formats.
_EXTENSIONS = {"json": ".json", "avro": ".avro", "blob": ".bin"}


def _delimiter(text: str) -> bytes:
    # Escape sequences as in a Python bytes literal: \n, \t, \x00, \\.
    try:
        return codecs.escape_decode(text.encode("utf-8"))[0]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"bad escape sequence in {text!r}: {exc}") from None


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a number of messages, 1 or more: {text!r}")
    return int(text)


_FILTER = re.compile(r"^\s*([^\s=!<>~]+)\s*(==|!=|<=|>=|<|>|~)\s*(.*?)\s*$", re.DOTALL)


@dataclass(frozen=True)
class Filter:
    """One ``--filter FIELD OP VALUE``: a test of one field of a message's JSON content.

    Attributes:
        path: the field, as the keys (and list indexes) leading to it.
        op: ``==``, ``!=``, ``<``, ``>``, ``<=``, ``>=`` or ``~`` (a regex search).
        value: what to compare with: a JSON value when VALUE is one (``5``, ``"x"``,
            ``true``), else the text as given.
        pattern: the compiled regex, for ``~``.
    """

    path: tuple[str, ...]
    op: str
    value: Any
    pattern: re.Pattern[str] | None = None

    def matches(self, content: Any) -> bool:
        """Whether ``content`` (a message's JSON content) passes; a missing field never does."""
        found = content
        for step in self.path:
            if isinstance(found, dict) and step in found:
                found = found[step]
            elif isinstance(found, list) and step.lstrip("-").isdigit():
                try:
                    found = found[int(step)]
                except IndexError:
                    return False
            else:
                return False
        if self.pattern is not None:
            text = found if isinstance(found, str) else json.dumps(found)
            return self.pattern.search(text) is not None
        if self.op == "==":
            return bool(found == self.value)
        if self.op == "!=":
            return bool(found != self.value)
        if not (_is_number(found) and _is_number(self.value)) and not (
            isinstance(found, str) and isinstance(self.value, str)
        ):
            return False  # an order between a number and text means nothing
        if self.op == "<":
            return bool(found < self.value)
        if self.op == ">":
            return bool(found > self.value)
        if self.op == "<=":
            return bool(found <= self.value)
        return bool(found >= self.value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_filter(text: str) -> Filter:
    """Read a ``--filter`` expression: ``FIELD OP VALUE``.

    Args:
        text: for instance ``classification.BNS>0.5`` or ``event~^GRB``.

    Returns:
        The filter.

    Raises:
        argparse.ArgumentTypeError: the text is not such an expression.
    """
    match = _FILTER.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not FIELD OP VALUE (OP: == != < > <= >= ~), e.g. 'event==\"GRB\"'"
        )
    field, op, raw = match.groups()
    path = tuple(field.split("."))
    if not all(path):
        raise argparse.ArgumentTypeError(f"{field!r} is not a dotted field name")
    if op == "~":
        try:
            return Filter(path, op, raw, re.compile(raw))
        except re.error as exc:
            raise argparse.ArgumentTypeError(
                f"{raw!r} is not a regular expression: {exc}"
            ) from None
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw  # unquoted text: the text itself
    return Filter(path, op, value)


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
            "arrive, each followed by the delimiter: a circular as its text, a VOEvent as its "
            "XML, JSON as one line of JSON, a blob as its bytes. Ctrl+C or SIGTERM ends "
            "cleanly (a group commits what was printed)."
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
        help="print each message as one line of JSON (JSON Lines): topic, partition, offset, "
        "timestamp, key, headers, format, content, base64 (see docs/cli.md)",
    )
    parser.add_argument(
        "-D",
        "--delimiter",
        type=_delimiter,
        default=b"\n",
        metavar="STR",
        help="written after each message unless it already ends with it; escapes such as "
        r"\n, \t, \x00 are interpreted (default: \n)",
    )
    parser.add_argument(
        "-t", "--test", action="store_true", help="show test messages too (skipped by default)"
    )
    parser.add_argument(
        "--count", type=_count, metavar="N", help="stop after N messages (after --filter)"
    )
    parser.add_argument(
        "--save",
        metavar="DIR",
        help="write each message to DIR/TOPIC/PARTITION-OFFSET.EXT (.xml, .gcn3, .json, .avro, "
        ".txt or .bin by format) and print the file's path instead of the message",
    )
    parser.add_argument(
        "--schema-registry",
        metavar="URL",
        help="the schema registry of Confluent-framed Avro messages such as Rubin's alerts "
        "(https://[user:password@]host; default: HOP_SCHEMA_REGISTRY or the schema_registry "
        "setting); see docs/formats.md",
    )
    parser.add_argument(
        "--schemas",
        metavar="DIR",
        help="a directory of ID.avsc files: the schemas of Confluent-framed Avro messages by "
        "schema id (looked in after the registry)",
    )
    parser.add_argument(
        "--bytes",
        choices=("summary", "base64"),
        default="summary",
        help="how -j and the printed records of Confluent-framed Avro messages show bytes "
        'fields such as image cutouts: "<N bytes>" (summary, the default) or base64',
    )
    parser.add_argument(
        "--filter",
        type=parse_filter,
        action="append",
        default=[],
        metavar="EXPR",
        help="keep only messages whose JSON content matches FIELD OP VALUE: a dotted field, "
        "OP one of == != < > <= >= or ~ (regex), VALUE JSON or text, e.g. "
        "'classification.BNS>0.5'; several must all match",
    )
    add_connect_timeout(parser)
    _subscribe_ops.add_options(parser)
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


def _body(message: MessageModel) -> bytes:
    return bytes(message.serialize()["content"])


def _text(data: bytes) -> str | None:
    """``data`` as text when it is UTF-8 without control characters (other than white
    space); None when it is really binary."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if _CONTROL.search(text) else text


def render_text(message: MessageModel, full_bytes: bool = False) -> bytes:
    """A message as ``hop subscribe`` prints it (without the delimiter that follows it).

    Args:
        message: the message.
        full_bytes: a framed Avro record's bytes fields in base64 (else ``"<N bytes>"``).

    Returns:
        A circular's text, a VOEvent's XML, JSON as one line, a blob's bytes; Avro records as
        one line of JSON (a framed record's as standard JSON); any other model as the body
        it travels as.
    """
    if isinstance(message, AvroRecord):
        value = finite(message.json_content(full_bytes)[0])
        return json.dumps(value, allow_nan=False).encode("utf-8")
    if isinstance(message, GCNCircular):
        return str(message).encode("utf-8")
    if isinstance(message, JSONBlob):
        return json.dumps(message.content).encode("utf-8")
    if isinstance(message, AvroBlob):
        return json.dumps(message.content, default=_json_default).encode("utf-8")
    return _body(message)


def json_content(message: MessageModel) -> tuple[Any, bool]:
    """A message's content as ``-j`` gives it, and whether that is base64 of binary bytes.

    JSON formats give their value; text formats (VOEvent XML, circulars, text notices) and
    text blobs give a string; only real binary gives base64.

    Args:
        message: the message.

    Returns:
        ``(content, is_base64)``.
    """
    if isinstance(message, JSONBlob | AvroBlob | AvroRecord):
        return message.content, False
    if isinstance(message, GCNCircular):
        return str(message), False
    label = format_name(message)
    body = _body(message)
    if label not in _TEXT_FORMATS and label != "blob":
        try:  # a plugin's format: JSON where it is JSON
            return json.loads(body), False
        except ValueError:
            pass
    text = _text(body)
    if text is None:
        return _b64(body), True
    return text, False


def _timestamp(milliseconds: int) -> str | None:
    if milliseconds <= 0:
        return None  # the message carries none
    moment = datetime.fromtimestamp(milliseconds / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def render_json(message: MessageModel, metadata: Metadata, full_bytes: bool = False) -> bytes:
    """A message as ``hop subscribe -j`` prints it: one line of JSON, without the delimiter.

    The keys, always all present: ``topic``, ``partition``, ``offset``, ``timestamp`` (ISO
    8601 UTC, or null), ``key`` (text, or null), ``headers`` (name to text; a name that occurs
    several times maps to a list), ``format`` (the ``_format`` label), ``content`` (see
    ``json_content``), and ``base64``: the fields given base64-encoded because they are
    binary (``"content"``, ``"key"``, ``"headers.NAME"``), usually ``["headers._id"]``.
    A framed Avro record's bytes fields are ``"<N bytes>"``, or with ``full_bytes``
    base64, each listed (``"content.cutoutScience"``).

    Args:
        message: the message.
        metadata: where it came from.
        full_bytes: a framed Avro record's bytes fields in base64.

    Returns:
        The line.
    """
    encoded: list[str] = []
    if isinstance(message, AvroRecord):
        content, encoded = message.json_content(full_bytes)
        binary = False
    else:
        content, binary = json_content(message)
    if binary:
        encoded.append("content")
    key: Any = metadata.key
    if isinstance(key, bytes):
        text = _text(key)
        if text is None:
            key = _b64(key)
            encoded.append("key")
        else:
            key = text
    headers: dict[str, Any] = {}
    for name, raw in metadata.headers:
        value = _text(raw or b"")
        if value is None:
            value = _b64(raw or b"")
            if f"headers.{name}" not in encoded:
                encoded.append(f"headers.{name}")
        if name not in headers:
            headers[name] = value
        elif isinstance(headers[name], list):
            headers[name].append(value)
        else:
            headers[name] = [headers[name], value]
    record = {
        "topic": metadata.topic,
        "partition": metadata.partition,
        "offset": metadata.offset,
        "timestamp": _timestamp(metadata.timestamp),
        "key": key,
        "headers": headers,
        "format": format_name(message),
        "content": content,
        "base64": encoded,
    }
    try:
        # json's shared default encoder is the fast path; only Avro values need more, and
        # only NaN or an infinity (which standard JSON cannot hold) need rewriting.
        return json.dumps(record, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError):
        pass
    record["content"] = finite(content)
    return json.dumps(record, allow_nan=False, default=_json_default).encode("utf-8")


def _save(directory: Path, message: MessageModel, metadata: Metadata) -> bytes:
    """Write a message to its file under ``directory``; return the path to print."""
    label = format_name(message)
    if isinstance(message, GCNCircular):
        # The circular's text, which 'hop publish' reads back from a .gcn3 file.
        data, ext = str(message).encode("utf-8"), ".gcn3"
    elif isinstance(message, AvroRecord):
        # A one-record Avro container holding its schema, which any Avro tool reads.
        data, ext = message.to_container(), ".avro"
    else:
        data = _body(message)
        ext = _TEXT_FORMATS.get(label) or _EXTENSIONS.get(label) or ""
        if not ext:
            try:
                json.loads(data)
                ext = ".json"
            except ValueError:
                ext = ".bin"
    topic = metadata.topic
    if topic in ("", ".", "..") or "/" in topic or "\x00" in topic:
        raise CommandFailed(f"--save: cannot save a message of topic {topic!r} under {directory}")
    folder = directory / topic
    with contextlib.suppress(FileExistsError):  # something not a directory: said below
        folder.mkdir(parents=True, exist_ok=True)
    try:
        # The topic's directory itself, never a symbolic link planted in its place: every
        # file is then created in it by name, relative to this descriptor.
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if os.path.islink(folder):
            raise CommandFailed(
                f"--save: {folder} is a symbolic link; hop saves only into a real directory "
                "(remove the link, or save elsewhere)"
            ) from exc
        raise
    try:
        name = _save_file(dir_fd, f"{metadata.partition}-{metadata.offset}", ext, data)
    finally:
        os.close(dir_fd)
    return os.fsencode(folder / name)


#: How many other names ``--save`` tries (``P-O.1.EXT``, ``P-O.2.EXT``, ...) when the
#: message's own name is taken by something else.
_SAVE_TRIES = 100


def _save_file(dir_fd: int, stem: str, ext: str, data: bytes) -> str:
    """Create a new file for ``data`` in the directory ``dir_fd``; return its name.

    The file is created exclusively and never through a symbolic link, so nothing already
    there is written to: the name ``STEM.EXT`` when it is free (or already holds exactly
    these bytes, as when the same messages are saved again), else the first free
    ``STEM.N.EXT``, with a warning saying why.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for attempt in range(_SAVE_TRIES + 1):
        name = f"{stem}{ext}" if attempt == 0 else f"{stem}.{attempt}{ext}"
        try:
            fd = os.open(name, flags, 0o666, dir_fd=dir_fd)
        except FileExistsError:
            if _holds(dir_fd, name, data):
                return name
            continue
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        if attempt:
            logger.warning(
                "--save: %s%s exists and is not this message (hop never writes through an "
                "existing name or link); saved it as %s",
                stem,
                ext,
                name,
            )
        return name
    raise CommandFailed(
        f"--save: {stem}{ext} and {_SAVE_TRIES} other names for it exist; nothing was "
        "overwritten (clear the directory, or save elsewhere)"
    )


def _holds(dir_fd: int, name: str, data: bytes) -> bool:
    """Whether ``name`` is a regular file (not a link) holding exactly ``data``."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if not stat.S_ISREG(info.st_mode) or info.st_size != len(data):
            return False
        fd = os.open(
            name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd
        )
    except OSError:
        return False
    with os.fdopen(fd, "rb") as file:
        return stat.S_ISREG(os.fstat(file.fileno()).st_mode) and file.read(len(data) + 1) == data


def _passes(filters: list[Filter], message: MessageModel) -> bool:
    if not filters:
        return True
    content, binary = json_content(message)
    if binary or isinstance(message, GCNCircular) or format_name(message) in _TEXT_FORMATS:
        return False  # not JSON content: no field to test
    if isinstance(message, AvroBlob) and isinstance(content, list):
        # A container of several records: the message passes when one record does.
        return any(all(f.matches(record) for f in filters) for record in content)
    return all(f.matches(content) for f in filters)


def run(args: argparse.Namespace) -> int:
    """Run ``hop subscribe``.

    Args:
        args: the parsed command line.

    Returns:
        0 when the stream ended (``-e``), ``--count`` messages were printed, it was stopped
        (Ctrl+C, SIGTERM) or the reader of the output went away; 3 when ``--expect-every``
        found no message for that long.

    Raises:
        HopError: the URL, the credentials or the broker stand in the way.
    """
    save = Path(args.save) if args.save else None
    filters: list[Filter] = args.filter
    delimiter: bytes = args.delimiter
    stream = Stream(
        auth=not args.no_auth,
        start_at=args.start_at,
        until_eos=args.until_eos,
        schema_registry=args.schema_registry,
        schema_dir=args.schemas,
        connect_timeout=connect_timeout(args),
        end_at=args.end_at,
    )
    consumer = stream.open(args.url, "r", group_id=args.group_id, ignoretest=not args.test)
    liveness = _subscribe_ops.Liveness(
        consumer, args.expect_every, ", ".join(parse_url(args.url).topics)
    )
    out: IO[bytes] = sys.stdout.buffer
    full_bytes = args.bytes == "base64"
    render: Callable[[MessageModel, Metadata], bytes] | None = (
        functools.partial(render_json, full_bytes=full_bytes) if args.json else None
    )
    shown = 0
    try:
        with on_interrupt(consumer.stop), closed_interruptibly(consumer), liveness:
            for message, metadata in consumer.read(metadata=True):
                try:
                    if not _passes(filters, message):
                        continue
                    if save is not None:
                        line = _save(save, message, metadata)
                    elif render is not None:
                        line = render(message, metadata)
                    else:
                        line = render_text(message, True) if full_bytes else render_text(message)
                except (OSError, CommandFailed):
                    raise  # a file that cannot be written (--save): the user must know
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
                if delimiter and not line.endswith(delimiter):
                    line += delimiter
                out.write(line)
                out.flush()
                shown += 1
                if args.count is not None and shown >= args.count:
                    break
    except BrokenPipeError:
        # Whoever read the output has gone (`hop subscribe ... | head`): a normal end. The
        # message being written was not committed, so a group will see it again.
        reader_gone()
    silent = liveness.report()
    return 0 if silent is None else silent
