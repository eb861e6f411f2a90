"""Issue 23 in the library: hints for a local broker, one connect timeout, time windows,
consumer lag and librdkafka's callbacks, against the real broker."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hop import Stream, list_topics
from hop._local_broker import LocalBroker, free_port
from hop.auth import Auth
from hop.errors import AuthenticationError, BrokerUnavailableError, NoCredentialsError


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
