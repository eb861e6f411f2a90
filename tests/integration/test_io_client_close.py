"""A client that failed to open or was refused is closed: no librdkafka client keeps
logging in behind the caller's back once hop has raised."""

from __future__ import annotations

import gc
import time
import uuid

import pytest

from hop.auth import Auth
from hop.errors import AuthenticationError
from hop.io import Stream, list_topics
from tests.support.scram_gateway import ScramBroker


def _refusals(broker: ScramBroker, user: str) -> int:
    # An unknown user is refused with its name in the reason.
    return sum(1 for reason in broker.gateway.log.refusals if user in reason)


def _assert_no_more_logins(broker: ScramBroker, user: str) -> None:
    """No login attempt as ``user`` for 2 s (librdkafka retries every few hundred ms)."""
    gc.collect()
    before = _refusals(broker, user)
    # Nothing to wait for: the point is that nothing happens during this time.
    time.sleep(2.0)
    assert _refusals(broker, user) == before


@pytest.mark.parametrize("mode", ["w", "r", "list"])
def test_a_refused_client_stops_logging_in(scram_broker: ScramBroker, mode: str) -> None:
    user = f"ghost-{uuid.uuid4().hex[:8]}"
    auth = Auth(user, "not-a-password", host="127.0.0.1", ssl_ca_location=str(scram_broker.ca_file))
    url = f"kafka://{scram_broker.bootstrap}/refused-{uuid.uuid4().hex[:8]}"
    with pytest.raises(AuthenticationError) as info:
        if mode == "w":
            with Stream(auth=auth).open(url, "w") as producer:
                producer.write({"never": "delivered"})
        elif mode == "r":
            with Stream(auth=auth, until_eos=True).open(url, "r") as consumer:
                list(consumer)
        else:
            list_topics(url, auth=auth, timeout=10)
    assert _refusals(scram_broker, user) >= 1
    # The exception (and through its traceback, the client's frames) is still held here.
    assert info.value is not None
    _assert_no_more_logins(scram_broker, user)


def test_a_refused_writer_stops_logging_in_without_a_context_manager(
    scram_broker: ScramBroker,
) -> None:
    user = f"ghost-{uuid.uuid4().hex[:8]}"
    auth = Auth(user, "not-a-password", host="127.0.0.1", ssl_ca_location=str(scram_broker.ca_file))
    url = f"kafka://{scram_broker.bootstrap}/refused-{uuid.uuid4().hex[:8]}"
    producer = Stream(auth=auth).open(url, "w")
    producer.write({"never": "delivered"})
    with pytest.raises(AuthenticationError):
        producer.flush()
    assert _refusals(scram_broker, user) >= 1
    _assert_no_more_logins(scram_broker, user)
    with pytest.raises(AuthenticationError):
        producer.close()
