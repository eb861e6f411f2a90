"""``AvroRecord``: one Avro record in the Confluent wire format (Rubin's alerts and every
stream written with a schema registry).

The body is byte 0 ``0x00`` (the magic byte), bytes 1-4 the schema id (big-endian,
unsigned), then one Avro datum written without a container. The writer schema comes from
:mod:`hop.models._schema_registry`. Decoding is bounded as for ``AvroBlob``: a message that would
decode to more than :attr:`AvroRecord.max_items` items or an estimated
:attr:`AvroRecord.max_decoded_bytes` bytes is refused before anything is built (small
messages are let through at once when the schema's cost per byte shows that they cannot
reach the limits; others are stepped over first, as AvroBlob's containers are).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import io
import json
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any, ClassVar

import fastavro
import fastavro.validation

from hop.errors import DecodeError, InvalidMessageError

# hop's private modules, in one place.
from . import _avro_bounds, _avro_io, _schema_registry
from ._base import MessageModel, format_name
from ._blob import Blob

__all__ = ["AvroRecord"]

logger = logging.getLogger("hop.models")

MAGIC = b"\x00"
#: Bytes before the Avro datum: the magic byte and the schema id.
PREFIX_BYTES = 5
#: The largest schema id (unsigned 32 bits).
MAX_SCHEMA_ID = 2**32 - 1

_SchemaSources = _schema_registry.SchemaSources


def _frame(schema_id: int) -> bytes:
    return MAGIC + schema_id.to_bytes(4, "big")


# Parsed schemas for writing, by their JSON text: writing many records with one schema
# parses it once. Bounded.
_parsed_for_writing: dict[str, Any] = {}
_parsed_lock = threading.Lock()


def _parsed(schema: Any) -> Any:
    try:
        key = json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not a valid Avro schema: {exc}") from exc
    found = _parsed_for_writing.get(key)
    if found is None:
        try:
            found = fastavro.parse_schema(schema)
        except Exception as exc:
            raise ValueError(f"not a valid Avro schema: {exc}") from exc
        with _parsed_lock:
            if len(_parsed_for_writing) >= 64:
                _parsed_for_writing.clear()
            _parsed_for_writing[key] = found
    return found


def _json_value(value: Any, full_bytes: bool, path: str, encoded: list[str]) -> Any:
    """``value`` with bytes shown as ``"<N bytes>"`` (or base64, their paths noted), times
    and dates in ISO 8601, and other non-JSON values (Decimal, UUID) as text."""
    if isinstance(value, dict):
        return {
            key: _json_value(item, full_bytes, f"{path}.{key}", encoded)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [
            _json_value(item, full_bytes, f"{path}[{index}]", encoded)
            for index, item in enumerate(value)
        ]
    if isinstance(value, bytes | bytearray):
        if full_bytes:
            encoded.append(path)
            return base64.b64encode(bytes(value)).decode("ascii")
        return f"<{len(value)} bytes>"
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


@dataclass
class AvroRecord(MessageModel):
    """One Avro record in the Confluent wire format, as Rubin sends its alerts
    (format ``avrorecord``).

    Attributes:
        content: the record (a dict, as fastavro decodes it).
        schema: the writer schema in its JSON form (a dict). When sending, None means
            "look the id up" (in the sources ``hop.models.decode`` uses). Equality
            ignores it.
        schema_id: the schema's id (0 to 2**32 - 1), as a schema registry numbers it;
            Rubin's are ``major*100 + minor`` of its alert schema version.

    ``bytes(record)`` is the framed wire form, ``str(record)`` the record as one line of
    JSON (bytes fields, such as image cutouts, shown as ``"<N bytes>"``).
    """

    format_name = "avrorecord"
    #: Items (the record, array items, map entries) one message may decode to.
    max_items: ClassVar[int] = _avro_bounds.MAX_ITEMS
    #: Estimated memory, in bytes, the decoded Python objects of one message may take.
    max_decoded_bytes: ClassVar[int] = _avro_bounds.MAX_DECODED_BYTES

    content: Any
    schema: Any = dataclasses.field(default=None, compare=False)
    schema_id: int = 0

    def __post_init__(self) -> None:
        if (
            isinstance(self.schema_id, bool)
            or not isinstance(self.schema_id, int)
            or not 0 <= self.schema_id <= MAX_SCHEMA_ID
        ):
            raise InvalidMessageError(
                f"schema_id must be an int from 0 to {MAX_SCHEMA_ID}, not {self.schema_id!r}"
            )

    # -- writing -------------------------------------------------------------------------

    def _writer_schema(self) -> Any:
        if self.schema is not None:
            return self.schema
        found = _schema_registry.default_sources().lookup(self.schema_id)
        if found is None:
            raise InvalidMessageError(
                f"AvroRecord has no schema and none was found for id {self.schema_id}: give "
                "schema=..."
            )
        return found.schema

    def serialize(self) -> dict[str, Any]:
        """Encode this record for sending.

        Returns:
            ``{"format": "avrorecord", "content": <the framed record>}``.

        Raises:
            ValueError: the schema is not a valid Avro schema, or the record does not fit
                it (an :class:`~hop.errors.InvalidMessageError`, also a ``TypeError``, when
                there is no schema at all).
        """
        parsed = _parsed(self._writer_schema())
        try:
            fastavro.validation.validate(self.content, parsed, raise_errors=True)
        except fastavro.validation.ValidationError as exc:
            raise ValueError(f"the record does not fit the Avro schema: {exc}") from exc
        out = io.BytesIO()
        out.write(_frame(self.schema_id))
        try:
            fastavro.schemaless_writer(out, parsed, self.content)
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            raise ValueError(f"the record does not fit the Avro schema: {exc}") from exc
        return {"format": format_name(self), "content": out.getvalue()}

    def to_container(self) -> bytes:
        """The record as a one-record Avro Object Container File (what ``hop subscribe
        --save`` writes, and fastavro, ``AvroBlob`` and Rubin's tools read).

        Raises:
            ValueError: as :meth:`serialize`.
        """
        return _avro_io.write_container([self.content], self._writer_schema())

    # -- reading -------------------------------------------------------------------------

    @classmethod
    def deserialize(cls, data: bytes, schemas: _SchemaSources | None = None) -> AvroRecord:
        """Decode a framed record.

        Args:
            data: the message body.
            schemas: where to find schemas; the configured registry and lsst-alert-packet
                when None.

        Returns:
            The record, its schema and id.

        Raises:
            DecodeError: not a framed record, no schema for its id, the data does not fit
                the schema, or it would decode to more than the limits allow.
        """
        body = bytes(data)
        if len(body) < PREFIX_BYTES or body[:1] != MAGIC:
            raise DecodeError(
                "not a Confluent-framed Avro record (byte 0x00, a 4-byte schema id, the record)"
            )
        sources = schemas if schemas is not None else _schema_registry.default_sources()
        schema_id = int.from_bytes(body[1:PREFIX_BYTES], "big")
        found = sources.lookup(schema_id)
        if found is None:
            raise DecodeError(
                f"no schema for id {schema_id} (looked in: {sources.describe()}): "
                + _schema_registry.HOW_TO_SUPPLY
            )
        return cls._decode(body, found)

    @classmethod
    def _decode(cls, body: bytes, found: _schema_registry.WriterSchema) -> AvroRecord:
        cls._check_bounds(body, found)
        stream = io.BytesIO(body)
        stream.seek(PREFIX_BYTES)
        try:
            record = fastavro.schemaless_reader(stream, found.parsed, None)
        except RecursionError:
            raise DecodeError("Avro message refused: its values are nested too deeply") from None
        except Exception as exc:
            raise DecodeError(
                f"the data does not fit schema id {found.schema_id}: {type(exc).__name__}: {exc}"
            ) from exc
        if stream.tell() != len(body):
            raise DecodeError(
                f"the data does not fit schema id {found.schema_id}: "
                f"{len(body) - stream.tell()} bytes left over after the record"
            )
        return cls(record, found.schema, found.schema_id)

    @classmethod
    def _check_bounds(cls, body: bytes, found: _schema_registry.WriterSchema) -> None:
        """Refuse a body that would decode to more than the limits allow, before decoding."""
        size = len(body)
        max_items, max_bytes = cls.max_items, cls.max_decoded_bytes
        # Every item takes at least one byte, and costs at most ``ratio`` per byte (plus
        # 4 bytes per byte of text): a small message cannot reach the limits.
        if found.ratio is not None and size <= max_items and size * (found.ratio + 4) <= max_bytes:
            return
        try:
            walker, (step, fixed, least) = _avro_bounds._walker_for(
                found.text, found.schema, max_items, max_bytes
            )
            walker.reserve(1, _avro_bounds._SLOT + least)
            walker.size += _avro_bounds._SLOT + fixed
            end = PREFIX_BYTES if step is None else step(body, PREFIX_BYTES)
            if end > size:
                raise DecodeError(f"the data does not fit schema id {found.schema_id}: truncated")
            walker.check()
        except _avro_bounds._TooBig as exc:
            raise DecodeError(
                f"Avro message refused: it would decode to {exc} (limits: {max_items:,} items, "
                f"an estimated {max_bytes:,} bytes)"
            ) from None
        except IndexError:
            raise DecodeError(
                f"the data does not fit schema id {found.schema_id}: truncated"
            ) from None
        except RecursionError:
            raise DecodeError("Avro message refused: its values are nested too deeply") from None

    @classmethod
    def _from_framed(cls, body: bytes, schemas: _SchemaSources | None) -> MessageModel | None:
        """A header-less message that starts like a framed record: the record, a Blob (with
        a warning) when it breaks the limits or does not fit its schema, or None when no
        schema for its id can be found (the caller goes on with the other rules, and
        :meth:`_missed` warns if nothing else fits). Never raises."""
        sources = schemas if schemas is not None else _schema_registry.default_sources()
        schema_id = int.from_bytes(body[1:PREFIX_BYTES], "big")
        found = sources.lookup(schema_id)
        if found is None:
            return None
        try:
            return cls._decode(bytes(body), found)
        except Exception as exc:
            logger.warning(
                "delivering a %d-byte message as a Blob: it does not decode as an Avro record "
                "of schema id %d (%s)",
                len(body),
                schema_id,
                exc,
            )
            return Blob(bytes(body))

    @staticmethod
    def _missed(body: bytes, schemas: _SchemaSources | None) -> None:
        """Warn, once per id per reader, that a framed-looking message had no schema."""
        sources = schemas if schemas is not None else _schema_registry.default_sources()
        sources.missing(int.from_bytes(body[1:PREFIX_BYTES], "big"))

    @classmethod
    def _from_fields(cls, fields: Any) -> AvroRecord:
        raise DecodeError("an Avro record travels framed, never in a JSON envelope")

    @classmethod
    def load(cls, input_: Any, schemas: _SchemaSources | None = None) -> AvroRecord:
        """Read a framed record (bytes, or a binary file object).

        Raises:
            TypeError: ``input_`` is text.
            DecodeError: as :meth:`deserialize`.
        """
        if isinstance(input_, str):
            raise TypeError("a framed Avro record is binary: give bytes or a binary file")
        data = input_.read() if callable(getattr(input_, "read", None)) else input_
        return cls.deserialize(bytes(data), schemas)

    @classmethod
    def load_file(
        cls, path: str | os.PathLike[str], schemas: _SchemaSources | None = None
    ) -> AvroRecord:
        """Read a framed record from a file.

        Raises:
            OSError: the file cannot be read.
            DecodeError: as :meth:`deserialize`.
        """
        with open(path, "rb") as file:
            return cls.load(file, schemas)

    # -- showing -------------------------------------------------------------------------

    def json_content(self, full_bytes: bool = False) -> tuple[Any, list[str]]:
        """The record as JSON can hold it, and the paths of the fields given in base64.

        Args:
            full_bytes: bytes fields (Rubin's FITS cutouts) in base64, their paths
                (``content.cutoutScience``) listed; by default ``"<N bytes>"``.

        Returns:
            ``(value, base64 paths)``. NaN and infinities stay floats.
        """
        encoded: list[str] = []
        return _json_value(self.content, full_bytes, "content", encoded), encoded

    def __str__(self) -> str:
        return json.dumps(self.json_content()[0])
