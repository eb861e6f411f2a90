"""The one place where librdkafka settings are built.

Everything hop hands to confluent-kafka's ``Producer``, ``Consumer`` and ``AdminClient``
comes from the functions here, so that a setting has one spelling and one default.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Protocol

import certifi
import confluent_kafka

from ._url import KafkaURL
from .errors import ConfigurationError

#: librdkafka's own log lines go to this logger, at DEBUG level.
LIBRDKAFKA_LOGGER = logging.getLogger("hop.librdkafka")


class _LibrdkafkaLog:
    """Takes librdkafka's log lines and passes them on at DEBUG level.

    librdkafka logs every failed connection attempt, several times a second while a broker
    is down. What a person needs to know of those errors reaches them once, through the
    clients' error callbacks; the raw lines stay available with debug logging (``-v``).
    """

    def log(self, level: int, msg: str, *args: Any, **kwargs: Any) -> None:
        LIBRDKAFKA_LOGGER.debug(msg, *args)


_LIBRDKAFKA_LOG = _LibrdkafkaLog()

#: A consumer group's session timeout unless one is given: Kafka's own default for years.
#: librdkafka heartbeats from its own thread, so a slow application does not lose its
#: partitions; a dead member's partitions move on after this long.
DEFAULT_SESSION_TIMEOUT = timedelta(seconds=10)

#: How long one connection may take from TCP connect through TLS and SASL (librdkafka's
#: default is 30 s; Kafka's Java client uses 10 s). A TLS client talking to a plaintext
#: listener hangs in the handshake until this runs out, so it bounds how soon that is told.
CONNECTION_SETUP_TIMEOUT = timedelta(seconds=10)

Settings = dict[str, Any]


class AuthLike(Protocol):
    """What the settings need from a credential (``hop.auth.Auth`` provides it)."""

    @property
    def username(self) -> str: ...
    @property
    def password(self) -> str: ...
    @property
    def mechanism(self) -> str: ...
    @property
    def protocol(self) -> str: ...
    @property
    def ssl_ca_location(self) -> str | None: ...
    @property
    def token_endpoint(self) -> str | None: ...


#: The first librdkafka that knows ``https.ca.location`` (2.11.0), as ``libversion()`` counts.
_HTTPS_CA_SINCE = 0x020B0000


@functools.cache
def _knows_https_ca() -> bool:
    return bool(confluent_kafka.libversion()[1] >= _HTTPS_CA_SINCE)


def tls_settings(ssl_ca_location: str | None) -> Settings:
    """The TLS half of a secure connection: which CA certificates to trust.

    ``ssl.ca.location`` for the brokers and ``https.ca.location`` for a token endpoint
    (librdkafka 2.11 and later; earlier ones have no such setting) name the CA file, or
    certifi's bundle without one: the OpenSSL inside confluent-kafka's wheels may not find
    the system's store.
    """
    location = ssl_ca_location or certifi.where()
    settings: Settings = {"ssl.ca.location": location}
    if _knows_https_ca():
        settings["https.ca.location"] = location
    return settings


def security_settings(auth: AuthLike | None) -> Settings:
    """Security settings for a credential, or for no credential at all.

    Args:
        auth: the credential; ``None`` means a plaintext, unauthenticated connection.

    Returns:
        ``security.protocol``, the SASL settings and, for ``SASL_SSL``, the TLS settings.
        A credential with a token endpoint uses librdkafka's own OIDC client-credentials
        flow (client id and secret are the username and password), which refreshes tokens
        by itself, also while the client is idle. A credential with a token command gets
        an ``oauth_cb`` that runs it (see ``hop.auth.Auth.token_command``).

    Raises:
        AuthenticationError: a token command failed when first run (it runs here once).
    """
    if auth is None:
        return {"security.protocol": "PLAINTEXT"}
    settings: Settings = {
        "security.protocol": auth.protocol,
        "sasl.mechanism": auth.mechanism,
    }
    token_command = getattr(auth, "token_command", None)
    if token_command:
        # The command's token reaches librdkafka through oauth_cb (hop.auth runs it).
        from ._token_command import token_callback

        settings["sasl.mechanism"] = "OAUTHBEARER"
        settings["sasl.oauthbearer.method"] = "default"
        settings["oauth_cb"] = token_callback(auth)
    elif auth.token_endpoint:
        settings.update(
            {
                "sasl.mechanism": "OAUTHBEARER",
                "sasl.oauthbearer.method": "oidc",
                "sasl.oauthbearer.client.id": auth.username,
                "sasl.oauthbearer.client.secret": auth.password,
                "sasl.oauthbearer.token.endpoint.url": auth.token_endpoint,
            }
        )
    else:
        settings["sasl.username"] = auth.username
        settings["sasl.password"] = auth.password
    if auth.protocol.upper().endswith("SSL"):
        settings.update(tls_settings(auth.ssl_ca_location))
    return settings


def _ms(value: timedelta) -> int:
    return max(0, int(value.total_seconds() * 1000))


def _common(
    url: KafkaURL,
    auth: AuthLike | None,
    error_cb: Callable[[Any], None] | None,
    logger: Any = None,
) -> Settings:
    settings: Settings = {
        "bootstrap.servers": url.bootstrap_servers,
        # An object with librdkafka's log(level, msg) signature; the client's own one learns
        # why connections fail (a TLS handshake that times out reaches no error callback).
        "logger": logger if logger is not None else _LIBRDKAFKA_LOG,
        # hop only ever needs metadata for the topics it uses.
        "topic.metadata.refresh.sparse": True,
        "socket.connection.setup.timeout.ms": _ms(CONNECTION_SETUP_TIMEOUT),
    }
    settings.update(security_settings(auth))
    if error_cb is not None:
        settings["error_cb"] = error_cb
    return settings


def _apply_overrides(settings: Settings, overrides: Mapping[str, Any] | None) -> Settings:
    if overrides:
        for key in overrides:
            if not isinstance(key, str) or ("." not in key and key != "debug"):
                raise ConfigurationError(
                    f"{key!r} is not a librdkafka setting (settings are dotted names such as "
                    "'fetch.max.bytes')"
                )
        settings.update(overrides)
    return settings


def producer_settings(
    url: KafkaURL,
    auth: AuthLike | None,
    *,
    produce_timeout: timedelta,
    error_cb: Callable[[Any], None] | None = None,
    overrides: Mapping[str, Any] | None = None,
    logger: Any = None,
) -> Settings:
    """Settings for a ``confluent_kafka.Producer``.

    Args:
        url: where to connect.
        auth: the credential, or None.
        produce_timeout: how long librdkafka keeps trying to deliver a message before it
            reports it failed; zero means forever.
        error_cb: called with client-wide errors (broker down, authentication failed).
        overrides: extra librdkafka settings, applied last.
        logger: receives librdkafka's log lines (``log(level, msg)``); hop's DEBUG logger
            when None.
    """
    settings = _common(url, auth, error_cb, logger)
    settings["message.timeout.ms"] = _ms(produce_timeout)
    return _apply_overrides(settings, overrides)


def consumer_settings(
    url: KafkaURL,
    auth: AuthLike | None,
    *,
    group_id: str,
    auto_commit: bool,
    offset_reset: str,
    partition_eof: bool,
    session_timeout: timedelta | None = None,
    error_cb: Callable[[Any], None] | None = None,
    overrides: Mapping[str, Any] | None = None,
    logger: Any = None,
) -> Settings:
    """Settings for a ``confluent_kafka.Consumer``.

    Offsets are never stored automatically: hop stores a message's offset only once the
    application has asked for the next message (or marked it done), and librdkafka commits
    what was stored, so every message is processed at least once.

    Args:
        url: where to connect.
        auth: the credential, or None.
        group_id: the consumer group.
        auto_commit: whether librdkafka commits stored offsets in the background.
        offset_reset: ``"earliest"`` or ``"latest"``: where to start without a committed offset.
        partition_eof: whether to report reaching the end of a partition.
        session_timeout: the group session timeout; ``DEFAULT_SESSION_TIMEOUT`` (10 s)
            when None.
        error_cb: called with client-wide errors.
        overrides: extra librdkafka settings, applied last.
        logger: as for ``producer_settings``.
    """
    settings = _common(url, auth, error_cb, logger)
    settings.update(
        {
            "group.id": group_id,
            "enable.auto.commit": auto_commit,
            "enable.auto.offset.store": False,
            "auto.offset.reset": offset_reset,
            "enable.partition.eof": partition_eof,
        }
    )
    if partition_eof:
        # A reader that stops at the end learns it is there from an empty fetch; do not let
        # the broker hold that fetch for librdkafka's default 500 ms.
        settings["fetch.wait.max.ms"] = 100
    if session_timeout is None:
        session_timeout = DEFAULT_SESSION_TIMEOUT
    settings["session.timeout.ms"] = _ms(session_timeout)
    settings["heartbeat.interval.ms"] = max(100, _ms(session_timeout) // 3)
    return _apply_overrides(settings, overrides)


def admin_settings(
    url: KafkaURL,
    auth: AuthLike | None,
    error_cb: Callable[[Any], None] | None = None,
    logger: Any = None,
) -> Settings:
    """Settings for metadata requests (listing topics)."""
    return _common(url, auth, error_cb, logger)
