"""The HopError tree and the one translation boundary from confluent-kafka."""

from __future__ import annotations

import inspect

import confluent_kafka
import confluent_kafka.error
import pytest

import hop.errors
from hop.errors import (
    AuthenticationError,
    AuthorizationError,
    BrokerUnavailableError,
    HopError,
    KafkaError,
    KafkaTimeoutError,
    UnknownTopicError,
    translate_kafka_error,
)


def test_every_public_error_is_a_hop_error_and_listed() -> None:
    classes = [
        obj
        for name, obj in vars(hop.errors).items()
        if inspect.isclass(obj)
        and issubclass(obj, BaseException)
        and obj.__module__ == "hop.errors"
    ]
    assert classes
    for cls in classes:
        assert issubclass(cls, HopError), cls
        assert cls.__name__ in hop.errors.__all__, f"{cls.__name__} missing from __all__"
        assert cls.__name__ in (hop.errors.__doc__ or ""), f"{cls.__name__} missing from the tree"


def test_documented_builtin_bases() -> None:
    assert issubclass(hop.errors.ConfigurationError, ValueError)
    assert issubclass(hop.errors.NoCredentialsError, FileNotFoundError)
    assert issubclass(BrokerUnavailableError, ConnectionError)
    assert issubclass(KafkaTimeoutError, TimeoutError)


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (confluent_kafka.KafkaError._TRANSPORT, BrokerUnavailableError),
        (confluent_kafka.KafkaError._ALL_BROKERS_DOWN, BrokerUnavailableError),
        (confluent_kafka.KafkaError._MSG_TIMED_OUT, KafkaTimeoutError),
        (confluent_kafka.KafkaError.SASL_AUTHENTICATION_FAILED, AuthenticationError),
        (confluent_kafka.KafkaError._SSL, AuthenticationError),
        (confluent_kafka.KafkaError.TOPIC_AUTHORIZATION_FAILED, AuthorizationError),
        (confluent_kafka.KafkaError.UNKNOWN_TOPIC_OR_PART, UnknownTopicError),
        (confluent_kafka.KafkaError.INVALID_MSG, KafkaError),
    ],
)
def test_codes_map_to_classes(code: int, cls: type[KafkaError]) -> None:
    error = confluent_kafka.KafkaError(code)
    translated = translate_kafka_error(confluent_kafka.KafkaException(error), "doing x")
    assert type(translated) is cls
    assert translated.code == code
    assert str(translated).startswith("doing x: ")
    assert translated.kafka_error is error


def test_every_confluent_kafka_exception_class_is_mapped() -> None:
    # If confluent-kafka grows an exception class that hop does not turn into a HopError,
    # this test fails.
    exception_classes = {
        obj
        for module in (confluent_kafka, confluent_kafka.error)
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, Exception)
    }
    assert confluent_kafka.KafkaException in exception_classes
    for cls in exception_classes:
        try:
            instance = cls(confluent_kafka.KafkaError(confluent_kafka.KafkaError._TRANSPORT))
        except TypeError:
            instance = cls("failure")
        translated = translate_kafka_error(instance)
        assert isinstance(translated, HopError), cls


def test_retriable_and_fatal_come_from_librdkafka() -> None:
    error = confluent_kafka.KafkaError(
        confluent_kafka.KafkaError._TRANSPORT, "down", fatal=True, retriable=True
    )
    translated = translate_kafka_error(error)
    assert translated.fatal and translated.retriable
    assert not KafkaError("plain").retriable and KafkaError("plain").code is None
