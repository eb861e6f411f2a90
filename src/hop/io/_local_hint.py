"""The commonest slip against a broker on this machine: forgetting that it takes no
credential. Errors about credentials for a loopback target say first how to connect
without one (``auth=False`` in Python, ``--no-auth`` on the command line)."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import TypeVar

from ._url import KafkaURL

__all__ = ["LOCAL_CONNECTION_SETUP_TIMEOUT", "add_local_hint", "is_local", "local_text"]

#: How long one connection to a broker on this machine may take from TCP connect through
#: TLS and SASL. On loopback that takes milliseconds; a TLS client talking to a plaintext
#: listener hangs in its handshake until this runs out, so it bounds how soon that is told.
LOCAL_CONNECTION_SETUP_TIMEOUT = timedelta(seconds=2)

_E = TypeVar("_E", bound=BaseException)


def _is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_local(url: KafkaURL) -> bool:
    """Whether every broker of ``url`` is on this machine (a loopback address)."""
    return bool(url.hostnames) and all(_is_loopback(host) for host in url.hostnames)


def _where(url: KafkaURL) -> str:
    return url.bootstrap_servers


def local_text(url: KafkaURL, cli: bool) -> str:
    """The hint, for Python (``auth=False``) or the command line (``--no-auth``)."""
    how = "use --no-auth" if cli else "use auth=False"
    return (
        f"{how} ({_where(url)} is on this machine, and a local broker such as "
        "'hop local-broker' takes no credential)"
    )


def add_local_hint(exc: _E, url: KafkaURL | None) -> _E:
    """Put the hint in front of ``exc``'s message when ``url`` is on this machine.

    The message (``str(exc)``) starts with the Python hint; ``exc.cli_text`` holds the
    command line's. An error hinted once is left alone. Returns ``exc``.
    """
    if url is None or not is_local(url) or getattr(exc, "cli_text", None) is not None:
        return exc
    text = str(exc)
    exc.args = (f"{local_text(url, cli=False)}; otherwise: {text}",)
    exc.cli_text = f"{local_text(url, cli=True)}; otherwise: {text}"  # type: ignore[attr-defined]
    return exc
