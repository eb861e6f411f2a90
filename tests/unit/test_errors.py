"""The HopError tree and the one translation boundary from confluent-kafka."""

from __future__ import annotations

import inspect

import confluent_kafka
import confluent_kafka.error
import confluent_kafka.serialization
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
        (confluent_kafka.KafkaError.INVALID_MSG, hop.errors.RequestRejectedError),
        (confluent_kafka.KafkaError.MSG_SIZE_TOO_LARGE, hop.errors.MessageTooLargeError),
        (confluent_kafka.KafkaError.REBALANCE_IN_PROGRESS, hop.errors.ConsumerError),
        (confluent_kafka.KafkaError._STATE, hop.errors.ClientError),
    ],
)
def test_codes_map_to_classes(code: int, cls: type[KafkaError]) -> None:
    error = confluent_kafka.KafkaError(code)
    translated = translate_kafka_error(confluent_kafka.KafkaException(error), "doing x")
    assert type(translated) is cls
    assert translated.code == code
    assert str(translated).startswith("doing x: ")
    assert translated.kafka_error is error


_NAMED_FAMILIES = {
    BrokerUnavailableError,
    KafkaTimeoutError,
    AuthenticationError,
    AuthorizationError,
    UnknownTopicError,
    hop.errors.MessageTooLargeError,
    hop.errors.ConsumerError,
    hop.errors.ProducerStateError,
    hop.errors.RequestRejectedError,
    hop.errors.ClientError,
}


def _confluent_exception_classes() -> set[type[BaseException]]:
    return {
        obj
        for module in (confluent_kafka, confluent_kafka.error, confluent_kafka.serialization)
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, Exception)
    }


def _instance(cls: type[BaseException]) -> BaseException:
    error = confluent_kafka.KafkaError(confluent_kafka.KafkaError._TRANSPORT)
    for args in ((error,), (ValueError("bad"), None), ("failure",)):
        try:
            instance = cls(*args)
        except TypeError:
            continue
        return instance
    raise AssertionError(f"cannot make a {cls.__name__}")


def _all_codes() -> dict[str, int]:
    return {
        name: value
        for name, value in vars(confluent_kafka.KafkaError).items()
        if isinstance(value, int) and not name.startswith("__")
    }


def _translated_class(error: BaseException | confluent_kafka.KafkaError) -> type[KafkaError]:
    return type(translate_kafka_error(error))


def test_every_confluent_kafka_exception_class_is_mapped() -> None:
    # Sets, so that the failure names exactly what is left unmapped: an exception class of
    # confluent-kafka that hop would turn into the fallback (plain KafkaError), or any
    # librdkafka error code outside the named families.
    classes = _confluent_exception_classes()
    assert {confluent_kafka.KafkaException, confluent_kafka.error.ConsumeError} <= classes
    translated = {cls: _translated_class(_instance(cls)) for cls in classes}
    assert {cls for cls, hop_cls in translated.items() if hop_cls not in _NAMED_FAMILIES} == set()

    codes = _all_codes()
    assert len(codes) > 150  # librdkafka has about 190; an empty list would prove nothing
    by_code = {
        name: _translated_class(confluent_kafka.KafkaError(code)) for name, code in codes.items()
    }
    assert {name for name, cls in by_code.items() if cls not in _NAMED_FAMILIES} == set()
    # Every named family is reached by some code, and nothing else is.
    assert set(by_code.values()) == _NAMED_FAMILIES
    assert set(hop.errors._CLASS_BY_CODE.values()) == _NAMED_FAMILIES


def test_an_unmapped_code_is_noticed(monkeypatch: pytest.MonkeyPatch) -> None:
    # The check above fails when a code is left out of the table.
    table = dict(hop.errors._CLASS_BY_CODE)
    del table[confluent_kafka.KafkaError.INVALID_RECORD]
    monkeypatch.setattr(hop.errors, "_CLASS_BY_CODE", table)
    codes = _all_codes()
    unmapped = {
        name
        for name, code in codes.items()
        if _translated_class(confluent_kafka.KafkaError(code)) not in _NAMED_FAMILIES
    }
    assert unmapped == {"INVALID_RECORD"}


def test_hop_kafka_errors_are_also_kafka_exceptions() -> None:
    # hop-client 0.13 let confluent_kafka.KafkaException through; old except clauses work.
    for cls in _NAMED_FAMILIES | {KafkaError, hop.errors.DeliveryError}:
        assert issubclass(cls, confluent_kafka.KafkaException), cls
        assert issubclass(cls, HopError), cls
    assert issubclass(hop.errors.MessageTooLargeError, ValueError)
    assert issubclass(hop.errors.ClientError, RuntimeError)


def test_retriable_and_fatal_come_from_librdkafka() -> None:
    error = confluent_kafka.KafkaError(
        confluent_kafka.KafkaError._TRANSPORT, "down", fatal=True, retriable=True
    )
    translated = translate_kafka_error(error)
    assert translated.fatal and translated.retriable
    assert not KafkaError("plain").retriable and KafkaError("plain").code is None
