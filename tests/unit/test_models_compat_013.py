"""hop.models against hop-client 0.13's behaviour (issue 19, section 1 and items 15-17).

AvroBlob: a list with a record schema is that many records; ``single_record=False`` when
reading gives the list of records even for one; inference failures are ``ValueError``s; a
non-sequence with ``single_record=False`` fails at construction. JSONBlob and
ExternalMessage: invalid JSON is a ``json.JSONDecodeError`` (and still hop's DecodeError).
"""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path
from typing import Any

import fastavro
import pytest

from hop.errors import DecodeError, HopError
from hop.models import AvroBlob, ExternalMessage, JSONBlob, decode, encode

RECORD_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "alert",
    "fields": [{"name": "priority", "type": "int"}, {"name": "payload", "type": "bytes"}],
}
MANUAL_RECORD = {"priority": 1, "payload": b"\x02Binary data\x03"}


def _records_in(body: bytes) -> list[Any]:
    return list(fastavro.reader(io.BytesIO(body)))


# --- section 1: a list with a record schema is the records ---------------------------------


@pytest.mark.parametrize(
    "schema",
    [RECORD_SCHEMA, fastavro.parse_schema(dict(RECORD_SCHEMA))],
    ids=["dict", "fastavro-parsed"],
)
def test_avro_list_with_a_record_schema_is_the_records(schema: Any) -> None:
    blob = AvroBlob([MANUAL_RECORD], schema=schema)
    assert blob.single_record is False  # the layout it is written in
    assert _records_in(bytes(blob)) == [MANUAL_RECORD]
    two = [MANUAL_RECORD, {"priority": 2, "payload": b""}]
    assert _records_in(bytes(AvroBlob(tuple(two), schema))) == two


def test_avro_list_with_a_record_schema_loaded_by_fastavro(tmp_path: Path) -> None:
    path = tmp_path / "alert.avsc"
    path.write_text(json.dumps(RECORD_SCHEMA))
    schema = fastavro.schema.load_schema(str(path))
    received = decode(encode(AvroBlob([MANUAL_RECORD], schema=schema))[1], "avro")
    assert isinstance(received, AvroBlob)
    assert received.content == MANUAL_RECORD


def test_avro_list_with_an_array_schema_stays_one_datum() -> None:
    schema = {"type": "array", "items": RECORD_SCHEMA}
    blob = AvroBlob([MANUAL_RECORD, MANUAL_RECORD], schema=schema)
    assert blob.single_record is True
    assert _records_in(bytes(blob)) == [[MANUAL_RECORD, MANUAL_RECORD]]


def test_avro_dict_with_a_record_schema_stays_one_record() -> None:
    blob = AvroBlob(MANUAL_RECORD, schema=RECORD_SCHEMA)
    assert blob.single_record is True
    assert _records_in(bytes(blob)) == [MANUAL_RECORD]


# --- item 15: single_record when reading ---------------------------------------------------


def _one_record_body() -> bytes:
    return bytes(AvroBlob({"a": 1}))


def test_avro_deserialize_single_record_false_gives_the_list() -> None:
    blob = AvroBlob.deserialize(_one_record_body(), single_record=False)
    assert (blob.content, blob.single_record) == ([{"a": 1}], False)
    default = AvroBlob.deserialize(_one_record_body())
    assert (default.content, default.single_record) == ({"a": 1}, True)
    several = bytes(AvroBlob([{"a": 1}, {"a": 2}], single_record=False))
    assert AvroBlob.deserialize(several, single_record=False).content == [{"a": 1}, {"a": 2}]
    empty = bytes(AvroBlob([], RECORD_SCHEMA, single_record=False))
    assert AvroBlob.deserialize(empty, single_record=False).content == []


def test_avro_load_single_record_false_gives_the_list() -> None:
    body = _one_record_body()
    assert AvroBlob.load(body, single_record=False).content == [{"a": 1}]
    assert AvroBlob.load(io.BytesIO(body), single_record=False).content == [{"a": 1}]
    assert AvroBlob.load(body, single_record=True).content == {"a": 1}


def test_avro_load_file_single_record_false_gives_the_list(tmp_path: Path) -> None:
    path = tmp_path / "one.avro"
    path.write_bytes(_one_record_body())
    blob = AvroBlob.load_file(path, single_record=False)
    assert (blob.content, blob.single_record) == ([{"a": 1}], False)
    assert AvroBlob.load_file(path).content == {"a": 1}


# --- item 16: inference failures, and a non-sequence of records ------------------------------


def test_avro_inference_non_string_keys_is_value_error() -> None:
    with pytest.raises(ValueError, match="keys must be str"):
        bytes(AvroBlob({1: "a"}))


@pytest.mark.parametrize("value", [object(), datetime.date(2024, 1, 1), {1, 2}])
def test_avro_inference_value_without_avro_type_is_value_error(value: Any) -> None:
    with pytest.raises(ValueError, match=type(value).__name__):
        bytes(AvroBlob({"a": value}))
    with pytest.raises(ValueError, match=type(value).__name__):
        encode(AvroBlob([{"a": value}], single_record=False))


@pytest.mark.parametrize("content", [{"a": 1}, "abc", b"abc", 5, None, (x for x in [1])])
def test_avro_single_record_false_needs_a_sequence_at_construction(content: Any) -> None:
    with pytest.raises(TypeError, match=type(content).__name__):
        AvroBlob(content, single_record=False)


def test_avro_single_record_false_accepts_lists_and_tuples() -> None:
    assert AvroBlob([{"a": 1}], single_record=False).content == [{"a": 1}]
    assert AvroBlob(({"a": 1},), single_record=False).content == ({"a": 1},)


# --- item 17: invalid JSON is json.JSONDecodeError -----------------------------------------


@pytest.mark.parametrize("model", [JSONBlob, ExternalMessage])
@pytest.mark.parametrize("text", ["{not json", "", '{"url": "x"} trailing', b"\xff\xfe{"])
def test_invalid_json_is_json_decode_error(model: Any, text: str | bytes) -> None:
    with pytest.raises(json.JSONDecodeError) as caught:
        model.load(text)
    assert isinstance(caught.value, DecodeError) and isinstance(caught.value, HopError)
    with pytest.raises(json.JSONDecodeError):
        model.load(io.BytesIO(text if isinstance(text, bytes) else text.encode()))


def test_json_decode_error_keeps_the_position() -> None:
    with pytest.raises(json.JSONDecodeError) as caught:
        JSONBlob.load('{"a": 1,, }')
    assert (caught.value.lineno, caught.value.colno, caught.value.pos) == (1, 9, 8)
    assert "JSON" in str(caught.value)


def test_invalid_json_message_still_decodes_to_a_blob() -> None:
    received = decode(b"{not json", "json")
    assert type(received).__name__ == "Blob"
