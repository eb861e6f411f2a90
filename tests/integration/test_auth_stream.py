"""Stored credentials and general settings, end to end through ``hop.io.Stream``.

``Stream(auth=True)`` reads ``auth.toml``, chooses a credential by the URL's host and user,
and the producer's ``_sender`` header carries its username; ``config.toml`` and ``HOP_*``
variables fill in ``Stream.open`` options that the caller did not give.

The test broker refuses every SASL handshake (see BROKER.md), so a stream that uses a stored
credential cannot talk to it. These tests therefore stand a recorder in for
confluent-kafka's client classes: it keeps the settings hop hands over and the messages
``write`` produces (the producer is still a real librdkafka client, pointed at a closed
port, so it validates the settings). What travels through a real broker is checked
separately: the headers ``Producer.pack`` builds with the chosen credential, sent over
plaintext with ``write_raw`` and read back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import confluent_kafka
import pytest

from hop._local_broker import free_port
from hop.auth import Auth, write_auth_data
from hop.configure import SETTINGS, get_config_path
from hop.errors import CredentialError
from hop.io import Producer, StartPosition, Stream
from tests.support.messages import content

SECRET = "s3cr3t-Pa55word"

ALICE = Auth("alice", SECRET, host="127.0.0.1")
BOB = Auth("bob", "bob-" + SECRET, host="127.0.0.1", method="PLAIN")
CAROL_ANY = Auth("carol", "carol-" + SECRET, ssl=False)
DAVE = Auth("dave", "dave-" + SECRET, host="localhost", method="SCRAM-SHA-256")
STORED = [ALICE, BOB, CAROL_ANY, DAVE]


class Recorded:
    """What hop handed to confluent-kafka during one test."""

    def __init__(self, patcher: pytest.MonkeyPatch) -> None:
        self.producer_settings: list[dict[str, Any]] = []
        self.consumer_settings: list[dict[str, Any]] = []
        self.produced: list[tuple[str, bytes, list[tuple[str, bytes]]]] = []
        self._patcher = patcher

    def stop(self) -> None:
        """Put confluent-kafka's real classes back (other patches of the test stay)."""
        self._patcher.undo()


class _OpenStopped(Exception):
    """Raised by the recording consumer once it has its settings: nothing is read."""


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    """confluent-kafka's Producer and Consumer, replaced by recorders for this test."""
    patcher = pytest.MonkeyPatch()
    record = Recorded(patcher)
    closed_port = free_port()

    class RecordingProducer(confluent_kafka.Producer):
        def __init__(self, settings: dict[str, Any]) -> None:
            record.producer_settings.append(dict(settings))
            # A real client validates the settings; a closed port keeps it from connecting.
            super().__init__({**settings, "bootstrap.servers": f"127.0.0.1:{closed_port}"})

        def produce(self, topic: str, value: Any = None, *args: Any, **kwargs: Any) -> None:
            record.produced.append((topic, value, list(kwargs.get("headers") or [])))

    def recording_consumer(settings: dict[str, Any]) -> Any:
        record.consumer_settings.append(dict(settings))
        raise _OpenStopped

    patcher.setattr(confluent_kafka, "Producer", RecordingProducer)
    patcher.setattr(confluent_kafka, "Consumer", recording_consumer)
    try:
        yield record
    finally:
        patcher.undo()


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private XDG_CONFIG_HOME holding STORED, and no HOP_* settings from outside."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for setting in SETTINGS.values():
        monkeypatch.delenv(setting.env_var, raising=False)
    write_auth_data(get_config_path("auth"), STORED)
    yield tmp_path / "xdg"


def write_general(text: str) -> None:
    path = Path(get_config_path("general"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def header(headers: list[tuple[str, bytes]], key: str) -> bytes | None:
    values = [value for name, value in headers if name == key]
    assert len(values) <= 1, headers
    return values[0] if values else None


# ------------------------------------------------------- Stream(auth=True) picks a credential


@pytest.mark.parametrize(
    ("host_and_user", "expected"),
    [
        ("bob@127.0.0.1", BOB),  # two credentials for the host: the URL's user chooses
        ("alice@127.0.0.1", ALICE),
        ("localhost", DAVE),  # the one credential stored for that host
        ("carol@127.0.0.1", CAROL_ANY),  # a user's hostless credential serves any host
        ("[::1]", CAROL_ANY),  # no credential for the host: the single hostless one
    ],
)
def test_writer_uses_the_matching_stored_credential(
    recorded: Recorded, host_and_user: str, expected: Auth
) -> None:
    url = f"kafka://{host_and_user}:{free_port()}/alerts"
    with Stream(auth=True).open(url, "w") as producer:
        assert producer.auth == expected
        producer.write({"n": 1})
        producer.write(b"raw", headers={"k": "v"})

    (settings,) = recorded.producer_settings
    assert settings["security.protocol"] == expected.protocol
    assert settings["sasl.mechanism"] == expected.mechanism
    assert settings["sasl.username"] == expected.username
    assert settings["sasl.password"] == expected.password
    assert [topic for topic, _, _ in recorded.produced] == ["alerts", "alerts"]
    for _, _, headers in recorded.produced:
        assert header(headers, "_sender") == expected.username.encode()


def test_reader_uses_the_matching_stored_credential(recorded: Recorded) -> None:
    with pytest.raises(_OpenStopped):
        Stream(auth=True).open(f"kafka://bob@127.0.0.1:{free_port()}/alerts", "r")
    (settings,) = recorded.consumer_settings
    assert settings["sasl.username"] == "bob"
    assert settings["sasl.password"] == BOB.password
    assert settings["sasl.mechanism"] == "PLAIN"


def test_ambiguous_host_is_refused_before_connecting(recorded: Recorded) -> None:
    with pytest.raises(CredentialError) as caught:
        Stream(auth=True).open(f"kafka://127.0.0.1:{free_port()}/alerts", "w")
    message = str(caught.value)
    assert "alice@127.0.0.1" in message and "bob@127.0.0.1" in message
    assert "kafka://<username>@127.0.0.1/topic" in message
    assert SECRET not in message
    assert recorded.producer_settings == []


def test_credentials_are_read_when_a_url_is_opened(recorded: Recorded) -> None:
    stream = Stream(auth=True)  # nothing is read yet: the file may change before open
    write_auth_data(get_config_path("auth"), [CAROL_ANY])
    with stream.open(f"kafka://127.0.0.1:{free_port()}/alerts", "w") as producer:
        assert producer.auth == CAROL_ANY


def test_choice_is_logged_without_the_password(
    recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        Stream(auth=True).open(f"kafka://bob@127.0.0.1:{free_port()}/t", "w").close()
    assert "bob@127.0.0.1" in caplog.text
    assert BOB.password not in caplog.text and SECRET not in caplog.text


def test_packed_sender_reaches_a_reader_through_the_broker(
    recorded: Recorded, broker_url: str, topic: str
) -> None:
    # The chosen credential, found the way Stream(auth=True) finds it...
    url = f"kafka://dave@localhost:{free_port()}/{topic}"
    with Stream(auth=True).open(url, "w") as chosen:
        credential = chosen.auth
    body, headers = Producer.pack({"alert": 1}, auth=credential)
    # ...and its message sent over plaintext with the real client (SASL is impossible here).
    recorded.stop()
    with Stream(auth=False).open(f"{broker_url}/{topic}", "w") as plain:
        plain.write_raw(body, headers)
    reader = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    with reader.open(f"{broker_url}/{topic}", "r") as consumer:
        received = list(consumer.read(metadata=True))
    assert [content(message) for message, _ in received] == [{"alert": 1}]
    assert header(received[0][1].headers, "_sender") == b"dave"


# ------------------------------------------------ config.toml and HOP_* reach Stream.open


def test_general_settings_are_defaults_for_open(
    recorded: Recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_general("produce_timeout = 3\nsession_timeout = 7\n")
    url = f"kafka://bob@127.0.0.1:{free_port()}/alerts"
    Stream(auth=True).open(url, "w").close()
    with pytest.raises(_OpenStopped):
        Stream(auth=True).open(url, "r")
    assert recorded.producer_settings[-1]["message.timeout.ms"] == 3000
    assert recorded.consumer_settings[-1]["session.timeout.ms"] == 7000

    # A variable overrides the file...
    monkeypatch.setenv("HOP_PRODUCE_TIMEOUT", "2")
    monkeypatch.setenv("HOP_SESSION_TIMEOUT", "5")
    Stream(auth=True).open(url, "w").close()
    with pytest.raises(_OpenStopped):
        Stream(auth=True).open(url, "r")
    assert recorded.producer_settings[-1]["message.timeout.ms"] == 2000
    assert recorded.consumer_settings[-1]["session.timeout.ms"] == 5000

    # ...and an explicit keyword argument overrides both.
    Stream(auth=True).open(url, "w", produce_timeout=timedelta(seconds=1)).close()
    with pytest.raises(_OpenStopped):
        Stream(auth=True).open(url, "r", session_timeout=timedelta(seconds=4))
    assert recorded.producer_settings[-1]["message.timeout.ms"] == 1000
    assert recorded.consumer_settings[-1]["session.timeout.ms"] == 4000


def test_without_general_settings_librdkafka_defaults_stay(recorded: Recorded) -> None:
    url = f"kafka://bob@127.0.0.1:{free_port()}/alerts"
    with pytest.raises(_OpenStopped):
        Stream(auth=True).open(url, "r")
    # hop's own default session timeout (issue 13 item 15), not librdkafka's 45 s.
    assert recorded.consumer_settings[-1]["session.timeout.ms"] == 10_000
