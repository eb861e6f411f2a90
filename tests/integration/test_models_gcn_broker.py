"""GCN-style messages written with raw confluent-kafka and no headers, read through hop.

Each topic family of NASA's GCN Kafka, plus messages that only look like one, goes through
the local broker and comes back as the model it should: through ``Consumer.read`` and
through the installed ``hop subscribe`` in a subprocess.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import confluent_kafka
import pytest

from hop._local_broker import LocalBroker
from hop.io import StartPosition, Stream
from hop.models import Blob, GCNCircular, GCNTextNotice, JSONBlob, MessageModel, VOEvent
from tests.support import gcn_messages as gcn

HOP = str(Path(sys.executable).with_name("hop"))

# In the order written: (name, body, model class, label hop subscribe -j shows).
FAMILIES: list[tuple[str, bytes, type[MessageModel], str]] = [
    ("voevent", gcn.VOEVENT, VOEvent, "voevent"),
    ("text notice", gcn.TEXT_NOTICE, GCNTextNotice, "gcntextnotice"),
    ("json notice", gcn.JSON_NOTICE, JSONBlob, "json"),
    ("json circular", gcn.JSON_CIRCULAR, GCNCircular, "circular"),
    ("binary packet", gcn.BINARY_PACKET, Blob, "blob"),
    ("malformed xml", gcn.MALFORMED_XML, Blob, "blob"),
    ("merely TITLE", gcn.TITLE_TEXT, Blob, "blob"),
]


def write_raw(broker: LocalBroker, topic: str, bodies: list[bytes]) -> None:
    """Write ``bodies`` as GCN does: plain confluent-kafka, no headers at all."""
    producer = confluent_kafka.Producer({"bootstrap.servers": broker.bootstrap})
    for body in bodies:
        producer.produce(topic, body, key=b"gcn")  # one key, one partition: order kept
    assert producer.flush(30) == 0


@pytest.fixture
def gcn_topic(broker: LocalBroker, topic: str, topic_url: str) -> str:
    write_raw(broker, topic, [body for _, body, _, _ in FAMILIES])
    return topic_url


def test_headerless_gcn_messages_become_models_through_consumer_read(
    gcn_topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    with caplog.at_level(logging.WARNING, logger="hop.models"):
        with stream.open(gcn_topic, "r") as consumer:
            received = [(message, metadata) for message, metadata in consumer.read(metadata=True)]
    assert len(received) == len(FAMILIES)
    for (name, body, cls, _), (message, metadata) in zip(FAMILIES, received, strict=True):
        assert type(message) is cls, name
        assert metadata.headers == [], name
        if cls is not GCNCircular:  # (bytes() of a circular is its text, as in 0.13)
            assert bytes(message) == body, name  # sent on unchanged
    notice = received[1][0]
    assert isinstance(notice, GCNTextNotice)
    assert notice.notice_type == "Fermi-GBM Final Position"
    assert notice.trigger_time == "30064.00 SOD {08:21:04.00} UT"
    circular = received[3][0]
    assert isinstance(circular, GCNCircular)
    assert circular.header["number"] == "99999"
    assert circular.body == json.loads(gcn.JSON_CIRCULAR)["body"]
    # One warning, for the document that looked like a VOEvent but did not parse.
    warnings = [r.getMessage() for r in caplog.records if r.name == "hop.models"]
    assert len(warnings) == 1 and "VOEvent" in warnings[0]


def run_hop(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOP_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    return subprocess.run([HOP, *args], capture_output=True, env=env, timeout=120, check=False)


def test_headerless_gcn_messages_through_installed_hop_subscribe(
    gcn_topic: str, tmp_path: Path
) -> None:
    result = run_hop(
        "subscribe", gcn_topic, "-s", "EARLIEST", "-e", "--no-auth", "-j", tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stderr
    records: list[dict[str, Any]] = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["format"] for r in records] == [label for _, _, _, label in FAMILIES]
    assert records[2]["content"] == json.loads(gcn.JSON_NOTICE)
    # -j shows a circular as its text, as 'hop publish' reads it back from a .gcn3 file
    assert "SUBJECT: GRB 261126A: hop test circular\n" in records[3]["content"]
    assert base64.b64decode(records[4]["content"]) == gcn.BINARY_PACKET
    assert b"VOEvent" in result.stderr  # the one warning, about the malformed document


def test_installed_hop_subscribe_prints_a_text_notice_as_its_text(
    broker: LocalBroker, topic: str, topic_url: str, tmp_path: Path
) -> None:
    write_raw(broker, topic, [gcn.TEXT_NOTICE, gcn.VOEVENT])
    result = run_hop("subscribe", topic_url, "-s", "EARLIEST", "-e", "--no-auth", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(gcn.TEXT_NOTICE)
    assert gcn.VOEVENT in result.stdout


# --- deep structures through a real producer ---------------------------------------------------


def test_write_of_deeply_nested_json_is_type_error(topic_url: str) -> None:
    deep: list[Any] = []
    inner = deep
    for _ in range(100_000):
        inner.append([])
        inner = inner[0]
    with Stream(auth=False).open(topic_url, "w") as producer:
        with pytest.raises(TypeError, match="nested too deeply"):
            producer.write(deep)
        producer.write({"still": "works"})
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    with stream.open(topic_url, "r") as consumer:
        assert list(consumer) == [JSONBlob({"still": "works"})]
