"""GCN circulars (``GCNCircular``) and GCN text notices (``GCNTextNotice``), both read in
time linear in their size."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from hop.errors import DecodeError

from ._base import LoadInput, MessageModel, _read_bytes, _read_text, format_name

logger = logging.getLogger("hop.models")

# A header name: a letter, then letters, digits, spaces and ``_/.()-``. (Checked on the text
# before the first colon: a single regular expression for the whole "NAME : value" line
# backtracks, taking time in the square of a long line's length.)
_HEADER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_ /.()-]*")


def _header_name(line: str) -> tuple[str, str] | None:
    """``(name in lower case, value)`` of a ``NAME: value`` line, or None.

    Whitespace between the name and the colon, and around the value, is not part of them.
    """
    name, colon, value = line.partition(":")
    if not colon:
        return None
    name = name.rstrip()
    if _HEADER_NAME.fullmatch(name) is None:
        return None
    return name.lower(), value.strip()


@dataclass
class GCNCircular(MessageModel):
    """A GCN Circular: RFC 822 style header lines, a blank line, then the text.

    Attributes:
        header: the header fields, names in lower case (``title``, ``number``, ``subject``,
            ``date``, ``from``).
        body: the text after the header.
    """

    format_name = "circular"

    header: dict[str, str]
    body: str

    def serialize(self) -> dict[str, Any]:
        """Encode this model for sending.

        Returns:
            ``{"format": <format_name>, "content": JSON {"header": ..., "body": ...}}``.
        """
        content = json.dumps({"header": self.header, "body": self.body}).encode("utf-8")
        return {"format": format_name(self), "content": content}

    @classmethod
    def _from_fields(cls, fields: Any) -> GCNCircular:
        if not isinstance(fields, dict):
            raise DecodeError(f"a circular must be a JSON object, not {type(fields).__name__}")
        header, body = fields.get("header"), fields.get("body")
        if not isinstance(header, dict) or not isinstance(body, str):
            raise DecodeError('a circular needs a "header" object and a "body" string')
        return cls(header={str(k).lower(): str(v) for k, v in header.items()}, body=body)

    @classmethod
    def load(cls, input_: LoadInput) -> GCNCircular:
        """Parse circular text: ``NAME: value`` header lines, a blank line, the body.

        Header names are lower-cased; a line starting with whitespace continues the value
        above it.

        Args:
            input_: str, bytes or a file object.

        Returns:
            The circular.

        Raises:
            DecodeError: the text does not start with a header.
        """
        text = _read_text(input_, "GCN circular")
        head, separator, body = text.replace("\r\n", "\n").partition("\n\n")
        if not separator and head.endswith("\n"):
            head = head[:-1]
        # Each value's pieces (its line, then its continuation lines), joined once at the
        # end: joining as they come takes time in the square of a long header's size.
        pieces: dict[str, list[str]] = {}
        last: list[str] | None = None
        for number, line in enumerate(head.split("\n"), start=1):
            if line[:1] in (" ", "\t") and last is not None:
                continuation = line.strip()
                if continuation:
                    last.append(continuation)
                continue
            parsed = _header_name(line)
            if parsed is None:
                raise DecodeError(
                    f"not a GCN circular: header line {number} is not 'NAME: value': {line!r:.80}"
                )
            name, value = parsed
            last = pieces[name] = [value]
        header = {
            name: " ".join(values).strip() if len(values) > 1 else values[0]
            for name, values in pieces.items()
        }
        return cls(header=header, body=body)

    @classmethod
    def _from_gcn_json(cls, document: dict[str, Any]) -> GCNCircular:
        """A circular from GCN Kafka's JSON form (``subject``, ``body``, ``circularId``, ...).

        The header holds ``subject``, ``number`` (the circularId) and every other top-level
        field by its name (values that are not strings as JSON text).
        """
        number = document["circularId"]
        if isinstance(number, float) and number.is_integer():
            number = int(number)
        header: dict[str, str] = {"subject": str(document["subject"]), "number": str(number)}
        for key, value in document.items():
            if key not in ("subject", "body", "circularId"):
                header[str(key)] = value if isinstance(value, str) else json.dumps(value)
        return cls(header=header, body=str(document["body"]))

    def __str__(self) -> str:
        lines = [f"{name.upper() + ':':<9}{value}" for name, value in self.header.items()]
        return "\n".join(lines) + "\n\n" + self.body

    def __bytes__(self) -> bytes:
        """The circular's text (``str()``), UTF-8 encoded."""
        return str(self).encode("utf-8")


def _notice_fields(raw: str, key_line: re.Pattern[str] | None = None) -> dict[str, str]:
    """The ``KEY: value`` fields of GCN notice text (see :class:`GCNTextNotice`).

    Args:
        raw: the notice text.
        key_line: when given, every line that is neither blank nor indented must match it
            (the codec's stricter rule for recognising a notice by its looks).

    Raises:
        DecodeError: the text has no ``KEY: value`` line, starts with a continuation, or
            has a line that ``key_line`` does not match.
    """
    # Each field's lines, joined once at the end: joining as they come takes time in the
    # square of the notice's size, and any publisher can send a long one.
    pieces: dict[str, list[str]] = {}
    last: list[str] | None = None
    for number, line in enumerate(raw.splitlines(), start=1):
        content = line.strip()
        if not content:
            continue
        parsed = None
        if line[0] == content[0]:  # not indented
            if key_line is not None and key_line.match(line) is None:
                raise DecodeError(f"line {number} is not 'KEY: value': {line!r:.80}")
            parsed = _header_name(line)
        if parsed is None:
            if last is None:
                raise DecodeError(
                    f"not a GCN text notice: line {number} is not 'KEY: value': {line!r:.80}"
                )
            last.append(content)
            continue
        key, value = parsed
        last = pieces.setdefault(key, [])
        last.append(value)
    if last is None:
        raise DecodeError("not a GCN text notice: no 'KEY: value' lines")
    return {key: "\n".join(values) for key, values in pieces.items()}


#: Notice fields that hold the trigger (or event) date and time, by notice family, in the
#: order they are looked for.
_TRIGGER_DATE_KEYS = ("trigger_date", "grb_date", "event_date", "discovery_date", "obs_date")
_TRIGGER_TIME_KEYS = ("trigger_time", "grb_time", "event_time", "discovery_time", "obs_time")


@dataclass
class GCNTextNotice(MessageModel):
    """A plain-text GCN notice of ``KEY: value`` lines (format ``gcntextnotice``).

    Attributes:
        raw: the notice as bytes, sent as is (str given here is UTF-8 encoded).
        fields: the values by key, keys in lower case. A line starting with whitespace
            continues the value above it (joined with a newline), and so does a key that
            appears again. When not given, they are read from ``raw`` (so that a notice
            built from its text equals the one a subscriber receives).
    """

    format_name = "gcntextnotice"

    raw: bytes
    fields: dict[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.raw, str):
            self.raw = self.raw.encode("utf-8")
        elif isinstance(self.raw, (bytearray, memoryview)):
            self.raw = bytes(self.raw)
        if not self.fields and isinstance(self.raw, bytes):
            try:
                self.fields = _notice_fields(self.raw.decode("utf-8"))
            except (DecodeError, UnicodeDecodeError):
                # Not notice text: it is still sent as given (and arrives as a Blob).
                pass

    def _first(self, keys: tuple[str, ...]) -> str | None:
        for key in keys:
            value = self.fields.get(key)
            if value is not None:
                return value
        return None

    @property
    def title(self) -> str | None:
        """The ``TITLE`` field (``GCN/FERMI NOTICE`` and so on), or None."""
        return self.fields.get("title")

    @property
    def notice_type(self) -> str | None:
        """The ``NOTICE_TYPE`` field (``Fermi-GBM Final Position`` and so on), or None."""
        return self.fields.get("notice_type")

    @property
    def notice_date(self) -> str | None:
        """The ``NOTICE_DATE`` field (when GCN sent it), or None."""
        return self.fields.get("notice_date")

    @property
    def trigger_num(self) -> str | None:
        """The ``TRIGGER_NUM`` field, or None."""
        return self.fields.get("trigger_num")

    @property
    def trigger_date(self) -> str | None:
        """The trigger's date: ``TRIGGER_DATE``, else ``GRB_DATE``, ``EVENT_DATE``,
        ``DISCOVERY_DATE`` or ``OBS_DATE`` (the name depends on the mission), or None."""
        return self._first(_TRIGGER_DATE_KEYS)

    @property
    def trigger_time(self) -> str | None:
        """The trigger's time: ``TRIGGER_TIME``, else ``GRB_TIME``, ``EVENT_TIME``,
        ``DISCOVERY_TIME`` or ``OBS_TIME``, or None."""
        return self._first(_TRIGGER_TIME_KEYS)

    def serialize(self) -> dict[str, Any]:
        """Encode this model for sending.

        Returns:
            ``{"format": <format_name>, "content": <raw>}``.
        """
        return {"format": format_name(self), "content": self.raw}

    @classmethod
    def deserialize(cls, data: bytes) -> GCNTextNotice:
        """Parse a message body (the notice text).

        Args:
            data: the message body.

        Returns:
            The notice.

        Raises:
            DecodeError: the body is not UTF-8 notice text.
        """
        return cls.load(bytes(data))

    @classmethod
    def _from_fields(cls, fields: Any) -> GCNTextNotice:
        if isinstance(fields, str):
            return cls.load(fields)
        if isinstance(fields, dict) and isinstance(fields.get("raw"), str):
            return cls.load(fields["raw"])
        raise DecodeError("a GCN text notice needs its text")

    @classmethod
    def load(cls, input_: LoadInput) -> GCNTextNotice:
        """Parse notice text.

        Args:
            input_: str, bytes or a file object.

        Returns:
            The notice, keeping the bytes as given.

        Raises:
            DecodeError: the text is not UTF-8, or has no ``KEY: value`` line.
        """
        raw = _read_bytes(input_)
        return cls(raw=raw, fields=_notice_fields(_read_text(raw, "GCN text notice")))

    def __str__(self) -> str:
        # The original text, which is what ``hop subscribe`` prints.
        return self.raw.decode("utf-8", errors="replace")
