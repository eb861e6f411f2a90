"""Streams: open a Kafka URL for writing (``Producer``) or reading (``Consumer``).

```python
from hop import stream

with stream.open("kafka://hostname:9092/topic", "w") as producer:
    producer.write({"alert": "GRB 261126A"})

with stream.open("kafka://hostname:9092/topic", "r") as consumer:
    for message in consumer:
        print(message)
```

This module is the facade: the producer lives in ``hop.io._producer``, the consumer in
``hop.io._consumer``, client errors and metadata look-ups in ``hop.io._client`` (see
docs/architecture.md).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal, cast, overload

import confluent_kafka

# Called through the module, so that a test (or a user) replacing hop.auth.load_auth is heard.
from hop import _duration
from hop import auth as _hop_auth
from hop.configure import load_config
from hop.errors import ConfigurationError, CredentialError, NoCredentialsError
from hop.models._schema_registry import sources_for

from . import _rdkafka_config
from ._client import _ClientErrors, _cluster_metadata
from ._consumer import Consumer
from ._end_at import EndAt as EndAt
from ._end_at import check_end_at
from ._lag import PartitionLag as PartitionLag
from ._lag import group_lag
from ._local_hint import add_local_hint
from ._producer import DEFAULT_CONNECT_TIMEOUT as DEFAULT_CONNECT_TIMEOUT
from ._producer import Producer
from ._read_state import _check_start_at
from ._types import AuthArg as AuthArg
from ._types import ConfigArg as ConfigArg
from ._types import DeliveryCallback as DeliveryCallback
from ._types import ErrorCallback as ErrorCallback
from ._types import Headers as Headers
from ._types import HeadersArg as HeadersArg
from ._types import Metadata, StartPosition
from ._types import Seconds as Seconds
from ._types import StartAt as StartAt
from ._url import KafkaURL, parse_url

if TYPE_CHECKING:
    from ._deserializer import Deserializer

__all__ = [
    "Consumer",
    "Deserializer",
    "Metadata",
    "Producer",
    "StartPosition",
    "Stream",
    "consumer_lag",
    "list_topics",
    "stream",
]

# Documented, and shown by help() and in reprs, as hop.io's own.
for _public in (Consumer, Metadata, Producer, StartPosition):
    _public.__module__ = __name__
del _public


def _resolve_auth(auth: object, url: KafkaURL) -> _rdkafka_config.AuthLike | None:
    """The credential to use for ``url``, from what ``Stream(auth=...)`` was given."""
    if auth is False or auth is None:
        return None
    if auth is True or isinstance(auth, list | tuple):
        creds = _hop_auth.load_auth() if auth is True else list(auth)
        chosen: _rdkafka_config.AuthLike = _hop_auth.select_matching_auth(
            creds, list(url.hostnames), url.username
        )
        return chosen
    if _is_auth(auth):
        single = cast(_rdkafka_config.AuthLike, auth)
        return single
    raise ConfigurationError(
        f"auth must be True, False, an Auth or a list of Auth, not {type(auth).__name__}"
    )


def _no_fitting_credential(exc: CredentialError) -> bool:
    """Whether no stored credential fits at all (rather than several, or a bad file)."""
    return isinstance(exc, NoCredentialsError | _hop_auth.NoMatchingCredentialError)


def _is_auth(value: object) -> bool:
    """Whether a value is one credential (an ``Auth`` or anything that looks like one)."""
    return all(hasattr(value, name) for name in ("username", "password", "protocol", "mechanism"))


class _Unset(Enum):
    """An option not given (distinct from None, which some options take)."""

    UNSET = "unset"


_UNSET = _Unset.UNSET

_OPEN_OPTIONS = {
    "r": {
        "start_at",
        "end_at",
        "until_eos",
        "skip_duplicates",
        "session_timeout",
        "connect_timeout",
        "config",
    },
    "w": {"produce_timeout", "connect_timeout", "config"},
}
# hop-client 0.13's keyword options that become librdkafka settings (_rdkafka_config), by
# mode; read_forever (reading) is until_eos the other way round.
_013_OPTIONS = {
    "r": _rdkafka_config.READ_OPTION_NAMES,
    "w": _rdkafka_config.WRITE_OPTION_NAMES,
}
_013_READ_ONLY = (_rdkafka_config.READ_OPTION_NAMES - _rdkafka_config.WRITE_OPTION_NAMES) | {
    "read_forever"
}
_013_WRITE_ONLY = _rdkafka_config.WRITE_OPTION_NAMES - _rdkafka_config.READ_OPTION_NAMES
# Names of ignored options already warned about: each is warned about once per process.
_WARNED_OPTIONS: set[str] = set()


def _ignore_option(name: str, mode: str) -> None:
    """Warn, once per name, that ``Stream.open`` ignores an option (0.13 ignored it silently)."""
    if name in _WARNED_OPTIONS:
        return
    _WARNED_OPTIONS.add(name)
    if mode == "w" and name in _013_READ_ONLY:
        why = "is a reading option, ignored when writing"
    elif mode == "r" and name in _013_WRITE_ONLY:
        why = "is a writing option, ignored when reading"
    else:
        why = "is not an option of Stream.open; ignored"
    warnings.warn(f"Stream.open: {name!r} {why}", UserWarning, stacklevel=3)


class Stream:
    """Opens Kafka URLs for reading or writing, with shared defaults.

    Args:
        auth: ``True`` to use the stored credentials (``hop auth add``), ``False`` for none,
            an ``Auth``, or a list of them to choose from by the URL's host and user.
        start_at: where readers without committed offsets start: ``StartPosition.EARLIEST``,
            ``StartPosition.LATEST``, a ``datetime`` or ``-N`` (the last N of each partition).
        until_eos: readers stop once they reach the end of every partition.
        skip_duplicates: readers drop messages whose ``_id`` they saw recently (see
            ``Consumer.read``).
        connect_timeout: writers and readers give up after this many seconds when no
            broker has answered at all (refused, unknown host); a failing TLS handshake or
            login ends them at once. None or 0 waits forever. Unset: the
            ``connect_timeout`` setting, else 15 s. A broker that answered once and then
            went away is always waited for.
        end_at: readers stop each partition at its first message past this point (a
            ``datetime``: stamped after it; a mapping of ``(topic, partition)`` to an
            offset: at or after it) or at the end of the stream, and stop reading once
            every partition has stopped. None: no end.
        schema_registry: (reading) the schema registry that Confluent-framed Avro
            records (Rubin's alerts) name their schemas in, ``https://[user:pw@]host``;
            None for ``HOP_SCHEMA_REGISTRY`` or the ``schema_registry`` setting, ``""``
            for none. See docs/formats.md.
        schema_dir: (reading) a directory of ``ID.avsc`` schema files, looked in after
            the registry (and before lsst-alert-packet's schemas, when installed).
    """

    def __init__(
        self,
        auth: AuthArg = True,
        start_at: StartAt = StartPosition.LATEST,
        until_eos: bool = False,
        skip_duplicates: bool | int = False,
        connect_timeout: Seconds | _Unset | None = _UNSET,
        schema_registry: str | None = None,
        schema_dir: str | os.PathLike[str] | None = None,
        end_at: EndAt | None = None,
    ) -> None:
        self.connect_timeout = connect_timeout
        # Checked now (a bad URL or directory is the caller's error); the configured
        # registry is read when a reader opens.
        if schema_registry or schema_dir is not None:
            sources_for(schema_registry, schema_dir)
        self.schema_registry = schema_registry
        self.schema_dir = schema_dir
        check_end_at(end_at)
        self.end_at = end_at
        self._auth_given: AuthArg = auth
        self._auth_loaded: Sequence[_rdkafka_config.AuthLike] | None = None
        self.start_at = _check_start_at(start_at)
        self.until_eos = until_eos
        self.skip_duplicates = skip_duplicates

    @property
    def auth(self) -> Sequence[_rdkafka_config.AuthLike] | None:
        """The credentials this stream chooses from, as hop-client 0.13 gave them.

        None for ``auth=False``; for ``auth=True`` the list ``hop.auth.load_auth()``
        returns, loaded on first use (here or by ``open``) and kept; ``[auth]`` for a single
        ``Auth``; anything else as given. Setting it replaces what the stream was given.
        """
        given = self._auth_given
        if given is True:
            if self._auth_loaded is None:
                self._auth_loaded = _hop_auth.load_auth()
            return self._auth_loaded
        if given is False or given is None:
            return None
        if _is_auth(given):
            return [cast(_rdkafka_config.AuthLike, given)]
        return cast(Sequence[_rdkafka_config.AuthLike], given)

    @auth.setter
    def auth(self, value: AuthArg) -> None:
        self._auth_given = value
        self._auth_loaded = None

    def _credential(self, url: KafkaURL) -> _rdkafka_config.AuthLike | None:
        """The credential for ``url``: stored ones are loaded once per stream (``auth``)."""
        given = self._auth_given
        try:
            return _resolve_auth(self.auth if given is True else given, url)
        except CredentialError as exc:
            if _no_fitting_credential(exc):
                add_local_hint(exc, url)
            raise

    @overload
    def open(
        self,
        url: str,
        mode: Literal["r"] = ...,
        group_id: str | None = ...,
        ignoretest: bool = ...,
        *,
        start_at: StartAt = ...,
        end_at: EndAt | None = ...,
        until_eos: bool = ...,
        skip_duplicates: bool | int = ...,
        session_timeout: Seconds | None = ...,
        connect_timeout: Seconds | None = ...,
        config: ConfigArg = ...,
        read_forever: bool = ...,
        offset_commit_interval: Seconds | None = ...,
        check_crcs: bool | None = ...,
        reconnect_backoff_time: Seconds | None = ...,
        reconnect_max_time: Seconds | None = ...,
        error_callback: ErrorCallback | None = ...,
    ) -> Consumer: ...

    @overload
    def open(
        self,
        url: str,
        mode: Literal["w"],
        group_id: str | None = ...,
        ignoretest: bool = ...,
        *,
        produce_timeout: Seconds = ...,
        connect_timeout: Seconds | None = ...,
        config: ConfigArg = ...,
        produce_backoff_time: Seconds | None = ...,
        use_idempotence: bool | None = ...,
        reconnect_backoff_time: Seconds | None = ...,
        reconnect_max_time: Seconds | None = ...,
        compression_type: str | None = ...,
        message_max_bytes: int | None = ...,
        error_callback: ErrorCallback | None = ...,
    ) -> Producer: ...

    @overload
    def open(
        self,
        url: str,
        mode: str,
        group_id: str | None = ...,
        ignoretest: bool = ...,
        *,
        start_at: StartAt = ...,
        end_at: EndAt | None = ...,
        until_eos: bool = ...,
        skip_duplicates: bool | int = ...,
        session_timeout: Seconds | None = ...,
        produce_timeout: Seconds = ...,
        connect_timeout: Seconds | None = ...,
        config: ConfigArg = ...,
        read_forever: bool = ...,
        offset_commit_interval: Seconds | None = ...,
        check_crcs: bool | None = ...,
        produce_backoff_time: Seconds | None = ...,
        use_idempotence: bool | None = ...,
        reconnect_backoff_time: Seconds | None = ...,
        reconnect_max_time: Seconds | None = ...,
        compression_type: str | None = ...,
        message_max_bytes: int | None = ...,
        error_callback: ErrorCallback | None = ...,
    ) -> Consumer | Producer: ...

    def open(
        self,
        url: str,
        mode: str = "r",
        group_id: str | None = None,
        ignoretest: bool = True,
        *,
        start_at: StartAt | _Unset = _UNSET,
        end_at: EndAt | _Unset | None = _UNSET,
        until_eos: bool | _Unset = _UNSET,
        skip_duplicates: bool | int | _Unset = _UNSET,
        session_timeout: Seconds | _Unset | None = _UNSET,
        produce_timeout: Seconds | _Unset = _UNSET,
        connect_timeout: Seconds | _Unset | None = _UNSET,
        config: ConfigArg | _Unset = _UNSET,
        **kwargs: Any,
    ) -> Consumer | Producer:
        """Open a Kafka URL.

        Settings from the general configuration file (``hop.configure``) fill in what is
        not given. One of hop's own options of the other mode is a ``ConfigurationError``.

        Args:
            url: ``kafka://[user@]host[:port][,host2...]/[topic[,topic2...]]``.
            mode: ``"r"`` to read, ``"w"`` to write.
            group_id: (reading) the consumer group to join; a random one when None.
            ignoretest: (reading) skip test messages.
            start_at: (reading) overrides the stream's.
            end_at: (reading) overrides the stream's.
            until_eos: (reading) overrides the stream's.
            skip_duplicates: (reading) overrides the stream's.
            session_timeout: (reading) the consumer group's session timeout.
            produce_timeout: (writing) a timedelta or seconds; 0 = wait forever.
            connect_timeout: seconds to wait for some broker to answer at all, default
                the stream's, else the setting, else 15; None or 0 = wait forever.
            config: extra librdkafka settings (applied last; ``error_cb`` there is called
                after hop's own).
            **kwargs: hop-client 0.13's options. Writing: ``produce_backoff_time``
                (librdkafka ``retry.backoff.ms``, at least 1 ms), ``use_idempotence``
                (``enable.idempotence``), ``compression_type`` (gzip, snappy, lz4 or zstd;
                ``compression.type``), ``message_max_bytes`` (``message.max.bytes``).
                Reading: ``read_forever`` (False: stop at the end of the stream, as
                ``until_eos=True``), ``offset_commit_interval``
                (``auto.commit.interval.ms``), ``check_crcs`` (``check.crcs``). Both:
                ``reconnect_backoff_time`` / ``reconnect_max_time``
                (``reconnect.backoff.ms`` / ``reconnect.backoff.max.ms``) and
                ``error_callback`` (``error_cb``: called with each client-wide
                ``confluent_kafka.KafkaError``, after hop's own handling). Durations are a
                ``timedelta`` or seconds; None leaves an option unset. Any other name
                (or an option of the other mode) is ignored, with one ``UserWarning`` per
                name per process (0.13 ignored them silently).

        Returns:
            A ``Consumer`` for ``"r"``, a ``Producer`` for ``"w"``.

        Raises:
            ConfigurationError: (a ``ValueError``) a bad URL, mode or option.
            CredentialError: no stored credential fits the URL.
        """
        if mode not in _OPEN_OPTIONS:
            raise ConfigurationError(f"invalid mode {mode!r}: use 'r' to read or 'w' to write")
        parsed = parse_url(url)
        given = {
            name: value
            for name, value in (
                ("start_at", start_at),
                ("end_at", end_at),
                ("until_eos", until_eos),
                ("skip_duplicates", skip_duplicates),
                ("session_timeout", session_timeout),
                ("produce_timeout", produce_timeout),
                ("connect_timeout", connect_timeout),
                ("config", config),
            )
            if value is not _UNSET
        }
        unknown = set(given) - _OPEN_OPTIONS[mode]
        if unknown:
            raise ConfigurationError(
                f"unexpected option(s) for mode {mode!r}: {', '.join(sorted(unknown))}"
            )
        legacy = self._legacy_options(mode, given, kwargs)
        options: dict[str, Any] = {**_configured_defaults(_OPEN_OPTIONS[mode]), **given}
        if legacy:
            # Explicit librdkafka settings (config) win over the options' translation.
            options["config"] = {**legacy, **(options.get("config") or {})}
        if "connect_timeout" not in given and self.connect_timeout is not _UNSET:
            options["connect_timeout"] = self.connect_timeout
        if mode == "r":
            if not parsed.topics:
                raise ConfigurationError(f"{parsed} names no topic: reading needs at least one")
            credential = self._credential(parsed)
            return Consumer(
                parsed,
                credential,
                schemas=sources_for(self.schema_registry, self.schema_dir),
                group_id=group_id,
                start_at=options.pop("start_at", self.start_at),
                end_at=options.pop("end_at", self.end_at),
                until_eos=options.pop("until_eos", self.until_eos),
                ignoretest=ignoretest,
                skip_duplicates=options.pop("skip_duplicates", self.skip_duplicates),
                **options,
            )
        credential = self._credential(parsed)
        return Producer(parsed, credential, **options)

    @staticmethod
    def _legacy_options(mode: str, given: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        """hop-client 0.13's keyword options: the librdkafka settings they make (through
        ``_rdkafka_config.option_settings``); ``read_forever`` goes into ``given`` as
        ``until_eos``; other names are ignored with a warning, once per name.

        Raises:
            ConfigurationError: a bad value, or ``read_forever`` contradicting ``until_eos``.
        """
        known: dict[str, Any] = {}
        for name, value in kwargs.items():
            if name in _013_OPTIONS[mode]:
                known[name] = value
            elif name == "read_forever" and mode == "r":
                if not isinstance(value, bool):
                    raise ConfigurationError(f"read_forever must be True or False, not {value!r}")
                if given.get("until_eos", not value) is value:
                    raise ConfigurationError(
                        f"read_forever={value} contradicts until_eos={given['until_eos']}: "
                        "give one of them"
                    )
                given["until_eos"] = not value
            else:
                _ignore_option(name, mode)
        return _rdkafka_config.option_settings(known)


def _configured_defaults(allowed: set[str]) -> dict[str, Any]:
    """Options from the general configuration (file and HOP_ variables) that apply here."""
    settings = load_config()
    return {key: value for key, value in settings.items() if key in allowed}


def list_topics(
    url: str,
    auth: AuthArg = True,
    timeout: float = -1.0,
    *,
    connect_timeout: Seconds | _Unset | None = _UNSET,
) -> dict[str, Any]:
    """List the topics a broker offers.

    Args:
        url: the broker's Kafka URL; topics named in it restrict the listing to those of
            them that exist.
        auth: as for ``Stream``.
        timeout: seconds to wait for the broker; -1 waits indefinitely. Either way, when
            every broker refuses the connection, or the TLS handshake or authentication
            fails, the answer comes within seconds. A broker name that does not resolve is
            retried until ``timeout``; with -1, it is an error within seconds too.
        connect_timeout: given, a refused connection or a name that does not resolve is
            retried for this many seconds (within ``timeout``) before giving up, as
            ``Stream``'s readers and writers do (the broker may be starting); None or 0
            waits for one as long as ``timeout`` allows. TLS or login failures still end
            it at once.

    Returns:
        A dict of topic name to ``confluent_kafka.admin.TopicMetadata``.

    Raises:
        BrokerUnavailableError: the broker could not be reached (also a
            ``confluent_kafka.KafkaException``, as hop-client 0.13 raised).
        AuthenticationError: TCP connected, but TLS or the credential failed.
        KafkaError: another error from the broker.
    """
    parsed = parse_url(url)
    try:
        credential = _resolve_auth(auth, parsed)
    except CredentialError as exc:
        if _no_fitting_credential(exc):
            add_local_hint(exc, parsed)
        raise
    context = f"listing topics at {parsed}"
    errors = _ClientErrors(context, secure=credential is not None, url=parsed)
    # A producer that never produces: its poll() serves error callbacks, so a refused
    # credential is told apart from an unreachable broker.
    client = confluent_kafka.Producer(
        _rdkafka_config.admin_settings(parsed, credential, error_cb=errors, logger=errors)
    )
    # All topics, then filtered: asking for a named topic would create it on brokers that
    # create topics on metadata requests.
    limit = None if timeout is None or timeout < 0 else float(timeout)
    fail_fast = connect_timeout is _UNSET
    if not fail_fast and connect_timeout is not None:
        seconds = _duration.to_seconds(connect_timeout)
        if seconds > 0:
            limit = seconds if limit is None else min(limit, seconds)
    try:
        metadata = _cluster_metadata(
            client,
            errors,
            context,
            topic=None,
            timeout=limit,
            serve=lambda: client.poll(0.1),
            fail_fast=fail_fast,
            # A name may resolve later (DNS or the network coming up): wait for it as long
            # as the caller said; without a limit, waiting for ever would look like a hang.
            wait_for_names=limit is not None,
        )
    finally:
        # Closed at once: a client refused or unable to connect goes on trying otherwise.
        client.close()
    topics = dict(metadata.topics)
    if parsed.topics:
        topics = {name: meta for name, meta in topics.items() if name in parsed.topics}
    return topics


def consumer_lag(
    url: str, group_id: str, auth: AuthArg = True, timeout: float = 10.0
) -> list[PartitionLag]:
    """How far a consumer group is behind, per partition (``hop lag``).

    Args:
        url: the broker's Kafka URL; its topics (patterns too) are those to report, every
            partition of each; without topics, every partition where the group has
            committed an offset.
        group_id: the consumer group.
        auth: as for ``Stream``.
        timeout: seconds to wait for the broker, for each request.

    Returns:
        One dict per partition, sorted: ``topic``, ``partition``, ``committed`` (the
        group's committed offset, None if it has none there), ``end`` (the partition's end
        offset) and ``lag`` (``end - committed``, None without a committed offset).

    Raises:
        BrokerUnavailableError: no broker answered within ``timeout``.
        AuthenticationError: TLS or the credential failed.
        UnknownTopicError: a topic named in the URL does not exist.
    """
    parsed = parse_url(url)
    try:
        credential = _resolve_auth(auth, parsed)
    except CredentialError as exc:
        if _no_fitting_credential(exc):
            add_local_hint(exc, parsed)
        raise
    return group_lag(parsed, credential, group_id, float(timeout))


def __getattr__(name: str) -> Any:
    # Deserializer is built from the registered models, plugins included: load it on demand.
    if name == "Deserializer":
        from ._deserializer import Deserializer

        return Deserializer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: The default stream: ``from hop import stream; stream.open(url, "r")``.
stream = Stream()
