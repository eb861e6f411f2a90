"""Kafka URL parsing, per WIRE.md."""

from __future__ import annotations

import pytest

from hop.errors import ConfigurationError
from hop.io._url import parse_url, redact_url


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


# Issue 18 item 4: a password never shows, however the URL writes it.
@pytest.mark.parametrize(
    ("url", "username"),
    [
        ("kafka://bob%3Asecret@example.org/t", "bob"),
        ("kafka://bob%3asecret@example.org/t", "bob"),
        ("kafka://bob:se%3Acret@example.org/t", "bob"),
        ("kafka://bob%3Ase@cret@example.org/t", "bob"),
        ("kafka://bob%3Ase%40cret@example.org/t", "bob"),
        ("kafka://bob%40lab%3Asecret@example.org/t", "bob@lab"),
        ("kafka://%3Asecret@example.org/t", None),
    ],
)
def test_userinfo_is_decoded_before_the_password_is_dropped(url: str, username: str) -> None:
    parsed = parse_url(url)
    assert parsed.username == username
    assert parsed.hostnames == ("example.org",)
    for shown in (str(parsed), repr(parsed), redact_url(url)):
        assert "secret" not in shown and "cret" not in shown


@pytest.mark.parametrize(
    "url",
    [
        "kafka://bob%3Asecret@example.org:notaport/t",
        "kafka://bob%3Asecret@/t",
        "kafka://bob%3Asecret@example.org/bad topic",
        "kafka://bob%3Asecret@example.org/^(",
        "kafka:/bob%3Asecret@example.org/t",
        "kafka//bob%3Asecret@example.org/t",
        "http://bob%3Asecret@example.org/t",
        "bob%3Asecret@example.org/t",
        "bob:secret@example.org://t",
        "kafka://bob:secret%40example.org/t",
        "kafka://bob%3Asecret%40example.org/t",
        "kafka://bob%3Asecret%40example.org:9092/t",
        "kafka://bob:secret/t",
        "kafka://bob%3Asecret/t",
        "kafka://bob:secret:9092/t",
        "kafka://ok.example.org,bob:secret/t",
        "kafka://[::1]:secret/t",
    ],
)
def test_no_error_about_a_malformed_url_shows_its_password(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_url(url)
    assert "secret" not in str(info.value)
    assert "secret" not in redact_url(url)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("kafka://bob:secret@example.org:9092/t", "kafka://***@example.org:9092/t"),
        ("kafka://bob%3Asecret@example.org/t", "kafka://***@example.org/t"),
        ("kafka://bob:secret%40example.org/t", "kafka://***@example.org/t"),
        ("kafka://bob%3Asecret%40example.org/t", "kafka://***@example.org/t"),
        ("kafka://bob:secret/t", "kafka://bob:***/t"),
        ("kafka://bob%3Asecret/t", "kafka://bob:***/t"),
        ("kafka://h1:9092,[::1]:9093/t", "kafka://h1:9092,[::1]:9093/t"),
        ("kafka://[fe80::1%25eth0]:9092/t", "kafka://[fe80::1%25eth0]:9092/t"),
        ("kafka://example.org/t", "kafka://example.org/t"),
    ],
)
def test_redacted_urls_keep_hosts_and_hide_all_else(url: str, shown: str) -> None:
    assert redact_url(url) == shown
