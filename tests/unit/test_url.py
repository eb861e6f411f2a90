"""Kafka URL parsing, per WIRE.md."""

from __future__ import annotations

import pytest

from hop._url import parse_url
from hop.errors import ConfigurationError


def test_host_port_topic() -> None:
    url = parse_url("kafka://example.org:9093/gcn.circular")
    assert url.brokers == (("example.org", 9093),)
    assert url.topics == ("gcn.circular",)
    assert url.username is None


def test_port_defaults_to_9092_and_topic_may_be_absent() -> None:
    url = parse_url("kafka://example.org")
    assert url.brokers == (("example.org", 9092),)
    assert url.topics == ()
    assert parse_url("kafka://example.org/").topics == ()


def test_several_brokers_and_topics() -> None:
    url = parse_url("kafka://b1:9092,b2,b3:1234/t1,t2")
    assert url.brokers == (("b1", 9092), ("b2", 9092), ("b3", 1234))
    assert url.topics == ("t1", "t2")
    assert url.bootstrap_servers == "b1:9092,b2:9092,b3:1234"


def test_ipv6_hosts_in_brackets() -> None:
    url = parse_url("kafka://[::1]:9093,[fe80::1]/t")
    assert url.brokers == (("::1", 9093), ("fe80::1", 9092))
    assert url.bootstrap_servers == "[::1]:9093,[fe80::1]:9092"


def test_username_selects_a_credential_and_is_percent_decoded() -> None:
    url = parse_url("kafka://alice%40lab@example.org/t")
    assert url.username == "alice@lab"
    assert url.hostnames == ("example.org",)


def test_password_in_url_is_dropped_and_never_shown() -> None:
    url = parse_url("kafka://alice:hunter2@example.org/t")
    assert url.username == "alice"
    assert "hunter2" not in repr(url) and "hunter2" not in str(url)
    with pytest.raises(ConfigurationError) as info:
        parse_url("kafka://alice:hunter2@example.org:notaport/t")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://example.org/t", "scheme"),
        ("example.org/t", "not a Kafka URL"),
        ("kafka:///t", "no broker host"),
        ("kafka://host:99999/t", "invalid port"),
        ("kafka://host:12ab/t", "invalid port"),
        ("kafka://host/bad topic", "invalid topic"),
    ],
)
def test_bad_urls_are_value_errors_that_say_why(url: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_url(url)


def test_str_round_trips() -> None:
    text = "kafka://bob@[::1]:9092,h2:9000/a,b"
    assert str(parse_url(text)) == text
