"""TLS end to end: the ``ssl.*`` settings hop builds, against a broker behind a TLS proxy.

The test broker speaks only plaintext, so ``stunnel`` terminates TLS in front of it with a
certificate made here (``subjectAltName=IP:127.0.0.1``, so librdkafka's default hostname
check passes). The broker advertises the proxy's port, so every connection librdkafka makes
goes through TLS. SASL cannot be exercised here (the broker keeps no SCRAM users and
refuses the handshake); ``test_auth_settings.py`` checks the SASL settings instead. What this
file proves is the TLS half that ``SASL_SSL`` shares: the ``ssl.*`` settings that
``security_settings`` builds for a ``SASL_SSL`` credential, used with security protocol
``SSL``, connect with the right CA file, and without it, or with the wrong one, the failure
is quick and clear, both for a raw librdkafka client and through ``hop.io.Stream``.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import certifi
import confluent_kafka
import pytest

from hop._local_broker import LocalBroker, free_port, port_accepts
from hop.auth import Auth
from hop.auth._settings import security_settings, tls_settings
from hop.errors import AuthenticationError, KafkaError, translate_kafka_error
from hop.io import StartPosition, Stream
from tests.support.certificates import make_certificate
from tests.support.messages import content


@dataclass
class TLSBroker:
    bootstrap: str
    ca_file: Path
    wrong_ca_file: Path


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSBroker]:
    """A broker on port P2 behind stunnel on port P1, with a fresh self-signed certificate."""
    stunnel = shutil.which("stunnel4") or shutil.which("stunnel")
    if stunnel is None:
        pytest.fail("stunnel4 is not installed: run 'make tools' to install it (and openssl)")
    directory = tmp_path_factory.mktemp("tls")
    cert, key = make_certificate(directory, "server")
    wrong_cert, _ = make_certificate(directory, "other")
    tls_port, plain_port = free_port(), free_port()
    config = directory / "stunnel.conf"
    config.write_text(
        "foreground = yes\n"
        "pid =\n"
        f"output = {directory / 'stunnel.log'}\n"
        "[kafka]\n"
        f"accept = 127.0.0.1:{tls_port}\n"
        f"connect = 127.0.0.1:{plain_port}\n"
        f"cert = {cert}\n"
        f"key = {key}\n"
    )
    with LocalBroker(port=plain_port, advertised_port=tls_port):
        proxy = subprocess.Popen(
            [stunnel, str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while not port_accepts("127.0.0.1", tls_port):
                if proxy.poll() is not None or time.monotonic() > deadline:
                    log = directory / "stunnel.log"
                    text = log.read_text() if log.exists() else ""
                    pytest.fail(f"stunnel did not start: {text[-500:]}")
                time.sleep(0.01)
            yield TLSBroker(f"127.0.0.1:{tls_port}", cert, wrong_cert)
        finally:
            proxy.terminate()
            try:
                proxy.wait(5)
            except subprocess.TimeoutExpired:
                proxy.kill()
                proxy.wait()


def _tls_half(ca_file: Path | None) -> dict[str, Any]:
    """The ``ssl.*`` settings hop builds for a SASL_SSL credential, with protocol SSL."""
    credential = Auth("tls-only", "unused", ssl_ca_location=str(ca_file) if ca_file else None)
    built = security_settings(credential)
    assert built["security.protocol"] == "SASL_SSL"
    return {
        "security.protocol": "SSL",
        **{key: value for key, value in built.items() if key.startswith("ssl.")},
    }


def _settings(broker: TLSBroker, ca_file: Path | None, **extra: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "bootstrap.servers": broker.bootstrap,
        # librdkafka would otherwise print every failed handshake on stderr.
        "logger": logging.getLogger("test_tls.librdkafka"),
        **_tls_half(ca_file),
    }
    settings.update(extra)
    return settings


def test_tls_settings_name_the_ca_file() -> None:
    # https.ca.location (for a token endpoint) too: hop needs librdkafka 2.11, which has it.
    names = ["ssl.ca.location", "https.ca.location"]
    assert tls_settings("/etc/ca.pem") == dict.fromkeys(names, "/etc/ca.pem")
    # Without a CA file: certifi's bundle, not the system store confluent-kafka's OpenSSL
    # may not find.
    assert tls_settings(None) == dict.fromkeys(names, certifi.where())
    assert _tls_half(Path("/etc/ca.pem")) == {
        "security.protocol": "SSL",
        "ssl.ca.location": "/etc/ca.pem",
    }


@pytest.mark.broker
def test_right_ca_connects_and_messages_flow(tls_broker: TLSBroker) -> None:
    topic = f"tls-{uuid.uuid4().hex[:10]}"
    delivered: list[confluent_kafka.Message] = []

    def on_delivery(err: confluent_kafka.KafkaError | None, msg: confluent_kafka.Message) -> None:
        assert err is None, err
        delivered.append(msg)

    producer = confluent_kafka.Producer(_settings(tls_broker, tls_broker.ca_file))
    producer.produce(topic, b"over tls", on_delivery=on_delivery)
    assert producer.flush(15) == 0
    assert len(delivered) == 1
    partition = delivered[0].partition()
    assert partition is not None

    consumer = confluent_kafka.Consumer(
        _settings(tls_broker, tls_broker.ca_file, **{"group.id": f"g-{uuid.uuid4().hex}"})
    )
    try:
        consumer.assign(
            [confluent_kafka.TopicPartition(topic, partition, confluent_kafka.OFFSET_BEGINNING)]
        )
        deadline = time.monotonic() + 15
        received = None
        while received is None and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None:
                assert msg.error() is None, msg.error()
                received = msg.value()
        assert received == b"over tls"
    finally:
        consumer.close()


@pytest.mark.broker
@pytest.mark.parametrize("which", ["no CA file", "wrong CA file"])
def test_unverified_certificate_fails_quickly_and_clearly(
    tls_broker: TLSBroker, which: str
) -> None:
    ca_file = None if which == "no CA file" else tls_broker.wrong_ca_file
    errors: list[confluent_kafka.KafkaError] = []
    producer = confluent_kafka.Producer(_settings(tls_broker, ca_file, error_cb=errors.append))
    started = time.monotonic()
    with pytest.raises(confluent_kafka.KafkaException) as caught:
        producer.list_topics(timeout=2)
    # A bounded failure, not a hang.
    assert time.monotonic() - started < 5
    assert isinstance(translate_kafka_error(caught.value), KafkaError)

    # The reason reaches the application through the error callback, served by poll();
    # librdkafka reports most failed handshakes as SSL errors, some as transport errors.
    def verification_failures() -> list[KafkaError]:
        translated = [translate_kafka_error(e, "connecting with TLS") for e in errors]
        return [
            e
            for e in translated
            if isinstance(e, AuthenticationError) and "certificate verify failed" in str(e)
        ]

    deadline = time.monotonic() + 10
    while not verification_failures() and time.monotonic() < deadline:
        producer.poll(0.1)
    assert verification_failures(), [str(translate_kafka_error(e)) for e in errors]


@pytest.mark.broker
def test_hop_stream_over_tls(tls_broker: TLSBroker) -> None:
    url = f"kafka://{tls_broker.bootstrap}/tls-{uuid.uuid4().hex[:10]}"
    config = _tls_half(tls_broker.ca_file)
    with Stream(auth=False).open(url, "w", config=config) as producer:
        producer.write({"over": "tls"})
    reader = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    with reader.open(url, "r", config=config) as consumer:
        assert [content(message) for message in consumer.read()] == [{"over": "tls"}]


@pytest.mark.broker
@pytest.mark.parametrize("which", ["no CA file", "wrong CA file"])
@pytest.mark.parametrize("mode", ["r", "w"])
def test_hop_stream_reports_an_unverified_certificate(
    tls_broker: TLSBroker, which: str, mode: str
) -> None:
    ca_file = None if which == "no CA file" else tls_broker.wrong_ca_file
    url = f"kafka://{tls_broker.bootstrap}/tls-{uuid.uuid4().hex[:10]}"
    started = time.monotonic()
    with pytest.raises(AuthenticationError, match="certificate verify failed"):
        stream = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
        if mode == "r":
            stream.open(url, "r", config=_tls_half(ca_file))
        else:
            producer = stream.open(url, "w", config=_tls_half(ca_file))
            try:
                producer.write({"never": "delivered"})
                producer.flush(timeout=10)
            finally:
                # close() would report the same failure again; the first report is the test.
                with contextlib.suppress(KafkaError):
                    producer.close()
    # A bounded failure, not a hang (librdkafka gives up on the handshake in milliseconds).
    assert time.monotonic() - started < 8
