"""Opaque and JSON messages: ``Blob``, ``JSONBlob`` and ``ExternalMessage``."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from ._base import LoadInput, MessageModel, _loads_json, _read_bytes, format_name

logger = logging.getLogger("hop.models")


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
