"""Integration fixtures: one real Kafka-protocol broker for the session, a fresh topic per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

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
