"""hop.models behaves as hop-client 0.13's: dict keys, AvroBlob, bytes(), str(), plugins."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import fastavro
import pytest

from hop.io._deserializer import Deserializer
from hop.models import (
    AvroBlob,
    Blob,
    ExternalMessage,
    GCNCircular,
    GCNTextNotice,
    JSONBlob,
    MessageModel,
    VOEvent,
    decode,
    encode,
    format_name,
    registered_models,
)
from tests.support.make_example_avro import RECORDS, SCHEMA
from tests.support.paths import DATA

VOEVENT_XML = DATA / "example_voevent.xml"
CIRCULAR = DATA / "example.gcn3"
NOTICE = DATA / "example_gcn_notice.txt"
AVRO = DATA / "example_avro.avro"


def round_trip(model: MessageModel) -> MessageModel:
    label, body = encode(model)
    return decode(body, label)


# --- VOEvent ----------------------------------------------------------------------------------


def test_voevent_attributes_are_plain_keys() -> None:
    event = VOEvent.load_file(VOEVENT_XML)
    first, second = event.What["Param"][:2]
    assert first["name"] == "TransientName"
    assert first["value"] == "HT2025vzq"
    assert second["value"] == "2"
    assert second["dataType"] == "int"
    assert "@name" not in first and "@value" not in first


def test_voevent_text_beside_attributes_is_under_text_key() -> None:
    xml = (
        b'<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" ivorn="ivo://x/y#1" '
        b'role="test" version="2.0"><Why importance="0.9"><Inference probability="0.1">'
        b'<Name>GRB</Name></Inference></Why><Reference uri="http://x" type="url"/>'
        b'<Citations><EventIVORN cite="supersedes">ivo://x/y#0</EventIVORN></Citations>'
        b"</voe:VOEvent>"
    )
    event = VOEvent.deserialize(xml)
    assert event.Why["importance"] == "0.9"
    assert event.Why["Inference"] == {"probability": "0.1", "Name": "GRB"}
    assert event.Citations["EventIVORN"] == {"cite": "supersedes", "#text": "ivo://x/y#0"}
    assert event.Reference == {"uri": "http://x", "type": "url"}
    # Written back from its fields, attributes stay attributes and the text stays text.
    event.role = "observation"
    label, body = encode(event)
    again = decode(body, label)
    assert again == event
    assert b'cite="supersedes">ivo://x/y#0</EventIVORN>' in bytes(event)


def test_voevent_read_from_xml_equals_the_json_form_older_clients_sent() -> None:
    event = VOEvent.load_file(VOEVENT_XML)
    fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event) if f.init}
    body = json.dumps({"format": "voevent", "content": fields}).encode()
    assert decode(body, None) == event
    assert decode(json.dumps(fields).encode(), "voevent") == event


def test_voevent_deserialize_accepts_str() -> None:
    raw = VOEVENT_XML.read_bytes()
    assert VOEvent.deserialize(raw.decode()) == VOEvent.deserialize(raw)


def test_voevent_str_is_indented_json_of_the_fields() -> None:
    event = VOEvent.load_file(VOEVENT_XML)
    shown = str(event)
    assert shown.startswith("{\n  ")
    assert json.loads(shown)["What"]["Param"][0]["value"] == "HT2025vzq"


# --- AvroBlob ---------------------------------------------------------------------------------


def _records_in(body: bytes) -> list[Any]:
    import io

    return list(fastavro.reader(io.BytesIO(body)))


def test_avro_default_is_one_record_even_for_a_list() -> None:
    alerts = [{"priority": 1, "name": "a"}, {"priority": 2, "name": "b"}]
    blob = AvroBlob(alerts)
    assert blob.single_record is True
    body = bytes(blob)
    assert _records_in(body) == [alerts]  # ONE record, an array
    received = decode(body, "avro")
    assert isinstance(received, AvroBlob)
    assert received.content == alerts and received.single_record is True
    assert received.schema["type"] == "array"


def test_avro_several_records_with_single_record_false() -> None:
    alerts = [{"priority": 1}, {"priority": 2}, {"priority": 3}]
    body = bytes(AvroBlob(alerts, single_record=False))
    assert _records_in(body) == alerts
    received = decode(body, "avro")
    assert isinstance(received, AvroBlob)
    assert received.single_record is False
    assert received.content == alerts
    assert received == AvroBlob(alerts, single_record=False)


def test_avro_one_record_container_reads_as_that_record() -> None:
    import io

    out = io.BytesIO()
    fastavro.writer(out, fastavro.parse_schema(SCHEMA), RECORDS[:1])
    blob = AvroBlob.load(out.getvalue())
    assert blob.single_record is True
    assert blob.content == RECORDS[0]


def test_avro_multi_record_container_from_another_writer_is_read() -> None:
    import io

    schema = {"type": "record", "name": "r", "fields": [{"name": "a", "type": "long"}]}
    out = io.BytesIO()
    fastavro.writer(out, schema, [{"a": 1}, {"a": 2}])
    received = decode(out.getvalue(), "avro")
    assert received == AvroBlob([{"a": 1}, {"a": 2}], single_record=False)


def test_avro_single_record_false_refuses_a_mapping() -> None:
    with pytest.raises(TypeError, match="sequence of records"):
        encode(AvroBlob({"a": 1}, single_record=False))


def test_avro_constructor_argument_order() -> None:
    schema = {"type": "array", "items": "long"}
    blob = AvroBlob([1, 2], schema, False)
    assert (blob.content, blob.schema, blob.single_record) == ([1, 2], schema, False)
    assert [f.name for f in dataclasses.fields(AvroBlob)] == ["content", "schema", "single_record"]


# --- bytes() and str() --------------------------------------------------------------------------


def test_bytes_of_every_model_is_its_wire_body() -> None:
    voevent = VOEvent.load_file(VOEVENT_XML)
    notice = GCNTextNotice.load_file(NOTICE)
    circular = GCNCircular.load_file(CIRCULAR)
    assert bytes(voevent) == VOEVENT_XML.read_bytes()
    assert bytes(notice) == NOTICE.read_bytes()
    assert bytes(circular) == str(circular).encode("utf-8")
    assert bytes(Blob(b"\x00\x01")) == b"\x00\x01"
    assert bytes(JSONBlob({"a": [1]})) == json.dumps({"a": [1]}).encode()
    avro = AvroBlob({"a": 1})
    assert bytes(avro).startswith(b"Obj\x01")
    assert _records_in(bytes(avro)) == _records_in(encode(avro)[1]) == [{"a": 1}]
    assert (
        bytes(ExternalMessage("https://archive.example/x"))
        == json.dumps({"url": "https://archive.example/x"}).encode()
    )


def test_str_of_every_model() -> None:
    assert str(Blob(b"ab")) == "b'ab'"
    assert str(JSONBlob({"a": [1, None]})) == "{'a': [1, None]}"
    assert str(AvroBlob([{"a": 1}])) == "[{'a': 1}]"
    circular = GCNCircular({"title": "GCN CIRCULAR", "number": "1"}, "text\n")
    assert str(circular) == "TITLE:   GCN CIRCULAR\nNUMBER:  1\n\ntext\n"
    notice = GCNTextNotice.load_file(NOTICE)
    assert str(notice) == NOTICE.read_text()


def test_text_notice_raw_is_bytes() -> None:
    notice = GCNTextNotice.load_file(NOTICE)
    assert isinstance(notice.raw, bytes)
    built = GCNTextNotice(b"TITLE: GCN/X NOTICE\nNOTICE_TYPE: Test\n")
    assert built.raw == b"TITLE: GCN/X NOTICE\nNOTICE_TYPE: Test\n"
    assert built.fields == {"title": "GCN/X NOTICE", "notice_type": "Test"}
    assert round_trip(built) == built
    # Text is taken too, and kept as its UTF-8 bytes.
    assert GCNTextNotice("TITLE: GCN/X NOTICE\n").raw == b"TITLE: GCN/X NOTICE\n"  # type: ignore[arg-type]


# --- ExternalMessage ----------------------------------------------------------------------------


def test_external_message_is_a_registered_format() -> None:
    assert registered_models()["external"] is ExternalMessage
    assert format_name(ExternalMessage) == "external"
    assert Deserializer.EXTERNAL.value is ExternalMessage
    body = b'{"url": "https://archive.example/msg/1"}'
    assert decode(body, "external") == ExternalMessage("https://archive.example/msg/1")
    assert round_trip(ExternalMessage("u")) == ExternalMessage("u")


# --- a plugin model written as in the manual ------------------------------------------------


@dataclass
class Donut(MessageModel):
    category: str
    flavor: str
    has_filling: bool
    format_name: "donut"  # type: ignore[name-defined,misc]  # noqa: F821, UP037  (the manual's line)


def test_plugin_dataclass_fields_keep_their_written_order() -> None:
    assert [f.name for f in dataclasses.fields(Donut)] == [
        "category",
        "flavor",
        "has_filling",
        "format_name",
    ]
    donut = Donut("cake", "chocolate", True, "donut")
    assert (donut.category, donut.flavor, donut.has_filling) == ("cake", "chocolate", True)
    assert format_name(donut) == "donut"
    label, body = encode(donut)
    assert label == "donut"
    assert json.loads(body)["category"] == "cake"


def test_builtin_models_have_no_format_name_field() -> None:
    for cls in registered_models().values():
        assert "format_name" not in {f.name for f in dataclasses.fields(cls)}
