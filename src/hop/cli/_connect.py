"""``--connect-timeout``: one flag, one setting (``connect_timeout``, ``HOP_CONNECT_TIMEOUT``)
and one default for every command that talks to a broker."""

from __future__ import annotations

import argparse

from hop._duration import to_seconds
from hop.configure import load_config
from hop.io._rdkafka_config import DEFAULT_CONNECT_TIMEOUT

__all__ = ["CONNECT_TIMEOUT_HELP", "add_connect_timeout", "connect_timeout"]

#: The flag's help, the same on every command.
CONNECT_TIMEOUT_HELP = (
    "give up when no broker has answered at all within this time (refused, unknown "
    "host, TLS or authentication failing); 0 waits forever (default: the "
    f"connect_timeout setting, else {DEFAULT_CONNECT_TIMEOUT:g})"
)


def seconds_arg(text: str) -> float:
    """An argparse type: zero (wait forever) or more seconds."""
    try:
        value = to_seconds(text, text=True)
    except TypeError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be zero (wait forever) or more: {text!r}")
    return value


def add_connect_timeout(parser: argparse.ArgumentParser) -> None:
    """Add ``--connect-timeout SECONDS`` (None in the namespace when not given).

    Args:
        parser: the command's parser.
    """
    parser.add_argument(
        "--connect-timeout",
        type=seconds_arg,
        default=None,
        metavar="SECONDS",
        help=CONNECT_TIMEOUT_HELP,
    )


def connect_timeout(args: argparse.Namespace) -> float:
    """The connect timeout in force: the flag, else the setting, else the default.

    Args:
        args: the parsed command line.

    Returns:
        Seconds; 0 means wait forever.
    """
    given = getattr(args, "connect_timeout", None)
    if given is not None:
        return float(given)
    config = load_config()
    if "connect_timeout" in config and config["connect_timeout"] is not None:
        return to_seconds(config["connect_timeout"])
    return DEFAULT_CONNECT_TIMEOUT
