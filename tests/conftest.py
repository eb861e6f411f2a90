"""Shared fixtures: one real Kafka-protocol broker for the session, a fresh topic per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hop._local_broker import LocalBroker


@pytest.fixture(scope="session")
def broker() -> Iterator[LocalBroker]:
    """A Tansu broker on a free port, started once for the whole session.

    It comes from the ``local`` extra, which ``make test`` installs: a missing broker is a
    failure, never a skip.
    """
    with LocalBroker() as running:
        yield running


@pytest.fixture
def broker_url(broker: LocalBroker) -> str:
    """``kafka://127.0.0.1:PORT`` (no trailing slash, no topic)."""
    return f"kafka://{broker.bootstrap}"


@pytest.fixture
def topic() -> str:
    """A topic name no other test uses (the broker creates it on first use)."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def topic_url(broker_url: str, topic: str) -> str:
    """The URL of a fresh topic on the session broker."""
    return f"{broker_url}/{topic}"


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private XDG_CONFIG_HOME (returned) and HOME, and no HOP_* settings from outside.

    Test modules about credentials and settings use it for every test, so that nothing
    reads or writes the real ``~/.config/hop``.
    """
    from hop.configure import SETTINGS

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for setting in SETTINGS.values():
        monkeypatch.delenv(setting.env_var, raising=False)
    return tmp_path / "xdg"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests that use the broker are marked, so `make unit` can run only the fast tier.
    for item in items:
        if "broker" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.broker)
