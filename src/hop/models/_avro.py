"""Avro containers as a model (``AvroBlob``); the container reading, writing and schema
inference are in ``_avro_io``, the memory bounds in ``_avro_bounds``."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from hop.errors import DecodeError

from . import _avro_io
from ._base import LoadInput, MessageModel, _read_bytes, format_name

logger = logging.getLogger("hop.models")


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
    max_items: ClassVar[int] = _avro_io.MAX_ITEMS
    #: Estimated memory, in bytes, that the decoded Python objects of one message may take.
    max_decoded_bytes: ClassVar[int] = _avro_io.MAX_DECODED_BYTES

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
        schema = self.schema if self.schema is not None else _avro_io.infer_schema(records)
        return {"format": format_name(self), "content": _avro_io.write_container(records, schema)}

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
        records, schema = _avro_io.read_container(
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
