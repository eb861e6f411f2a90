"""Unit tests of the structured models: VOEvent, GCNCircular, GCNTextNotice, AvroBlob."""

from __future__ import annotations

import bz2
import io
import json
import logging
import time
import tracemalloc
from pathlib import Path
from typing import Any

import fastavro
import pytest

from hop.errors import DecodeError, UnsafeXMLError
from hop.io._deserializer import Deserializer
from hop.models import (
    AvroBlob,
    Blob,
    GCNCircular,
    GCNTextNotice,
    JSONBlob,
    MessageModel,
    VOEvent,
    _avro_bounds,
    _avro_io,
    decode,
    encode,
    registered_models,
)
from tests.support.alert_checks import alert_files, check_alert_file
from tests.support.make_example_avro import RECORDS, SCHEMA, container
from tests.support.paths import DATA

VOEVENT_XML = DATA / "example_voevent.xml"
CIRCULAR = DATA / "example.gcn3"
OLD_CIRCULAR = DATA / "example_gcn_old.gcn3"
NOTICE = DATA / "example_gcn_notice.txt"
AVRO = DATA / "example_avro.avro"
LEGACY = DATA / "example_legacy.json"


def round_trip(model: MessageModel) -> MessageModel:
    label, body = encode(model)
    return decode(body, label)


def test_every_builtin_format_is_registered_and_in_the_deserializer() -> None:
    expected = {
        "blob": Blob,
        "json": JSONBlob,
        "voevent": VOEvent,
        "circular": GCNCircular,
        "gcntextnotice": GCNTextNotice,
        "avro": AvroBlob,
    }
    known = registered_models()
    for name, cls in expected.items():
        assert known[name] is cls
        assert Deserializer[name.upper()].value is cls
    assert Deserializer.VOEVENT.load_file(VOEVENT_XML) == VOEvent.load_file(VOEVENT_XML)
    assert Deserializer.JSON.load("[1]") == JSONBlob([1])


def test_the_data_holds_every_kind_of_alert() -> None:
    kinds = [type(check_alert_file(path)) for path in alert_files(DATA)]
    assert set(kinds) == {VOEvent, GCNCircular, GCNTextNotice, AvroBlob}
    assert LEGACY in alert_files(DATA)


@pytest.mark.parametrize("path", alert_files(DATA), ids=lambda path: path.name)
def test_every_data_file_loads_and_round_trips(path: Path) -> None:
    check_alert_file(path)


# --- VOEvent --------------------------------------------------------------------------------


def test_voevent_fields_from_xml() -> None:
    event = VOEvent.load_file(VOEVENT_XML)
    assert event.ivorn == "ivo://hopsworth.example/transients#HT2025vzq-2"
    assert event.role == "observation"
    assert event.version == "2.0"
    assert event.Who["Date"] == "2025-11-04T23:05:12"
    assert event.Who["Author"]["contactName"] == "Ines Alvarado"
    params = {p["name"]: p["value"] for p in event.What["Param"]}
    assert params["TransientName"] == "HT2025vzq"
    assert params["Classification"] == "GRB afterglow candidate"
    groups = {g["name"]: g for g in event.What["Group"]}
    assert set(groups) == {"Photometry", "Association"}
    photometry = {p["name"]: p for p in groups["Photometry"]["Param"]}
    assert photometry["Magnitude"]["value"] == "19.62"
    assert photometry["Magnitude"]["unit"] == "mag"
    coords = event.WhereWhen["ObsDataLocation"]["ObservationLocation"]["AstroCoords"]
    assert coords["Time"]["TimeInstant"]["ISOTime"] == "2025-11-04T21:58:31.40"
    assert coords["Position2D"]["Value2"] == {"C1": "64.46796", "C2": "21.11247"}
    assert coords["Position2D"]["Error2Radius"] == "0.00011"
    assert event.How["Description"].startswith("Hopsworth 1.2m telescope")
    assert event.Why["importance"] == "0.8"
    assert event.Citations["EventIVORN"]["cite"] == "supersedes"


def test_voevent_sends_the_original_bytes() -> None:
    raw = VOEVENT_XML.read_bytes()
    label, body = encode(VOEvent.load_file(VOEVENT_XML))
    assert (label, body) == ("voevent", raw)


def test_voevent_load_accepts_str_bytes_files_and_chunks() -> None:
    raw = VOEVENT_XML.read_bytes()
    expected = VOEvent.load(raw)
    assert VOEvent.load(raw.decode()) == expected
    assert VOEvent.load(io.BytesIO(raw)) == expected
    assert VOEvent.load(io.StringIO(raw.decode())) == expected
    chunks = (raw[i : i + 100] for i in range(0, len(raw), 100))
    from_chunks = VOEvent.load(chunks)
    assert from_chunks == expected
    assert encode(from_chunks)[1] == raw


def test_voevent_changed_after_loading_sends_its_fields() -> None:
    event = VOEvent.load_file(VOEVENT_XML)
    event.role = "test"
    label, body = encode(event)
    assert body != VOEVENT_XML.read_bytes()
    received = decode(body, label)
    assert received == event
    assert isinstance(received, VOEvent) and received.role == "test"


def test_voevent_built_from_fields_round_trips() -> None:
    event = VOEvent(
        ivorn="ivo://example/test#1",
        role="test",
        Who={"Date": "2024-01-01T00:00:00", "Author": {"contactName": "Someone"}},
        What={"Param": [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}]},
        Description="a test event",
    )
    label, body = encode(event)
    assert body.startswith(b"<?xml")
    assert decode(body, label) == event


def test_voevent_str_is_json_of_the_fields() -> None:
    event = VOEvent.load_file(VOEVENT_XML)
    shown = json.loads(str(event))
    assert shown["ivorn"] == event.ivorn
    assert shown["Who"] == event.Who
    assert "_xml" not in shown


def test_voevent_older_json_form_is_accepted() -> None:
    event = VOEvent.load_file(VOEVENT_XML)
    fields = json.loads(str(event))
    assert decode(json.dumps(fields).encode(), "voevent") == event
    assert VOEvent.load(json.dumps(fields)) == event
    legacy = json.dumps({"format": "voevent", "content": fields}).encode()
    assert decode(legacy, None) == event


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" ivorn="ivo://x#1"
 role="observation" version="2.0"><Who><Date>&lol9;</Date></Who></voe:VOEvent>
"""


def test_billion_laughs_is_refused_before_expanding(tmp_path: Path) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(UnsafeXMLError, match="lol"):
            VOEvent.load(BILLION_LAUGHS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024  # expanded, the document would be gigabytes
    bomb = tmp_path / "bomb.xml"
    bomb.write_bytes(BILLION_LAUGHS)
    with pytest.raises(UnsafeXMLError):
        VOEvent.load_file(bomb)


def test_external_entity_is_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xml = (
        f'<?xml version="1.0"?><!DOCTYPE v [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        '<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" ivorn="ivo://x#1">'
        "<Who><Date>&xxe;</Date></Who></voe:VOEvent>"
    )
    with pytest.raises(UnsafeXMLError, match="xxe") as info:
        VOEvent.load(xml)
    assert "TOP-SECRET" not in str(info.value)


def test_parameter_entity_is_refused() -> None:
    xml = (
        b'<?xml version="1.0"?><!DOCTYPE v [<!ENTITY % pe SYSTEM "http://127.0.0.1:9/x.dtd">'
        b' %pe;]><VOEvent ivorn="ivo://x#1"/>'
    )
    with pytest.raises(UnsafeXMLError):
        VOEvent.load(xml)


def test_unsafe_xml_is_a_decode_error_subclass() -> None:
    assert issubclass(UnsafeXMLError, DecodeError)
    assert issubclass(DecodeError, ValueError)


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (b"<voe:VOEvent ivorn='x'><Who></voe:VOEvent>", "not well-formed"),
        (b"", "not well-formed"),
        (b"not xml at all", "not well-formed"),
        (b"<html><body>hi</body></html>", "root element is <html>"),
        (b"<VOEvent role='test'><Who/></VOEvent>", "no ivorn"),
        (b"<VOEvent>text only</VOEvent>", "no ivorn"),
    ],
)
def test_bad_voevent_xml_is_a_clear_decode_error(xml: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message) as info:
        VOEvent.load(xml)
    assert not isinstance(info.value, UnsafeXMLError)


def test_deeply_nested_voevent_is_a_clear_decode_error() -> None:
    depth = 50_000
    xml = (
        b'<VOEvent ivorn="ivo://x#1"><Who>' + b"<a>" * depth + b"</a>" * depth + b"</Who></VOEvent>"
    )
    with pytest.raises(DecodeError, match="nested too deeply"):
        VOEvent.load(xml)
    assert decode(xml, "voevent") == Blob(xml)


def test_bad_json_voevent_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="ivorn"):
        VOEvent.deserialize(b'{"role": "test"}')
    with pytest.raises(DecodeError, match="JSON"):
        VOEvent.deserialize(b"{broken")


def test_hostile_voevent_message_becomes_a_blob(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hop.models"):
        assert decode(BILLION_LAUGHS, "voevent") == Blob(BILLION_LAUGHS)
    assert "refused for safety" in caplog.text


# --- GCNCircular ----------------------------------------------------------------------------


def test_circular_load_parses_header_and_body() -> None:
    circular = GCNCircular.load_file(CIRCULAR)
    assert circular.header == {
        "title": "GCN CIRCULAR",
        "number": "41873",
        "subject": "GRB 251104A: Optical afterglow candidate from the Hopsworth 1.2m telescope",
        "date": "25/11/04 22:41:07 GMT",
        "from": "Ines Alvarado at Hopsworth Observatory  <i.alvarado@hopsworth.example.org>",
    }
    assert circular.body.startswith("I. Alvarado, K. Brennan and T. Okafor")
    assert circular.body.endswith("planned for the coming nights.\n")


def test_old_circular_keeps_its_blank_line_and_table() -> None:
    circular = GCNCircular.load_file(OLD_CIRCULAR)
    assert circular.header["title"] == "GCN GRB OBSERVATION REPORT"
    assert circular.header["number"] == "112"
    assert "RR-2       260 +/- 41      271 +/- 37" in circular.body


@pytest.mark.parametrize("path", [CIRCULAR, OLD_CIRCULAR])
def test_circular_str_renders_the_text_back(path: Path) -> None:
    text = path.read_text()
    circular = GCNCircular.load(text)
    assert str(circular) == text
    assert GCNCircular.load(str(circular)) == circular


def test_circular_wire_body_is_json_header_and_body() -> None:
    circular = GCNCircular.load_file(CIRCULAR)
    label, body = encode(circular)
    assert label == "circular"
    assert json.loads(body) == {"header": circular.header, "body": circular.body}


def test_circular_header_names_are_lower_cased_and_folded_lines_joined() -> None:
    circular = GCNCircular.load("Title: X\nSUBJECT: a long\n   subject line\n\nbody\n")
    assert circular.header == {"title": "X", "subject": "a long subject line"}
    assert circular.body == "body\n"


def test_circular_crlf_and_no_body() -> None:
    assert GCNCircular.load(b"TITLE: T\r\nNUMBER: 1\r\n\r\nhi") == GCNCircular(
        {"title": "T", "number": "1"}, "hi"
    )
    assert GCNCircular.load("TITLE: only\n") == GCNCircular({"title": "only"}, "")


@pytest.mark.parametrize("text", ["no header here\n\nbody", "\n\nbody", " indented: x\n\nb"])
def test_text_without_a_header_is_not_a_circular(text: str) -> None:
    with pytest.raises(DecodeError, match="not a GCN circular"):
        GCNCircular.load(text)


@pytest.mark.parametrize(
    "body", [b"[]", b'{"header": "x", "body": "y"}', b'{"header": {}}', b"not json"]
)
def test_malformed_circular_messages_become_blobs(body: bytes) -> None:
    with pytest.raises(DecodeError):
        GCNCircular.deserialize(body)
    assert decode(body, "circular") == Blob(body)


def test_legacy_envelope_file_is_a_circular() -> None:
    circular = decode(LEGACY.read_bytes(), None)
    assert isinstance(circular, GCNCircular)
    assert circular.header["number"] == "41880"
    assert circular.body.startswith("K. Brennan and I. Alvarado")


def test_legacy_circular_envelope() -> None:
    circular = GCNCircular.load_file(CIRCULAR)
    content = {"header": circular.header, "body": circular.body}
    body = json.dumps({"format": "circular", "content": content}).encode()
    assert decode(body, None) == circular


# --- GCNTextNotice --------------------------------------------------------------------------


def test_notice_fields() -> None:
    notice = GCNTextNotice.load_file(NOTICE)
    assert notice.raw == NOTICE.read_bytes()
    assert notice.fields["title"] == "GCN/SWIFT NOTICE"
    assert notice.fields["notice_type"] == "Swift-BAT GRB Position"
    assert notice.fields["trigger_num"] == "1298734,   Seg_Num: 0"
    assert notice.fields["grb_ra"].split("\n") == [
        "64.4680d {+04h 17m 52s} (J2000),",
        "64.8313d {+04h 19m 19s} (current),",
        "63.7214d {+04h 14m 53s} (1950)",
    ]
    assert notice.fields["comments"].split("\n") == [
        "SWIFT-BAT GRB Coordinates.",
        "This is a rate trigger.",
        "A point_source was found.",
        "This does not match any source in the on-board catalog.",
        "This does not match any source in the ground catalog.",
    ]
    assert str(notice) == notice.raw.decode()


def test_notice_built_from_its_text_has_fields_and_round_trips() -> None:
    text = NOTICE.read_text()
    notice = GCNTextNotice(text.encode())
    assert notice == GCNTextNotice.load(text)
    assert notice.fields["notice_type"] == "Swift-BAT GRB Position"
    assert round_trip(notice) == notice
    assert GCNTextNotice(b"KEY: v", {"key": "given"}).fields == {"key": "given"}
    not_a_notice = GCNTextNotice(b"  no key here")
    assert not_a_notice.fields == {}
    assert round_trip(not_a_notice) == Blob(b"  no key here")


def test_notice_sends_its_raw_text() -> None:
    notice = GCNTextNotice.load_file(NOTICE)
    assert encode(notice) == ("gcntextnotice", NOTICE.read_bytes())


@pytest.mark.parametrize("text", ["", "   continuation first\nKEY: v", "\n\n"])
def test_text_that_is_not_a_notice(text: str) -> None:
    with pytest.raises(DecodeError, match="not a GCN text notice"):
        GCNTextNotice.load(text)


def test_non_utf8_notice_message_becomes_blob() -> None:
    with pytest.raises(DecodeError, match="UTF-8"):
        GCNTextNotice.deserialize(b"KEY: \xff")
    assert decode(b"KEY: \xff", "gcntextnotice") == Blob(b"KEY: \xff")


# --- AvroBlob -------------------------------------------------------------------------------


def test_avro_file_loads_records_and_schema() -> None:
    blob = AvroBlob.load_file(AVRO)
    assert blob.single_record is False  # three records: read as their list
    assert blob.content == RECORDS
    assert blob.schema is not None
    assert blob.schema["type"] == "record"
    assert blob.schema["name"] == "org.example.hopsworth.Alert"
    assert [f["name"] for f in blob.schema["fields"]] == [f["name"] for f in SCHEMA["fields"]]
    assert AVRO.read_bytes() == container()  # the committed file is what the script writes
    with pytest.raises(TypeError, match="binary"):
        AvroBlob.load("text")


def test_avro_single_record_is_one_datum() -> None:
    blob = AvroBlob({"a": 1})
    assert blob.content == {"a": 1} and blob.single_record is True
    received = round_trip(blob)
    assert isinstance(received, AvroBlob)
    assert received.content == {"a": 1} and received.single_record is True


@pytest.mark.parametrize(
    "records",
    [
        [{"a": 1, "b": "x", "c": None, "d": 1.5, "e": True, "f": b"\x00"}],
        [{"n": {"deep": {"er": [1, 2]}}, "l": [[1], [], [2, 3]]}],
        [{"a": 1}, {"a": None}, {"a": "s"}, {"a": 2.5}, {"a": False}],
        [{"a": 1}, {"b": 2}],  # different keys: inferred as a map, nothing added
        [{"x": {"p": 1}}, {"x": {"q": "s"}}, {"x": None}],
        [{"bad-name": 1, "@attr": "v"}],
        [{"lst": []}, {"lst": [1]}, {"lst": ["a", None]}],
        [{"mixed": [1, "a", None, {"k": 1}, [1]]}],
        [],
    ],
)
def test_avro_inferred_schema_round_trips(records: list[Any]) -> None:
    blob = AvroBlob(records)
    received = round_trip(blob)
    assert isinstance(received, AvroBlob)
    assert received == blob
    assert received.content == records
    assert received.schema is not None


def test_avro_with_user_schema_round_trips_schema_and_records() -> None:
    schema = {
        "type": "record",
        "name": "Alert",
        "namespace": "org.example",
        "fields": [
            {"name": "id", "type": "string"},
            {"name": "mag", "type": "float"},
            {"name": "note", "type": ["null", "string"], "default": None},
        ],
    }
    records = [{"id": "a", "mag": 1.5, "note": None}, {"id": "b", "mag": 2.25, "note": "hi"}]
    received = round_trip(AvroBlob(records, schema, single_record=False))
    assert isinstance(received, AvroBlob)
    assert received.content == records
    assert received.single_record is False
    assert received.schema == schema


def test_avro_record_not_fitting_schema_is_value_error() -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "a", "type": "long"}]}
    with pytest.raises(ValueError, match="does not fit"):
        encode(AvroBlob([{"a": "not a number"}], schema))
    with pytest.raises(ValueError, match="not a valid Avro schema"):
        encode(AvroBlob([{"a": 1}], {"type": "nonsense"}))


def test_avro_values_without_avro_type_are_type_error() -> None:
    with pytest.raises(TypeError, match="object"):
        encode(AvroBlob([{"a": object()}]))
    with pytest.raises(TypeError, match="keys must be str"):
        encode(AvroBlob([{1: 1}]))


def test_corrupt_avro_message_becomes_blob(caplog: pytest.LogCaptureFixture) -> None:
    good = encode(AvroBlob([{"a": 1}]))[1]
    for body in (b"Obj\x01garbage", good[:-3], b"", b"\x00" * 10):
        with caplog.at_level(logging.WARNING, logger="hop.models"):
            assert decode(body, "avro") == Blob(body)
    assert "not a valid Avro container file" in caplog.text


def test_legacy_avro_envelope() -> None:
    body = json.dumps({"format": "avro", "content": [{"a": 1}]}).encode()
    assert decode(body, None) == AvroBlob([{"a": 1}])


def _zigzag(n: int) -> bytes:
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _container(schema: Any, records: list[Any]) -> bytes:
    out = io.BytesIO()
    fastavro.writer(out, schema, records, sync_marker=b"S" * 16)
    return out.getvalue()


def test_avro_memory_bomb_of_null_items_is_refused() -> None:
    schema = {
        "type": "record",
        "name": "R",
        "fields": [{"name": "n", "type": {"type": "array", "items": "null"}}],
    }
    honest = _container(schema, [{"n": [None] * 5}])
    record = _zigzag(10**12) + b"\x00"  # claims a trillion nulls in two dozen bytes
    bomb = honest.replace(b"\x02\x04\x0a\x00", b"\x02" + _zigzag(len(record)) + record)
    assert bomb != honest
    tracemalloc.start()
    try:
        assert decode(bomb, "avro") == Blob(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024  # a trillion items were never made
    with pytest.raises(DecodeError, match="zero-size"):
        AvroBlob.load(honest)


def test_avro_memory_bomb_of_empty_records_is_refused() -> None:
    schema = {"type": "record", "name": "Empty", "fields": []}
    honest = _container(schema, [{}, {}])
    with pytest.raises(DecodeError, match="zero size"):
        AvroBlob.load(honest)


def test_avro_inferred_schemas_never_hold_zero_size_values() -> None:
    all_records: list[list[dict[str, Any]]] = [
        [{"a": None}],
        [{"l": [None, None]}],
        [{"d": {}}],
        [],
        [{"l": []}],
    ]
    for records in all_records:
        blob = round_trip(AvroBlob(records))
        assert isinstance(blob, AvroBlob)
        assert blob.content == records


@pytest.mark.parametrize("codec", ["deflate", "bzip2", "xz"])
def test_compressed_avro_containers_are_read(codec: str) -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "s", "type": "string"}]}
    records = [{"s": f"record {n} " * 50} for n in range(300)]
    out = io.BytesIO()
    fastavro.writer(out, schema, records, codec=codec, sync_interval=2000)  # many blocks
    received = decode(out.getvalue(), "avro")
    assert isinstance(received, AvroBlob)
    assert received.content == records


def _one_string_container(codec: str, size: int) -> bytes:
    schema = {"type": "record", "name": "R", "fields": [{"name": "s", "type": "string"}]}
    out = io.BytesIO()
    fastavro.writer(out, schema, [{"s": "a" * size}], codec=codec)
    return out.getvalue()


def test_avro_inflation_bomb_is_refused_in_little_memory() -> None:
    bomb = _one_string_container("deflate", _avro_io.MAX_INFLATED_BYTES + 1024)
    assert len(bomb) * _avro_io.MAX_INFLATION_RATIO < _avro_io.MAX_INFLATED_BYTES
    tracemalloc.start()
    try:
        start = time.monotonic()
        assert decode(bomb, "avro") == Blob(bomb)
        elapsed = time.monotonic() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024
    assert elapsed < 2


@pytest.mark.parametrize("codec", ["deflate", "bzip2", "xz"])
def test_avro_inflation_limit_applies_to_every_codec(
    codec: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_avro_bounds, "MAX_INFLATED_BYTES", 256 * 1024)
    fits = _one_string_container(codec, 200 * 1024)
    received = AvroBlob.load(fits)
    assert received.content == {"s": "a" * 200 * 1024}
    bomb = _one_string_container(codec, 300 * 1024)
    with pytest.raises(DecodeError, match="inflate to more than"):
        AvroBlob.load(bomb)


def test_avro_bzip2_bomb_split_into_concatenated_streams_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # fastavro inflates every concatenated bzip2 stream of a block: each is counted.
    monkeypatch.setattr(_avro_bounds, "MAX_INFLATED_BYTES", 256 * 1024)
    honest = _one_string_container("bzip2", 300 * 1024)
    metadata, position = _avro_io._header(honest)
    count, after_count = _avro_io._read_long(honest, position)
    block, after_block = _avro_io._read_sized(honest, after_count)
    payload = bz2.decompress(block)
    middle = len(payload) // 2
    split = bz2.compress(payload[:middle]) + bz2.compress(payload[middle:])
    bomb = honest[:position] + _zigzag(count) + _zigzag(len(split)) + split + honest[after_block:]
    assert metadata["avro.codec"] == b"bzip2"
    with pytest.raises(DecodeError, match="inflate to more than"):
        AvroBlob.load(bomb)
    monkeypatch.setattr(_avro_bounds, "MAX_INFLATED_BYTES", 512 * 1024)
    assert AvroBlob.load(bomb).content == {"s": "a" * 300 * 1024}  # a valid file after all
