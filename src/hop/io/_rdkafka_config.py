"""The one place where librdkafka settings are built.

Everything hop hands to confluent-kafka's ``Producer``, ``Consumer`` and ``AdminClient``
comes from the functions here, so that a setting has one spelling and one default.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from hop._duration import to_seconds
from hop.auth._settings import AuthLike as AuthLike
from hop.auth._settings import Settings as Settings
from hop.auth._settings import security_settings
from hop.errors import ConfigurationError

from ._local_hint import LOCAL_CONNECTION_SETUP_TIMEOUT, is_local
from ._url import KafkaURL

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

#: How long a client waits for some broker to answer at all (refused, unknown host) before
#: it gives up, in seconds: publish, subscribe and list-topics alike (``connect_timeout``).
DEFAULT_CONNECT_TIMEOUT = 15.0


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
        "socket.connection.setup.timeout.ms": _ms(
            LOCAL_CONNECTION_SETUP_TIMEOUT if is_local(url) else CONNECTION_SETUP_TIMEOUT
        ),
    }
    settings.update(security_settings(auth))
    if error_cb is not None:
        settings["error_cb"] = error_cb
    return settings


class _ChainedErrorCallback:
    """hop's own ``error_cb`` (which decides when a client gives up), then the caller's
    (``error_callback``); what the caller's raises is logged, never let into librdkafka."""

    __slots__ = ("_first", "_then")

    def __init__(self, first: Callable[[Any], None], then: Callable[[Any], object]) -> None:
        self._first = first
        self._then = then

    def __call__(self, error: Any) -> None:
        self._first(error)
        try:
            self._then(error)
        except Exception:
            logging.getLogger("hop.io").exception(
                "the error callback %r raised; its exception is ignored", self._then
            )


#: librdkafka's callbacks that ``config`` may hold beside dotted settings; each is called
#: with what librdkafka gives (``stats_cb``: the statistics JSON text, every
#: ``statistics.interval.ms``; ``throttle_cb``: a ``confluent_kafka.ThrottleEvent``;
#: ``error_cb``: a ``confluent_kafka.KafkaError``, after hop's own handler; ``oauth_cb``:
#: the ``sasl.oauthbearer.config`` string, returning ``(token, expiry_seconds)``).
CALLBACKS = frozenset({"stats_cb", "throttle_cb", "error_cb", "oauth_cb"})


def _apply_overrides(settings: Settings, overrides: Mapping[str, Any] | None) -> Settings:
    if overrides:
        for key in overrides:
            if key in CALLBACKS:
                if not callable(overrides[key]):
                    raise ConfigurationError(
                        f"{key} must be callable, not {type(overrides[key]).__name__}"
                    )
                continue
            if not isinstance(key, str) or ("." not in key and key != "debug"):
                raise ConfigurationError(
                    f"{key!r} is not a librdkafka setting (settings are dotted names such as "
                    "'fetch.max.bytes')"
                )
        own_error_cb = settings.get("error_cb")
        settings.update(overrides)
        if own_error_cb is not None and "error_cb" in overrides:
            settings["error_cb"] = _ChainedErrorCallback(own_error_cb, overrides["error_cb"])
    return settings


# -- hop-client 0.13's keyword options of Stream.open -------------------------------------

#: Compression codecs ``compression_type`` takes (librdkafka's ``compression.type``).
COMPRESSION_TYPES = ("none", "gzip", "snappy", "lz4", "zstd")


def _option_ms(name: str, value: object, minimum: int = 0) -> int:
    """A duration option (a ``timedelta`` or seconds) in whole milliseconds."""
    try:
        seconds = to_seconds(value)
    except TypeError:
        raise ConfigurationError(
            f"{name} must be a timedelta or a number of seconds, not {type(value).__name__}"
        ) from None
    if seconds < 0 or seconds != seconds:
        raise ConfigurationError(f"{name} must not be negative, not {value!r}")
    return max(minimum, int(seconds * 1000))


def _option_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{name} must be True or False, not {value!r}")
    return value


def _option_bytes(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be a positive number of bytes, not {value!r}")
    return value


def _option_compression(name: str, value: object) -> str:
    if not isinstance(value, str) or value.lower() not in COMPRESSION_TYPES:
        raise ConfigurationError(
            f"{name} must be one of {', '.join(COMPRESSION_TYPES[1:])} (or 'none'), not {value!r}"
        )
    return value.lower()


def _option_callback(name: str, value: object) -> Callable[[Any], object]:
    if not callable(value):
        raise ConfigurationError(f"{name} must be callable, not {type(value).__name__}")
    return value


#: Each 0.13 option that is a librdkafka setting: the setting and how its value is read.
_OPTION_SETTINGS: dict[str, tuple[str, Callable[[str, object], object]]] = {
    "produce_backoff_time": (
        "retry.backoff.ms",
        lambda name, value: _option_ms(name, value, minimum=1),
    ),
    "use_idempotence": ("enable.idempotence", _option_bool),
    "reconnect_backoff_time": ("reconnect.backoff.ms", _option_ms),
    "reconnect_max_time": ("reconnect.backoff.max.ms", _option_ms),
    "compression_type": ("compression.type", _option_compression),
    "message_max_bytes": ("message.max.bytes", _option_bytes),
    "offset_commit_interval": ("auto.commit.interval.ms", _option_ms),
    "check_crcs": ("check.crcs", _option_bool),
    "error_callback": ("error_cb", _option_callback),
}

#: hop-client 0.13's keyword options of ``Stream.open`` that become librdkafka settings,
#: by mode. (``produce_timeout`` is hop's own option too; ``read_forever`` is ``until_eos``.)
WRITE_OPTION_NAMES = frozenset(
    {
        "produce_backoff_time",
        "use_idempotence",
        "reconnect_backoff_time",
        "reconnect_max_time",
        "compression_type",
        "message_max_bytes",
        "error_callback",
    }
)
READ_OPTION_NAMES = frozenset(
    {
        "offset_commit_interval",
        "check_crcs",
        "reconnect_backoff_time",
        "reconnect_max_time",
        "error_callback",
    }
)


def option_settings(options: Mapping[str, object]) -> Settings:
    """librdkafka settings for hop-client 0.13's keyword options of ``Stream.open``.

    ``produce_backoff_time`` → ``retry.backoff.ms`` (at least 1 ms), ``use_idempotence`` →
    ``enable.idempotence``, ``reconnect_backoff_time`` / ``reconnect_max_time`` →
    ``reconnect.backoff.ms`` / ``reconnect.backoff.max.ms``, ``compression_type`` →
    ``compression.type``, ``message_max_bytes`` → ``message.max.bytes``,
    ``offset_commit_interval`` → ``auto.commit.interval.ms``, ``check_crcs`` →
    ``check.crcs``, ``error_callback`` → ``error_cb`` (called after hop's own, see
    ``_apply_overrides``). Durations are ``timedelta`` objects or seconds. An option given
    as None is left unset.

    Args:
        options: option name to value; every name must be one of ``_OPTION_SETTINGS``.

    Returns:
        The settings, to pass on as overrides (``config``).

    Raises:
        ConfigurationError: a value of the wrong type or out of range, naming the option.
    """
    settings: Settings = {}
    for name, value in options.items():
        if value is None:
            continue
        setting, read = _OPTION_SETTINGS[name]
        settings[setting] = read(name, value)
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
