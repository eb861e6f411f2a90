"""The base of every message model: ``MessageModel``, what ``load`` reads
(``LoadInput``), reading bytes and text from it, and ``format_name``."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, ClassVar, TypeAlias, TypeVar

from hop.errors import DecodeError, JSONDecodeError

logger = logging.getLogger("hop.models")

#: What a model's ``load`` reads: text, bytes, or a file object open in text or binary mode.
LoadInput: TypeAlias = str | bytes | bytearray | memoryview | IO[str] | IO[bytes]

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
