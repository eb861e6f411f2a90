"""Rubin's real sample alerts in the Confluent wire format, published raw (no headers) with
confluent-kafka as Rubin does, read back through Stream and ``hop subscribe``."""

from __future__ import annotations

import base64
import io
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import confluent_kafka
import fastavro
import pytest

from hop.cli import main
from hop.io import StartPosition, Stream
from hop.models import AvroRecord, Blob, MessageModel, _schema_registry
from tests.support.rubin import Sample, frame, latest, samples, with_cutouts
from tests.support.schema_registry import SchemaRegistry

#: An id lsst-alert-packet does not know (Rubin's are major*100 + minor).
OTHER_ID = 777_001


@pytest.fixture(autouse=True)
def fresh_caches(config_home: Path) -> Iterator[None]:
    _schema_registry._forget_everything()
    yield
    _schema_registry._forget_everything()


def publish_raw(topic_url: str, bodies: list[bytes], headers: Any = None) -> None:
    """Publish bodies as Rubin does: confluent-kafka, no hop headers, one partition."""
    bootstrap, topic = topic_url.removeprefix("kafka://").split("/", 1)
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap})
    for body in bodies:
        producer.produce(topic, body, key=b"k", headers=headers)
    assert producer.flush(30) == 0


def read_all(topic_url: str, **stream_options: Any) -> list[MessageModel]:
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True, **stream_options)
    with stream.open(topic_url, "r") as consumer:
        return list(consumer)


def subscribe(topic_url: str, *options: str) -> list[str]:
    return [topic_url, "--no-auth", "-s", "EARLIEST", "-e", *options]


def test_stream_reads_rubin_alerts_with_a_registry(topic_url: str) -> None:
    every = samples()
    with SchemaRegistry({s.schema_id: s.schema for s in every}) as registry:
        publish_raw(topic_url, [s.framed() for s in every] * 2)
        received = read_all(topic_url, schema_registry=registry.url)
        for sample in every:
            assert registry.id_requests(sample.schema_id) == 1
    assert [type(m) for m in received] == [AvroRecord] * (2 * len(every))
    records = [m for m in received if isinstance(m, AvroRecord)]
    assert [m.schema_id for m in records] == [s.schema_id for s in every] * 2
    assert [m.content for m in records] == [s.record for s in every] * 2


def test_stream_reads_rubin_alerts_from_a_schema_directory(topic_url: str, tmp_path: Path) -> None:
    sample = latest()
    (tmp_path / f"{OTHER_ID}.avsc").write_text(json.dumps(sample.schema))
    publish_raw(topic_url, [frame(OTHER_ID, sample.schema, sample.record)])
    (message,) = read_all(topic_url, schema_dir=tmp_path)
    assert isinstance(message, AvroRecord)
    assert message.schema_id == OTHER_ID and message.content == sample.record


def test_stream_reads_rubin_alerts_with_lsst_alert_packet_alone(topic_url: str) -> None:
    every = samples()
    publish_raw(topic_url, [s.framed(with_cutouts(s)) for s in every])
    received = read_all(topic_url)
    assert [m.content for m in received if isinstance(m, AvroRecord)] == [
        with_cutouts(s) for s in every
    ]


def test_an_unknown_id_between_two_alerts_is_a_blob_with_one_warning(
    topic_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "hop.models")
    sample = latest()
    unknown = frame(OTHER_ID, sample.schema, sample.record)
    publish_raw(topic_url, [sample.framed(), unknown, unknown, sample.framed()])
    received = read_all(topic_url)
    assert [type(m) for m in received] == [AvroRecord, Blob, Blob, AvroRecord]
    assert received[1].content == unknown
    warned = [r.getMessage() for r in caplog.records if str(OTHER_ID) in r.getMessage()]
    assert len(warned) == 1 and "--schema-registry" in warned[0]


@pytest.mark.parametrize("trouble", ["404", "500", "garbage", "slow"])
def test_a_misbehaving_registry_never_stops_the_reader(
    trouble: str,
    topic_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "hop.models")
    monkeypatch.setattr(_schema_registry, "DEFAULT_TIMEOUT", 1.0)
    sample = latest()
    unknown = frame(OTHER_ID, sample.schema, sample.record)
    with SchemaRegistry() as registry:
        if trouble != "404":
            registry.broken[OTHER_ID] = trouble
        publish_raw(topic_url, [sample.framed(), unknown, unknown, sample.framed()])
        started = time.monotonic()
        received = read_all(topic_url, schema_registry=registry.url)
        took = time.monotonic() - started
        assert registry.id_requests(OTHER_ID) == 1
    # Rubin's own ids fall back to lsst-alert-packet; the unknown one is a Blob.
    assert [type(m) for m in received] == [AvroRecord, Blob, Blob, AvroRecord]
    assert took < 20  # one 1 s timeout at most, never a hang
    about = [
        r for r in caplog.records if "registry" in r.getMessage() or str(OTHER_ID) in r.getMessage()
    ]
    assert len(about) == 1


def test_subscribe_prints_each_alert(
    topic_url: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    sample = latest()
    publish_raw(topic_url, [sample.framed(with_cutouts(sample)), sample.framed()])
    assert main(["subscribe", *subscribe(topic_url)]) == 0
    lines = capsysbinary.readouterr().out.splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0], parse_constant=_refuse)
    assert first["diaSourceId"] == sample.record["diaSourceId"]
    assert first["cutoutScience"] == f"<{len(with_cutouts(sample)['cutoutScience'])} bytes>"


def _refuse(name: str) -> Any:
    raise AssertionError(f"not standard JSON: {name}")


def test_subscribe_json_gives_standard_json_with_the_record(
    topic_url: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    sample = latest()
    record = with_cutouts(sample)
    record["diaSource"] = {**record["diaSource"], "ra": float("nan")}
    publish_raw(topic_url, [sample.framed(record)])
    with SchemaRegistry({sample.schema_id: sample.schema}) as registry:
        assert (
            main(["subscribe", *subscribe(topic_url, "-j", "--schema-registry", registry.url)]) == 0
        )
        assert registry.id_requests(sample.schema_id) == 1
    (line,) = capsysbinary.readouterr().out.splitlines()
    shown = json.loads(line, parse_constant=_refuse)
    assert shown["format"] == "avrorecord"
    assert shown["content"]["diaSourceId"] == record["diaSourceId"]
    assert shown["content"]["diaSource"]["ra"] == "NaN"
    assert shown["content"]["cutoutTemplate"] == f"<{len(record['cutoutTemplate'])} bytes>"
    assert shown["base64"] == []


def test_subscribe_json_with_full_bytes_gives_base64(
    topic_url: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    sample = latest()
    record = with_cutouts(sample)
    publish_raw(topic_url, [sample.framed(record)])
    assert main(["subscribe", *subscribe(topic_url, "-j", "--bytes", "base64")]) == 0
    shown = json.loads(capsysbinary.readouterr().out)
    assert base64.b64decode(shown["content"]["cutoutScience"]) == record["cutoutScience"]
    assert "content.cutoutScience" in shown["base64"]


def test_subscribe_save_writes_avro_files_fastavro_reads(
    topic_url: str, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    every = samples()[-3:]
    publish_raw(topic_url, [s.framed(with_cutouts(s)) for s in every])
    with SchemaRegistry({s.schema_id: s.schema for s in every}) as registry:
        options = subscribe(topic_url, "--save", str(tmp_path), "--schema-registry", registry.url)
        assert main(["subscribe", *options]) == 0
    paths = [Path(line.decode()) for line in capsysbinary.readouterr().out.splitlines()]
    assert [p.suffix for p in paths] == [".avro"] * len(every)
    for path, sample in zip(paths, every, strict=True):
        with path.open("rb") as file:
            reader = fastavro.reader(file)
            assert list(reader) == [with_cutouts(sample)]


def test_subscribe_with_a_schema_directory(
    topic_url: str, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    sample = latest()
    (tmp_path / f"{OTHER_ID}.avsc").write_text(json.dumps(sample.schema))
    publish_raw(topic_url, [frame(OTHER_ID, sample.schema, sample.record)])
    assert main(["subscribe", *subscribe(topic_url, "-j", "--schemas", str(tmp_path))]) == 0
    shown = json.loads(capsysbinary.readouterr().out)
    assert shown["format"] == "avrorecord"
    assert shown["content"]["diaSourceId"] == sample.record["diaSourceId"]


def test_writing_an_avro_record_round_trips(topic_url: str) -> None:
    sample: Sample = latest()
    written = AvroRecord(with_cutouts(sample), schema=sample.schema, schema_id=sample.schema_id)
    with Stream(auth=False).open(topic_url, "w") as producer:
        producer.write(written, key=b"k")
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    with stream.open(topic_url, "r") as consumer:
        ((message, metadata),) = list(consumer.read(metadata=True))
    assert isinstance(message, AvroRecord) and message == written
    assert ("_format", b"avrorecord") in metadata.headers
    # Other readers see the framed form itself.
    assert bytes(message) == sample.framed(with_cutouts(sample))


def test_a_format_header_wins_over_the_framing(topic_url: str) -> None:
    body = latest().framed()
    publish_raw(topic_url, [body], headers=[("_format", b"blob")])
    (message,) = read_all(topic_url)
    assert isinstance(message, Blob) and message.content == body


def test_publish_sends_a_json_record_as_a_framed_alert(
    topic_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = latest()
    alert = sample.directory / "sample_data" / "alert.json"
    schema = tmp_path / "alert.avsc"
    schema.write_text(json.dumps(sample.schema))
    url = topic_url
    assert main(["publish", url, "--no-auth", "--schema-id", str(sample.schema_id),
                 "--schema", str(schema), str(alert)]) == 0  # fmt: skip
    # Without --schema, the schema is found by its id (here: lsst-alert-packet).
    assert main(["publish", url, "--no-auth", "--schema-id", str(sample.schema_id),
                 str(alert)]) == 0  # fmt: skip
    received = read_all(topic_url)
    # The record as Avro holds it: defaults filled in, "float" fields at 32 bits.
    written = io.BytesIO(frame(sample.schema_id, sample.schema, json.loads(alert.read_text())))
    written.seek(5)
    expected = fastavro.schemaless_reader(written, fastavro.parse_schema(sample.schema), None)
    assert [type(m) for m in received] == [AvroRecord, AvroRecord]
    for message in received:
        assert isinstance(message, AvroRecord) and message.schema_id == sample.schema_id
        assert message.content == expected


def test_publish_refuses_records_that_do_not_fit(
    topic_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = latest()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"diaSourceId": "not a number"}))
    status = main(
        ["publish", topic_url, "--no-auth", "--schema-id", str(sample.schema_id), str(bad)]
    )
    err = capsys.readouterr().err
    assert status != 0
    assert "is not a record of schema id" in err and "nothing was published" in err
    assert main(["publish", topic_url, "--no-auth", "--schema", str(bad), str(bad)]) != 0
    assert "--schema needs --schema-id" in capsys.readouterr().err
    assert read_all(topic_url) == []
