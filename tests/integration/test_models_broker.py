"""Every model through a real broker: written with hop.io, read back equal."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, cast

import confluent_kafka
import fastavro
import pytest

from hop.io import StartPosition, Stream
from hop.models import AvroBlob, Blob, GCNCircular, GCNTextNotice, JSONBlob, MessageModel, VOEvent
from tests.support.paths import DATA


def write_all(topic_url: str, messages: list[Any]) -> None:
    stream = Stream(auth=False)
    with stream.open(topic_url, "w") as producer:
        for message in messages:
            # One key: one partition, so the messages come back in the order written.
            producer.write(message, key=b"k")


def read_all(topic_url: str) -> list[Any]:
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    with stream.open(topic_url, "r") as consumer:
        return list(consumer)


def test_every_builtin_model_round_trips_through_the_broker(topic_url: str) -> None:
    sent: list[MessageModel] = [
        Blob(bytes(range(256))),
        JSONBlob({"alert": "x", "values": [1, 2.5, None, True]}),
        JSONBlob("just a string"),
        VOEvent.load_file(DATA / "example_voevent.xml"),
        VOEvent(ivorn="ivo://example/test#2", role="test", Who={"Date": "2024-01-01"}),
        GCNCircular.load_file(DATA / "example.gcn3"),
        GCNCircular.load_file(DATA / "example_gcn_old.gcn3"),
        GCNTextNotice.load_file(DATA / "example_gcn_notice.txt"),
        AvroBlob.load_file(DATA / "example_avro.avro"),
        AvroBlob([{"a": 1, "b": None}, {"a": 2, "b": "x"}]),
        AvroBlob(
            [{"id": "a", "n": 1}, {"id": "b", "n": 2}],
            {
                "type": "record",
                "name": "R",
                "fields": [{"name": "id", "type": "string"}, {"name": "n", "type": "int"}],
            },
            single_record=False,
        ),
    ]
    write_all(topic_url, sent)
    received = read_all(topic_url)
    assert received == sent
    assert [type(m) for m in received] == [type(m) for m in sent]
    avro_with_schema = received[-1]
    assert isinstance(avro_with_schema, AvroBlob)
    assert isinstance(sent[-1], AvroBlob)
    assert avro_with_schema.schema == sent[-1].schema


def test_plain_values_round_trip_through_the_broker(topic_url: str) -> None:
    sent: list[Any] = [{"a": 1}, [1, 2], "s", 3, 2.5, False, None, b"\x00raw"]
    write_all(topic_url, sent)
    expected = [JSONBlob(v) for v in sent[:-1]] + [Blob(b"\x00raw")]
    assert read_all(topic_url) == expected


def test_voevent_arrives_as_the_original_bytes(topic_url: str) -> None:
    write_all(topic_url, [VOEvent.load_file(DATA / "example_voevent.xml")])
    consumer_conf = {
        "bootstrap.servers": topic_url.split("/")[2],
        "group.id": "raw-check",
        "auto.offset.reset": "earliest",
        "enable.partition.eof": True,
    }
    topic = topic_url.rsplit("/", 1)[1]
    consumer = confluent_kafka.Consumer(consumer_conf)
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        partitions = list(metadata.topics[topic].partitions)
        consumer.assign(
            [
                confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                for p in partitions
            ]
        )
        values: list[tuple[bytes | None, dict[str, Any]]] = []
        done: set[int | None] = set()
        while len(done) < len(partitions):
            message = consumer.poll(10)
            assert message is not None, "timed out reading back"
            error = message.error()
            if error is not None:
                assert error.code() == confluent_kafka.KafkaError._PARTITION_EOF
                done.add(cast(int, message.partition()))
                continue
            raw_headers = cast(list[tuple[str, bytes]], message.headers() or [])
            values.append((cast(bytes, message.value()), dict(raw_headers)))
    finally:
        consumer.close()
    assert len(values) == 1
    body, headers = values[0]
    assert body == (DATA / "example_voevent.xml").read_bytes()
    assert headers["_format"] == b"voevent"


def produce_raw(
    topic_url: str, messages: list[tuple[bytes, list[tuple[str, str | bytes | None]]]]
) -> None:
    producer = confluent_kafka.Producer({"bootstrap.servers": topic_url.split("/")[2]})
    topic = topic_url.rsplit("/", 1)[1]
    for value, headers in messages:
        producer.produce(topic, value=value, key=b"k", headers=headers)
    assert producer.flush(10) == 0


def test_legacy_and_corrupt_messages_from_the_broker(
    topic_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    circular = GCNCircular.load_file(DATA / "example.gcn3")
    legacy_circular = json.dumps(
        {"format": "circular", "content": {"header": circular.header, "body": circular.body}}
    ).encode()
    legacy_json = json.dumps({"format": "blob", "content": {"a": [1]}}).encode()
    voevent_as_json = json.dumps(
        {"ivorn": "ivo://x#1", "role": "test", "version": "2.0", "Who": {"Date": "d"}}
    ).encode()
    produce_raw(
        topic_url,
        [
            (legacy_circular, []),
            (legacy_json, []),
            (b'{"plain": true}', []),
            (b"\xffnot json", []),
            (voevent_as_json, [("_format", b"voevent")]),
            (b"{broken json", [("_format", b"json")]),
            (b"<VOEvent><oops></VOEvent>", [("_format", b"voevent")]),
            (b"Obj\x01 not really avro", [("_format", b"avro")]),
            (b"whatever", [("_format", b"some-future-format")]),
        ],
    )
    with caplog.at_level(logging.WARNING, logger="hop.models"):
        received = read_all(topic_url)
    assert received == [
        circular,
        JSONBlob({"a": [1]}),
        JSONBlob({"plain": True}),
        Blob(b"\xffnot json"),
        VOEvent(ivorn="ivo://x#1", role="test", Who={"Date": "d"}),
        Blob(b"{broken json"),
        Blob(b"<VOEvent><oops></VOEvent>"),
        Blob(b"Obj\x01 not really avro"),
        Blob(b"whatever"),
    ]
    assert "'json'" in caplog.text and "'voevent'" in caplog.text and "'avro'" in caplog.text


def test_manual_avro_example_with_a_record_schema_through_the_broker(
    topic_url: str, tmp_path: Path
) -> None:
    """The manual's example: a list of records with a record schema (as fastavro loads it)."""
    path = tmp_path / "alert.avsc"
    path.write_text(
        json.dumps(
            {
                "type": "record",
                "name": "alert",
                "fields": [
                    {"name": "priority", "type": "int"},
                    {"name": "payload", "type": "bytes"},
                ],
            }
        )
    )
    schema = fastavro.schema.load_schema(str(path))
    one = [{"priority": 1, "payload": b"\x02Binary data\x03"}]
    two = [*one, {"priority": 2, "payload": b""}]
    write_all(topic_url, [AvroBlob(one, schema=schema), AvroBlob(two, schema=schema)])
    received = read_all(topic_url)
    assert [type(m) for m in received] == [AvroBlob, AvroBlob]
    # One record arrives as that record (a one-record container), several as their list.
    assert received[0].content == one[0] and received[0].single_record is True
    assert received[1].content == two and received[1].single_record is False
    assert [f["name"] for f in received[1].schema["fields"]] == ["priority", "payload"]
