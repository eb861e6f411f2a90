"""Message models: the Python objects that travel over Kafka, and the format registry.

Every message has a format label (the ``_format`` header, see ``WIRE.md``) and a body. A
model class knows how to turn itself into a body (``serialize``) and back
(``deserialize``), and how to read itself from a file (``load`` / ``load_file``).
:func:`encode` and :func:`decode` are what the producer and consumer call per message;
:func:`decode` never raises, so a bad message can never break a subscriber's loop.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from hop.errors import DecodeError

__all__ = [
    "Blob",
    "JSONBlob",
    "MessageModel",
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


@dataclass
class MessageModel:
    """Base class of every message model.

    A model is a dataclass. Subclasses may set the class attribute ``format_name`` (the
    label written in the ``_format`` header); without it the label is the class name in
    lower case. By default a model travels as a JSON object of its dataclass fields and is
    rebuilt with ``cls(**fields)``; override :meth:`serialize` / :meth:`deserialize` for
    another body format, and :meth:`load` for another file format.
    """

    format_name: ClassVar[str]

    def serialize(self) -> dict[str, Any]:
        """Encode this model for sending.

        Returns:
            ``{"format": <label>, "content": <body bytes>}``.
        """
        body = json.dumps(dataclasses.asdict(self)).encode("utf-8")
        return {"format": format_name(self), "content": body}

    @classmethod
    def deserialize(cls: type[_M], data: bytes) -> _M:
        """Rebuild a model from a message body written by :meth:`serialize`.

        Args:
            data: the message body.

        Returns:
            The model.

        Raises:
            DecodeError: the body is not what this model writes.
        """
        try:
            fields = json.loads(data)
        except (ValueError, TypeError) as exc:
            raise DecodeError(f"{format_name(cls)} message is not valid JSON: {exc}") from exc
        return cls._from_fields(fields)

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
    def load(cls: type[_M], input_: Any) -> _M:
        """Read a model from text, bytes or a file object.

        The default reads a JSON object of the model's fields.

        Args:
            input_: str, bytes, or a file object (text or binary).

        Returns:
            The model.

        Raises:
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

    format_name: ClassVar[str] = "blob"

    content: bytes

    def serialize(self) -> dict[str, Any]:
        """Encode this model for sending.

        Returns:
            ``{"format": "blob", "content": <the bytes>}``.
        """
        content = self.content
        if not isinstance(content, bytes):
            content = _read_bytes(content)
        return {"format": "blob", "content": content}

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
    def load(cls, input_: Any) -> Blob:
        """Read bytes untouched (str is UTF-8 encoded).

        Args:
            input_: str, bytes, or a file object.

        Returns:
            A Blob of those bytes.
        """
        return cls(_read_bytes(input_))

    def __str__(self) -> str:
        return self.content.decode("utf-8", errors="backslashreplace")


@dataclass
class JSONBlob(MessageModel):
    """Any JSON value: object, array, string, number, boolean or null (format ``json``).

    Attributes:
        content: the decoded JSON value.
    """

    format_name: ClassVar[str] = "json"

    content: Any

    def serialize(self) -> dict[str, Any]:
        """Encode this model for sending.

        Returns:
            ``{"format": "json", "content": json.dumps(content) as UTF-8 bytes}``.
        """
        return {"format": "json", "content": json.dumps(self.content).encode("utf-8")}

    @classmethod
    def deserialize(cls, data: bytes) -> JSONBlob:
        """Parse a JSON message body.

        Args:
            data: the message body.

        Returns:
            The JSONBlob.

        Raises:
            DecodeError: the body is not valid JSON.
        """
        try:
            return cls(json.loads(data))
        except (ValueError, TypeError, RecursionError) as exc:
            raise DecodeError(f"json message is not valid JSON: {exc}") from exc

    @classmethod
    def load(cls, input_: Any) -> JSONBlob:
        """Parse JSON text.

        Args:
            input_: str, bytes, or a file object holding JSON text.

        Returns:
            The JSONBlob.

        Raises:
            DecodeError: the input is not valid JSON.
        """
        return cls.deserialize(_read_bytes(input_))

    @classmethod
    def _from_fields(cls, fields: Any) -> JSONBlob:
        return cls(fields)

    def __str__(self) -> str:
        return json.dumps(self.content)


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


# --- the registry -------------------------------------------------------------------------

_registry: dict[str, type[MessageModel]] = {}
_BUILTIN_NAMES: set[str] = set()


def register_model(name: str, cls: type[MessageModel]) -> None:
    """Make a model known to :func:`decode` under a format label.

    Args:
        name: the format label (stored in lower case).
        cls: the model class.

    Raises:
        TypeError: ``cls`` is not a :class:`MessageModel` subclass.
        ValueError: the label is empty or already taken by another class.
    """
    if not (isinstance(cls, type) and issubclass(cls, MessageModel)):
        raise TypeError(f"a message model must subclass hop.models.MessageModel, not {cls!r}")
    key = name.lower()
    if not key:
        raise ValueError("a format name must not be empty")
    existing = _registry.get(key)
    if existing is not None and existing is not cls:
        raise ValueError(
            f"format {key!r} is already registered to {existing.__module__}.{existing.__qualname__}"
        )
    _registry[key] = cls


def unregister_model(name: str) -> None:
    """Forget a plugin's format label (built-in formats cannot be removed).

    Args:
        name: the format label.

    Raises:
        ValueError: the label belongs to a built-in model.
    """
    key = name.lower()
    if key in _BUILTIN_NAMES:
        raise ValueError(f"format {key!r} is built in and cannot be unregistered")
    _registry.pop(key, None)


def registered_models() -> dict[str, type[MessageModel]]:
    """Every known model, built-in and from plugins.

    Returns:
        A new dict of format label to model class.
    """
    return dict(_registry)


def _register_builtin(cls: type[MessageModel]) -> None:
    name = format_name(cls)
    register_model(name, cls)
    _BUILTIN_NAMES.add(name)


for _builtin in (Blob, JSONBlob):
    _register_builtin(_builtin)


# --- per-message encoding and decoding ----------------------------------------------------

_dumps: Callable[..., str] = json.dumps
_loads: Callable[..., Any] = json.loads
_JSON_TYPES = frozenset({dict, list, str, int, float, bool, type(None)})


def encode(message: object) -> tuple[str, bytes]:
    """Turn whatever a user writes into a format label and a body.

    Args:
        message: a :class:`MessageModel`, ``bytes`` (sent as a blob), or any
            JSON-serializable value (sent as json).

    Returns:
        ``(format label, body bytes)``.

    Raises:
        TypeError: the object is none of those.
    """
    # The common case goes straight to json.dumps: this runs once per message sent.
    if type(message) in _JSON_TYPES:
        try:
            return "json", _dumps(message).encode()
        except (TypeError, ValueError) as exc:
            raise TypeError(f"cannot send {type(message).__name__}: {exc}") from exc
    if isinstance(message, MessageModel):
        serialized = message.serialize()
        return serialized["format"], serialized["content"]
    if isinstance(message, (bytes, bytearray, memoryview)):
        return "blob", bytes(message)
    try:
        return "json", _dumps(message).encode()
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"cannot send a {type(message).__name__}: give a hop.models.MessageModel, "
            "bytes, or a JSON-serializable value"
        ) from exc


_warned_labels: set[str] = set()


def _as_blob(body: bytes, reason: str, label: str | None) -> Blob:
    logger.warning(
        "delivering a %d-byte message as a Blob: it does not decode as %s (%s)",
        len(body),
        repr(label) if label is not None else "a legacy message",
        reason,
    )
    return Blob(bytes(body))


def _decode_legacy(body: bytes) -> MessageModel:
    """The rules for messages without ``_format`` (older clients' JSON envelope)."""
    try:
        value = _loads(body)
    except (ValueError, TypeError, RecursionError):
        return Blob(bytes(body))
    if isinstance(value, dict) and "format" in value and "content" in value:
        label = value["format"]
        content = value["content"]
        if label == "blob":
            # Older clients called JSON content "blob".
            return JSONBlob(content)
        cls = _registry.get(label.lower()) if isinstance(label, str) else None
        if cls is not None:
            try:
                return cls._from_fields(content)
            except Exception as exc:
                return _as_blob(body, f"{type(exc).__name__}: {exc}", None)
    return JSONBlob(value)


def decode(body: bytes | None, format_label: str | None) -> MessageModel:
    """Turn a received body and its ``_format`` label into a model. Never raises.

    Implements every rule of ``WIRE.md``: a known label decodes with its model; an unknown
    label gives a :class:`Blob`; no label means the older clients' rules (JSON envelope,
    plain JSON, else raw bytes). A body that does not decode as its label says is logged
    (logger ``hop.models``) and delivered as a :class:`Blob` of its bytes.

    Args:
        body: the message value (``None`` for an empty message).
        format_label: the ``_format`` header as text, or ``None`` when absent.

    Returns:
        The model.
    """
    # The common case first: this runs once per message received.
    if format_label == "json":
        try:
            return JSONBlob(_loads(body))
        except Exception as exc:
            if body is None:
                return Blob(b"")
            return _as_blob(body, f"{type(exc).__name__}: {exc}", format_label)
    if body is None:
        return Blob(b"")
    try:
        if format_label is None:
            return _decode_legacy(body)
        cls = _registry.get(format_label)
        if cls is None:
            cls = _registry.get(format_label.lower())
        if cls is None:
            if format_label not in _warned_labels:
                _warned_labels.add(format_label)
                logger.warning(
                    "no model for format %r (is a plugin missing?); delivering it as a Blob",
                    format_label,
                )
            return Blob(bytes(body))
        return cls.deserialize(body)
    except Exception as exc:
        return _as_blob(body, f"{type(exc).__name__}: {exc}", format_label)
