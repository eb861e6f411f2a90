"""Every error hop raises, and the one place where confluent-kafka's errors become hop's.

The tree::

    HopError                                  root of everything hop raises on purpose
    ├── ConfigurationError (ValueError)       a bad URL, mode, option or setting
    ├── StreamStateError (RuntimeError)       a stream used before open or after close
    ├── InvalidMessageError (ValueError, TypeError)  a topic, key, header or callback unusable
    ├── CredentialError                       no usable credential, or an ambiguous choice
    │   ├── NoCredentialsError (FileNotFoundError)      nothing stored ('hop auth add')
    │   ├── CredentialFilePermissionError (RuntimeError) auth file open to group/others
    │   ├── MalformedCredentialError (KeyError, RuntimeError)  an entry lacks a required key
    │   └── CredentialInputError (RuntimeError)         a credential entered or named wrongly
    ├── DecodeError (ValueError)              a file or message that does not parse as its format
    │   ├── UnsafeXMLError                    XML refused for safety (entities, expansion bombs)
    │   └── JSONDecodeError (json.JSONDecodeError)  invalid JSON text (JSONBlob, ExternalMessage)
    ├── SchemaRegistryError (ConnectionError) a schema registry unreachable or answering no schema
    ├── LocalBrokerError                      the local test broker cannot run
    ├── JournalError (RuntimeError)           the robust publisher's journal cannot be used
    │   ├── JournalPermissionError (PermissionError)    the file may not be opened or created
    │   └── JournalCorruptError               a bad CRC, length or truncation, with file and offset
    └── KafkaError (confluent_kafka.KafkaException)  an error reported by Kafka / librdkafka
        ├── BrokerUnavailableError (ConnectionError)   no broker (leader, coordinator) reachable
        ├── KafkaTimeoutError (TimeoutError)           an operation ran out of time
        ├── AuthenticationError (PermissionError)      TLS or SASL failed: credential refused
        ├── AuthorizationError (PermissionError)       the credential may not do this
        ├── UnknownTopicError (LookupError)            the topic does not exist
        ├── MessageTooLargeError (ValueError)          over the producer's or broker's limit
        ├── ConsumerError                              a consumer group, offset or fetch problem
        ├── ProducerStateError                         an idempotent/transactional producer's state
        ├── RequestRejectedError                       the broker refused the request as invalid
        ├── ClientError (RuntimeError)                 librdkafka failed locally
        └── DeliveryError                              messages were not acknowledged

A ``KafkaError`` keeps the confluent-kafka error it came from as ``__cause__`` (when it was
an exception) and as ``kafka_error``, and exposes ``code``, ``retriable`` and ``fatal``. It is
also a ``confluent_kafka.KafkaException``, what hop-client 0.13 let through, so old
``except KafkaException`` clauses still catch it. Every librdkafka error code belongs to one
of the named subclasses above (``_CLASS_BY_CODE``); a plain ``KafkaError`` is only what hop
cannot classify (a code newer than this table).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import confluent_kafka

from ._kafka_codes import FAMILIES, is_ssl_failure
from ._kafka_codes import ends_client as ends_client
from ._kafka_codes import ends_reading as ends_reading
from ._kafka_codes import is_all_brokers_down as is_all_brokers_down
from ._kafka_codes import is_broker_answer as is_broker_answer
from ._kafka_codes import is_connect_failure as is_connect_failure
from ._kafka_codes import is_delivery_timeout as is_delivery_timeout
from ._kafka_codes import is_no_offset as is_no_offset
from ._kafka_codes import is_partition_eof as is_partition_eof
from ._kafka_codes import is_retriable_lookup as is_retriable_lookup
from ._kafka_codes import is_too_large as is_too_large
from ._kafka_codes import is_topic_absent as is_topic_absent
from ._kafka_codes import is_unsendable as is_unsendable

__all__ = [
    "AuthenticationError",
    "AuthorizationError",
    "BrokerUnavailableError",
    "ClientError",
    "ConfigurationError",
    "ConsumerError",
    "CredentialError",
    "CredentialFilePermissionError",
    "CredentialInputError",
    "DecodeError",
    "DeliveryError",
    "HopError",
    "InvalidMessageError",
    "JSONDecodeError",
    "JournalCorruptError",
    "JournalError",
    "JournalPermissionError",
    "KafkaError",
    "KafkaTimeoutError",
    "LocalBrokerError",
    "MalformedCredentialError",
    "MessageTooLargeError",
    "NoCredentialsError",
    "ProducerStateError",
    "RequestRejectedError",
    "SchemaRegistryError",
    "StreamStateError",
    "UnknownTopicError",
    "UnsafeXMLError",
    "ends_client",
    "ends_reading",
    "is_all_brokers_down",
    "is_broker_answer",
    "is_connect_failure",
    "is_delivery_timeout",
    "is_no_offset",
    "is_partition_eof",
    "is_retriable_lookup",
    "is_too_large",
    "is_topic_absent",
    "is_unsendable",
    "translate_kafka_error",
]


class HopError(Exception):
    """Base class of every error hop raises on purpose."""


class ConfigurationError(HopError, ValueError):
    """A bad URL, mode, option or setting."""


class InvalidMessageError(HopError, ValueError, TypeError):
    """A message cannot be sent as given: an empty or invalid topic, a key, header key or
    header value that is not valid text (a NUL, a lone surrogate), a delivery callback
    that is not callable, or an AvroBlob value with no Avro type to infer. Both a
    ``ValueError`` and a ``TypeError``, what such mistakes raised before."""


class StreamStateError(HopError, RuntimeError):
    """A stream was used in a state that does not allow it (for example after ``close()``)."""


class CredentialError(HopError):
    """No stored credential fits the request, or several fit and none can be chosen."""


class NoCredentialsError(CredentialError, FileNotFoundError):
    """No credentials are stored at all (the credential file does not exist).

    ``errno`` and ``filename`` may be set (``ENOENT`` and the path) without changing the
    message, which stays hop's.
    """

    def __str__(self) -> str:  # OSError would format errno and filename instead
        return str(self.args[0]) if self.args else ""


class CredentialFilePermissionError(CredentialError, RuntimeError):
    """The credential file is readable or writable by group or others; it is not read."""


class MalformedCredentialError(CredentialError, KeyError, RuntimeError):
    """A stored credential lacks a required key or has a bad value (a ``RuntimeError`` too,
    as what hop-client 0.13 raised)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CredentialInputError(CredentialError, RuntimeError):
    """A credential typed or read for ``hop auth add`` is empty or unreadable, or a name
    given to ``hop auth remove`` matches no stored credential or several."""


class DecodeError(HopError, ValueError):
    """Data that does not parse as the format it claims to be."""


class JSONDecodeError(DecodeError, json.JSONDecodeError):
    """Text that is not valid JSON where a model reads JSON (``JSONBlob.load``,
    ``ExternalMessage.load``). Also a ``json.JSONDecodeError``, what hop-client 0.13 raised,
    with its ``msg``, ``doc``, ``pos``, ``lineno`` and ``colno``."""

    def __init__(self, what: str, msg: str, doc: str, pos: int) -> None:
        json.JSONDecodeError.__init__(self, msg, doc, pos)
        self.what = what
        self.args = (f"{what} is not valid JSON: {self.args[0]}",)

    def __reduce__(self) -> tuple[type[JSONDecodeError], tuple[str, str, str, int]]:
        return type(self), (self.what, self.msg, self.doc, self.pos)


class SchemaRegistryError(HopError, ConnectionError):
    """A schema registry could not be reached, or did not answer with a schema."""


class UnsafeXMLError(DecodeError):
    """XML refused for safety: external entities, DTD tricks or entity-expansion bombs."""


class LocalBrokerError(HopError):
    """The local Kafka-protocol broker cannot be found, started or reached."""


class JournalError(HopError, RuntimeError):
    """The robust publisher's journal cannot be used (a failed append, say); a
    ``RuntimeError``, as hop-client 0.13 raised."""


class JournalPermissionError(JournalError, PermissionError):
    """The journal file cannot be opened or created for lack of permission; a
    ``PermissionError``, as hop-client 0.13 raised (``errno`` and ``filename`` are set)."""

    def __str__(self) -> str:
        # hop's one-line message, not OSError's "[Errno 13] ..." layout.
        return str(self.args[0]) if self.args else ""


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


class KafkaError(HopError, confluent_kafka.KafkaException):
    """An error reported by Kafka or librdkafka.

    Also a ``confluent_kafka.KafkaException``, so code written for hop-client 0.13 (which let
    those through) still catches it.

    Attributes:
        kafka_error: the ``confluent_kafka.KafkaError`` it came from, if any.
        undelivered: how many queued messages a producer dropped when this error ended it
            (its message says so too); ``None`` when no message was dropped.
    """

    undelivered: int | None = None

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


class MessageTooLargeError(KafkaError, ValueError):
    """A message is larger than the producer's ``message.max.bytes`` or the broker's limit."""


class ConsumerError(KafkaError):
    """A consumer group, committed offset or fetch session problem."""


class ProducerStateError(KafkaError):
    """The sequence, epoch or transaction state of an idempotent producer went wrong."""


class RequestRejectedError(KafkaError):
    """The broker refused a request as invalid, unsupported or against its policy."""


class ClientError(KafkaError, RuntimeError):
    """librdkafka failed locally: a bad argument or state, a full queue, an internal error."""


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


_CLASSES: dict[str, type[KafkaError]] = {
    cls.__name__: cls
    for cls in (
        BrokerUnavailableError,
        KafkaTimeoutError,
        AuthenticationError,
        AuthorizationError,
        UnknownTopicError,
        MessageTooLargeError,
        ConsumerError,
        ProducerStateError,
        RequestRejectedError,
        ClientError,
    )
}
_CLASS_BY_CODE: dict[int, type[KafkaError]] = {
    getattr(confluent_kafka.KafkaError, name): _CLASSES[family]
    for family, names in FAMILIES.items()
    for name in names.split()
    if isinstance(getattr(confluent_kafka.KafkaError, name, None), int)
}

# confluent-kafka's exceptions that carry no KafkaError (the share consumer's state errors).
_CLASS_BY_EXCEPTION: dict[type[BaseException], type[KafkaError]] = {
    cls: ClientError
    for cls in (
        getattr(confluent_kafka, "IllegalStateException", None),
        getattr(confluent_kafka, "ConcurrentModificationException", None),
        BufferError,
    )
    if isinstance(cls, type)
}

_HINTS: dict[type[KafkaError], str] = {
    BrokerUnavailableError: "is the broker address right and the broker running?",
    AuthenticationError: (
        "check the credential ('hop auth list') and the broker address; a broker that "
        "takes no credential needs --no-auth (auth=False)"
    ),
    AuthorizationError: "the credential is not permitted to do this; ask the broker's admins",
    UnknownTopicError: "check the topic name ('hop list-topics URL')",
    MessageTooLargeError: (
        "the limit is the producer's message.max.bytes (librdkafka's default 1,000,000 "
        "bytes) and the broker's message.max.bytes (the topic's max.message.bytes)"
    ),
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
        return ClientError(f"{prefix}the producer's local queue is full ({error})")
    for exception_class, hop_class in _CLASS_BY_EXCEPTION.items():
        if isinstance(error, exception_class):
            return hop_class(f"{prefix}{error}")
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
    hint = _SSL_HINT if is_ssl_failure(kafka_error) else _HINTS.get(cls)
    message = f"{prefix}{description}" + (f" ({hint})" if hint else "")
    return cls(message, kafka_error)
