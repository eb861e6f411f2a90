"""The command line's parser and the options commands share (client, logging, command
groups)."""

from __future__ import annotations

import argparse
import typing
from collections.abc import Sequence
from typing import TypeAlias


class IntermixedParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that lets options stand anywhere among positional arguments.

    ``parse_intermixed_args`` refuses parsers with subcommands, so a parser that has them
    parses normally, and each leaf command (which has none) parses intermixed when its parent
    hands it the rest of the command line. ``hop publish URL -f CIRCULAR FILE --no-auth``
    then works as well as ``hop publish -f CIRCULAR --no-auth URL FILE``.
    """

    _intermixing = False

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """Parse like ``ArgumentParser.parse_known_args``, intermixed for leaf commands.

        Args:
            args: the arguments; ``sys.argv[1:]`` when None.
            namespace: the namespace to fill.

        Returns:
            The namespace and the arguments that were not recognised.
        """
        if self._intermixing or self._has_subcommands():
            return super().parse_known_args(args, namespace)
        # parse_known_intermixed_args calls parse_known_args itself; let those calls through.
        self._intermixing = True
        try:
            return super().parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False

    def error(self, message: str) -> typing.NoReturn:
        """Print the usage and ``message``, and exit with status 2.

        argparse's intermixed parsing lists positional arguments that may be left out (a
        ``nargs="*"`` one such as ``hop publish``'s MESSAGE) among the missing ones; only
        those that are really required are named.

        Args:
            message: what is wrong.
        """
        prefix = "the following arguments are required: "
        if message.startswith(prefix):
            optional = {
                action.metavar or action.dest
                for action in self._actions
                if not action.option_strings and action.nargs in ("*", "?")
            }
            names = [name for name in message[len(prefix) :].split(", ") if name not in optional]
            message = prefix + ", ".join(names)
        super().error(message)

    def _has_subcommands(self) -> bool:
        return any(isinstance(action, argparse._SubParsersAction) for action in self._actions)


#: What ``IntermixedParser.add_subparsers()`` returns (argparse gives it no public name).
Subparsers: TypeAlias = "argparse._SubParsersAction[IntermixedParser]"


def add_client_opts(parser: argparse.ArgumentParser) -> None:
    """Add the options of every command that talks to a broker: ``URL`` and ``--no-auth``.

    Args:
        parser: the command's parser.
    """
    parser.add_argument(
        "url",
        metavar="URL",
        help="Kafka URL: kafka://[username@]host[:port][,host2[:port2]...]/[topic[,topic2...]]",
    )
    parser.add_argument(
        "--no-auth",
        action="store_true",
        help="connect without credentials (for a local broker, e.g. 'hop local-broker')",
    )


def add_logging_opts(parser: argparse.ArgumentParser, default: bool | str = False) -> None:
    """Add ``-q/--quiet`` and ``-v/--verbose``, which exclude each other.

    Args:
        parser: the command's parser.
        default: their value when not given; ``argparse.SUPPRESS`` leaves them out of the
            namespace then (for options a parent parser may have set already).
    """
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default,
        help="show only warnings and errors",
    )
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default,
        help="show debug messages, and full tracebacks on errors",
    )


def add_command_group(
    subparsers: Subparsers, name: str, *, help: str, description: str, commands: Sequence[str]
) -> Subparsers:
    """Add a command made of subcommands (``hop auth``, ``hop configure``, ``hop journal``).

    The command takes ``-q`` and ``-v``, and one of ``commands`` is required; the chosen one
    is in the namespace as ``NAME_command``.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned.
        name: the command's name.
        help: the line about it in ``hop --help``.
        description: the text of ``hop NAME --help``.
        commands: the subcommands' names, as its usage lists them.

    Returns:
        What to add the subcommands to.
    """
    parser = subparsers.add_parser(name, help=help, description=description)
    add_logging_opts(parser)
    group = parser.add_subparsers(
        title="commands", dest=f"{name}_command", metavar="{" + ",".join(commands) + "}"
    )
    group.required = True
    return group


def add_leaf_logging_opts(*leaves: argparse.ArgumentParser) -> None:
    """Let ``-q`` and ``-v`` stand after a subcommand too (``hop auth list -v``).

    Absent from the namespace unless given, so that a leaf does not overwrite what was
    given before it.

    Args:
        leaves: the subcommands' parsers.
    """
    for leaf in leaves:
        add_logging_opts(leaf, default=argparse.SUPPRESS)
