"""hop.io against the real broker: every rule of the streaming API and of WIRE.md."""

from __future__ import annotations

import gc
import json
import threading
import time
import uuid
import warnings
import weakref
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import confluent_kafka
import pytest

from hop._local_broker import LocalBroker, free_port
from hop.errors import (
    AuthenticationError,
    BrokerUnavailableError,
    DeliveryError,
    MessageTooLargeError,
    StreamStateError,
)
from hop.io import Consumer, Metadata, Producer, StartPosition, Stream, list_topics
from hop.models import Blob, JSONBlob, MessageModel
from tests.support.messages import content
from tests.support.waiting import a_later_millisecond

EARLIEST_EOS = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
# Real consumer groups join in about half the session timeout on the test broker.
GROUP_SESSION = timedelta(seconds=6)


def raw_produce(
    bootstrap: str,
    topic: str,
    records: Iterable[tuple[bytes | None, list[tuple[str, bytes]] | None]],
    partition: int | None = None,
) -> None:
    """Write records with raw confluent-kafka, one record per batch (see BROKER.md)."""
    producer = confluent_kafka.Producer(
        {"bootstrap.servers": bootstrap, "batch.num.messages": 1, "linger.ms": 0}
    )
    for value, headers in records:
        kwargs: dict[str, Any] = {"headers": headers}
        if partition is not None:
            kwargs["partition"] = partition
        producer.produce(topic, value, **kwargs)
        producer.poll(0)
    assert producer.flush(10) == 0


def create_topic(url: str) -> None:
    """Make the broker create a topic, as a producer's metadata request does."""
    bootstrap, topic = url.removeprefix("kafka://").split("/", 1)
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap})
    assert topic in producer.list_topics(topic, timeout=10).topics


def read_all(url: str, **kwargs: Any) -> list[tuple[MessageModel, Metadata]]:
    with EARLIEST_EOS.open(url, "r", **kwargs) as consumer:
        return list(consumer.read(metadata=True))


def write_all(url: str, messages: Iterable[Any], **kwargs: Any) -> None:
    with Stream(auth=False).open(url, "w", config={"batch.num.messages": 1}) as producer:
        for message in messages:
            producer.write(message, **kwargs)


# -- the wire format ---------------------------------------------------------------------


def test_round_trip_with_headers_keys_and_duplicate_header_keys(topic_url: str) -> None:
    with Stream(auth=False).open(topic_url, "w") as producer:
        producer.write({"n": 1}, headers=[("k", "a"), ("k", b"b")], key="key-1")
        producer.write(b"\x00raw", headers={"x": "y"})
    got = sorted(read_all(topic_url), key=lambda pair: str(pair[0]))
    models = [m for m, _ in got]
    assert JSONBlob({"n": 1}) in models and Blob(b"\x00raw") in models
    for model, meta in got:
        keys = [k for k, _ in meta.headers]
        if model == JSONBlob({"n": 1}):
            assert keys == ["k", "k", "_id", "_format"]
            assert meta.headers[:2] == [("k", b"a"), ("k", b"b")]
            assert meta.key == b"key-1"
        else:
            assert keys == ["x", "_id", "_format"]
        assert meta.timestamp > 0 and meta.offset >= 0


def test_write_raw_sends_body_headers_and_key_as_given(topic_url: str) -> None:
    body, headers = Producer.pack({"relayed": True}, headers={"origin": "elsewhere"})
    with Stream(auth=False).open(topic_url, "w") as producer:
        producer.write_raw(body, headers, key=b"k1")
        producer.write_raw(b"plain", {"a": "1"}, key="k2")
    got = sorted(read_all(topic_url), key=lambda pair: str(pair[1].key))
    (first, first_meta), (second, second_meta) = got
    assert first == JSONBlob({"relayed": True})
    assert first_meta.key == b"k1" and first_meta.headers == headers
    assert second_meta.key == b"k2" and second_meta.headers == [("a", b"1")]
    assert second == Blob(b"plain")  # no _format and not JSON: a blob (WIRE.md)


def test_every_message_gets_its_own_id(topic_url: str) -> None:
    write_all(topic_url, range(50))
    ids = [dict(meta.headers)["_id"] for _, meta in read_all(topic_url)]
    assert len(ids) == 50 and len(set(ids)) == 50
    assert all(uuid.UUID(bytes=i).version == 4 for i in ids)


def test_legacy_messages_without_format_header(broker: LocalBroker, topic: str) -> None:
    legacy = [
        (json.dumps({"format": "blob", "content": {"old": "json"}}).encode(), None),
        (json.dumps({"format": "blob", "content": "just text"}).encode(), [("x", b"1")]),
        (json.dumps([1, 2, 3]).encode(), None),
        (json.dumps({"no": "envelope"}).encode(), None),
        (b"\xff\xfe not json", None),
    ]
    raw_produce(broker.bootstrap, topic, legacy, partition=0)
    got = [m for m, _ in read_all(f"kafka://{broker.bootstrap}/{topic}")]
    assert got == [
        JSONBlob({"old": "json"}),
        JSONBlob("just text"),
        JSONBlob([1, 2, 3]),
        JSONBlob({"no": "envelope"}),
        Blob(b"\xff\xfe not json"),
    ]


def test_corrupt_body_is_delivered_as_blob_with_headers(
    broker: LocalBroker, topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    bad = [(b"{not json", [("_id", b"0" * 16), ("_format", b"json")])]
    raw_produce(broker.bootstrap, topic, bad)
    [(model, meta)] = read_all(f"kafka://{broker.bootstrap}/{topic}")
    assert model == Blob(b"{not json")
    assert dict(meta.headers)["_format"] == b"json"
    assert any("json" in r.getMessage().lower() for r in caplog.records)


def test_test_messages_are_skipped_unless_asked(broker: LocalBroker, topic_url: str) -> None:
    with Stream(auth=False).open(topic_url, "w") as producer:
        producer.write({"real": 1})
        producer.write({"test": 1}, test=True)
    raw_produce(
        broker.bootstrap,
        topic_url.rsplit("/", 1)[1],
        # Any value of a _test header marks a test message.
        [(b'{"test": 2}', [("_test", b"false"), ("_format", b"json")])],
    )
    assert [m for m, _ in read_all(topic_url)] == [JSONBlob({"real": 1})]
    shown = read_all(topic_url, ignoretest=False)
    assert sorted(json.dumps(content(m)) for m, _ in shown) == sorted(
        ['{"real": 1}', '{"test": 1}', '{"test": 2}']
    )
    assert sum(Consumer.is_test(pair) for pair in shown) == 2


# -- where reading starts --------------------------------------------------------------------


def test_latest_sees_only_what_comes_after_open(topic_url: str) -> None:
    write_all(topic_url, ["before"])
    received: list[MessageModel] = []
    with Stream(auth=False, start_at=StartPosition.LATEST).open(topic_url, "r") as consumer:
        write_all(topic_url, ["after"])
        for message in consumer:
            received.append(message)
            break
    assert received == [JSONBlob("after")]


def test_reading_a_topic_before_it_has_data_waits_for_it(topic_url: str) -> None:
    result: list[MessageModel] = []
    with Stream(auth=False).open(topic_url, "r") as consumer:
        writer = threading.Timer(0.5, write_all, args=(topic_url, [{"late": True}]))
        writer.start()
        for message in consumer:
            result.append(message)
            break
        writer.join()
    assert result == [JSONBlob({"late": True})]


def test_earliest_until_eos_over_partitions_and_topics(broker_url: str) -> None:
    topics = [f"t-{uuid.uuid4().hex[:10]}" for _ in range(2)]
    for index, name in enumerate(topics):
        with Stream(auth=False).open(f"{broker_url}/{name}", "w") as producer:
            for i in range(40):
                # Keys spread the messages over the partitions.
                producer.write({"t": index, "i": i}, key=str(i))
    started = time.monotonic()
    got = read_all(f"{broker_url}/{','.join(topics)}")
    assert time.monotonic() - started < 10
    assert len(got) == 80
    assert {meta.topic for _, meta in got} == set(topics)
    assert len({(meta.topic, meta.partition) for _, meta in got}) > 2  # several partitions
    assert sorted((content(m)["t"], content(m)["i"]) for m, _ in got) == [
        (t, i) for t in range(2) for i in range(40)
    ]


def test_until_eos_on_an_empty_topic_ends_at_once(topic_url: str) -> None:
    started = time.monotonic()
    assert read_all(topic_url) == []
    assert time.monotonic() - started < 5


def test_last_n_of_each_partition(broker: LocalBroker, topic: str) -> None:
    for partition in (0, 1):
        raw_produce(
            broker.bootstrap,
            topic,
            [(json.dumps([partition, i]).encode(), None) for i in range(10)],
            partition=partition,
        )
    url = f"kafka://{broker.bootstrap}/{topic}"
    got = read_all(url, start_at=-3)
    assert sorted(content(m) for m, _ in got) == [[p, i] for p in (0, 1) for i in (7, 8, 9)]


def test_start_at_a_time(broker: LocalBroker, topic: str) -> None:
    url = f"kafka://{broker.bootstrap}/{topic}"
    raw_produce(broker.bootstrap, topic, [(b'"early"', None)] * 3, partition=0)
    middle = a_later_millisecond()  # timestamps count milliseconds: keep them apart
    a_later_millisecond(middle)
    raw_produce(broker.bootstrap, topic, [(b'"late"', None)] * 2, partition=0)
    got = read_all(url, start_at=middle)
    assert [m for m, _ in got] == [JSONBlob("late"), JSONBlob("late")]
    # A naive datetime is taken as UTC.
    naive = middle.replace(tzinfo=None)
    assert [m for m, _ in read_all(url, start_at=naive)] == [JSONBlob("late")] * 2


# -- groups and commits ------------------------------------------------------------------------


def test_a_group_resumes_after_its_last_committed_message(topic_url: str) -> None:
    write_all(topic_url, list(range(10)))
    group = f"g-{uuid.uuid4().hex[:8]}"
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST)
    first: list[int] = []
    with stream.open(topic_url, "r", group_id=group, session_timeout=GROUP_SESSION) as consumer:
        for message in consumer:
            first.append(content(message))
            if len(first) == 4:
                break
    second: list[int] = []
    with Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True).open(
        topic_url, "r", group_id=group, session_timeout=GROUP_SESSION
    ) as consumer:
        second = [content(m) for m in consumer]
    assert len(first) == 4
    assert sorted(first + second) == list(range(10))


def test_a_group_reader_picks_up_a_topic_created_after_it_started(topic_url: str) -> None:
    received: list[MessageModel] = []
    with Stream(auth=False, start_at=StartPosition.EARLIEST).open(
        topic_url, "r", group_id=f"g-{uuid.uuid4().hex[:8]}", session_timeout=GROUP_SESSION
    ) as consumer:
        writer = threading.Timer(1.0, write_all, args=(topic_url, ["first"]))
        writer.start()
        started = time.monotonic()
        for message in consumer:
            received.append(message)
            break
        writer.join()
    assert received == [JSONBlob("first")]
    assert time.monotonic() - started < 15


def test_mark_done_without_autocommit(topic_url: str) -> None:
    write_all(topic_url, list(range(6)))
    group = f"g-{uuid.uuid4().hex[:8]}"
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    with stream.open(topic_url, "r", group_id=group, session_timeout=GROUP_SESSION) as consumer:
        for message, meta in consumer.read(metadata=True, autocommit=False):
            if content(message) % 2 == 0:
                consumer.mark_done(meta, asynchronous=False)
    # Only explicit marks were committed; per partition, resuming starts after the last mark.
    with stream.open(topic_url, "r", group_id=group, session_timeout=GROUP_SESSION) as consumer:
        again = [content(m) for m in consumer]
    assert set(again) <= {1, 3, 5}


def test_two_consumers_in_a_group_split_the_partitions(topic_url: str) -> None:
    group = f"g-{uuid.uuid4().hex[:8]}"
    create_topic(topic_url)
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST)
    consumers = [
        stream.open(topic_url, "r", group_id=group, session_timeout=GROUP_SESSION) for _ in range(2)
    ]
    seen: list[list[int]] = [[], []]
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            for message in consumers[index].read(batch_timeout=timedelta(seconds=0.1)):
                seen[index].append(content(message))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            parts = [c.assignment() for c in consumers]
            if all(parts) and sum(len(p) for p in parts) == 4:
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"the group did not settle: {[c.assignment() for c in consumers]}")
        write_all(topic_url, list(range(200)))
        deadline = time.monotonic() + 30
        while len(seen[0]) + len(seen[1]) < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        for consumer in consumers:
            consumer.stop()
        for thread in threads:
            thread.join(10)
        for consumer in consumers:
            consumer.close()
    assert not errors
    assert seen[0] and seen[1], "both consumers should have had a share"
    assert sorted(seen[0] + seen[1]) == list(range(200)), "each message exactly once"


# -- skip_duplicates -------------------------------------------------------------------------


def test_skip_duplicates_drops_resent_copies(broker: LocalBroker, topic: str) -> None:
    packed = [Producer.pack({"n": i}) for i in range(5)]
    records = [(body, headers) for body, headers in packed]
    # Resend 0, 2 and 4, as a robust publisher would after a crash.
    records += [records[0], records[2], records[4]]
    raw_produce(broker.bootstrap, topic, records, partition=0)
    url = f"kafka://{broker.bootstrap}/{topic}"
    assert len(read_all(url)) == 8
    deduped = [content(m)["n"] for m, _ in read_all(url, skip_duplicates=True)]
    assert deduped == [0, 1, 2, 3, 4]
    with EARLIEST_EOS.open(url, "r") as consumer:
        # A window of 3 ids has forgotten 0 and 2 when their copies come, not 4.
        assert len(list(consumer.read(skip_duplicates=3))) == 7


# -- lifecycle and failures ------------------------------------------------------------------


def test_stop_from_another_thread_ends_reading(topic_url: str) -> None:
    consumer = Stream(auth=False).open(topic_url, "r")
    threading.Timer(0.3, consumer.stop).start()
    started = time.monotonic()
    assert list(consumer) == []
    assert time.monotonic() - started < 3
    consumer.close()
    with pytest.raises(StreamStateError, match="closed"):
        list(consumer)


def test_delivery_failure_surfaces_from_close() -> None:
    with LocalBroker() as own:
        url = f"kafka://{own.bootstrap}/doomed"
        producer = Stream(auth=False).open(url, "w", produce_timeout=timedelta(seconds=2))
        producer.write({"ok": 1})
        assert producer.flush() == 0
        own.kill()
        for i in range(5):
            producer.write({"lost": i})
        started = time.monotonic()
        with pytest.raises(DeliveryError) as info:
            producer.close()
        assert time.monotonic() - started < 15
        assert info.value.failures == 5
        assert "5 message(s)" in str(info.value)


def test_unreachable_broker_is_a_clear_error_not_a_hang() -> None:
    port = free_port()
    started = time.monotonic()
    with pytest.raises(BrokerUnavailableError) as info:
        list_topics(f"kafka://127.0.0.1:{port}/", auth=False, timeout=2)
    assert time.monotonic() - started < 6
    assert "broker" in str(info.value).lower()


def test_list_topics(broker_url: str, topic: str) -> None:
    write_all(f"{broker_url}/{topic}", [1])
    topics = list_topics(broker_url, auth=False, timeout=10)
    assert topic in topics
    assert len(topics[topic].partitions) >= 1
    with Stream(auth=False).open(f"{broker_url}/{topic}", "r") as consumer:
        assert topic in consumer.list_topics(timeout=10)


def test_dropped_unflushed_producer_warns(broker_url: str, topic: str) -> None:
    producer = Stream(auth=False).open(f"{broker_url}/{topic}", "w", config={"linger.ms": 10_000})
    producer.write({"pending": True})
    alive = weakref.ref(producer)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del producer
        gc.collect()
    assert alive() is None, "a producer with queued messages must still be collectable"
    assert any(
        issubclass(w.category, ResourceWarning) and "not flushed" in str(w.message) for w in caught
    )


def test_a_closed_producer_is_dropped_silently(broker_url: str, topic: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with Stream(auth=False).open(f"{broker_url}/{topic}", "w") as producer:
            producer.write({"sent": True})
        del producer
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


def test_auth_true_without_credentials_is_a_clear_error(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    from hop.errors import NoCredentialsError

    with pytest.raises(NoCredentialsError, match="hop auth add"):
        Stream(auth=True).open("kafka://localhost:1/t", "w")


@pytest.mark.parametrize("action", ["list_topics", "write", "read", "read_in_group"])
def test_a_refused_credential_is_an_authentication_error_not_a_hang(
    broker: LocalBroker, topic: str, action: str
) -> None:
    # The test broker cannot do SASL and refuses every handshake: exactly what a wrong
    # credential looks like to a client. (Real SASL is covered by the settings tests.)
    from hop.auth import Auth

    credential = Auth("alice", "not-the-password", ssl=False)
    url = f"kafka://{broker.bootstrap}/{topic}"
    started = time.monotonic()
    with pytest.raises(AuthenticationError) as info:
        if action == "list_topics":
            list_topics(url, auth=credential, timeout=20)
        elif action == "write":
            with Stream(auth=credential).open(url, "w") as producer:
                producer.write({"never": "sent"})
        else:
            group = f"g-{uuid.uuid4().hex[:8]}" if action == "read_in_group" else None
            with Stream(auth=credential).open(url, "r", group_id=group) as consumer:
                list(consumer)
    assert time.monotonic() - started < 8
    assert "not-the-password" not in str(info.value)


# -- issue 19 item 14: hop-client 0.13's keyword options of Stream.open ------------------------


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compression_type_round_trip(topic_url: str, codec: str) -> None:
    bodies = [f"compressible {codec} alert {i} ".encode() * 50 for i in range(5)]
    with Stream(auth=False).open(topic_url, "w", compression_type=codec) as producer:
        for body in bodies:
            producer.write(body)
    # Several partitions: order is kept per partition only.
    assert sorted(bytes(message) for message, _ in read_all(topic_url)) == bodies


def test_read_forever_false_ends_at_the_end_of_the_stream(topic_url: str) -> None:
    write_all(topic_url, [{"n": 1}, {"n": 2}, {"n": 3}])
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST)
    with stream.open(topic_url, "r", read_forever=False) as consumer:
        read = [content(message) for message in consumer]
        assert sorted(read, key=str) == [{"n": 1}, {"n": 2}, {"n": 3}]
    # read_forever=True overrides a stream that stops at the end.
    stopper = threading.Timer(3.0, lambda: opened.stop())
    with EARLIEST_EOS.open(topic_url, "r", read_forever=True) as opened:
        stopper.start()
        started = time.monotonic()
        assert len(list(opened)) == 3
        assert time.monotonic() - started >= 2.5  # went on waiting until stopped


def test_error_callback_hears_of_an_unreachable_broker() -> None:
    url = f"kafka://127.0.0.1:{free_port()}/t"
    heard: list[confluent_kafka.KafkaError] = []
    producer = Stream(auth=False).open(url, "w", connect_timeout=2, error_callback=heard.append)
    producer.write(b"lost")
    with pytest.raises(BrokerUnavailableError):
        producer.close()
    assert heard and all(isinstance(error, confluent_kafka.KafkaError) for error in heard)
    read_heard: list[confluent_kafka.KafkaError] = []
    with pytest.raises(BrokerUnavailableError):
        Stream(auth=False).open(url, "r", error_callback=read_heard.append)
    assert read_heard and all(isinstance(error, confluent_kafka.KafkaError) for error in heard)


def test_message_max_bytes_is_enforced_at_write(topic_url: str) -> None:
    with Stream(auth=False).open(topic_url, "w", message_max_bytes=2_000) as producer:
        with pytest.raises(MessageTooLargeError, match="2,000"):
            producer.write(b"x" * 5_000)
        producer.write(b"small")
    assert [bytes(message) for message, _ in read_all(topic_url)] == [b"small"]


# -- issue 19, section 3: list_topics honours its timeout on a name that does not resolve -------


def test_list_topics_waits_its_timeout_for_a_name_to_resolve() -> None:
    url = "kafka://no-such-host.invalid/"
    started = time.monotonic()
    with pytest.raises(BrokerUnavailableError, match="within 4 s \\(host name not resolved\\)"):
        list_topics(url, auth=False, timeout=4)
    assert 3.5 <= time.monotonic() - started < 15
    # Without a timeout (-1: no limit) it does not wait for ever: it says so at once.
    started = time.monotonic()
    with pytest.raises(BrokerUnavailableError, match="host name not resolved"):
        list_topics(url, auth=False)
    assert time.monotonic() - started < 10
