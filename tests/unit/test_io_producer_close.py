"""Producer.close(timeout) and Producer.abandon(): giving up on queued messages on purpose.

No broker: the producer points at a closed local port and is told to wait forever for one,
so its messages stay queued until it gives up on them."""

from __future__ import annotations

import gc

import confluent_kafka
import pytest

from hop.errors import DeliveryError, StreamStateError
from hop.io import Producer
from hop.io._url import parse_url


def _queued(count: int, reports: list[object]) -> Producer:
    producer = Producer(parse_url("kafka://127.0.0.1:1/t"), connect_timeout=None)

    def on_delivery(error: confluent_kafka.KafkaError | None, _: confluent_kafka.Message) -> None:
        reports.append(error)

    for n in range(count):
        producer.write({"n": n}, delivery_callback=on_delivery)
    return producer


def test_abandon_drops_the_queue_without_reports_or_warning() -> None:
    reports: list[object] = []
    producer = _queued(3, reports)
    assert len(producer) >= 3  # librdkafka also counts its own unserved events
    producer.abandon()
    assert len(producer) == 0
    assert reports == []
    assert "closed" in repr(producer)
    producer.abandon()  # twice is harmless
    producer.close()  # and so is closing after it
    with pytest.raises(StreamStateError):
        producer.write({"late": True})
    # A dropped producer with messages queued would warn (warnings are errors here).
    del producer
    gc.collect()


def test_close_with_a_timeout_counts_what_it_dropped() -> None:
    reports: list[object] = []
    producer = _queued(4, reports)
    with pytest.raises(DeliveryError) as info:
        producer.close(timeout=0.1)
    assert info.value.failures == 4
    assert "4 message(s)" in str(info.value)
    assert reports == []
    assert len(producer) == 0
    producer.close()  # closed: harmless


def test_close_with_a_timeout_and_nothing_queued_is_quiet() -> None:
    producer = Producer(parse_url("kafka://127.0.0.1:1/t"), connect_timeout=None)
    producer.close(timeout=0.1)
    assert "closed" in repr(producer)
