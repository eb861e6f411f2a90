"""``hop journal check|salvage``: inspect a robust publisher's journal, and rescue what a
damaged one still holds."""

from __future__ import annotations

import argparse
import os
from typing import Any

from hop._journal import JournalScan, salvage_journal, scan_journal

from ._args import add_command_group


def add_parser(subparsers: Any) -> None:
    """Add ``hop journal`` and its subcommands ``check`` and ``salvage``.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned.
    """
    commands = add_command_group(
        subparsers,
        "journal",
        help="check or salvage a robust publisher's journal",
        description=(
            "Inspect the journal of a RobustProducer (hop's or hop-client 0.13's), or copy "
            "what a damaged one still holds into a new journal. Neither changes the file."
        ),
        commands=("check", "salvage"),
    )

    check = commands.add_parser(
        "check",
        help="report what a journal holds and whether it is damaged",
        description=(
            "Read a journal record by record, past any damage, and report what is readable: "
            "intact records, pending (unsent) messages, damaged byte ranges. Exit status 0 "
            "when the journal is intact, 1 when it is damaged."
        ),
    )
    check.add_argument("path", metavar="PATH", help="the journal file")
    check.set_defaults(func=run_check)

    salvage = commands.add_parser(
        "salvage",
        help="copy every intact pending message into a new journal",
        description=(
            "Copy every intact message record that no intact sent mark names into a new hop "
            "journal, in order, and say what was lost. The original is left untouched; "
            "move the new journal into its place once you are satisfied."
        ),
    )
    salvage.add_argument("path", metavar="PATH", help="the damaged journal")
    salvage.add_argument(
        "out",
        metavar="OUT",
        nargs="?",
        help="the new journal, which must not exist (default: PATH.salvaged)",
    )
    salvage.set_defaults(func=run_salvage)


def _describe(scan: JournalScan) -> list[str]:
    lines = [f"{scan.path}: {scan.kind} journal, {scan.size:,} bytes"]
    lines += [f"  problem: {problem}" for problem in scan.problems]
    lines.append(f"  intact records: {scan.records:,}")
    lines.append(
        f"  messages: {len(scan.pending):,} pending (not marked sent), "
        f"{scan.delivered:,} marked sent"
    )
    if scan.damaged:
        ranges = ", ".join(f"{start:,}-{end:,}" for start, end in scan.damaged[:5])
        more = f" and {len(scan.damaged) - 5} more" if len(scan.damaged) > 5 else ""
        lines.append(
            f"  damaged: {scan.damaged_bytes:,} bytes in {len(scan.damaged)} range(s) "
            f"(offsets {ranges}{more})"
        )
    if scan.uncommitted:
        lines.append(
            f"  uncommitted: {scan.uncommitted:,} bytes after the last committed record "
            "(a write cut off by a crash; opening the journal drops them)"
        )
    return lines


def _losses(scan: JournalScan) -> str:
    if scan.intact:
        return "nothing was lost"
    return (
        f"lost: {scan.damaged_bytes:,} unreadable bytes in {len(scan.damaged)} range(s); a "
        "message recorded there cannot be recovered, and a message whose sent mark was "
        "there will be sent again (readers with skip_duplicates drop the copy)"
        + "".join(f"; {problem}" for problem in scan.problems)
    )


def run_check(args: argparse.Namespace) -> int:
    """Run ``hop journal check``.

    Args:
        args: the parsed command line.

    Returns:
        0 when the journal is intact, 1 when it is damaged.
    """
    scan = scan_journal(args.path)
    for line in _describe(scan):
        print(line)
    if scan.intact:
        print("  status: intact")
        return 0
    if scan.kind == "unknown" and not scan.records:
        # Nothing of a journal in it: there is nothing to salvage either.
        print(f"  status: NOT A JOURNAL; {args.path} is no publication journal, nothing to salvage")
        return 1
    print(
        f"  status: DAMAGED; 'hop journal salvage {args.path}' copies the "
        f"{len(scan.pending):,} readable pending message(s) into a new journal"
    )
    return 1


def run_salvage(args: argparse.Namespace) -> int:
    """Run ``hop journal salvage``.

    Args:
        args: the parsed command line.

    Returns:
        0.
    """
    out = args.out if args.out is not None else f"{args.path}.salvaged"
    scan = salvage_journal(args.path, out)
    for line in _describe(scan):
        print(line)
    print(f"salvaged {len(scan.pending):,} pending message(s) into {os.fspath(out)}")
    print(_losses(scan))
    print(f"{args.path} was not changed; move {out} into its place to publish from it")
    return 0
