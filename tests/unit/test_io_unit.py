"""hop.io without a broker: packing, headers, options and their errors."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest

from hop import io
from hop.errors import ConfigurationError, StreamStateError
from hop.io import Consumer, Producer, StartPosition, Stream
from hop.models import Blob, JSONBlob


class _Cred:
    username = "alice"
    password = "secret"
    mechanism = "SCRAM-SHA-512"
    protocol = "SASL_PLAINTEXT"
    ssl_ca_location = None
    token_endpoint = None


def test_pack_adds_headers_in_wire_order_after_the_users() -> None:
    body, headers = Producer.pack(
        {"a": 1}, headers=[("x", "1"), ("x", b"2")], test=True, auth=_Cred()
    )
    assert json.loads(body) == {"a": 1}
    assert [k for k, _ in headers] == ["x", "x", "_id", "_sender", "_test", "_format"]
    assert headers[0] == ("x", b"1") and headers[1] == ("x", b"2")
    values = dict(headers[2:])
    assert uuid.UUID(bytes=values["_id"]).version == 4
    assert values["_sender"] == b"alice"
    assert values["_test"] == b"true"
    assert values["_format"] == b"json"


def test_pack_without_credential_or_test_flag() -> None:
    _, headers = Producer.pack(b"raw", headers={"k": "v"})
    assert [k for k, _ in headers] == ["k", "_id", "_format"]
    assert dict(headers)["_format"] == b"blob"


def test_ids_are_unique_and_valid_uuid4() -> None:
    ids = {dict(Producer.pack(1)[1])["_id"] for _ in range(2000)}
    assert len(ids) == 2000
    for raw in list(ids)[:50]:
        parsed = uuid.UUID(bytes=raw)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


@pytest.mark.parametrize("value", [{"a": [1, 2]}, [1, "x"], "text", 3.5, None, True])
def test_any_json_value_goes_as_json(value: object) -> None:
    body, headers = Producer.pack(value)
    assert dict(headers)["_format"] == b"json"
    assert json.loads(body) == value


def test_models_pack_with_their_label() -> None:
    body, headers = Producer.pack(JSONBlob({"k": 1}))
    assert dict(headers)["_format"] == b"json" and json.loads(body) == {"k": 1}
    body, headers = Producer.pack(Blob(b"\x00\x01"))
    assert dict(headers)["_format"] == b"blob" and body == b"\x00\x01"


def test_unencodable_objects_are_type_errors() -> None:
    with pytest.raises(TypeError):
        Producer.pack(object())


def test_reserved_and_malformed_headers_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="reserved"):
        Producer.pack(1, headers={"_id": b"x"})
    with pytest.raises(TypeError):
        Producer.pack(1, headers=[("k", 5)])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        Producer.pack(1, headers=["nope"])  # type: ignore[list-item]


def test_open_validates_mode_url_and_options() -> None:
    stream = Stream(auth=False)
    with pytest.raises(ValueError, match="invalid mode"):
        stream.open("kafka://localhost:1/t", "x")
    with pytest.raises(ValueError, match="scheme"):
        stream.open("https://localhost/t", "r")
    with pytest.raises(ValueError, match="names no topic"):
        stream.open("kafka://localhost:1/", "r")
    with pytest.raises(ValueError, match="unexpected option"):
        stream.open("kafka://localhost:1/t", "w", start_at=StartPosition.EARLIEST)


@pytest.mark.parametrize("bad", [0, 5, "EARLIEST", True, 1.5])
def test_start_at_must_be_a_position_time_or_negative_count(bad: object) -> None:
    with pytest.raises(ValueError, match="start_at"):
        Stream(auth=False, start_at=bad)  # type: ignore[arg-type]


def test_bad_librdkafka_override_is_named() -> None:
    with pytest.raises(ValueError, match="not_a_setting"):
        Stream(auth=False).open("kafka://localhost:1/t", "w", config={"not_a_setting": 1})


def test_write_needs_a_topic_when_the_url_has_several_or_none() -> None:
    with Stream(auth=False).open("kafka://localhost:1/a,b", "w") as producer:
        with pytest.raises(ValueError, match="pass topic="):
            producer.write({"x": 1})
    with Stream(auth=False).open("kafka://localhost:1", "w") as producer:
        with pytest.raises(ValueError, match="pass topic="):
            producer.write({"x": 1})


def test_closed_producer_says_so() -> None:
    producer = Stream(auth=False).open("kafka://localhost:1/t", "w")
    producer.close()
    producer.close()  # twice is harmless
    with pytest.raises(StreamStateError, match="closed"):
        producer.write({"x": 1})
    with pytest.raises(StreamStateError, match="closed"):
        producer.flush()


def test_default_stream_and_reexports() -> None:
    import hop

    assert isinstance(hop.stream, Stream) and hop.stream is io.stream
    assert hop.Stream is Stream and hop.io.Consumer is Consumer
    assert isinstance(hop.__version__, str)
    assert io.Deserializer["JSON"].value is not None


def test_is_test_accepts_metadata_pairs() -> None:
    meta = io.Metadata("t", 0, 0, 0, None, [("_test", b"")], _raw=None)  # type: ignore[arg-type]
    assert Consumer.is_test(meta) and Consumer.is_test((JSONBlob(1), meta))
    meta2 = io.Metadata("t", 0, 0, 0, None, [("x", b"")], _raw=None)  # type: ignore[arg-type]
    assert not Consumer.is_test(meta2)


def test_produce_timeout_must_be_a_duration() -> None:
    with pytest.raises(ValueError, match="produce_timeout"):
        Stream(auth=False).open("kafka://localhost:1/t", "w", produce_timeout="soon")  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="negative"):
        Stream(auth=False).open("kafka://localhost:1/t", "w", produce_timeout=timedelta(-1))


def test_header_keys_that_are_not_utf8_are_refused_not_a_crash() -> None:
    # confluent-kafka would crash the whole process on such a key.
    with pytest.raises(TypeError, match="UTF-8"):
        Producer.pack(1, headers={"\ud800": b"v"})
    with Stream(auth=False).open("kafka://localhost:1/t", "w") as producer:
        with pytest.raises(TypeError, match="UTF-8"):
            producer.write_raw(b"x", [("\ud800", b"v")])
        with pytest.raises(TypeError, match="must be str"):
            producer.write_raw(b"x", [(b"k", b"v")])  # type: ignore[list-item]
