"""hop.io, hop.io._url and hop.errors without a broker: 0.13 compatibility (issue 9), secrets and
error types (issue 10), connection settings (issue 13)."""

from __future__ import annotations

import logging
import time
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

import confluent_kafka
import pytest

from hop import configure, io
from hop.errors import (
    AuthenticationError,
    BrokerUnavailableError,
    ClientError,
    ConfigurationError,
    HopError,
    InvalidMessageError,
    MessageTooLargeError,
)
from hop.io import Metadata, Producer, Stream, _client, _producer, _rdkafka_config
from hop.io._url import parse_url, redact_url

SECRET = "zq9-s3cr/etPW!x"

# Every way parse_url can refuse a URL, each carrying the secret as a password.
BAD_URLS = [
    f"kafka://alice:{SECRET}@127.0.0.1:notaport/t",
    f"kafka://alice:{SECRET}@127.0.0.1:99999/t",
    f"kafka://alice:{SECRET}@127.0.0.1:\u00b2/t",
    f"kafka:/alice:{SECRET}@host/t",
    f"kafka//alice:{SECRET}@host/t",
    f"alice:{SECRET}@host/t",
    f"http://alice:{SECRET}@host/t",
    f"kafka://alice:{SECRET}@/t",
    f"kafka://alice:{SECRET}@h\udcff/t",
    f"kafka://alice:{SECRET}@h\x00/t",
    f"kafka://alice:{SECRET}@[zz/t",
    f"kafka://alice:{SECRET}@host/bad topic",
    f"kafka://alice:{SECRET}@host/^bad(pattern",
]


def _all_text(exc: BaseException) -> str:
    """Everything an exception could show: its text, repr and the chain behind it."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts += [str(current), repr(current), *map(str, current.args)]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


@pytest.mark.parametrize("url", BAD_URLS)
def test_url_errors_never_echo_the_userinfo(url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConfigurationError) as info:
        parse_url(url)
    text = _all_text(info.value)
    assert SECRET not in text and "s3cr" not in text
    assert "alice" not in text  # userinfo, not just the password
    assert "***@" in str(info.value)
    assert SECRET not in caplog.text


@pytest.mark.parametrize("url", BAD_URLS)
def test_stream_open_with_a_bad_url_never_echoes_the_secret(url: str) -> None:
    for mode in ("r", "w"):
        with pytest.raises(HopError) as info:
            Stream(auth=False).open(url, mode)
        assert SECRET not in _all_text(info.value)


def test_a_password_holding_a_slash_is_parsed_and_dropped() -> None:
    url = parse_url(f"kafka://alice:{SECRET}@127.0.0.1:9/t")
    assert url.username == "alice" and url.brokers == (("127.0.0.1", 9),)
    assert url.topics == ("t",)
    assert SECRET not in str(url) and SECRET not in repr(url)


def test_redact_url_replaces_userinfo_only() -> None:
    assert redact_url("kafka://u:p@h:1/t") == "kafka://***@h:1/t"
    assert redact_url("kafka://h:1/t") == "kafka://h:1/t"
    assert redact_url("u:p@h") == "***@h"


def test_a_reader_without_a_topic_names_the_url_without_its_password() -> None:
    with pytest.raises(ConfigurationError) as info:
        Stream(auth=False).open(f"kafka://alice:{SECRET}@127.0.0.1:1/", "r")
    assert SECRET not in _all_text(info.value) and "names no topic" in str(info.value)


# --- issue 9: Metadata.from_message -----------------------------------------------------------


def test_metadata_from_message() -> None:
    raw = confluent_kafka.Message(
        topic="gcn.circular",
        partition=2,
        offset=41,
        key=b"k",
        value=b"body",
        headers=[("_format", b"blob"), ("x", b"1")],
        timestamp=(confluent_kafka.TIMESTAMP_CREATE_TIME, 1_764_000_000_000),
    )
    meta = Metadata.from_message(raw)
    assert (meta.topic, meta.partition, meta.offset) == ("gcn.circular", 2, 41)
    assert meta.timestamp == 1_764_000_000_000 and meta.key == b"k"
    assert meta.headers == [("_format", b"blob"), ("x", b"1")]
    assert meta._raw is raw
    bare = Metadata.from_message(confluent_kafka.Message(topic="t", value=b""))
    assert bare.headers == [] and bare.key is None


# --- issue 10 item 9/11: errors that are HopErrors --------------------------------------------


@pytest.fixture
def producer() -> Any:
    # No broker: nothing here reaches librdkafka's network side.
    with Stream(auth=False).open("kafka://127.0.0.1:1/t", "w") as opened:
        yield opened


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"topic": ""}, "topic is empty"),
        ({"topic": "a\x00b"}, "invalid topic name"),
        ({"topic": "a\udcffb"}, "invalid topic name"),
        ({"topic": "has space"}, "invalid topic name"),
        ({"key": "k\udcff"}, "cannot be sent"),
        ({"headers": {"a\x00b": "v"}}, "NUL"),
        ({"headers": {"\ud800": "v"}}, "UTF-8"),
        ({"headers": {"k": "v\udcff"}}, "not valid UTF-8"),
        ({"delivery_callback": 42}, "callable"),
    ],
)
def test_unsendable_writes_are_hop_errors_with_builtin_bases(
    producer: Producer, kwargs: dict[str, Any], needle: str
) -> None:
    with pytest.raises(InvalidMessageError, match=needle) as info:
        producer.write(b"x", **kwargs)
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)


def test_write_raw_with_unencodable_header_value_is_a_hop_error(producer: Producer) -> None:
    with pytest.raises(InvalidMessageError):
        producer.write_raw(b"x", [("k", "v\udcff")])


def test_a_raising_delivery_callback_is_logged_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[object] = []

    def callback(error: confluent_kafka.KafkaError | None, message: Any) -> None:
        calls.append(error)
        raise RuntimeError("callback bug")

    safe = _producer._SafeCallback(callback)
    error = confluent_kafka.KafkaError(confluent_kafka.KafkaError._MSG_TIMED_OUT)
    with caplog.at_level(logging.ERROR, logger="hop.io"):
        safe(error, confluent_kafka.Message(topic="t"))
        safe(None, confluent_kafka.Message(topic="t"))
    assert calls == [error, None]
    assert len(caplog.records) == 1  # logged once, not per message
    assert "callback bug" in caplog.text


class _FlushRaises:
    """Stands in for confluent_kafka.Producer: flush fails as confluent-kafka's sometimes does."""

    def __init__(self, failures: int, cause: BaseException | None = None) -> None:
        self.failures = failures
        self.cause = cause

    def flush(self, timeout: float) -> int:
        if self.failures:
            self.failures -= 1
            error = SystemError("<built-in method flush> returned NULL without setting an error")
            if self.cause is not None:
                raise error from self.cause
            raise error
        return 0

    def poll(self, timeout: float) -> int:
        return self.flush(timeout)

    def __len__(self) -> int:
        return 1


def _with_fake_client(producer: Producer, fake: _FlushRaises) -> None:
    real = producer._producer
    real.purge()
    producer._producer = fake  # type: ignore[assignment]


def test_flush_system_error_once_is_retried() -> None:
    producer = Producer(parse_url("kafka://127.0.0.1:1/t"), connect_timeout=None)
    _with_fake_client(producer, _FlushRaises(1))
    assert producer._flush_slice(0.01) == 1  # the slice counts as no progress
    assert producer._flush_slice(0.01) == 0
    producer._closed = True


def test_flush_system_error_repeated_is_a_client_error() -> None:
    producer = Producer(parse_url("kafka://127.0.0.1:1/t"), connect_timeout=None)
    _with_fake_client(producer, _FlushRaises(5))
    with pytest.raises(ClientError, match="flush failed") as info:
        for _ in range(3):
            producer._flush_slice(0.01)
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, HopError)
    producer._closed = True


def test_poll_system_error_from_an_interrupt_stays_an_interrupt() -> None:
    producer = Producer(parse_url("kafka://127.0.0.1:1/t"), connect_timeout=None)
    _with_fake_client(producer, _FlushRaises(2, KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        producer.poll(0.01)
    with pytest.raises(KeyboardInterrupt):
        producer._serve(0)
    producer._closed = True


def test_flush_system_error_from_an_interrupt_stays_an_interrupt() -> None:
    producer = Producer(parse_url("kafka://127.0.0.1:1/t"), connect_timeout=None)
    _with_fake_client(producer, _FlushRaises(1, KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        producer._flush_slice(0.01)
    producer._closed = True


# --- issue 10 item 12: message too large -----------------------------------------------------


def test_too_large_for_the_producer_names_limit_and_setting() -> None:
    with Stream(auth=False).open(
        "kafka://127.0.0.1:1/t", "w", config={"message.max.bytes": 2000}
    ) as producer:
        with pytest.raises(MessageTooLargeError) as info:
            producer.write(b"x" * 5000)
    text = str(info.value)
    assert "5,000 bytes" in text and "limit 2,000" in text
    assert "message.max.bytes" in text and "max.message.bytes" in text
    assert isinstance(info.value, ValueError)


def test_too_large_at_the_broker_names_both_limits() -> None:
    error = confluent_kafka.KafkaError(
        confluent_kafka.KafkaError.MSG_SIZE_TOO_LARGE, "Broker: Message size too large"
    )
    text = _producer._describe_delivery_error(error, 1_000_000)
    assert text.startswith("Broker: Message size too large")
    assert "broker's limit" in text and "message.max.bytes (now 1,000,000 bytes)" in text
    other = confluent_kafka.KafkaError(confluent_kafka.KafkaError._MSG_TIMED_OUT)
    assert _producer._describe_delivery_error(other, 10) == other.str()


# --- issue 13: connection failures, settings --------------------------------------------------


@pytest.mark.parametrize(
    ("line", "meaning"),
    [
        ("h:9/bootstrap: Connect to ipv4#127.0.0.1:9 failed: Connection refused", "refused"),
        ("Failed to resolve 'nohost:9092': Name or service not known", "not resolved"),
        ("Connection setup timed out in state SSL_HANDSHAKE (after 10002ms)", "TLS handshake"),
        ("SASL SCRAM-SHA-512 mechanism handshake failed: ... in state AUTH_HANDSHAKE", "auth"),
    ],
)
def test_connection_failures_are_told_apart(line: str, meaning: str) -> None:
    errors = _client._ClientErrors("test", secure=True)
    errors.log(3, "%s [%s] %s", "FAIL", "rdkafka#producer-1", line)
    assert errors.failure is not None and meaning in errors.failure
    error = errors.never_reached("listing topics at kafka://h:9/", 15.0, undelivered=2)
    text = str(error)
    assert "no broker answered within 15 s" in text and "2 message(s) not delivered" in text
    assert error.undelivered == 2
    if meaning in ("TLS handshake", "auth"):
        assert isinstance(error, AuthenticationError) and "--no-auth" in text
    else:
        assert isinstance(error, BrokerUnavailableError) and "--no-auth" not in text
    assert isinstance(error, confluent_kafka.KafkaException)


def test_error_callback_remembers_all_brokers_down() -> None:
    errors = _client._ClientErrors("test")
    errors(
        confluent_kafka.KafkaError(confluent_kafka.KafkaError._TRANSPORT, "x: Connection refused")
    )
    assert not errors.all_down and errors.failure == "connection refused"
    errors(confluent_kafka.KafkaError(confluent_kafka.KafkaError._ALL_BROKERS_DOWN, "1/1 down"))
    assert errors.all_down and errors.failure == "connection refused"


def test_default_session_timeout_is_10_s() -> None:
    settings = _rdkafka_config.consumer_settings(
        parse_url("kafka://h/t"),
        None,
        group_id="g",
        auto_commit=False,
        offset_reset="latest",
        partition_eof=False,
    )
    assert settings["session.timeout.ms"] == 10_000
    assert settings["heartbeat.interval.ms"] == 3_333
    assert settings["socket.connection.setup.timeout.ms"] == 10_000


def test_connect_timeout_setting(monkeypatch: pytest.MonkeyPatch, config_home: Path) -> None:
    assert "connect_timeout" in configure.SETTINGS
    monkeypatch.setenv("HOP_CONNECT_TIMEOUT", "2.5")
    assert configure.load_config()["connect_timeout"] == timedelta(seconds=2.5)
    monkeypatch.setenv("HOP_CONNECT_TIMEOUT", "0")
    assert configure.load_config()["connect_timeout"] == timedelta(0)  # given: waits forever
    monkeypatch.setenv("HOP_CONNECT_TIMEOUT", "soon")
    with pytest.raises(ConfigurationError, match="HOP_CONNECT_TIMEOUT"):
        configure.load_config()


def test_connect_timeout_precedence(monkeypatch: pytest.MonkeyPatch, config_home: Path) -> None:
    url = "kafka://127.0.0.1:1/t"
    with Stream(auth=False).open(url, "w") as producer:
        assert producer._connect_timeout == io.DEFAULT_CONNECT_TIMEOUT == 15.0
    monkeypatch.setenv("HOP_CONNECT_TIMEOUT", "4")
    with Stream(auth=False).open(url, "w") as producer:
        assert producer._connect_timeout == 4.0
    monkeypatch.setenv("HOP_CONNECT_TIMEOUT", "0")
    with Stream(auth=False).open(url, "w") as producer:
        assert producer._connect_timeout is None  # the setting 0 waits forever
    monkeypatch.setenv("HOP_CONNECT_TIMEOUT", "4")
    with Stream(auth=False, connect_timeout=None).open(url, "w") as producer:
        assert producer._connect_timeout is None
    with Stream(auth=False, connect_timeout=7).open(
        url, "w", connect_timeout=timedelta(seconds=3)
    ) as producer:
        assert producer._connect_timeout == 3.0
    with pytest.raises(ValueError, match="connect_timeout"):
        Stream(auth=False).open(url, "w", connect_timeout="soon")  # type: ignore[call-overload]


def test_topic_patterns_parse_and_cannot_be_written() -> None:
    url = parse_url(r"kafka://h/^gcn\.classic\..*,plain")
    assert url.topics == (r"^gcn\.classic\..*", "plain")
    with pytest.raises(ConfigurationError, match="topic pattern"):
        Stream(auth=False).open(r"kafka://127.0.0.1:1/^gcn\..*", "w")


def test_connection_failures_are_quiet_within_the_connect_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    errors = _client._ClientErrors("test")
    errors.quiet_until = time.monotonic() + 60
    refused = confluent_kafka.KafkaError(
        confluent_kafka.KafkaError._TRANSPORT, "h:9/bootstrap: Connection refused"
    )
    with caplog.at_level(logging.DEBUG, logger="hop.io"):
        errors(refused)
        assert [r.levelno for r in caplog.records] == [logging.DEBUG]
        assert errors.failure == "connection refused"  # still remembered for the error
        errors.quiet_until = 0.0
        errors(refused)
    # librdkafka's line at DEBUG, then hop's own (issue 23 item 6).
    assert [r.levelno for r in caplog.records] == [logging.DEBUG, logging.DEBUG, logging.WARNING]
    assert "cannot reach broker h:9 (connection refused)" in caplog.records[-1].getMessage()


# --- issue 19 item 13: Stream.auth as in 0.13 ----------------------------------------------------


def test_stream_auth_is_what_013_gave(monkeypatch: pytest.MonkeyPatch) -> None:
    from hop import auth as hop_auth

    stored = [hop_auth.Auth("stored", "pw", host="a.example")]
    loads: list[int] = []

    def load_auth(config_file: object = None) -> list[hop_auth.Auth]:
        loads.append(1)
        return stored

    monkeypatch.setattr(hop_auth, "load_auth", load_auth)
    assert Stream(auth=False).auth is None
    stream = Stream(auth=True)
    assert loads == []  # loaded on first access, not before
    assert stream.auth is stored
    assert stream.auth is stored
    assert loads == [1]  # and cached
    single = hop_auth.Auth("one", "pw")
    assert Stream(auth=single).auth == [single]
    several = [single, hop_auth.Auth("two", "pw")]
    assert Stream(auth=several).auth is several
    odd: Any = "anything else"
    assert Stream(auth=odd).auth is odd


def test_a_stream_on_stored_credentials_loads_them_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from hop import auth as hop_auth

    loads: list[int] = []

    def load_auth(config_file: object = None) -> list[hop_auth.Auth]:
        loads.append(1)
        return [hop_auth.Auth("user", "pw", host="127.0.0.1", ssl=False, method="PLAIN")]

    monkeypatch.setattr(hop_auth, "load_auth", load_auth)
    stream = Stream(auth=True)
    for _ in range(2):
        with stream.open("kafka://127.0.0.1:1/t", "w") as producer:
            assert producer.auth is not None and producer.auth.username == "user"
    assert loads == [1]


# --- issue 19 item 14: 0.13's keyword options of Stream.open ------------------------------------


class _Captured(Exception):
    """Raised by a fake librdkafka client once it has the settings it was made with."""

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__("captured")
        self.settings = settings


def _settings_of(
    monkeypatch: pytest.MonkeyPatch, mode: str, url: str = "kafka://127.0.0.1:1/t", **kwargs: Any
) -> dict[str, Any]:
    """The librdkafka settings ``Stream(auth=False).open(url, mode, **kwargs)`` makes."""

    def fake(settings: dict[str, Any]) -> None:
        raise _Captured(dict(settings))

    monkeypatch.setattr(confluent_kafka, "Producer" if mode == "w" else "Consumer", fake)
    with pytest.raises(_Captured) as info:
        Stream(auth=False).open(url, mode, **kwargs)
    monkeypatch.undo()
    return info.value.settings


def test_013_write_options_become_librdkafka_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[object] = []
    settings = _settings_of(
        monkeypatch,
        "w",
        produce_timeout=timedelta(seconds=12),
        produce_backoff_time=timedelta(microseconds=10),
        use_idempotence=True,
        reconnect_backoff_time=timedelta(milliseconds=250),
        reconnect_max_time=timedelta(seconds=5),
        compression_type="zstd",
        message_max_bytes=2_000_000,
        error_callback=seen.append,
    )
    assert settings["message.timeout.ms"] == 12_000
    assert settings["retry.backoff.ms"] == 1  # at least 1 ms
    assert settings["enable.idempotence"] is True
    assert settings["reconnect.backoff.ms"] == 250
    assert settings["reconnect.backoff.max.ms"] == 5_000
    assert settings["compression.type"] == "zstd"
    assert settings["message.max.bytes"] == 2_000_000
    # The caller's error callback is called after hop's own (which stays in charge).
    error = confluent_kafka.KafkaError(confluent_kafka.KafkaError._ALL_BROKERS_DOWN)
    settings["error_cb"](error)
    assert seen == [error]
    # produce_timeout 0 never times out; the backoff in seconds as well.
    settings = _settings_of(monkeypatch, "w", produce_timeout=0, produce_backoff_time=0.5)
    assert settings["message.timeout.ms"] == 0
    assert settings["retry.backoff.ms"] == 500


def test_013_read_options_become_librdkafka_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[object] = []
    settings = _settings_of(
        monkeypatch,
        "r",
        offset_commit_interval=timedelta(seconds=2),
        check_crcs=True,
        reconnect_backoff_time=timedelta(milliseconds=50),
        reconnect_max_time=timedelta(seconds=3),
        error_callback=seen.append,
        read_forever=False,
    )
    assert settings["auto.commit.interval.ms"] == 2_000
    assert settings["check.crcs"] is True
    assert settings["reconnect.backoff.ms"] == 50
    assert settings["reconnect.backoff.max.ms"] == 3_000
    assert settings["enable.partition.eof"] is True  # read_forever=False: until the end
    error = confluent_kafka.KafkaError(confluent_kafka.KafkaError._TRANSPORT)
    settings["error_cb"](error)
    assert seen == [error]
    assert _settings_of(monkeypatch, "r", read_forever=True)["enable.partition.eof"] is False


def test_013_options_give_way_to_explicit_librdkafka_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _settings_of(
        monkeypatch, "w", compression_type="gzip", config={"compression.type": "lz4"}
    )
    assert settings["compression.type"] == "lz4"


def test_unknown_open_options_are_ignored_with_one_warning_each() -> None:
    url = "kafka://127.0.0.1:1/t"
    with pytest.warns(UserWarning, match="frobnicate_19") as caught:
        Stream(auth=False).open(url, "w", frobnicate_19=1).close()  # type: ignore[call-overload]
    assert len(caught) == 1 and "ignored" in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Once per name.
        Stream(auth=False).open(url, "w", frobnicate_19=2).close()  # type: ignore[call-overload]
    with pytest.warns(UserWarning, match="read_forever.*reading option.*ignored when writing"):
        Stream(auth=False).open(url, "w", read_forever=False).close()


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"compression_type": "brotli"}, "compression_type"),
        ({"error_callback": 42}, "error_callback"),
        ({"message_max_bytes": "big"}, "message_max_bytes"),
        ({"use_idempotence": "yes"}, "use_idempotence"),
        ({"produce_backoff_time": "soon"}, "produce_backoff_time"),
        ({"reconnect_max_time": -1}, "reconnect_max_time"),
    ],
)
def test_bad_013_option_values_are_configuration_errors(
    kwargs: dict[str, Any], needle: str
) -> None:
    with pytest.raises(ConfigurationError, match=needle):
        Stream(auth=False).open("kafka://127.0.0.1:1/t", "w", **kwargs)


def test_read_forever_and_until_eos_must_agree() -> None:
    with pytest.raises(ConfigurationError, match="read_forever"):
        Stream(auth=False).open("kafka://127.0.0.1:1/t", "r", read_forever=False, until_eos=False)
