"""SCRAM-SHA-512 logins end to end, through the gateway in front of the test broker.

The broker itself cannot check SCRAM (BROKER.md), so ``scram_broker`` puts the gateway of
``tests/support/scram_gateway.py`` in front of it: every connection, including the ones to
the address the broker advertises, logs in there. First plain confluent-kafka proves the
gateway; then hop's own paths: ``hop auth add`` from a CSV file, ``hop publish`` and
``hop subscribe`` over SASL_SSL with the stored credential, ``Stream(auth=Auth(...))``, a
wrong password, and a credential stored for another host.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import confluent_kafka
import pytest

from hop.auth import Auth, load_auth, write_auth_data
from hop.configure import get_config_path
from hop.errors import AuthenticationError, CredentialError
from hop.io import StartPosition, Stream
from hop.models import JSONBlob
from tests.integration.conftest import SCRAM_USERS
from tests.support.scram_gateway import ScramBroker

HOP = str(Path(sys.executable).with_name("hop"))
PASSWORD = SCRAM_USERS["alice"]
WRONG = "not-" + PASSWORD


def _settings(broker: ScramBroker, password: str, ssl: bool, user: str = "alice") -> dict[str, Any]:
    settings: dict[str, Any] = {
        "bootstrap.servers": broker.bootstrap,
        "security.protocol": "SASL_SSL" if ssl else "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": user,
        "sasl.password": password,
    }
    if ssl:
        settings["ssl.ca.location"] = str(broker.ca_file)
    return settings


def _topic() -> str:
    return f"scram-{uuid.uuid4().hex[:12]}"


def _read_all(settings: dict[str, Any], topic: str, count: int) -> list[bytes]:
    """The first ``count`` values of ``topic``, read by assignment (no group join)."""
    consumer = confluent_kafka.Consumer(
        {**settings, "group.id": f"g-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False}
    )
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign(
            [
                confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
                for p in partitions
            ]
        )
        values: list[bytes] = []
        deadline = time.monotonic() + 30
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                values.append(message.value() or b"")
        return values
    finally:
        consumer.close()


@pytest.mark.parametrize("ssl", [False, True], ids=["SASL_PLAINTEXT", "SASL_SSL"])
def test_confluent_kafka_logs_in_with_the_right_password(
    scram_broker: ScramBroker, ssl: bool
) -> None:
    log = scram_broker.gateway.log
    logins, tls = len(log.logins), log.tls_connections
    settings = _settings(scram_broker, PASSWORD, ssl)
    topic = _topic()
    delivered: list[Any] = []
    producer = confluent_kafka.Producer(settings)
    producer.produce(topic, b"through the gateway", on_delivery=lambda e, m: delivered.append(e))
    assert producer.flush(30) == 0
    assert delivered == [None]
    assert _read_all(settings, topic, 1) == [b"through the gateway"]
    assert log.logins[logins:] and set(log.logins[logins:]) == {"alice"}
    assert (log.tls_connections > tls) == ssl


@pytest.mark.parametrize(
    ("user", "password", "mechanism"),
    [
        ("alice", WRONG, "SCRAM-SHA-512"),
        ("mallory", PASSWORD, "SCRAM-SHA-512"),
        ("alice", PASSWORD, "SCRAM-SHA-256"),
        ("alice", PASSWORD, "PLAIN"),
    ],
    ids=["wrong-password", "unknown-user", "sha-256", "plain"],
)
def test_confluent_kafka_is_refused_without_the_right_credential(
    scram_broker: ScramBroker, user: str, password: str, mechanism: str
) -> None:
    log = scram_broker.gateway.log
    logins = len(log.logins)
    errors: list[confluent_kafka.KafkaError] = []
    librdkafka_log = logging.getLogger(f"test.scram.{uuid.uuid4().hex}")
    settings = {
        **_settings(scram_broker, password, ssl=False, user=user),
        "sasl.mechanism": mechanism,
        "error_cb": errors.append,
        "logger": librdkafka_log,
    }
    producer = confluent_kafka.Producer(settings)
    with pytest.raises(confluent_kafka.KafkaException):
        producer.list_topics(timeout=3)
    deadline = time.monotonic() + 10
    while not errors and time.monotonic() < deadline:
        producer.poll(0.1)  # error_cb runs from poll()
    del producer  # stops its reconnection attempts
    assert log.logins[logins:] == []
    assert [e.code() for e in errors][:1] == [confluent_kafka.KafkaError._AUTHENTICATION]
    if mechanism == "SCRAM-SHA-512":
        assert "SASL authentication error: Authentication failed" in errors[0].str()
        assert "invalid credentials" in errors[0].str() or "unknown user" in errors[0].str()
    assert all(password not in e.str() for e in errors)


def _kafka_request(api_key: int, version: int, body: bytes = b"") -> bytes:
    client = b"probe"
    payload = struct.pack(">hhih", api_key, version, 1, len(client)) + client + body
    return struct.pack(">i", len(payload)) + payload


def _answer(sock: socket.socket) -> bytes:
    """Everything the gateway sends until it closes the connection."""
    sock.settimeout(10)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


@pytest.mark.parametrize(
    "request_bytes",
    [
        _kafka_request(3, 0, struct.pack(">i", 0)),  # Metadata before any login
        _kafka_request(0, 3),  # Produce
        _kafka_request(36, 1, struct.pack(">i", 3) + b"n,,"),  # SaslAuthenticate first
        _kafka_request(17, 1, struct.pack(">h", 5) + b"PLAIN"),  # another mechanism
        _kafka_request(17, 1),  # a handshake without its mechanism
        _kafka_request(17, 3, struct.pack(">h", 13) + b"SCRAM-SHA-512"),  # an unknown version
        struct.pack(">i", 2**30) + b"\x00\x11",  # a frame far too large
    ],
    ids=[
        "metadata",
        "produce",
        "authenticate-first",
        "handshake-plain",
        "handshake-truncated",
        "handshake-v3",
        "huge-frame",
    ],
)
def test_gateway_closes_on_other_requests_before_login(
    scram_broker: ScramBroker, request_bytes: bytes
) -> None:
    with socket.create_connection(("127.0.0.1", scram_broker.gateway.port), timeout=10) as sock:
        sock.sendall(request_bytes)
        answer = _answer(sock)
    if request_bytes.endswith(b"PLAIN"):
        # The handshake is answered (error 33, SCRAM-SHA-512 offered) before the close.
        assert answer[8:10] == struct.pack(">h", 33) and answer.endswith(b"SCRAM-SHA-512")
    else:
        assert answer == b""


# --- hop ------------------------------------------------------------------------------------


@pytest.fixture
def hop_env(tmp_path: Path) -> dict[str, str]:
    """A user with a private HOME and XDG_CONFIG_HOME and no HOP_* settings."""
    home = tmp_path / "home"
    home.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOP_")}
    return dict(clean, HOME=str(home), XDG_CONFIG_HOME=str(tmp_path / "xdg"))


def _hop(*args: str, env: dict[str, str], stdin: bytes | None = None) -> Any:
    return subprocess.run(
        [HOP, *args], input=stdin, capture_output=True, env=env, timeout=120, check=False
    )


def test_hop_auth_add_publish_and_subscribe_over_sasl_ssl(
    scram_broker: ScramBroker, hop_env: dict[str, str], tmp_path: Path
) -> None:
    log = scram_broker.gateway.log
    logins, tls = len(log.logins), log.tls_connections
    csv = tmp_path / "alice.csv"
    csv.write_text(
        "username,password,hostname,protocol,mechanism,ssl_ca_location\n"
        f"alice,{PASSWORD},127.0.0.1,SASL_SSL,SCRAM-SHA-512,{scram_broker.ca_file}\n"
    )
    added = _hop("auth", "add", str(csv), env=hop_env)
    assert added.returncode == 0, added.stderr
    url = f"kafka://alice@{scram_broker.bootstrap}/{_topic()}"
    alerts = [{"event": f"S2511{n:02d}a", "far": n * 1e-9} for n in range(3)]
    lines = "".join(json.dumps(alert) + "\n" for alert in alerts).encode()
    published = _hop("publish", url, "-f", "JSON", env=hop_env, stdin=lines)
    assert published.returncode == 0, published.stderr
    read = _hop("subscribe", url, "-s", "EARLIEST", "-e", "-j", env=hop_env)
    assert read.returncode == 0, read.stderr
    records = [json.loads(line) for line in read.stdout.splitlines()]
    assert sorted((r["content"] for r in records), key=json.dumps) == sorted(alerts, key=json.dumps)
    assert {r["format"] for r in records} == {"json"}
    # Every connection went through TLS and a SCRAM login as alice.
    assert log.logins[logins:] and set(log.logins[logins:]) == {"alice"}
    assert log.tls_connections > tls
    for result in (added, published, read):
        assert PASSWORD.encode() not in result.stdout + result.stderr


def _credential(
    broker: ScramBroker, password: str, host: str = "127.0.0.1", user: str = "alice"
) -> Auth:
    return Auth(user, password, host=host, ssl_ca_location=str(broker.ca_file))


def test_stream_with_an_auth_writes_and_reads(scram_broker: ScramBroker) -> None:
    log = scram_broker.gateway.log
    logins = len(log.logins)
    auth = _credential(scram_broker, PASSWORD)
    url = f"kafka://{scram_broker.bootstrap}/{_topic()}"
    with Stream(auth=auth).open(url, "w") as producer:
        for n in range(5):
            producer.write({"n": n})
    stream = Stream(auth=auth, start_at=StartPosition.EARLIEST, until_eos=True)
    with stream.open(url, "r") as consumer:
        received = sorted(
            message.content["n"] for message in consumer if isinstance(message, JSONBlob)
        )
    assert received == list(range(5))
    assert log.logins[logins:] and set(log.logins[logins:]) == {"alice"}


@pytest.mark.parametrize("mode", ["w", "r"])
def test_wrong_password_is_a_quick_one_line_authentication_error(
    scram_broker: ScramBroker,
    mode: str,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    log = scram_broker.gateway.log
    logins = len(log.logins)
    auth = _credential(scram_broker, WRONG)
    url = f"kafka://{scram_broker.bootstrap}/{_topic()}"
    start = time.monotonic()
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as info:
        if mode == "w":
            with Stream(auth=auth).open(url, "w") as producer:
                producer.write({"never": "delivered"})
        else:
            with Stream(auth=auth, until_eos=True).open(url, "r") as consumer:
                list(consumer)
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert "\n" not in message
    assert "authentication" in message.lower()
    assert log.logins[logins:] == []
    out, err = capfd.readouterr()
    for text in (message, repr(info.value), caplog.text, out, err):
        assert WRONG not in text


def test_a_credential_for_another_host_is_not_chosen(
    scram_broker: ScramBroker, config_home: Path
) -> None:
    # bob logs in here only (clients of other tests may still be retrying as alice).
    log = scram_broker.gateway.log
    url = f"kafka://bob@{scram_broker.bootstrap}/{_topic()}"
    right = _credential(scram_broker, SCRAM_USERS["bob"], user="bob")
    elsewhere = _credential(scram_broker, "not-" + right.password, "kafka.example.org", "bob")
    write_auth_data(get_config_path("auth"), [elsewhere])
    with pytest.raises(CredentialError):
        Stream(auth=True).open(url, "w")
    write_auth_data(get_config_path("auth"), [elsewhere, right])
    assert len(load_auth()) == 2
    refusals, logins = len(log.refusals), len(log.logins)
    with Stream(auth=True).open(url, "w") as producer:
        assert producer.auth == right
        producer.write({"chosen": "the 127.0.0.1 credential"})
    assert "bob" not in log.refusals[refusals:]
    assert "bob" in log.logins[logins:]
