"""Integration fixtures: one real Kafka-protocol broker for the session, a fresh topic per test,
and a second broker behind a SCRAM-SHA-512 gateway (``scram_broker``) for the SASL tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from hop._local_broker import LocalBroker
from tests.support.certificates import make_certificate
from tests.support.scram_gateway import ScramBroker, ScramBrokerRunner

#: The users the SCRAM gateway knows, by name.
SCRAM_USERS = {"alice": "alice-Scr4m-Pa55", "bob": "bob-Scr4m-Pa55"}


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


@pytest.fixture(scope="session")
def scram_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScramBroker]:
    """A broker reachable only through the SCRAM gateway: ``SASL_PLAINTEXT`` and, with the
    certificate in ``ca_file``, ``SASL_SSL`` on the same port. Users: ``SCRAM_USERS``."""
    directory = tmp_path_factory.mktemp("scram")
    certificate = make_certificate(directory, "gateway")
    with ScramBrokerRunner(SCRAM_USERS, certificate) as running:
        yield running
