"""Client-wide errors and metadata look-ups, shared by the producer, the consumer and
``hop.io.list_topics``: what librdkafka's error callback and log lines mean to a person,
which of them end a client, and asking a cluster for metadata without waiting forever.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

import confluent_kafka

from hop._ratelimit import RateLimiter
from hop.errors import (
    AuthenticationError,
    BrokerUnavailableError,
    KafkaError,
    ends_client,
    is_all_brokers_down,
    is_connect_failure,
    is_retriable_lookup,
    translate_kafka_error,
)

from . import _rdkafka_config
from ._local_hint import add_local_hint
from ._url import KafkaURL

# Every part of hop.io logs as "hop.io": the command line holds back hop.io's connection
# warnings at first, by that name.
logger = logging.getLogger("hop.io")

# The same client-wide error is logged at most once in this many seconds.
_LOG_INTERVAL = 30.0

# What librdkafka's reasons for a failed connection mean to a person, most telling first.
_CONNECT_FAILURES = (
    ("SSL_HANDSHAKE", "TLS handshake failed"),
    ("SSL handshake failed", "TLS handshake failed"),
    ("AUTH_HANDSHAKE", "authentication failed"),
    ("SASL", "authentication failed"),
    ("Failed to resolve", "host name not resolved"),
    ("Connection refused", "connection refused"),
    ("timed out", "connection timed out"),
)
_SECURE_FAILURES = frozenset({"TLS handshake failed", "authentication failed"})
_UNREACHABLE_FAILURES = frozenset({"connection refused", "host name not resolved"})


# The rate limiter's key for every failed connection, whatever its code.
_CONNECT_KEY = -1
# Where librdkafka names the broker: "Connect to ipv4#host:port failed", else first:
# "host:port/id: ..." (or "sasl_ssl://host:port/id: ..."; "GroupCoordinator/1: ..." is no name).
_BROKER_NAMES = (
    re.compile(r"Connect to ipv[46]#(\S+?) failed"),
    re.compile(r"^(?:[a-z_]+://)?([^\s/]+:\d+)/[\w-]+: "),
)

# librdkafka's FAIL log line for a connection that had been fully set up (ApiVersions, TLS
# and login done) ends "(after Nms in state UP)".
_WAS_UP = "in state UP)"


def _connect_failure(text: str) -> str | None:
    for marker, meaning in _CONNECT_FAILURES:
        if marker in text:
            return meaning
    return None


class _ClientErrors:
    """Receives librdkafka's client-wide errors (``error_cb``) and log lines for one client.

    Logs each kind at most once per ``_LOG_INTERVAL`` (a broker that is down reports itself
    several times a second), and remembers errors that no retry will cure, a fatal error or
    a refused credential, so the client can raise them instead of waiting forever. It also
    remembers why connections failed (refused, not resolved, TLS, authentication) and
    whether librdkafka found every broker down, so that a client which never reached any
    broker can say why instead of waiting.
    """

    def __init__(self, what: str, secure: bool = False, url: KafkaURL | None = None) -> None:
        self._what = what
        self._secure = secure
        # A credential refused by a broker on this machine: say first how to go without.
        self._local_url = url if secure else None
        self._logged: RateLimiter[int] = RateLimiter(_LOG_INTERVAL)
        self.stopping: confluent_kafka.KafkaError | None = None
        #: why the last connection failed, in a person's words, or None.
        self.failure: str | None = None
        #: librdkafka reported every broker down.
        self.all_down = False
        #: Some broker answered this client: a connection was fully set up (librdkafka
        #: logs "... in state UP" when one that was up drops), a metadata request was
        #: answered, or a delivery report came back from a broker. From then on an outage
        #: is waited out; until then, waiting is bounded by the connect timeout.
        self.answered = False
        #: Until this time.monotonic() value, failures to connect are logged at DEBUG only:
        #: a producer within its connect timeout says why it failed once, when it gives up.
        self.quiet_until = 0.0

    def __call__(self, error: confluent_kafka.KafkaError) -> None:
        code = error.code()
        if ends_client(error):
            self.stopping = error
        if is_all_brokers_down(code):
            self.all_down = True
        else:
            text = error.str() or ""
            if _WAS_UP in text:
                self.answered = True
            self.failure = _connect_failure(text) or self.failure
        now = time.monotonic()
        if now < self.quiet_until and not self.answered and is_connect_failure(code):
            logger.debug("%s: %s", self._what, error.str())
            return
        if is_connect_failure(code):
            # librdkafka's own words (every few hundred ms while a broker is down) at DEBUG;
            # a person gets one line in hop's words, at most once per _LOG_INTERVAL.
            logger.debug("%s: %s", self._what, error.str())
            if code == confluent_kafka.KafkaError._ALL_BROKERS_DOWN:
                return  # said by the failure of each connection, with its reason
            if self._logged.hit(_CONNECT_KEY, now=now) is not None:
                logger.warning("%s", self._unreachable(error.str() or ""))
            return
        if self._logged.hit(code, now=now) is not None:
            logger.warning("%s: %s", self._what, error.str())

    def _unreachable(self, text: str) -> str:
        """What to say about a failed connection to a broker, without librdkafka's jargon."""
        found = (pattern.search(text) for pattern in _BROKER_NAMES)
        match = next((m for m in found if m is not None), None)
        broker = f"broker {match.group(1)}" if match else "the broker"
        reason = _connect_failure(text) or "connection failed"
        return (
            f"{self._what}: cannot reach {broker} ({reason}); retrying until it is back "
            f"(said at most every {_LOG_INTERVAL:g} s)"
        )

    def log(self, level: int, msg: str, *args: Any, **kwargs: Any) -> None:
        """librdkafka's log lines: passed on at DEBUG, and read for why connecting failed."""
        _rdkafka_config.LIBRDKAFKA_LOGGER.debug(msg, *args)
        if "FAIL" in msg or "FAIL" in args:
            text = " ".join(str(part) for part in (msg, *args))
            if _WAS_UP in text:
                self.answered = True
            self.failure = _connect_failure(text) or self.failure

    def check(self, context: str) -> None:
        """Raise the error that stops this client, if there is one."""
        if self.stopping is not None:
            raise self.stopping_error(context)

    def stopping_error(self, context: str) -> KafkaError:
        """The error for what stopped this client (``stopping`` must be set)."""
        assert self.stopping is not None
        return add_local_hint(translate_kafka_error(self.stopping, context), self._local_url)

    def never_reached(self, context: str, waited: float | None, undelivered: int = 0) -> KafkaError:
        """The error for a client that no broker ever answered.

        Args:
            context: what hop was doing.
            waited: how long it waited, in seconds, if that is worth saying.
            undelivered: how many queued messages were dropped (said in the message and kept
                as the error's ``undelivered``).
        """
        reason = self.failure or "no answer"
        how_long = f" within {waited:g} s" if waited is not None else ""
        message = f"{context}: no broker answered{how_long} ({reason})"
        if undelivered:
            message += f"; {undelivered} message(s) not delivered"
        error = self._never_reached_error(message, reason)
        if reason in _SECURE_FAILURES:
            error = add_local_hint(error, self._local_url)
        if undelivered:
            error.undelivered = undelivered
        return error

    def _never_reached_error(self, message: str, reason: str) -> KafkaError:
        if reason in _SECURE_FAILURES and self._secure:
            return AuthenticationError(
                f"{message}; if the broker takes no credential (a plaintext listener), "
                "connect without one (hop's --no-auth, Stream(auth=False)), or use a "
                "credential whose protocol is the broker's"
            )
        if reason in _SECURE_FAILURES:
            return AuthenticationError(message)
        return BrokerUnavailableError(
            f"{message} (is the broker address right and the broker running?)"
        )


def _cluster_metadata(
    client: confluent_kafka.Producer | confluent_kafka.Consumer,
    errors: _ClientErrors,
    context: str,
    *,
    topic: str | None,
    timeout: float | None,
    serve: Callable[[], object] | None,
    fail_fast: bool = False,
    wait_for_names: bool = False,
) -> Any:
    """Ask for metadata in one-second slices, so that a refused credential (which librdkafka
    reports only through the error callback, and retries forever) ends the wait at once with
    the right error, and an unreachable broker ends it after ``timeout`` (None: never).

    While ``serve`` is given (nothing was reached yet), a failing TLS handshake or SASL
    exchange on every broker ends the wait at once too, and with ``fail_fast`` so does
    every broker refusing the connection or not resolving; with ``wait_for_names`` as well,
    a name that does not resolve is waited for until ``timeout`` (it may resolve later)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
        try:
            if topic is None:
                return client.list_topics(timeout=left)
            return client.list_topics(topic, timeout=left)
        except confluent_kafka.KafkaException as exc:
            if serve is not None:
                serve()
            errors.check(context)
            if serve is not None and errors.all_down:
                if errors.failure in _SECURE_FAILURES or (
                    fail_fast
                    and errors.failure in _UNREACHABLE_FAILURES
                    and not (wait_for_names and errors.failure == "host name not resolved")
                ):
                    raise errors.never_reached(context, None) from exc
            kafka_error = exc.args[0] if exc.args else None
            retriable = isinstance(kafka_error, confluent_kafka.KafkaError) and is_retriable_lookup(
                kafka_error
            )
            if not retriable or (deadline is not None and time.monotonic() >= deadline):
                if serve is not None and errors.failure is not None:
                    raise errors.never_reached(context, timeout) from exc
                raise translate_kafka_error(exc, context) from exc
