"""Decoding is bounded on any input: Avro record/item bombs, huge labels, deep nesting.

Memory bounds are measured with tracemalloc in a fresh Python process, so that nothing
else the test run holds is counted.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from hop import models
from hop.errors import DecodeError
from hop.io import _consumer
from hop.models import AvroBlob, Blob, GCNCircular, JSONBlob, VOEvent, _avro_io, decode, encode
from tests.support.avro_bombs import (
    LONG_RECORD,
    array_bomb,
    container,
    map_bomb,
    record_bomb,
    wide_record_bomb,
    zigzag,
)
from tests.support.make_example_avro import RECORDS
from tests.support.paths import DATA

MIB = 1024 * 1024


def run_measured(code: str) -> Any:
    """Run ``code`` in a fresh interpreter (address space capped at 3 GiB); return its JSON."""
    prelude = textwrap.dedent(
        """
        import gc, json, resource, sys, tracemalloc
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- Avro: records and items per message --------------------------------------------------


def test_avro_bombs_are_blobs_decoded_in_little_memory() -> None:
    measured = run_measured(
        """
        from hop.models import decode
        from tests.support.avro_bombs import array_bomb, map_bomb, record_bomb
        out = {}
        for name, bomb in [
            ("records", record_bomb(1_500_000)),
            ("the 65 KB record bomb of the report", record_bomb(67_000_000)),
            ("array", array_bomb(3_000_000)),
            ("array in one-item blocks", array_bomb(600_000, 1)),
            ("map", map_bomb(1_000_000)),
        ]:
            tracemalloc.start()
            model = decode(bomb, "avro")
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            out[name] = [type(model).__name__, len(bomb), peak]
        print(json.dumps(out))
        """
    )
    for name, (model, size, peak) in measured.items():
        assert model == "Blob", name
        assert size < 70_000, name  # a small message...
        assert peak < 16 * MIB, (name, peak)  # ...that costs little to refuse


def test_avro_record_bomb_is_refused_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    # In this process a failure must not cost much: the report's 67M records run capped above.
    bomb = record_bomb(1_000_000)
    with caplog.at_level(logging.WARNING, logger="hop.models"):
        assert decode(bomb, "avro") == Blob(bomb)
    warnings = [r for r in caplog.records if r.name == "hop.models"]
    assert len(warnings) == 1
    assert "250,000 records and items" in warnings[0].getMessage()


@pytest.mark.parametrize(
    "bomb",
    [
        pytest.param(array_bomb(1_000_000), id="array"),
        pytest.param(map_bomb(1_000_000), id="map"),
        pytest.param(wide_record_bomb(1000, 5000), id="estimated size"),
    ],
)
def test_avro_item_and_size_bombs_are_decode_errors(bomb: bytes) -> None:
    with pytest.raises(DecodeError, match="Avro message refused: it would decode to"):
        AvroBlob.load(bomb)


def test_avro_limits_are_settable(monkeypatch: pytest.MonkeyPatch) -> None:
    body = bytes(AvroBlob([{"a": n} for n in range(50)], single_record=False))
    assert isinstance(decode(body, "avro"), AvroBlob)
    monkeypatch.setattr(AvroBlob, "max_items", 49)
    with pytest.raises(DecodeError, match="more than 49 records and items"):
        AvroBlob.load(body)
    monkeypatch.setattr(AvroBlob, "max_items", 50)
    assert isinstance(AvroBlob.load(body), AvroBlob)
    monkeypatch.setattr(AvroBlob, "max_decoded_bytes", 1000)
    with pytest.raises(DecodeError, match="estimated"):
        AvroBlob.load(body)


def test_avro_default_limits_are_documented() -> None:
    assert AvroBlob.max_items == _avro_io.MAX_ITEMS == 250_000
    assert AvroBlob.max_decoded_bytes == _avro_io.MAX_DECODED_BYTES == 64 * MIB
    formats = (Path(__file__).resolve().parents[2] / "docs" / "formats.md").read_text()
    assert "250,000 records and items" in formats
    assert "64 MiB" in formats
    assert "AvroBlob.max_items" in formats and "AvroBlob.max_decoded_bytes" in formats


def test_avro_within_limits_still_decodes() -> None:
    many = [{"id": str(n), "mag": n / 3, "tags": ["a", "b"], "m": {"k": n}} for n in range(20000)]
    received = decode(bytes(AvroBlob(many, single_record=False)), "avro")
    assert isinstance(received, AvroBlob)
    assert received.content == many
    assert AvroBlob.load_file(DATA / "example_avro.avro").content == RECORDS


def test_avro_truncated_and_inconsistent_blocks_are_decode_errors() -> None:
    honest = container(LONG_RECORD, [(3, b"\x02\x04\x06")], codec="null")
    assert AvroBlob.load(honest).content == [{"a": 1}, {"a": 2}, {"a": 3}]
    short = container(LONG_RECORD, [(4, b"\x02\x04\x06")], codec="null")
    with pytest.raises(DecodeError, match="truncated"):
        AvroBlob.load(short)
    deflated_short = container(LONG_RECORD, [(4, b"\x02\x04\x06")])
    assert decode(deflated_short, "avro") == Blob(deflated_short)


def test_avro_deep_recursive_data_is_a_blob_not_recursion_error() -> None:
    schema = {
        "type": "record",
        "name": "node",
        "fields": [{"name": "next", "type": ["null", "node"]}],
    }
    deep = container(schema, [(1, b"\x02" * 100_000 + b"\x00")])
    assert decode(deep, "avro") == Blob(deep)
    shallow = container(schema, [(1, b"\x02\x02\x00")])
    assert decode(shallow, "avro") == AvroBlob({"next": {"next": {"next": None}}})


# --- _format labels ---------------------------------------------------------------------------


def test_huge_labels_are_neither_kept_nor_echoed() -> None:
    measured = run_measured(
        """
        import logging
        from hop import models
        from hop.io import _consumer
        logging.disable(logging.CRITICAL)
        tracemalloc.start()
        for n in range(200):
            value = b"%08d" % n + b"x" * 900_000
            models.decode(b"body", _consumer._label_text(value))
            models.decode(b"body", value.decode())
            del value
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
        print(json.dumps({"held": held, "labels": len(_consumer._LABELS)}))
        """
    )
    assert measured["held"] < 2 * MIB, measured


def test_one_label_cache_for_io_and_models() -> None:
    assert _consumer._LABELS is models._LABELS
    assert _consumer._label_text is models._label_text
    assert _consumer._label_text(b"json") == "json"
    assert models._LABELS[b"json"] == "json"


def test_long_label_is_unknown_and_shown_cut(caplog: pytest.LogCaptureFixture) -> None:
    label = "voevent" + "y" * 10_000
    assert len(_consumer._label_text(label.encode())) <= models.MAX_LABEL_BYTES + 3
    with caplog.at_level(logging.WARNING, logger="hop.models"):
        assert decode(b"{}", _consumer._label_text(label.encode())) == Blob(b"{}")
        assert decode(b"{}", label) == Blob(b"{}")
    assert caplog.records, "an unknown label is warned about"
    for record in caplog.records:
        assert len(record.getMessage()) < 200
    assert label.encode() not in models._LABELS
    with pytest.raises(ValueError, match="at most 64 bytes"):
        models.register_model("z" * 65, JSONBlob)


# --- deep nesting -----------------------------------------------------------------------------


def _deep_list(depth: int) -> list[Any]:
    outer: list[Any] = []
    inner = outer
    for _ in range(depth):
        nested: list[Any] = []
        inner.append(nested)
        inner = nested
    return outer


def test_encoding_deep_json_is_type_error() -> None:
    with pytest.raises(TypeError, match="nested too deeply"):
        encode(_deep_list(100_000))
    with pytest.raises(TypeError, match="nested too deeply"):
        encode({"a": _deep_list(100_000)})
    with pytest.raises(TypeError, match="nested too deeply"):
        encode(JSONBlob(_deep_list(100_000)))
    with pytest.raises(TypeError, match="nested too deeply"):
        encode(AvroBlob(_deep_list(100_000)))


def test_decoding_deep_structures_gives_blobs(caplog: pytest.LogCaptureFixture) -> None:
    deep_json = b"[" * 100_000 + b"]" * 100_000
    deep_object = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    deep_xml = (
        b'<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" ivorn="ivo://x#1">'
        + b"<What>" * 50_000
        + b"</What>" * 50_000
        + b"</voe:VOEvent>"
    )
    envelope = b'{"format": "circular", "content": ' + deep_json + b"}"
    with caplog.at_level(logging.WARNING, logger="hop.models"):
        for body, label in [
            (deep_json, "json"),
            (deep_json, None),
            (deep_object, None),
            (deep_object, "circular"),
            (deep_xml, "voevent"),
            (deep_xml, None),
            (deep_json, "voevent"),
            (envelope, None),
        ]:
            assert decode(body, label) == Blob(body), label
    with pytest.raises(DecodeError):
        VOEvent.load(deep_xml)
    for model in (GCNCircular, JSONBlob, VOEvent):
        with pytest.raises(DecodeError, match=r"nested too deeply|recursion depth"):
            model.deserialize(deep_object)
    assert zigzag(-1) == b"\x01"


def test_each_message_is_counted_afresh_with_a_shared_schema() -> None:
    # Walkers are kept per schema: one message's counts never carry over to the next.
    bomb = record_bomb(300_000)
    small = container(LONG_RECORD, [(2, b"\x02\x04")])
    for _ in range(3):
        assert decode(bomb, "avro") == Blob(bomb)
        assert decode(small, "avro") == AvroBlob([{"a": 1}, {"a": 2}], single_record=False)
    many = container(LONG_RECORD, [(200_000, b"\x02" * 200_000)])
    for _ in range(3):  # 3 x 200,000 records: under the limit each time
        received = decode(many, "avro")
        assert isinstance(received, AvroBlob) and len(received.content) == 200_000
