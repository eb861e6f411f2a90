"""Every error hop raises, and the one place where confluent-kafka's errors become hop's.

The tree::

    HopError                                  root of everything hop raises on purpose
    ├── ConfigurationError (ValueError)       a bad URL, mode, option or setting
    ├── StreamStateError (RuntimeError)       a stream used before open or after close
    ├── CredentialError                       no usable credential, or an ambiguous choice
    │   ├── NoCredentialsError (FileNotFoundError)      nothing stored ('hop auth add')
    │   ├── CredentialFilePermissionError (RuntimeError) auth file open to group/others
    │   ├── MalformedCredentialError (KeyError)         an entry lacks a required key
    │   └── CredentialInputError (RuntimeError)         a credential entered or named wrongly
    ├── DecodeError (ValueError)              a file or message that does not parse as its format
    │   └── UnsafeXMLError                    XML refused for safety (entities, expansion bombs)
    ├── LocalBrokerError                      the local test broker cannot run
    ├── JournalError                          the robust publisher's journal cannot be used
    │   └── JournalCorruptError               a bad CRC, length or truncation, with file and offset
    └── KafkaError                            an error reported by Kafka / librdkafka
        ├── BrokerUnavailableError (ConnectionError)   no broker could be reached
        ├── KafkaTimeoutError (TimeoutError)           an operation ran out of time
        ├── AuthenticationError (PermissionError)      the broker refused the credential
        ├── AuthorizationError (PermissionError)       the credential may not do this
        ├── UnknownTopicError (LookupError)            the topic does not exist
        └── DeliveryError                              messages were not acknowledged

A ``KafkaError`` keeps the confluent-kafka error it came from as ``__cause__`` (when it was
an exception) and as ``kafka_error``, and exposes ``code``, ``retriable`` and ``fatal``.
"""

from __future__ import annotations

from collections.abc import Sequence

import confluent_kafka

__all__ = [
    "AuthenticationError",
    "AuthorizationError",
    "BrokerUnavailableError",
    "ConfigurationError",
    "CredentialError",
    "CredentialFilePermissionError",
    "CredentialInputError",
    "DecodeError",
    "DeliveryError",
    "HopError",
    "JournalCorruptError",
    "JournalError",
    "KafkaError",
    "KafkaTimeoutError",
    "LocalBrokerError",
    "MalformedCredentialError",
    "NoCredentialsError",
    "StreamStateError",
    "UnknownTopicError",
    "UnsafeXMLError",
    "translate_kafka_error",
]


class HopError(Exception):
    """Base class of every error hop raises on purpose."""


class ConfigurationError(HopError, ValueError):
    """A bad URL, mode, option or setting."""


class StreamStateError(HopError, RuntimeError):
    """A stream was used in a state that does not allow it (for example after ``close()``)."""


class CredentialError(HopError):
    """No stored credential fits the request, or several fit and none can be chosen."""


class NoCredentialsError(CredentialError, FileNotFoundError):
    """No credentials are stored at all (the credential file does not exist)."""


class CredentialFilePermissionError(CredentialError, RuntimeError):
    """The credential file is readable or writable by group or others; it is not read."""


class MalformedCredentialError(CredentialError, KeyError):
    """A stored credential lacks a required key."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CredentialInputError(CredentialError, RuntimeError):
    """A credential typed or read for ``hop auth add`` is empty or unreadable, or a name
    given to ``hop auth remove`` matches no stored credential or several."""


class DecodeError(HopError, ValueError):
    """Data that does not parse as the format it claims to be."""


class UnsafeXMLError(DecodeError):
    """XML refused for safety: external entities, DTD tricks or entity-expansion bombs."""


class LocalBrokerError(HopError):
    """The local Kafka-protocol broker cannot be found, started or reached."""


class JournalError(HopError):
    """The robust publisher's journal cannot be used."""


class JournalCorruptError(JournalError):
    """The journal holds damaged data; nothing is sent rather than something lost.

    Attributes:
        path: the journal file.
        offset: the byte offset at which the damage was found.
    """

    def __init__(self, message: str, *, path: str, offset: int) -> None:
        super().__init__(f"{path}: {message} at byte offset {offset}")
        self.path = path
        self.offset = offset


class KafkaError(HopError):
    """An error reported by Kafka or librdkafka.

    Attributes:
        kafka_error: the ``confluent_kafka.KafkaError`` it came from, if any.
    """

    def __init__(self, message: str, kafka_error: confluent_kafka.KafkaError | None = None):
        super().__init__(message)
        self.kafka_error = kafka_error

    @property
    def code(self) -> int | None:
        """librdkafka's error code, or ``None`` when hop raised this itself."""
        return self.kafka_error.code() if self.kafka_error is not None else None

    @property
    def retriable(self) -> bool:
        """Whether trying the same operation again may succeed."""
        return bool(self.kafka_error is not None and self.kafka_error.retriable())

    @property
    def fatal(self) -> bool:
        """Whether the client that raised it can no longer be used."""
        return bool(self.kafka_error is not None and self.kafka_error.fatal())


class BrokerUnavailableError(KafkaError, ConnectionError):
    """No broker could be reached."""


class KafkaTimeoutError(KafkaError, TimeoutError):
    """A Kafka operation did not finish in the time allowed."""


class AuthenticationError(KafkaError, PermissionError):
    """The broker refused the credential (or the TLS handshake failed)."""


class AuthorizationError(KafkaError, PermissionError):
    """The credential is valid but may not perform this operation on this topic or group."""


class UnknownTopicError(KafkaError, LookupError):
    """The topic (or partition) does not exist."""


class DeliveryError(KafkaError):
    """Messages were not acknowledged by the broker.

    Attributes:
        failures: how many messages failed or were left undelivered.
        errors: the distinct errors reported for them (at most a few).
    """

    def __init__(
        self,
        message: str,
        failures: int,
        errors: Sequence[confluent_kafka.KafkaError] = (),
    ) -> None:
        super().__init__(message, errors[0] if errors else None)
        self.failures = failures
        self.errors = list(errors)


_E = confluent_kafka.KafkaError

# librdkafka error codes grouped by what they mean to a person; anything else is a plain
# KafkaError carrying librdkafka's own description.
_CLASS_BY_CODE: dict[int, type[KafkaError]] = {
    _E._TRANSPORT: BrokerUnavailableError,
    _E._ALL_BROKERS_DOWN: BrokerUnavailableError,
    _E._RESOLVE: BrokerUnavailableError,
    _E.BROKER_NOT_AVAILABLE: BrokerUnavailableError,
    _E.NETWORK_EXCEPTION: BrokerUnavailableError,
    _E._TIMED_OUT: KafkaTimeoutError,
    _E.REQUEST_TIMED_OUT: KafkaTimeoutError,
    _E._MSG_TIMED_OUT: KafkaTimeoutError,
    _E._AUTHENTICATION: AuthenticationError,
    _E.SASL_AUTHENTICATION_FAILED: AuthenticationError,
    _E.ILLEGAL_SASL_STATE: AuthenticationError,
    _E.UNSUPPORTED_SASL_MECHANISM: AuthenticationError,
    _E._SSL: AuthenticationError,
    _E.TOPIC_AUTHORIZATION_FAILED: AuthorizationError,
    _E.GROUP_AUTHORIZATION_FAILED: AuthorizationError,
    _E.CLUSTER_AUTHORIZATION_FAILED: AuthorizationError,
    _E.TRANSACTIONAL_ID_AUTHORIZATION_FAILED: AuthorizationError,
    _E.UNKNOWN_TOPIC_OR_PART: UnknownTopicError,
    _E._UNKNOWN_TOPIC: UnknownTopicError,
    _E._UNKNOWN_PARTITION: UnknownTopicError,
}

_HINTS: dict[type[KafkaError], str] = {
    BrokerUnavailableError: "is the broker address right and the broker running?",
    AuthenticationError: "check the credential ('hop auth list') and the broker address",
    AuthorizationError: "the credential is not permitted to do this; ask the broker's admins",
    UnknownTopicError: "check the topic name ('hop list-topics URL')",
}


_SSL_HINT = "check the broker address, and the CA certificate set as ssl_ca_location"


def translate_kafka_error(
    error: BaseException | confluent_kafka.KafkaError, context: str = ""
) -> KafkaError:
    """Turn an error from confluent-kafka into the matching hop error.

    This is the one place where that happens; callers ``raise translate_kafka_error(exc,
    "...") from exc`` so that the original stays reachable as ``__cause__``.

    Args:
        error: a ``confluent_kafka.KafkaException`` (or one of its subclasses), a
            ``confluent_kafka.KafkaError``, or a ``BufferError`` from a full producer queue.
        context: what hop was doing, e.g. ``"writing to kafka://host/topic"``.

    Returns:
        The hop error to raise.
    """
    prefix = f"{context}: " if context else ""
    if isinstance(error, BufferError):
        return KafkaError(f"{prefix}the producer's local queue is full ({error})")
    kafka_error: confluent_kafka.KafkaError | None
    if isinstance(error, confluent_kafka.KafkaError):
        kafka_error = error
    elif (
        isinstance(error, confluent_kafka.KafkaException)
        and error.args
        and isinstance(error.args[0], confluent_kafka.KafkaError)
    ):
        kafka_error = error.args[0]
    else:
        kafka_error = None
    if kafka_error is None:
        return KafkaError(f"{prefix}{error}")
    cls = _CLASS_BY_CODE.get(kafka_error.code(), KafkaError)
    description = kafka_error.str() or kafka_error.name()
    hint = _SSL_HINT if kafka_error.code() == _E._SSL else _HINTS.get(cls)
    message = f"{prefix}{description}" + (f" ({hint})" if hint else "")
    return cls(message, kafka_error)
