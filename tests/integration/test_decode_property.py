"""Property tests: no body under any headers makes decoding raise, in decode() and in a consumer."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import confluent_kafka
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hop._local_broker import LocalBroker
from hop.io import StartPosition, Stream
from hop.models import AvroBlob, Blob, JSONBlob, MessageModel, decode, encode
from tests.support.paths import DATA

KNOWN_LABELS = ["json", "blob", "voevent", "circular", "gcntextnotice", "avro"]

labels = st.one_of(st.none(), st.sampled_from(KNOWN_LABELS), st.text(max_size=20))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _mutations(seed: bytes) -> st.SearchStrategy[bytes]:
    """Bodies that start like a real message and then go wrong."""

    @st.composite
    def mutate(draw: st.DrawFn) -> bytes:
        data = bytearray(seed)
        for _ in range(draw(st.integers(0, 8))):
            if not data:
                break
            position = draw(st.integers(0, len(data) - 1))
            data[position] = draw(st.integers(0, 255))
        cut = draw(st.integers(0, len(data)))
        return bytes(data[:cut]) + draw(st.binary(max_size=16))

    return mutate()


AVRO_SEED = encode(AvroBlob([{"a": 1, "b": [1.5, None], "c": {"d": b"x"}}]))[1]
bodies = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=100).map(str.encode),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(
        lambda f, c: json.dumps({"format": f, "content": c}).encode(),
        st.sampled_from([*KNOWN_LABELS, "other"]) | st.text(max_size=8),
        json_values,
    ),
    _mutations(AVRO_SEED),
    _mutations((DATA / "example_avro.avro").read_bytes()),
    _mutations((DATA / "example_voevent.xml").read_bytes()[:400]),
    _mutations((DATA / "example.gcn3").read_bytes()),
)


@pytest.fixture(autouse=True)
def _quiet_models_logger() -> Any:
    # Thousands of expected warnings; keep them out of the captured log.
    logger = logging.getLogger("hop.models")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(previous)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.one_of(st.none(), bodies), label=labels)
def test_decode_never_raises(body: bytes | None, label: str | None) -> None:
    model = decode(body, label)
    assert isinstance(model, MessageModel)
    if isinstance(model, Blob):
        assert model.content == (body or b"")


@settings(max_examples=300, deadline=None)
@given(value=json_values)
def test_any_json_value_round_trips(value: Any) -> None:
    label, body = encode(value)
    model = decode(body, label)
    assert isinstance(model, JSONBlob)
    # NaN != NaN, so compare the encodings.
    assert json.dumps(model.content) == json.dumps(value)


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=100))
def test_any_bytes_round_trip_as_blob(body: bytes) -> None:
    label, encoded = encode(body)
    assert decode(encoded, label) == Blob(body)


# --- through a real consumer: headers as they come off the wire -----------------------------

header_keys = st.one_of(
    st.sampled_from(["_format", "_id", "_test", "_sender", "format", ""]),
    # librdkafka keeps header keys as C strings: a NUL would cut the key short on the wire.
    # confluent-kafka 2.16 crashes the process (SIGSEGV) on a key that is not valid UTF-8
    # (a lone surrogate), so no producer may be given one.
    st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]), max_size=10),
)
header_values = st.one_of(
    st.none(),
    st.binary(max_size=20),
    st.sampled_from([b"json", b"avro", b"voevent", b"circular", b"gcntextnotice", b"blob"]),
    st.text(max_size=10).map(str.encode),
)
wire_messages = st.lists(
    st.tuples(
        st.one_of(st.none(), bodies),
        st.lists(st.tuples(header_keys, header_values), max_size=5),
    ),
    min_size=1,
    max_size=15,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(messages=wire_messages)
def test_consumer_survives_any_body_under_any_headers(
    broker: LocalBroker, messages: list[tuple[bytes | None, list[tuple[str, str | bytes | None]]]]
) -> None:
    topic = f"property-{uuid.uuid4().hex}"
    producer = confluent_kafka.Producer({"bootstrap.servers": broker.bootstrap})
    for value, headers in messages:
        # One key: one partition, so the messages come back in the order written.
        producer.produce(topic, value=value, key=b"k", headers=headers)
    assert producer.flush(10) == 0
    reader = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    with reader.open(f"kafka://{broker.bootstrap}/{topic}", "r", ignoretest=False) as consumer:
        received = list(consumer.read(metadata=True))
    assert len(received) == len(messages)
    for (model, metadata), (value, headers) in zip(received, messages, strict=True):
        assert isinstance(model, MessageModel)
        assert list(metadata.headers) == headers
        if isinstance(model, Blob):
            assert model.content == (value or b"")
