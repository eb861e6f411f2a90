"""hop.io against the real broker: 0.13's read_raw and list_topics (issue 9), failing fast when
no broker ever answered, topic patterns, missing topics and group joins (issue 13)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import confluent_kafka
import pytest

from hop import io
from hop._local_broker import LocalBroker, free_port
from hop.auth import Auth
from hop.errors import AuthenticationError, BrokerUnavailableError, KafkaTimeoutError
from hop.io import Metadata, StartPosition, Stream, _consumer, list_topics
from hop.models import JSONBlob

EARLIEST_EOS = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
SECRET = "zq9-s3cretpw!x"


def make_topics(bootstrap: str, *topics: str) -> None:
    """Create topics by writing one JSON message to each (Tansu creates them on first use)."""
    for topic in topics:
        with Stream(auth=False).open(f"kafka://{bootstrap}/{topic}", "w") as producer:
            producer.write({"topic": topic})


def stop_after(reader: io.Consumer, seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, reader.stop)
    timer.start()
    return timer


@pytest.fixture
def plaintext_credential() -> Auth:
    """A stored-style SASL_SSL credential: wrong for the plaintext test broker."""
    return Auth("alice", SECRET, host="127.0.0.1")


# --- issue 9 -----------------------------------------------------------------------------------


def test_read_raw_yields_undecoded_messages_and_skips_test_ones(topic_url: str) -> None:
    with Stream(auth=False).open(topic_url, "w") as producer:
        producer.write({"n": 1}, headers={"h": "v"}, key=b"k1")
        producer.write({"n": 2}, test=True)
        producer.write(b"raw bytes")
    with EARLIEST_EOS.open(topic_url) as reader:
        raws = list(reader.read_raw())
    assert all(isinstance(raw, confluent_kafka.Message) for raw in raws)
    assert sorted(raw.value() or b"" for raw in raws) == [b"raw bytes", b'{"n": 1}']
    first = next(raw for raw in raws if raw.value() == b'{"n": 1}')
    meta = Metadata.from_message(first)
    assert (
        meta.key == b"k1" and ("h", b"v") in meta.headers and ("_format", b"json") in meta.headers
    )
    assert meta.topic == topic_url.rsplit("/", 1)[1]
    # With test messages wanted, read_raw gives them too.
    with EARLIEST_EOS.open(topic_url, ignoretest=False) as reader:
        assert len(list(reader.read_raw())) == 3


def test_list_topics_is_restricted_to_the_topics_in_the_url(broker: LocalBroker) -> None:
    tag = uuid.uuid4().hex[:8]
    present, other, absent = f"lt-{tag}-a", f"lt-{tag}-b", f"lt-{tag}-never"
    make_topics(broker.bootstrap, present, other)
    everything = list_topics(f"kafka://{broker.bootstrap}/", auth=False, timeout=10)
    assert {present, other} <= set(everything)
    only = list_topics(f"kafka://{broker.bootstrap}/{present},{absent}", auth=False, timeout=10)
    assert set(only) == {present}
    # Asking about a topic does not create it.
    assert absent not in list_topics(f"kafka://{broker.bootstrap}/", auth=False, timeout=10)


def test_list_topics_on_a_refused_port_is_quick_and_a_kafka_exception() -> None:
    started = time.monotonic()
    with pytest.raises(BrokerUnavailableError, match="connection refused") as info:
        list_topics(f"kafka://127.0.0.1:{free_port()}/", auth=False, timeout=60)
    assert time.monotonic() - started < 20
    # What hop-client 0.13 raised, so old except clauses still catch it.
    assert isinstance(info.value, confluent_kafka.KafkaException)
    assert isinstance(info.value, ConnectionError)


# --- issue 13 item 1: a producer that never reached a broker ----------------------------------


def test_producer_gives_up_when_no_broker_ever_answered() -> None:
    started = time.monotonic()
    producer = Stream(auth=False).open(f"kafka://127.0.0.1:{free_port()}/t", "w", connect_timeout=2)
    producer.write(b"one")
    producer.write(b"two")
    with pytest.raises(BrokerUnavailableError) as info:
        producer.close()
    assert time.monotonic() - started < 20
    text = str(info.value)
    assert "no broker answered within 2 s (connection refused)" in text
    assert "2 message(s) not delivered" in text
    assert info.value.undelivered == 2


def test_unknown_host_is_named() -> None:
    producer = Stream(auth=False).open("kafka://no-such-host.invalid/t", "w", connect_timeout=1)
    producer.write(b"one")
    with pytest.raises(BrokerUnavailableError, match="host name not resolved"):
        producer.flush()
    producer._closed = True  # nothing will ever be delivered: do not wait in close()


def test_a_broker_that_answered_once_is_waited_for() -> None:
    with LocalBroker() as broker:
        url = f"kafka://{broker.bootstrap}/waited"
        producer = Stream(auth=False).open(url, "w", connect_timeout=1, produce_timeout=30)
        producer.write(b"before")
        assert producer.flush(10) == 0
    # The broker is gone; the connect timeout no longer applies.
    producer.write(b"during the outage")
    assert producer.flush(3) == 1
    producer._producer.purge()
    producer._closed = True


def test_tls_against_a_plaintext_broker_says_so(
    broker: LocalBroker, plaintext_credential: Auth, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    with pytest.raises(AuthenticationError) as info:
        list_topics(f"kafka://{broker.bootstrap}/", auth=plaintext_credential, timeout=60)
    assert time.monotonic() - started < 20
    assert "TLS handshake failed" in str(info.value) and "--no-auth" in str(info.value)
    producer = Stream(auth=plaintext_credential).open(f"kafka://{broker.bootstrap}/t", "w")
    producer.write(b"x")
    with pytest.raises(AuthenticationError, match=r"TLS handshake failed.*1 message"):
        producer.close()
    assert time.monotonic() - started < 40
    assert SECRET not in caplog.text


# --- issue 13 items 5, 6, 12 -------------------------------------------------------------------


def test_a_missing_topic_is_warned_of_once_with_the_closest_names(
    broker: LocalBroker, caplog: pytest.LogCaptureFixture
) -> None:
    tag = uuid.uuid4().hex[:8]
    make_topics(broker.bootstrap, f"alerts-{tag}")
    with caplog.at_level(logging.WARNING, logger="hop"):
        with EARLIEST_EOS.open(f"kafka://{broker.bootstrap}/alerts-{tag[:-1]}z") as reader:
            list(reader)
    warnings = [r.getMessage() for r in caplog.records if "does not exist" in r.getMessage()]
    assert len(warnings) == 1
    assert f"alerts-{tag[:-1]}z does not exist (yet)" in warnings[0]
    assert f"closest existing: alerts-{tag}" in warnings[0]


def test_an_existing_topic_is_not_warned_of(
    topic_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    make_topics(topic_url.removeprefix("kafka://").split("/")[0], topic_url.rsplit("/", 1)[1])
    with caplog.at_level(logging.WARNING, logger="hop"):
        with EARLIEST_EOS.open(topic_url) as reader:
            assert len(list(reader)) == 1
    assert "does not exist" not in caplog.text


def _read_until(reader: io.Consumer, count: int) -> Iterator[object]:
    for seen, message in enumerate(reader, start=1):
        yield message
        if seen >= count:
            return


def test_topic_pattern_reads_matching_topics_including_later_ones(broker: LocalBroker) -> None:
    tag = uuid.uuid4().hex[:8]
    make_topics(broker.bootstrap, f"pat-{tag}-a", f"other-{tag}")
    url = f"kafka://{broker.bootstrap}/^pat-{tag}-.*"
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST)
    with stream.open(url, session_timeout=timedelta(seconds=4)) as reader:
        timer = stop_after(reader, 90)
        try:
            received = []
            for message in reader:
                received.append(message)
                if len(received) == 1:
                    # A topic created after the subscription matches too.
                    make_topics(broker.bootstrap, f"pat-{tag}-b")
                if len(received) == 2:
                    break
        finally:
            timer.cancel()
    assert received == [JSONBlob({"topic": f"pat-{tag}-a"}), JSONBlob({"topic": f"pat-{tag}-b"})]


def test_a_group_reader_without_partitions_ends_with_until_eos(
    topic_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test broker takes half the session timeout (2 s here) to hand out partitions; a
    # join timeout of a tenth of the session (0.4 s) runs out first, as a never-ending join would.
    monkeypatch.setattr(_consumer, "_JOIN_TIMEOUT_SESSIONS", 0.1)
    make_topics(topic_url.removeprefix("kafka://").split("/")[0], topic_url.rsplit("/", 1)[1])
    group = f"joiner-{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    with EARLIEST_EOS.open(topic_url, group_id=group, session_timeout=4) as reader:
        with pytest.raises(KafkaTimeoutError) as info:
            list(reader)
    assert time.monotonic() - started < 20
    text = str(info.value)
    assert repr(group) in text and "no partitions" in text and "another group" in text


def test_a_group_reader_without_partitions_warns_once_and_goes_on(
    topic_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(_consumer, "_JOIN_TIMEOUT_SESSIONS", 0.1)
    make_topics(topic_url.removeprefix("kafka://").split("/")[0], topic_url.rsplit("/", 1)[1])
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST)
    with caplog.at_level(logging.WARNING, logger="hop"):
        with stream.open(
            topic_url, group_id=f"g-{uuid.uuid4().hex[:6]}", session_timeout=4
        ) as reader:
            timer = stop_after(reader, 60)
            try:
                first = next(iter(reader))
            finally:
                timer.cancel()
    assert first == JSONBlob({"topic": topic_url.rsplit("/", 1)[1]})
    assert len([r for r in caplog.records if "still waiting" in r.getMessage()]) == 1


def test_a_password_in_the_url_is_in_no_error_or_log_of_a_failed_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # librdkafka's own lines included (hop.librdkafka)
    url = f"kafka://alice:{SECRET}@127.0.0.1:{free_port()}/t"
    texts: list[str] = []
    producer = Stream(auth=False).open(url, "w", connect_timeout=1)
    producer.write(b"x")
    with pytest.raises(BrokerUnavailableError) as producer_error:
        producer.close()
    texts += [str(producer_error.value), repr(producer_error.value)]
    with pytest.raises(BrokerUnavailableError) as listing_error:
        list_topics(url, auth=False, timeout=5)
    texts += [str(listing_error.value), repr(listing_error.value)]
    with pytest.raises(BrokerUnavailableError) as reader_error:
        Stream(auth=False).open(url, "r")
    texts += [str(reader_error.value), repr(reader_error.value)]
    assert "127.0.0.1" in caplog.text  # the failures were logged...
    for text in [*texts, caplog.text]:
        assert SECRET not in text and "s3cretpw" not in text  # ...without the password
