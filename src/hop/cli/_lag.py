"""``hop lag``: how far a consumer group is behind, per topic and partition."""

from __future__ import annotations

import argparse
import json
import sys

from hop.io import consumer_lag
from hop.io._lag import PartitionLag, total_lag

from ._args import Subparsers, add_client_opts, add_logging_opts

__all__ = ["add_parser", "run"]


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than zero: {text!r}")
    return value


def add_parser(subparsers: Subparsers) -> None:
    """Add ``hop lag``.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned.
    """
    parser = subparsers.add_parser(
        "lag",
        help="show how far a consumer group is behind",
        description=(
            "Print, per topic and partition, the consumer group's committed offset, the "
            "partition's end offset and the lag between them, then the total lag. Topics "
            "named in the URL (patterns too) are reported partition by partition; without "
            "topics, every partition where the group has committed an offset. A partition "
            "where the group has committed nothing shows '-' (no lag counted). The group is "
            "not joined and nothing is committed."
        ),
    )
    add_client_opts(parser)
    add_logging_opts(parser)
    parser.add_argument(
        "-g", "--group-id", required=True, metavar="GROUP_ID", help="the consumer group"
    )
    parser.add_argument(
        "-j",
        "--json",
        action="store_true",
        help="print one JSON object per partition instead: topic, partition, committed, end, "
        "lag (null where the group has committed nothing)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for the broker (default: 30)",
    )
    parser.set_defaults(func=run)


def _cell(value: int | None) -> str:
    return "-" if value is None else str(value)


def _table(partitions: list[PartitionLag]) -> list[str]:
    header = ("TOPIC", "PARTITION", "COMMITTED", "END", "LAG")
    rows = [
        (p["topic"], str(p["partition"]), _cell(p["committed"]), str(p["end"]), _cell(p["lag"]))
        for p in partitions
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
    return lines


def run(args: argparse.Namespace) -> int:
    """Run ``hop lag``.

    Args:
        args: the parsed command line.

    Returns:
        0.

    Raises:
        HopError: a bad URL, no credentials, a missing topic or a broker that did not answer.
    """
    partitions = consumer_lag(args.url, args.group_id, auth=not args.no_auth, timeout=args.timeout)
    if args.json:
        for partition in partitions:
            sys.stdout.write(json.dumps(partition) + "\n")
    else:
        if partitions:
            sys.stdout.write("\n".join(_table(partitions)) + "\n")
        else:
            sys.stdout.write(f"group {args.group_id} has committed no offset here\n")
        sys.stdout.write(f"total lag: {total_lag(partitions)}\n")
    sys.stdout.flush()
    return 0
