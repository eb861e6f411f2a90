"""Parse ``kafka://[username@]host[:port][,host2[:port2]...]/[topic[,topic2...]]`` URLs.

A topic starting with ``^`` is a regular expression (librdkafka's topic patterns): reading
such a URL subscribes to every matching topic, including ones created later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from hop.errors import ConfigurationError

DEFAULT_PORT = 9092

_HOST_RE = re.compile(
    r"""^(?:\[(?P<ipv6>[0-9A-Fa-f:.%a-zA-Z0-9]+)\]|(?P<host>[^\[\]:/@%,\s\x00-\x1f\x7f]+))(?::(?P<port>[^:/,]*))?$"""
)
_TOPIC_RE = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class KafkaURL:
    """A parsed Kafka URL.

    Attributes:
        username: the stored credential the URL asks for (never a password), or None.
        brokers: ``(host, port)`` pairs, in the order given; IPv6 hosts without brackets.
        topics: the topics named, possibly none; one starting with ``^`` is a pattern.
    """

    username: str | None
    brokers: tuple[tuple[str, int], ...]
    topics: tuple[str, ...] = field(default=())

    @property
    def bootstrap_servers(self) -> str:
        """The brokers as librdkafka's ``bootstrap.servers`` wants them."""
        return ",".join(
            f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in self.brokers
        )

    @property
    def hostnames(self) -> tuple[str, ...]:
        """The host part of every broker, for matching credentials."""
        return tuple(host for host, _ in self.brokers)

    def __str__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"kafka://{user}{self.bootstrap_servers}/{','.join(self.topics)}"


def parse_url(url: str) -> KafkaURL:
    """Parse a Kafka URL.

    A password written into the URL (``user:pw@``) is dropped: it is never used and never
    appears in an error message.

    Args:
        url: the URL, e.g. ``kafka://alice@kafka.scimma.org/gcn.circular``.

    Returns:
        The parsed URL.

    Raises:
        ConfigurationError: (a ``ValueError``) when the URL is not a well-formed Kafka URL.
    """
    if not isinstance(url, str):
        raise ConfigurationError(f"a Kafka URL must be a str, not {type(url).__name__}")
    scheme, sep, rest = url.partition("://")
    if not sep or not _SCHEME_NAME.fullmatch(scheme):
        raise ConfigurationError(
            f"not a Kafka URL: {_redact(url)!r} (expected kafka://host[:port]/topic)"
        )
    if scheme.lower() != "kafka":
        raise ConfigurationError(
            f"invalid URL scheme {scheme!r} in {_redact(url)!r}: only kafka:// URLs are supported"
        )
    username: str | None = None
    if "@" in rest:
        # Topic names and hosts never hold '@', so the last one ends the userinfo, even
        # when an unquoted password holds '/' or '@'. The userinfo is decoded before it is
        # split: a colon written as %3A still starts the password, which is dropped.
        userinfo, _, rest = rest.rpartition("@")
        user = unquote(userinfo).split(":", 1)[0]
        username = user or None
    netloc, _, path = rest.partition("/")
    if "^" not in path:
        # A topic pattern may hold '?' and '#'; a plain path may not, so they end it there.
        path = path.split("?", 1)[0].split("#", 1)[0]
    if not netloc:
        raise ConfigurationError(f"no broker host in Kafka URL {_redact(url)!r}")
    brokers = tuple(_parse_host(part, url) for part in netloc.split(","))
    topics = tuple(t for t in (unquote(t).strip() for t in path.split(",")) if t) if path else ()
    for topic in topics:
        if topic.startswith("^"):
            try:
                re.compile(topic)
            except re.error as exc:
                raise ConfigurationError(
                    f"invalid topic pattern {topic!r} in {_redact(url)!r}: {exc}"
                ) from None
            continue
        if not _TOPIC_RE.match(topic):
            raise ConfigurationError(
                f"invalid topic name {topic!r} in {_redact(url)!r}: Kafka topic names use only "
                "letters, digits, '.', '_' and '-'"
            )
    return KafkaURL(username=username, brokers=brokers, topics=topics)


def _parse_host(part: str, url: str) -> tuple[str, int]:
    match = _HOST_RE.match(part.strip())
    if not match:
        # The part may be "user:password" or "user%3Apassword" (a URL without its '@'):
        # it is shown redacted, like the URL.
        hint = " (an IPv6 address goes in brackets: [::1]:9092)" if part.count(":") > 1 else ""
        raise ConfigurationError(
            f"invalid broker address {_redact_broker(part)!r} in {_redact(url)!r}{hint}"
        )
    host = match.group("ipv6") or match.group("host")
    if not host.isascii():
        try:
            host.encode("utf-8")
        except UnicodeEncodeError:
            raise ConfigurationError(
                f"invalid broker host in {_redact(url)!r}: it is not valid text"
            ) from None
    port_text = match.group("port")
    if port_text is None or port_text == "":
        return host, DEFAULT_PORT
    # isdigit() alone accepts '²', which int() refuses.
    if not (port_text.isascii() and port_text.isdigit()):
        # Not a number: perhaps a password ("user:password" without the '@'), never shown.
        raise ConfigurationError(
            f"invalid port in {_redact(url)!r}: a port is a number from 1 to 65535"
        )
    if not 0 < int(port_text) < 65536:
        raise ConfigurationError(f"invalid port {port_text!r} in {_redact(url)!r}")
    return host, int(port_text)


_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:?/+")
_SCHEME_NAME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_PORT = re.compile(r":[0-9]*")


def redact_url(url: str) -> str:
    """The URL with any userinfo (username and password) replaced by ``***``.

    Used for every URL that appears in an error or a log line: it copes with malformed URLs
    too (``kafka:/user:pw@host``, ``kafka//user:pw@host``, a password holding ``/``, the
    ``@`` or ``:`` percent-encoded as ``%40`` or ``%3A``), since those are the ones that end
    up in error messages. A broker address whose port is not a number (``user:pw`` written
    without its ``@``) keeps its host only: ``user:***``.

    Args:
        url: the URL as given, well-formed or not.

    Returns:
        The same text with everything between the scheme and the last ``@`` (or ``%40``)
        as ``***``, and every port that is not a number as ``***``.
    """
    if not isinstance(url, str):
        return "<not a str>"
    match = _SCHEME_RE.match(url)
    prefix = match.group(0) if match else ""
    rest = url[len(prefix) :]
    # The userinfo ends at the last '@', written as is or percent-encoded.
    at, encoded = rest.rfind("@"), rest.rfind("%40")
    end = max(at + 1 if at >= 0 else 0, encoded + 3 if encoded >= 0 else 0)
    if end:
        prefix, rest = f"{prefix}***@", rest[end:]
    netloc, slash, path = rest.partition("/")
    brokers = ",".join(_redact_broker(part) for part in netloc.split(","))
    return f"{prefix}{brokers}{slash}{path}"


def _redact_broker(part: str) -> str:
    """One ``host[:port]`` of a URL, with anything after the host that is not ``:digits``
    (such as ``:password`` or ``%3Apassword``) as ``:***``."""
    if part.startswith("["):
        close = part.find("]") + 1 or len(part)
    else:
        close = min((i for i in (part.find(":"), part.find("%")) if i >= 0), default=len(part))
    host, port = part[:close], part[close:]
    if _PORT.fullmatch(port) or not port:
        return part
    return f"{host}:***"


_redact = redact_url
