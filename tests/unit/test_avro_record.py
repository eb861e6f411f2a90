"""AvroRecord: Confluent-framed Avro records (Rubin's alerts), decoded offline, and the
schema sources (a registry, ID.avsc files, lsst-alert-packet) without a broker."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro
import pytest

from hop.errors import ConfigurationError, InvalidMessageError
from hop.io import Stream
from hop.models import AvroRecord, Blob, JSONBlob, _avro_bounds, _schema_registry, decode
from tests.support.rubin import frame, latest, samples, with_cutouts
from tests.support.schema_registry import SchemaRegistry

SMALL_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Ping",
    "namespace": "test",
    "fields": [
        {"name": "n", "type": "long"},
        {"name": "values", "type": {"type": "array", "items": "long"}},
        {"name": "blob", "type": ["null", "bytes"], "default": None},
    ],
}


@pytest.fixture(autouse=True)
def fresh_caches(config_home: Path) -> Iterator[None]:
    """No schema, miss or failing registry remembered from another test."""

    _schema_registry._forget_everything()
    yield
    _schema_registry._forget_everything()


def warnings_about(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


# -- the model ----------------------------------------------------------------------------


def test_every_rubin_sample_decodes_offline_with_lsst_alert_packet() -> None:
    for sample in samples():
        body = sample.framed()
        message = decode(body, None)
        assert isinstance(message, AvroRecord), sample.schema_id
        assert message.schema_id == sample.schema_id
        assert message.content == sample.record
        assert isinstance(message.schema, dict) and message.schema["type"] == "record"
        assert bytes(message) == body


def test_str_prints_the_record_with_bytes_as_lengths() -> None:
    sample = latest()
    message = decode(sample.framed(with_cutouts(sample)), None)
    assert isinstance(message, AvroRecord)
    shown = json.loads(str(message))
    assert shown["diaSourceId"] == sample.record["diaSourceId"]
    assert shown["cutoutScience"] == f"<{len(message.content['cutoutScience'])} bytes>"


def test_json_content_in_base64_lists_the_paths() -> None:
    sample = latest()
    record = with_cutouts(sample)
    message = decode(sample.framed(record), None)
    assert isinstance(message, AvroRecord)
    value, paths = message.json_content(full_bytes=True)
    assert "content.cutoutScience" in paths
    assert base64.b64decode(value["cutoutScience"]) == record["cutoutScience"]


def test_writing_an_avro_record_round_trips() -> None:
    record = {"n": 7, "values": [1, 2, 3], "blob": b"\x00\x01"}
    message = AvroRecord(record, schema=SMALL_SCHEMA, schema_id=4242)
    serialized = message.serialize()
    assert serialized["format"] == "avrorecord"
    body = serialized["content"]
    assert body[:5] == b"\x00\x00\x00\x10\x92"
    assert (
        fastavro.schemaless_reader(
            __import__("io").BytesIO(body[5:]), fastavro.parse_schema(SMALL_SCHEMA), None
        )
        == record
    )


def test_a_record_that_does_not_fit_its_schema_is_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        AvroRecord({"n": "seven", "values": []}, schema=SMALL_SCHEMA, schema_id=1).serialize()
    with pytest.raises(InvalidMessageError, match="schema_id"):
        AvroRecord({}, schema=SMALL_SCHEMA, schema_id=2**32)


def test_the_format_header_wins_over_sniffing(caplog: pytest.LogCaptureFixture) -> None:
    body = latest().framed()
    assert isinstance(decode(body, "blob"), Blob)
    caplog.set_level(logging.WARNING, "hop.models")
    as_json = decode(body, "json")
    assert isinstance(as_json, Blob) and as_json.content == body
    labelled = decode(body, "avrorecord")
    assert isinstance(labelled, AvroRecord) and labelled.content == latest().record


def test_a_labelled_record_without_a_schema_is_a_blob_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "hop.models")
    body = frame(987654, SMALL_SCHEMA, {"n": 1, "values": [], "blob": None})
    message = decode(body, "avrorecord")
    assert isinstance(message, Blob) and message.content == body
    assert warnings_about(caplog, "987654")


def test_unknown_ids_are_blobs_with_one_warning_per_id(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "hop.models")
    first = frame(987654, SMALL_SCHEMA, {"n": 1, "values": [], "blob": None})
    second = frame(987655, SMALL_SCHEMA, {"n": 2, "values": [], "blob": None})
    results = [decode(body, None) for body in (first, first, second, first)]
    assert [type(m) for m in results] == [Blob] * 4
    assert [m.content for m in results] == [first, first, second, first]
    about_first = warnings_about(caplog, "schema id 987654")
    assert len(about_first) == 1
    assert "--schema-registry" in about_first[0] and "--schemas DIR" in about_first[0]
    assert len(warnings_about(caplog, "schema id 987655")) == 1


def test_utf16_json_starting_with_a_zero_byte_is_still_json(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "hop.models")
    message = decode('{"alert": 1}'.encode("utf-16-be"), None)
    assert isinstance(message, JSONBlob) and message.content == {"alert": 1}
    assert not caplog.records


def test_a_record_over_the_limits_is_a_blob_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "31.avsc").write_text(json.dumps(SMALL_SCHEMA))
    sources = _schema_registry.SchemaSources(schema_dir=tmp_path, rubin=False)
    body = frame(31, SMALL_SCHEMA, {"n": 1, "values": list(range(500)), "blob": None})
    assert isinstance(decode(body, None, sources), AvroRecord)
    monkeypatch.setattr(AvroRecord, "max_items", 100)
    caplog.set_level(logging.WARNING, "hop.models")
    refused = decode(body, None, sources)
    assert isinstance(refused, Blob) and refused.content == body
    assert warnings_about(caplog, "refused")


def test_records_over_the_quick_bound_are_walked_and_still_decode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sample = latest()
    body = sample.framed(with_cutouts(sample, 50_000))
    # Too large for the quick bound, well within the limits: the walk lets it through.
    monkeypatch.setattr(AvroRecord, "max_decoded_bytes", len(body) * 4)
    message = decode(body, None)
    assert isinstance(message, AvroRecord) and message.content == with_cutouts(sample, 50_000)


def test_truncated_and_padded_records_are_blobs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "hop.models")
    body = latest().framed()
    for broken in (body[:-3], body + b"\x00\x00"):
        message = decode(broken, None)
        assert isinstance(message, Blob) and message.content == broken
    assert len(warnings_about(caplog, "does not decode as an Avro record")) == 2


def test_the_quick_bound_is_never_below_the_walkers_estimate() -> None:
    for sample in samples():
        found = _schema_registry.default_sources().lookup(sample.schema_id)
        assert found is not None and found.ratio is not None
        for record in (sample.record, with_cutouts(sample)):
            body = sample.framed(record)
            walker, (step, fixed, _) = _avro_bounds._walker_for(
                found.text, found.schema, 10**9, 10**12
            )
            walker.size += fixed
            assert step is not None and step(body, 5) == len(body)
            assert walker.size <= len(body) * (found.ratio + 4)


def test_a_recursive_schema_has_no_quick_bound() -> None:
    node = {
        "type": "record",
        "name": "Node",
        "fields": [{"name": "next", "type": ["null", "Node"]}, {"name": "v", "type": "long"}],
    }
    assert _schema_registry.expansion_ratio(node) is None
    assert _schema_registry.expansion_ratio(SMALL_SCHEMA) is not None


# -- the sources ---------------------------------------------------------------------------


def test_a_schema_directory_gives_schemas_by_id(tmp_path: Path) -> None:
    sample = latest()
    (tmp_path / "90001.avsc").write_text(json.dumps(sample.schema))
    body = frame(90001, sample.schema, sample.record)
    assert isinstance(decode(body, None), Blob)
    message = decode(body, None, _schema_registry.sources_for("", tmp_path))
    assert isinstance(message, AvroRecord) and message.content == sample.record


def test_a_registry_is_asked_once_per_id_per_process() -> None:
    with SchemaRegistry({4242: SMALL_SCHEMA}) as registry:
        body = frame(4242, SMALL_SCHEMA, {"n": 5, "values": [1], "blob": None})
        for _ in range(3):
            sources = _schema_registry.SchemaSources(registry.url)
            message = decode(body, None, sources)
            assert isinstance(message, AvroRecord) and message.content["n"] == 5
        assert registry.id_requests(4242) == 1


def test_registry_credentials_are_sent_and_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "hop.models")
    with SchemaRegistry({4242: SMALL_SCHEMA}) as registry:
        registry.broken[4243] = "500"
        sources = _schema_registry.SchemaSources(registry.url_with("alice", "s3cr%40t"))
        assert sources.lookup(4242) is not None
        assert sources.lookup(4243) is None
        sources.missing(4243)
        expected = "Basic " + base64.b64encode(b"alice:s3cr@t").decode()
        assert registry.authorizations[0] == expected
        assert "s3cr" not in sources.describe()
    assert caplog.records
    assert not [r for r in caplog.records if "s3cr" in r.getMessage()]


@pytest.mark.parametrize("trouble", ["500", "garbage"])
def test_a_failing_registry_costs_one_warning_and_is_asked_again_later(
    trouble: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "hop.models")
    with SchemaRegistry({4242: SMALL_SCHEMA}) as registry:
        registry.broken[4242] = trouble
        sources = _schema_registry.SchemaSources(registry.url, rubin=False)
        body = frame(4242, SMALL_SCHEMA, {"n": 5, "values": [1], "blob": None})
        for _ in range(3):
            assert isinstance(decode(body, None, sources), Blob)
        assert registry.id_requests(4242) == 1  # left alone while failing
        failing = warnings_about(caplog, "schema registry")
        assert len(failing) == 1 and registry.url.split("//")[1] in failing[0]
        # Once the registry is well again and the pause is over, it is asked again.
        del registry.broken[4242]
        _schema_registry._failing[sources._registry_key] = time.monotonic() - 1
        message = decode(body, None, sources)
        assert isinstance(message, AvroRecord) and message.content["n"] == 5
        assert warnings_about(caplog, "answers again")


def test_an_unknown_id_at_the_registry_is_a_blob_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "hop.models")
    with SchemaRegistry() as registry:
        sources = _schema_registry.SchemaSources(registry.url, rubin=False)
        body = frame(4244, SMALL_SCHEMA, {"n": 5, "values": [1], "blob": None})
        assert isinstance(decode(body, None, sources), Blob)
        assert isinstance(decode(body, None, sources), Blob)
        assert registry.id_requests(4244) == 1
        assert len(warnings_about(caplog, "schema id 4244")) == 1


def test_a_slow_registry_never_hangs_the_reader(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "hop.models")
    with SchemaRegistry() as registry:
        registry.broken[4245] = "slow"
        sources = _schema_registry.SchemaSources(registry.url, rubin=False, timeout=0.5)
        body = frame(4245, SMALL_SCHEMA, {"n": 5, "values": [1], "blob": None})
        started = time.monotonic()
        assert isinstance(decode(body, None, sources), Blob)
        assert isinstance(decode(body, None, sources), Blob)
        # Generous: the "never a hang"; one timeout, then the pause.
        assert time.monotonic() - started < 10
        assert registry.id_requests(4245) == 1
        assert len(warnings_about(caplog, "to answer")) == 1


def test_an_unreachable_registry_costs_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "hop.models")
    with SchemaRegistry() as registry:
        url = registry.url
    sources = _schema_registry.SchemaSources(url, rubin=False, timeout=2)
    body = frame(4246, SMALL_SCHEMA, {"n": 5, "values": [1], "blob": None})
    assert isinstance(decode(body, None, sources), Blob)
    assert isinstance(decode(body, None, sources), Blob)
    assert len(warnings_about(caplog, "cannot reach schema registry")) == 1


def test_a_bad_registry_url_or_directory_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="http"):
        Stream(auth=False, schema_registry="ftp://registry.example.org")
    with pytest.raises(ConfigurationError) as caught:
        Stream(auth=False, schema_registry="user:hunter2@registry.example.org")
    assert "hunter2" not in str(caught.value)
    with pytest.raises(ConfigurationError, match="not a directory"):
        Stream(auth=False, schema_dir=tmp_path / "missing")


def test_the_registry_comes_from_the_variable_or_the_setting(
    config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hop.configure import write_config_value

    write_config_value("schema_registry", "https://user:pw@registry.example.org")
    from_file = _schema_registry.sources_for()
    assert from_file.registry is not None
    assert from_file.registry.shown == "https://registry.example.org"
    monkeypatch.setenv("HOP_SCHEMA_REGISTRY", "http://127.0.0.1:1")
    from_variable = _schema_registry.sources_for()
    assert from_variable.registry is not None
    assert from_variable.registry.shown == "http://127.0.0.1:1"
    given = _schema_registry.sources_for("http://127.0.0.1:2")
    assert given.registry is not None and given.registry.shown == "http://127.0.0.1:2"


def test_configure_show_hides_the_registry_password(
    config_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hop.cli import main
    from hop.configure import write_config_value

    write_config_value("schema_registry", "https://alice:hunter2@registry.example.org")
    assert main(["configure", "show"]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out
    assert "schema_registry = 'https://registry.example.org'" in out
