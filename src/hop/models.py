"""Message models: the Python objects that travel over Kafka, one class per format.

Every message has a format label (the ``_format`` header, see ``WIRE.md``) and a body. A
model class knows how to turn itself into a body (``serialize``) and back
(``deserialize``), and how to read itself from a file (``load`` / ``load_file``); it is
sent under its ``format_name``. :func:`encode` and :func:`decode`, what the producer and
consumer call per message, and the format registry live in :mod:`hop._codec` and are
re-exported here; :func:`decode` never raises, so a bad message can never break a
subscriber's loop.

This module is longer than most (about 900 lines) on purpose: it holds the seven built-in
formats and nothing else, each format's encoding, decoding and file reading side by side
in its class; the format-independent parts (Avro containers, XML, the codec) are elsewhere.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from hop import _avro, _xml
from hop._types import LoadInput
from hop.errors import DecodeError, JSONDecodeError

__all__ = [
    "AvroBlob",
    "AvroRecord",
    "Blob",
    "ExternalMessage",
    "GCNCircular",
    "GCNTextNotice",
    "JSONBlob",
    "MessageModel",
    "VOEvent",
    "decode",
    "encode",
    "format_name",
    "register_model",
    "registered_models",
    "unregister_model",
]

logger = logging.getLogger("hop.models")

_M = TypeVar("_M", bound="MessageModel")


def _read_bytes(input_: Any) -> bytes:
    """Return the bytes of ``input_`` (str is UTF-8 encoded; file objects are read)."""
    if isinstance(input_, bytes):
        return input_
    if isinstance(input_, (bytearray, memoryview)):
        return bytes(input_)
    if isinstance(input_, str):
        return input_.encode("utf-8")
    read = getattr(input_, "read", None)
    if callable(read):
        data = read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    raise TypeError(
        f"cannot load a message from {type(input_).__name__}; "
        "give str, bytes or a file object (or use load_file)"
    )


def _read_text(input_: Any, what: str) -> str:
    """Return the text of ``input_`` (bytes are decoded as UTF-8)."""
    if isinstance(input_, str):
        return input_
    data = _read_bytes(input_)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"{what} is not valid UTF-8 text: {exc}") from exc


def _loads_json(data: bytes, what: str) -> Any:
    """Parse JSON text, raising :class:`~hop.errors.JSONDecodeError` for anything invalid.

    That error is also a ``json.JSONDecodeError`` (what hop-client 0.13 raised) and a
    :class:`~hop.errors.DecodeError` (what a subscriber's decoder catches).
    """
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise JSONDecodeError(what, exc.msg, exc.doc, exc.pos) from exc
    except UnicodeDecodeError as exc:
        doc = data.decode("utf-8", errors="replace")
        raise JSONDecodeError(what, f"not UTF-8 text ({exc.reason})", doc, exc.start) from exc
    except ValueError as exc:  # an integer too long to convert, say
        raise JSONDecodeError(what, str(exc), data.decode("utf-8", "replace"), 0) from exc
    except RecursionError:
        raise JSONDecodeError(
            what, "nested too deeply to decode", data.decode("utf-8", "replace"), 0
        ) from None


@dataclass
class MessageModel:
    """Base class of every message model.

    A model is a dataclass. Subclasses may set the class attribute ``format_name`` (the
    label written in the ``_format`` header); without it the label is the class name in
    lower case. By default a model travels as a JSON object of its dataclass fields and is
    rebuilt with ``cls(**fields)``; override :meth:`serialize` / :meth:`deserialize` for
    another body format, and :meth:`load` for another file format.
    """

    if TYPE_CHECKING:
        # Declared for type checkers only: at run time an annotation here would make the
        # dataclass machinery put a subclass's own ``format_name`` field (the manual's
        # ``format_name: "donut"`` line) first instead of where it is written.
        format_name: ClassVar[str]

        # What most models carry (Blob's bytes, JSONBlob's value, AvroBlob's records), so
        # that ``message.content`` type-checks on what a consumer yields without a cast.
        # A model without it (VOEvent, GCNCircular, ...) still raises AttributeError. A
        # property, not a field, so that the dataclass machinery of type checkers leaves
        # every model's constructor as it is.
        @property
        def content(self) -> Any: ...

    def serialize(self) -> dict[str, Any]:
        """Encode this model for sending.

        Returns:
            ``{"format": <label>, "content": <body bytes>}``.
        """
        body = json.dumps(dataclasses.asdict(self)).encode("utf-8")
        return {"format": format_name(self), "content": body}

    def __bytes__(self) -> bytes:
        """The message body this model travels as (what :meth:`serialize` writes)."""
        return bytes(self.serialize()["content"])

    @classmethod
    def deserialize(cls: type[_M], data: bytes) -> _M:
        """Rebuild a model from a message body written by :meth:`serialize`.

        Args:
            data: the message body.

        Returns:
            The model.

        Raises:
            JSONDecodeError: the body is not valid JSON (a ``DecodeError`` and a
                ``json.JSONDecodeError``).
            DecodeError: the JSON is not this model's fields.
        """
        return cls._from_fields(_loads_json(_read_bytes(data), f"{format_name(cls)} message"))

    @classmethod
    def _from_fields(cls: type[_M], fields: Any) -> _M:
        """Build a model from a dict of its dataclass fields (also used for legacy envelopes)."""
        if not isinstance(fields, dict):
            raise DecodeError(
                f"{format_name(cls)} message must be a JSON object of its fields, "
                f"not {type(fields).__name__}"
            )
        try:
            return cls(**fields)
        except TypeError as exc:
            raise DecodeError(f"{format_name(cls)} message has the wrong fields: {exc}") from exc

    @classmethod
    def load(cls: type[_M], input_: LoadInput) -> _M:
        """Read a model from text, bytes or a file object.

        The default reads a JSON object of the model's fields.

        Args:
            input_: str, bytes, or a file object (text or binary).

        Returns:
            The model.

        Raises:
            JSONDecodeError: the input is not valid JSON (a ``DecodeError`` and a
                ``json.JSONDecodeError``).
            DecodeError: the input is not in this model's format.
        """
        return cls.deserialize(_read_bytes(input_))

    @classmethod
    def load_file(cls: type[_M], path: str | os.PathLike[str]) -> _M:
        """Read a model from a file.

        The file is opened in binary mode and the file object passed to :meth:`load`.

        Args:
            path: the file to read.

        Returns:
            The model.

        Raises:
            OSError: the file cannot be read.
            DecodeError: the file is not in this model's format.
        """
        with open(path, "rb") as file:
            return cls.load(file)


@dataclass
class Blob(MessageModel):
    """Unstructured bytes, sent untouched (format ``blob``).

    Attributes:
        content: the raw message body.
    """

    format_name = "blob"

    content: bytes

    def serialize(self) -> dict[str, Any]:
        """Encode this model for sending.

        Returns:
            ``{"format": <format_name>, "content": <the bytes>}``.
        """
        content = self.content
        if not isinstance(content, bytes):
            content = _read_bytes(content)
        return {"format": format_name(self), "content": content}

    @classmethod
    def deserialize(cls, data: bytes) -> Blob:
        """Wrap a message body.

        Args:
            data: the message body.

        Returns:
            A Blob holding exactly those bytes.
        """
        return cls(bytes(data))

    @classmethod
    def load(cls, input_: LoadInput) -> Blob:
        """Read bytes untouched (str is UTF-8 encoded).

        Args:
            input_: str, bytes, or a file object.

        Returns:
            A Blob of those bytes.
        """
        return cls(_read_bytes(input_))

    def __str__(self) -> str:
        # Python's own rendering of the bytes, as hop-client 0.13 prints a Blob.
        return str(self.content)


@dataclass
class JSONBlob(MessageModel):
    """Any JSON value: object, array, string, number, boolean or null (format ``json``).

    Attributes:
        content: the decoded JSON value.
    """

    format_name = "json"

    content: Any

    def serialize(self) -> dict[str, Any]:
        """Encode this model for sending.

        Returns:
            ``{"format": <format_name>, "content": json.dumps(content) as UTF-8 bytes}``.
        """
        return {"format": format_name(self), "content": json.dumps(self.content).encode("utf-8")}

    @classmethod
    def deserialize(cls, data: bytes) -> JSONBlob:
        """Parse a JSON message body.

        Args:
            data: the message body.

        Returns:
            The JSONBlob.

        Raises:
            JSONDecodeError: the body is not valid JSON (a ``DecodeError`` and a
                ``json.JSONDecodeError``).
        """
        return cls(_loads_json(_read_bytes(data), "json message"))

    @classmethod
    def load(cls, input_: LoadInput) -> JSONBlob:
        """Parse JSON text.

        Args:
            input_: str, bytes, or a file object holding JSON text.

        Returns:
            The JSONBlob.

        Raises:
            JSONDecodeError: the input is not valid JSON (a ``DecodeError`` and a
                ``json.JSONDecodeError``).
        """
        return cls.deserialize(_read_bytes(input_))

    @classmethod
    def _from_fields(cls, fields: Any) -> JSONBlob:
        return cls(fields)

    def __str__(self) -> str:
        # Python's own rendering of the value, as hop-client 0.13 prints a JSONBlob.
        return str(self.content)


_VOEVENT_NAMESPACE = "http://www.ivoa.net/xml/VOEvent/v2.0"
_VOEVENT_ELEMENTS = (
    "Who",
    "What",
    "WhereWhen",
    "How",
    "Why",
    "Citations",
    "Description",
    "Reference",
)


# VOEvent 2.0 elements whose names start in lower case (the children of <Author>); every
# other element starts in upper case, and every attribute in lower case.
_VOEVENT_LOWER_ELEMENTS = frozenset(
    {"title", "shortName", "logoURL", "contactName", "contactEmail", "contactPhone", "contributor"}
)


def _voevent_to_xmltodict(node: Any) -> Any:
    """Mark the attributes of VOEvent fields with ``@`` for ``xmltodict.unparse``.

    Fields keep attributes under their plain names (as 0.13 and the older JSON VOEvents
    do); a scalar under a lower-case name that is no VOEvent element is an attribute.
    Keys already starting with ``@`` or ``#`` are kept as they are.
    """
    if isinstance(node, list):
        return [_voevent_to_xmltodict(item) for item in node]
    if not isinstance(node, dict):
        return node
    marked: dict[str, Any] = {}
    for key, value in node.items():
        name = str(key)
        if (
            name[:1] not in ("@", "#")
            and name[:1].islower()
            and name not in _VOEVENT_LOWER_ELEMENTS
            and not isinstance(value, (dict, list))
        ):
            marked["@" + name] = value
        else:
            marked[name] = _voevent_to_xmltodict(value)
    return marked


def _join_chunks(input_: Any) -> bytes:
    """Bytes of ``input_``, which may also be an iterator of str or bytes chunks."""
    if isinstance(input_, (str, bytes, bytearray, memoryview)) or callable(
        getattr(input_, "read", None)
    ):
        return _read_bytes(input_)
    if isinstance(input_, Iterator):
        return b"".join(_read_bytes(chunk) for chunk in input_)
    return _read_bytes(input_)


@dataclass
class VOEvent(MessageModel):
    """An IVOA VOEvent 2.0 alert (format ``voevent``).

    The element fields hold each element as a dict: attributes under their plain names
    (``event.What["Param"][0]["value"]``), child elements by tag (a list when repeated),
    text beside attributes under ``"#text"``, and a text-only element as a plain string.
    This is how hop-client 0.13 keys them, and how the older JSON VOEvents are keyed.
    A VOEvent read from XML keeps the original document and sends it byte for byte (as long
    as its fields are unchanged); equality compares the fields only.

    Attributes:
        ivorn: the event's identifier, ``ivo://...``.
        role: ``observation``, ``prediction``, ``utility`` or ``test``.
        version: the VOEvent version.
        Who, What, WhereWhen, How, Why, Citations, Description, Reference: the elements.
    """

    format_name = "voevent"

    ivorn: str
    role: str = "observation"
    version: str = "2.0"
    Who: dict[str, Any] = dataclasses.field(default_factory=dict)
    What: dict[str, Any] = dataclasses.field(default_factory=dict)
    WhereWhen: dict[str, Any] = dataclasses.field(default_factory=dict)
    How: dict[str, Any] = dataclasses.field(default_factory=dict)
    Why: dict[str, Any] = dataclasses.field(default_factory=dict)
    Citations: dict[str, Any] = dataclasses.field(default_factory=dict)
    Description: Any = dataclasses.field(default_factory=dict)
    Reference: Any = dataclasses.field(default_factory=dict)
    # The document it was read from, and a copy of the fields it gave, to tell if it is stale.
    _xml: bytes | None = dataclasses.field(default=None, init=False, repr=False, compare=False)
    _xml_fields: dict[str, Any] | None = dataclasses.field(
        default=None, init=False, repr=False, compare=False
    )

    def _fields(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.compare}

    def serialize(self) -> dict[str, Any]:
        """Encode this model for sending.

        Returns:
            ``{"format": <format_name>, "content": <XML bytes>}``: the original document when
            there is one and the fields are unchanged, else a document written from the
            fields.
        """
        if self._xml is not None and self._xml_fields == self._fields():
            return {"format": format_name(self), "content": self._xml}
        return {"format": format_name(self), "content": self.to_xml()}

    def to_xml(self) -> bytes:
        """Write a VOEvent 2.0 document from the fields.

        Returns:
            The UTF-8 encoded document.
        """
        root: dict[str, Any] = {
            "@xmlns:voe": _VOEVENT_NAMESPACE,
            "@ivorn": self.ivorn,
            "@role": self.role,
            "@version": self.version,
        }
        for name in _VOEVENT_ELEMENTS:
            value = getattr(self, name)
            if value not in ({}, None, ""):
                root[name] = value
        for name in _VOEVENT_ELEMENTS:
            if name in root:
                root[name] = _voevent_to_xmltodict(root[name])
        return _xml.unparse_xml({"voe:VOEvent": root})

    @classmethod
    def deserialize(cls, data: bytes | str) -> VOEvent:
        """Read a message body: VOEvent XML, or the older clients' JSON of the fields.

        Args:
            data: the message body (bytes, or the document as str).

        Returns:
            The VOEvent.

        Raises:
            UnsafeXMLError: the XML declares entities (refused for safety).
            DecodeError: the body is neither a VOEvent document nor a JSON VOEvent.
        """
        if isinstance(data, str):
            data = data.encode("utf-8")
        if bytes(data[:64]).lstrip()[:1] == b"{":
            try:
                fields = json.loads(data)
            except (ValueError, RecursionError) as exc:
                raise DecodeError(f"voevent message is not valid JSON: {exc}") from exc
            return cls._from_fields(fields)
        return cls._from_xml(bytes(data))

    @classmethod
    def _from_fields(cls, fields: Any) -> VOEvent:
        if not isinstance(fields, dict):
            raise DecodeError(f"a JSON VOEvent must be an object, not {type(fields).__name__}")
        ivorn = fields.get("ivorn")
        if not isinstance(ivorn, str):
            raise DecodeError("a JSON VOEvent needs an 'ivorn' string")
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        return cls(**{key: value for key, value in fields.items() if key in known})

    @classmethod
    def _from_xml(cls, data: bytes) -> VOEvent:
        document = _xml.parse_xml(data, "VOEvent", attr_prefix="")
        root_tag, root = next(iter(document.items()))
        if root_tag.rpartition(":")[2] != "VOEvent":
            raise DecodeError(f"not a VOEvent: the root element is <{root_tag}>, not <VOEvent>")
        if not isinstance(root, dict) or not isinstance(root.get("ivorn"), str):
            raise DecodeError("not a valid VOEvent: the root element has no ivorn attribute")
        kwargs: dict[str, Any] = {"ivorn": root["ivorn"]}
        for attribute in ("role", "version"):
            if isinstance(root.get(attribute), str):
                kwargs[attribute] = root[attribute]
        for name in _VOEVENT_ELEMENTS:
            value = root.get(name)
            if value is not None:
                kwargs[name] = value
        event = cls(**kwargs)
        event._xml = data
        try:
            event._xml_fields = copy.deepcopy(event._fields())
        except RecursionError:
            # Elements nested thousands deep: no VOEvent is, and no code could use it.
            raise DecodeError("not a valid VOEvent: its elements are nested too deeply") from None
        return event

    @classmethod
    def load(cls, input_: LoadInput | Iterator[str] | Iterator[bytes]) -> VOEvent:
        """Read a VOEvent XML document (or the older JSON form).

        Args:
            input_: str, bytes, a file object, or an iterator of str/bytes chunks.

        Returns:
            The VOEvent, keeping the document's bytes to send.

        Raises:
            UnsafeXMLError: the XML declares entities (refused for safety).
            DecodeError: the input is not a VOEvent.
        """
        return cls.deserialize(_join_chunks(input_))

    def __str__(self) -> str:
        return json.dumps(self._fields(), indent=2, default=str)


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


def _is_record_schema(schema: Any) -> bool:
    """Whether ``schema`` is an Avro record schema (the JSON form, or as fastavro parses it)."""
    return isinstance(schema, dict) and schema.get("type") in ("record", "error")


def _is_record_sequence(content: Any) -> bool:
    """Whether ``content`` can be ``single_record=False`` content: a sequence, not text."""
    return isinstance(content, Sequence) and not isinstance(
        content, (str, bytes, bytearray, memoryview)
    )


@dataclass
class AvroBlob(MessageModel):
    """Avro data in an Avro Object Container File (format ``avro``).

    Attributes:
        content: with ``single_record=True`` (the default) ONE Avro datum, which may itself
            be a list (its inferred schema is then an array), written as a one-record
            container; with ``single_record=False`` a sequence of records (a list or
            tuple), written as that many records. A list or tuple given with a record
            schema is the records: ``single_record`` becomes ``False``.
        schema: the Avro schema (JSON form, e.g. a dict, or as ``fastavro`` parses or
            loads it). ``None`` when sending means "infer one"; a received or loaded
            AvroBlob has the schema it was written with. Equality ignores it.
        single_record: how ``content`` is laid out (above). Reading a one-record container
            gives ``True`` and that record; a container of any other number of records
            gives ``False`` and the list of them.

    Raises:
        TypeError: ``single_record=False`` and ``content`` is not a sequence of records.
    """

    format_name = "avro"
    #: Records plus array items plus map entries one message may decode to; over it (or
    #: over :attr:`max_decoded_bytes`) reading refuses the message before building it.
    max_items: ClassVar[int] = _avro.MAX_ITEMS
    #: Estimated memory, in bytes, that the decoded Python objects of one message may take.
    max_decoded_bytes: ClassVar[int] = _avro.MAX_DECODED_BYTES

    content: Any
    schema: Any = dataclasses.field(default=None, compare=False)
    single_record: bool = True

    def __post_init__(self) -> None:
        if self.single_record and self._list_of_records():
            # The manual's AvroBlob([record, ...], schema=record_schema): the items are the
            # records (a list cannot be one record of a record schema).
            self.single_record = False
        if not self.single_record and not _is_record_sequence(self.content):
            raise TypeError(self._not_a_sequence())

    def _list_of_records(self) -> bool:
        return isinstance(self.content, (list, tuple)) and _is_record_schema(self.schema)

    def _not_a_sequence(self) -> str:
        return (
            "AvroBlob(single_record=False) needs a sequence of records (a list or tuple), "
            f"not {type(self.content).__name__}"
        )

    def _records(self) -> list[Any]:
        # Checked again here: the fields may have changed since construction.
        if self.single_record and not self._list_of_records():
            return [self.content]
        if not _is_record_sequence(self.content):
            raise TypeError(self._not_a_sequence())
        return list(self.content)

    def serialize(self) -> dict[str, Any]:
        """Encode this model for sending.

        Returns:
            ``{"format": <format_name>, "content": <an Avro container file>}``.

        Raises:
            ValueError: the schema is invalid, a record does not fit it, or (no schema
                given) a value has no Avro counterpart or a dict a key that is not a str
                (that is :class:`~hop.errors.InvalidMessageError`, also a ``TypeError``).
            TypeError: ``single_record`` is False and ``content`` is not a sequence.
        """
        records = self._records()
        schema = self.schema if self.schema is not None else _avro.infer_schema(records)
        return {"format": format_name(self), "content": _avro.write_container(records, schema)}

    @classmethod
    def deserialize(cls, data: bytes, single_record: bool = True) -> AvroBlob:
        """Read an Avro container file.

        Args:
            data: the file's bytes.
            single_record: with ``True`` (the default) a one-record container gives that
                record (and ``single_record=True``), any other number of records their
                list; with ``False``, ``content`` is always the list of records, even of
                one.

        Returns:
            The record (or records) and the schema they were written with.

        Raises:
            DecodeError: the data is not a readable Avro container file, or it would decode
                to more than :attr:`max_items` items or :attr:`max_decoded_bytes` bytes.
        """
        records, schema = _avro.read_container(
            bytes(data), max_items=cls.max_items, max_decoded_bytes=cls.max_decoded_bytes
        )
        if single_record and len(records) == 1:
            return cls(records[0], schema, single_record=True)
        return cls(records, schema, single_record=False)

    @classmethod
    def _from_fields(cls, fields: Any) -> AvroBlob:
        if isinstance(fields, list):
            return cls(fields)
        if isinstance(fields, dict) and isinstance(fields.get("content"), (list, dict)):
            return cls(fields["content"], fields.get("schema"))
        raise DecodeError("an Avro message needs its records")

    @classmethod
    def load(cls, input_: LoadInput, single_record: bool = True) -> AvroBlob:
        """Read an Avro container file.

        Args:
            input_: bytes, or a file object opened in binary mode.
            single_record: as for :meth:`deserialize`: ``False`` gives the list of records
                even when there is one.

        Returns:
            The record (or records) and the file's schema.

        Raises:
            TypeError: ``input_`` is text.
            DecodeError: the data is not a readable Avro container file.
        """
        if isinstance(input_, str):
            raise TypeError("Avro is binary: give bytes or a binary file (or use load_file)")
        return cls.deserialize(_read_bytes(input_), single_record=single_record)

    @classmethod
    def load_file(cls, path: str | os.PathLike[str], single_record: bool = True) -> AvroBlob:
        """Read an Avro container file from disk.

        Args:
            path: the file to read.
            single_record: as for :meth:`deserialize`: ``False`` gives the list of records
                even when there is one.

        Returns:
            The record (or records) and the file's schema.

        Raises:
            OSError: the file cannot be read.
            DecodeError: the file is not a readable Avro container file.
        """
        with open(path, "rb") as file:
            return cls.load(file, single_record=single_record)

    def __str__(self) -> str:
        # Python's own rendering of the content, as hop-client 0.13 prints an AvroBlob.
        return str(self.content)


@dataclass
class ExternalMessage(MessageModel):
    """A message hop-client 0.13 offloaded to an archive (format ``external``).

    0.13 could send, instead of a message too large for the broker, a pointer to where it
    stored it. hop reads such pointers as this model; it neither fetches nor offloads.

    Attributes:
        url: where the message is stored. The body is the JSON object ``{"url": url}``.
    """

    format_name = "external"

    url: str

    def __str__(self) -> str:
        return self.url


def format_name(model: type | object) -> str:
    """The lower-case format label of a model class or instance.

    Args:
        model: a :class:`MessageModel` subclass or instance.

    Returns:
        Its ``format_name`` class attribute, else its class name, in lower case.
    """
    cls = model if isinstance(model, type) else type(model)
    name = getattr(cls, "format_name", None)
    if isinstance(name, str) and name:
        return name.lower()
    return cls.__name__.lower()


# Confluent-framed Avro records (Rubin's alerts); a format of its own module.
from hop._avro_record import AvroRecord  # noqa: E402

# isort: split
# The registry and the per-message codec live in hop._codec; hop.models re-exports them (the
# import sits here, after the formats, because hop._codec needs the formats in turn).
from hop import _codec  # noqa: E402

MAX_LABEL_BYTES = _codec.MAX_LABEL_BYTES
_BUILTIN_NAMES = _codec._BUILTIN_NAMES
_LABELS = _codec._LABELS
_label_text = _codec._label_text
_registry = _codec._registry
decode = _codec.decode
encode = _codec.encode
register_model = _codec.register_model
registered_models = _codec.registered_models
unregister_model = _codec.unregister_model
