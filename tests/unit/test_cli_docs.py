"""docs/cli.md quotes every command's ``--help`` output; keep the two the same."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
from pathlib import Path

import pytest

import hop.cli

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def commands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    """Every command of the parser, as the words that name it, the top level first."""
    found = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += commands(sub, (*prefix, name))
    return found


ALL_COMMANDS = commands(hop.cli.build_parser())


def help_text(words: tuple[str, ...]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert hop.cli.main([*words, "--help"]) == 0
    return out.getvalue()


_SHORT_AND_LONG = re.compile(r"(-\w) ([A-Z_]+|\{[^}\s]*\}), (--[\w-]+) \2")


def comparable(text: str) -> str:
    """Help text in the form every supported Python's argparse agrees on.

    Python 3.13's argparse writes ``-f, --format FORMAT`` where older ones write
    ``-f FORMAT, --format FORMAT``, and likewise for choices (``-t {a,b}``), which also moves
    the help column and the wrapping: the documentation quotes the older form, so on 3.13
    both are compared in the newer form with the whitespace folded.
    """
    return " ".join(_SHORT_AND_LONG.sub(r"\1, \3 \2", text).split())


def test_every_command_is_covered() -> None:
    names = {" ".join(words) for words in ALL_COMMANDS}
    assert {"", "publish", "subscribe", "list-topics", "version", "local-broker", "auth"} <= names
    assert {"auth locate", "auth list", "auth add", "auth remove"} <= names


@pytest.mark.parametrize("words", ALL_COMMANDS, ids=lambda w: " ".join(("hop", *w)))
def test_help_is_quoted_in_the_docs(
    words: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    # argparse wraps at the terminal's width; the documentation is written at 100 columns.
    monkeypatch.setenv("COLUMNS", "100")
    block = f"```text\n{help_text(words)}```"
    docs = DOCS.read_text(encoding="utf-8")
    if sys.version_info >= (3, 13):
        assert comparable(block) in comparable(docs), f"docs/cli.md does not match:\n{block}"
        return
    assert block in docs, (
        f"docs/cli.md does not quote the current 'hop {' '.join(words)} --help'; "
        f"replace its block with:\n{block}"
    )
