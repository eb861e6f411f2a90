"""Issue 23 in the library: hints for a local broker, one connect timeout, time windows,
consumer lag and librdkafka's callbacks, against the real broker."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import confluent_kafka
import pytest

from hop import Stream, list_topics
from hop._local_broker import LocalBroker, free_port
from hop.auth import Auth
from hop.errors import (
    AuthenticationError,
    BrokerUnavailableError,
    ConfigurationError,
    NoCredentialsError,
)
from hop.io import StartPosition, _rdkafka_config
from hop.io._url import parse_url
from tests.support.sasl import bearer_capture, unsigned_jwt


@pytest.fixture
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user with nothing configured and no credential stored."""
    for name in ("HOP_CONNECT_TIMEOUT", "HOP_SESSION_TIMEOUT", "HOP_PRODUCE_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path


# --- item 1 --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["r", "w"])
def test_no_credential_for_a_local_broker_says_auth_false_first(
    broker: LocalBroker, no_config: Path, mode: str
) -> None:
    with pytest.raises(NoCredentialsError) as caught:
        Stream(auth=True).open(f"kafka://{broker.bootstrap}/t-ops", mode)
    assert str(caught.value).startswith("use auth=False (")
    with pytest.raises(NoCredentialsError) as listed:
        list_topics(f"kafka://{broker.bootstrap}/", auth=True)
    assert str(listed.value).startswith("use auth=False (")


def test_no_credential_for_a_remote_broker_gives_no_local_hint(no_config: Path) -> None:
    with pytest.raises(NoCredentialsError) as caught:
        Stream(auth=True).open("kafka://kafka.example.org/t", "r")
    assert "auth=False" not in str(caught.value)


@pytest.mark.parametrize("ssl", [True, False])
def test_a_credential_against_a_local_plaintext_broker_fails_fast_with_the_hint(
    broker: LocalBroker, ssl: bool
) -> None:
    credential = Auth("alice", "pw-alice", ssl=ssl)
    started = time.monotonic()
    with pytest.raises(AuthenticationError) as caught:
        list_topics(f"kafka://{broker.bootstrap}/", auth=credential, timeout=30)
    assert time.monotonic() - started < 3
    assert str(caught.value).startswith("use auth=False (")
    started = time.monotonic()
    with pytest.raises(AuthenticationError) as opened:
        Stream(auth=credential).open(f"kafka://{broker.bootstrap}/t-ops", "r")
    assert time.monotonic() - started < 3
    assert str(opened.value).startswith("use auth=False (")


# --- item 3 --------------------------------------------------------------------------------


def test_readers_and_list_topics_take_the_connect_timeout(no_config: Path) -> None:
    url = f"kafka://127.0.0.1:{free_port()}/t-ops"
    started = time.monotonic()
    with pytest.raises(BrokerUnavailableError, match="within 3 s"):
        Stream(auth=False, connect_timeout=3).open(url, "r")
    assert 2.5 < time.monotonic() - started < 8
    started = time.monotonic()
    with pytest.raises(BrokerUnavailableError, match="within 3 s"):
        list_topics(url, auth=False, timeout=30, connect_timeout=3)
    assert 2.5 < time.monotonic() - started < 8


def test_readers_take_the_connect_timeout_setting(
    no_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOP_CONNECT_TIMEOUT", "2")
    url = f"kafka://127.0.0.1:{free_port()}/t-ops"
    started = time.monotonic()
    with pytest.raises(BrokerUnavailableError, match="within 2 s"):
        Stream(auth=False).open(url, "r")
    assert 1.5 < time.monotonic() - started < 7


# --- item 10: librdkafka's callbacks in config ---------------------------------------------------


def test_stats_and_throttle_callbacks_are_called_with_what_librdkafka_gives(topic_url: str) -> None:
    produced: list[dict[str, Any]] = []
    consumed: list[dict[str, Any]] = []
    throttled: list[object] = []
    writing = {
        "stats_cb": lambda text: produced.append(json.loads(text)),
        "throttle_cb": throttled.append,
        "statistics.interval.ms": 200,
        "batch.num.messages": 1,
    }
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    with stream.open(topic_url, "w", config=writing) as producer:
        for number in range(4):
            producer.write({"n": number})
            time.sleep(0.2)
    assert produced and all(stats["type"] == "producer" for stats in produced)
    assert all("msg_cnt" in stats and "msg_size" in stats for stats in produced)
    reading = {
        "stats_cb": lambda text: consumed.append(json.loads(text)),
        "statistics.interval.ms": 100,
    }
    with stream.open(topic_url, "r", config=reading) as consumer:
        assert len(list(consumer)) == 4
        deadline = time.monotonic() + 5
        while not consumed and time.monotonic() < deadline:
            consumer.list_topics(timeout=1)  # the client goes on; poll serves callbacks
            list(consumer.read(batch_timeout=timedelta(seconds=0.2)))
    assert consumed and consumed[0]["type"] == "consumer"
    assert throttled == []  # the broker never throttled: accepted, never called


@pytest.mark.parametrize("name", ["stats_cb", "throttle_cb", "error_cb", "oauth_cb"])
def test_a_callback_that_is_not_callable_is_a_configuration_error(
    topic_url: str, name: str
) -> None:
    for mode in ("r", "w"):
        with pytest.raises(ConfigurationError, match=f"{name} must be callable"):
            Stream(auth=False).open(topic_url, mode, config={name: "not a function"})


def test_an_oauth_callback_in_config_gives_the_login_token() -> None:
    token = unsigned_jwt("alice", 600)
    asked: list[str] = []

    def oauth(config: str) -> tuple[str, float]:
        asked.append(config)
        return token, time.time() + 600

    overrides = {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "OAUTHBEARER",
        "oauth_cb": oauth,
    }
    with bearer_capture() as broker:
        url = parse_url(f"kafka://{broker.bootstrap}/t")
        settings = _rdkafka_config.producer_settings(
            url, None, produce_timeout=timedelta(seconds=5), overrides=overrides
        )
        assert settings["oauth_cb"] is oauth
        producer = confluent_kafka.Producer(settings)
        assert broker.wait_for_token(20, serve=lambda: producer.poll(0.1)) == token
        producer.flush(0)
    assert asked  # called with librdkafka's sasl.oauthbearer.config (empty here)


# --- item 7: reading a window of time --------------------------------------------------------


def write_spread(url: str, count: int) -> list[int]:
    """Write ``count`` messages to one partition, one record per batch, each stamped a few
    milliseconds after the last; return their timestamps (milliseconds)."""
    config = {"batch.num.messages": 1}
    with Stream(auth=False).open(url, "w", config=config) as producer:
        for number in range(count):
            producer.write({"n": number}, key="one-partition")
            producer.flush()
            time.sleep(0.02)
    reader = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    with reader.open(url) as consumer:
        stamps = {m.content["n"]: meta.timestamp for m, meta in consumer.read(metadata=True)}
    return [stamps[number] for number in range(count)]


def moment(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=timezone.utc)


def test_end_at_a_time_reads_exactly_a_window(topic_url: str) -> None:
    stamps = write_spread(topic_url, 6)
    window = Stream(
        auth=False, start_at=moment(stamps[1]), end_at=moment(stamps[3])
    )  # no until_eos: end_at ends reading by itself
    started = time.monotonic()
    with window.open(topic_url) as consumer:
        read = [message.content["n"] for message in consumer]
    assert read == [1, 2, 3]
    assert time.monotonic() - started < 20
    # From the beginning, to a time before anything: nothing; after everything: all.
    with Stream(auth=False, start_at=StartPosition.EARLIEST).open(
        topic_url, end_at=moment(stamps[0] - 1000)
    ) as consumer:
        assert list(consumer) == []
    with Stream(auth=False, start_at=StartPosition.EARLIEST).open(
        topic_url, end_at=moment(stamps[-1] + 60_000)
    ) as consumer:
        assert [m.content["n"] for m in consumer] == [0, 1, 2, 3, 4, 5]


def test_end_at_offsets_per_partition(topic_url: str, topic: str) -> None:
    write_spread(topic_url, 5)
    with Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True).open(
        topic_url
    ) as consumer:
        (partition,) = {meta.partition for _, meta in consumer.read(metadata=True)}
    with Stream(auth=False, start_at=StartPosition.EARLIEST).open(
        topic_url, end_at={(topic, partition): 3}
    ) as consumer:
        assert [m.content["n"] for m in consumer] == [0, 1, 2]


def test_a_bad_end_at_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="end_at"):
        Stream(auth=False, end_at="tomorrow")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="end_at"):
        Stream(auth=False, end_at={("t", 0): -1})
