"""Unit tests of the base models, the registry, encode() and decode() (no broker)."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from hop.errors import DecodeError
from hop.models import (
    Blob,
    JSONBlob,
    MessageModel,
    _codec,
    decode,
    encode,
    format_name,
    register_model,
    registered_models,
    unregister_model,
)


@dataclass
class Donut(MessageModel):
    flavor: str
    holes: int = 1


@dataclass
class Bagel(MessageModel):
    format_name: ClassVar[str] = "BAGEL_V2"
    seeds: list[str]


@pytest.fixture
def donut_registered() -> Any:
    register_model("donut", Donut)
    yield
    unregister_model("donut")


# --- format_name ----------------------------------------------------------------------------


def test_format_name_of_builtins_and_plain_classes() -> None:
    assert format_name(Blob) == "blob"
    assert format_name(JSONBlob(1)) == "json"
    assert format_name(Donut) == "donut"
    assert format_name(Donut("x")) == "donut"
    assert format_name(Bagel) == "bagel_v2"


# --- Blob and JSONBlob ----------------------------------------------------------------------


def test_blob_serialize_is_untouched_bytes() -> None:
    raw = bytes(range(256))
    assert Blob(raw).serialize() == {"format": "blob", "content": raw}
    assert Blob.deserialize(raw) == Blob(raw)


def test_blob_load_accepts_str_bytes_and_files(tmp_path: Path) -> None:
    assert Blob.load(b"\x00\xff") == Blob(b"\x00\xff")
    assert Blob.load("é") == Blob("é".encode())
    assert Blob.load(io.BytesIO(b"abc")) == Blob(b"abc")
    assert Blob.load(io.StringIO("abc")) == Blob(b"abc")
    path = tmp_path / "raw.bin"
    path.write_bytes(b"\r\n\x00")
    assert Blob.load_file(path) == Blob(b"\r\n\x00")
    assert Blob.load_file(str(path)) == Blob(b"\r\n\x00")


def test_blob_load_rejects_other_types_by_name() -> None:
    with pytest.raises(TypeError, match="int"):
        Blob.load(42)  # type: ignore[arg-type]


def test_blob_str_is_pythons_rendering_of_the_bytes() -> None:
    # As hop-client 0.13 prints a Blob.
    assert str(Blob(b"hello")) == "b'hello'"
    assert str(Blob(b"\xff")) == "b'\\xff'"


@pytest.mark.parametrize("value", [{"a": [1, 2.5, None]}, [1, "x"], "text", 3, 2.5, True, None])
def test_jsonblob_round_trips_any_json_value(value: Any) -> None:
    blob = JSONBlob(value)
    serialized = blob.serialize()
    assert serialized == {"format": "json", "content": json.dumps(value).encode()}
    assert JSONBlob.deserialize(serialized["content"]) == blob


def test_jsonblob_load(tmp_path: Path) -> None:
    assert JSONBlob.load('{"a": 1}') == JSONBlob({"a": 1})
    assert JSONBlob.load(io.StringIO("[1]")) == JSONBlob([1])
    path = tmp_path / "x.json"
    path.write_text('{"ü": "ß"}', encoding="utf-8")
    assert JSONBlob.load_file(path) == JSONBlob({"ü": "ß"})
    assert str(JSONBlob({"a": 1})) == "{'a': 1}"


def test_jsonblob_load_invalid_is_decode_error() -> None:
    with pytest.raises(DecodeError, match="not valid JSON"):
        JSONBlob.load("{nope")


# --- user-defined models --------------------------------------------------------------------


def test_plain_dataclass_model_defaults_to_json_of_fields() -> None:
    serialized = Donut("glazed", 2).serialize()
    assert serialized["format"] == "donut"
    assert json.loads(serialized["content"]) == {"flavor": "glazed", "holes": 2}
    assert Donut.deserialize(serialized["content"]) == Donut("glazed", 2)
    assert Donut.load('{"flavor": "plain"}') == Donut("plain")


def test_plain_model_with_wrong_fields_is_decode_error() -> None:
    with pytest.raises(DecodeError, match="wrong fields"):
        Donut.deserialize(b'{"colour": "pink"}')
    with pytest.raises(DecodeError, match="JSON object"):
        Donut.deserialize(b"[1]")


# --- registry -------------------------------------------------------------------------------


def test_registry_holds_builtins() -> None:
    known = registered_models()
    assert known["blob"] is Blob
    assert known["json"] is JSONBlob
    known["blob"] = Donut  # a copy: changing it changes nothing
    assert registered_models()["blob"] is Blob


def test_register_and_unregister(donut_registered: None) -> None:
    assert registered_models()["donut"] is Donut
    register_model("DONUT", Donut)  # same class again: fine, case-insensitive
    with pytest.raises(ValueError, match="already registered"):
        register_model("donut", Bagel)
    with pytest.raises(TypeError):
        register_model("thing", dict)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="built in"):
        unregister_model("json")


# --- encode ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [{"a": 1}, [1, 2], "s", 0, -1.5, False, None, (1, 2), {"nested": {"x": [None]}}]
)
def test_encode_json_values(value: Any) -> None:
    assert encode(value) == ("json", json.dumps(value).encode())


def test_encode_bytes_and_models() -> None:
    assert encode(b"\x00") == ("blob", b"\x00")
    assert encode(bytearray(b"ab")) == ("blob", b"ab")
    assert encode(Blob(b"z")) == ("blob", b"z")
    assert encode(JSONBlob([1])) == ("json", b"[1]")
    label, body = encode(Donut("x"))
    assert label == "donut"
    assert json.loads(body) == {"flavor": "x", "holes": 1}


def test_encode_rejects_other_objects_naming_the_type() -> None:
    class Thing:
        pass

    with pytest.raises(TypeError, match="Thing"):
        encode(Thing())
    with pytest.raises(TypeError, match="dict"):
        encode({"a": Thing()})


# --- decode ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [{"a": 1}, [1, 2], "s", 0, -1.5, False, None])
def test_decode_encode_round_trip(value: Any) -> None:
    label, body = encode(value)
    assert decode(body, label) == JSONBlob(value)


def test_decode_round_trips_builtin_models() -> None:
    for model in (Blob(b"\x01\x02"), JSONBlob({"k": "v"})):
        label, body = encode(model)
        assert decode(body, label) == model


def test_decode_plugin_model(donut_registered: None) -> None:
    label, body = encode(Donut("cruller", 0))
    assert decode(body, label) == Donut("cruller", 0)
    assert decode(body, "DONUT") == Donut("cruller", 0)


def test_decode_none_body_is_empty_blob() -> None:
    assert decode(None, "json") == Blob(b"")
    assert decode(None, None) == Blob(b"")
    assert decode(None, "blob") == Blob(b"")


def test_decode_unknown_label_is_blob(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hop.models"):
        assert decode(b'{"a": 1}', "no-such-format-xyz") == Blob(b'{"a": 1}')
    assert "no-such-format-xyz" in caplog.text


def test_decode_bad_json_is_blob_with_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hop.models"):
        assert decode(b"{not json", "json") == Blob(b"{not json")
    assert [r.name for r in caplog.records] == ["hop.models"]
    assert "'json'" in caplog.text


def test_decode_plugin_body_with_wrong_fields_is_blob(
    donut_registered: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="hop.models"):
        assert decode(b'{"shape": "round"}', "donut") == Blob(b'{"shape": "round"}')
    assert "wrong fields" in caplog.text


# --- legacy messages (no _format header) ----------------------------------------------------


def test_legacy_envelope_blob_means_json() -> None:
    body = json.dumps({"format": "blob", "content": {"x": [1, 2]}}).encode()
    assert decode(body, None) == JSONBlob({"x": [1, 2]})
    body = json.dumps({"format": "blob", "content": "just text"}).encode()
    assert decode(body, None) == JSONBlob("just text")


def test_legacy_envelope_of_registered_model(donut_registered: None) -> None:
    body = json.dumps({"format": "donut", "content": {"flavor": "jam", "holes": 0}}).encode()
    assert decode(body, None) == Donut("jam", 0)


def test_legacy_envelope_with_bad_fields_is_blob(donut_registered: None) -> None:
    body = json.dumps({"format": "donut", "content": {"filling": "jam"}}).encode()
    assert decode(body, None) == Blob(body)


def test_legacy_envelope_of_unknown_format_is_plain_json() -> None:
    value = {"format": "mystery", "content": {"a": 1}}
    assert decode(json.dumps(value).encode(), None) == JSONBlob(value)


def test_legacy_plain_json_and_raw_bytes() -> None:
    assert decode(b'{"format": "blob"}', None) == JSONBlob({"format": "blob"})
    assert decode(b"[1, 2]", None) == JSONBlob([1, 2])
    assert decode(b"42", None) == JSONBlob(42)
    assert decode(b"\xff\x00 not json", None) == Blob(b"\xff\x00 not json")
    assert decode(b"", None) == Blob(b"")


def test_decode_hot_path_uses_module_json_loads() -> None:
    # decode("json") must be json.loads and nothing more; checks the fast path is taken.
    calls: list[Any] = []

    def spy(data: Any) -> Any:
        calls.append(data)
        return json.loads(data)

    original = _codec._loads
    _codec._loads = spy
    try:
        assert decode(b"[1]", "json") == JSONBlob([1])
    finally:
        _codec._loads = original
    assert calls == [b"[1]"]
