"""``-v``, ``-q`` and ``-d/--debug`` before or after the command name, on every command.

The top-level parser holds them with their defaults; every command and subcommand takes
them too, absent from the namespace unless given there, so that a flag given after the
command name is not overwritten by a default and one given before it is not undone."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from ._args import add_logging_opts

__all__ = ["add_global_flags"]

_DEBUG_HELP = "print the full traceback of an error"


def _has(parser: argparse.ArgumentParser, option: str) -> bool:
    return option in parser._option_string_actions


def _add_debug(parser: argparse.ArgumentParser, default: bool | str) -> None:
    parser.add_argument("-d", "--debug", action="store_true", default=default, help=_DEBUG_HELP)


def _commands(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every command parser under ``parser`` (not ``parser`` itself), depth first."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield sub
                yield from _commands(sub)


def add_global_flags(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` and every command under it ``-q``, ``-v`` and ``-d/--debug``.

    Call it once every command has been added. Flags a command already has keep their
    help, but lose their default (so that the top level's stands).

    Args:
        parser: the top-level parser.
    """
    if not _has(parser, "-v"):
        add_logging_opts(parser)
    if not _has(parser, "-d"):
        _add_debug(parser, False)
    for command in _commands(parser):
        for option in ("-q", "-v", "-d"):
            if _has(command, option):
                command._option_string_actions[option].default = argparse.SUPPRESS
        if not _has(command, "-v") and not _has(command, "-q"):
            add_logging_opts(command, default=argparse.SUPPRESS)
        if not _has(command, "-d"):
            _add_debug(command, argparse.SUPPRESS)
