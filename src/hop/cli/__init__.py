"""The ``hop`` command line: publish, subscribe, list-topics, auth, version, local-broker.

The CLI is thin: it parses the command line, calls the library, and turns every error a
person can cause into one line on standard error with exit status 1 (a full traceback only
with ``-v``). Usage errors exit with status 2, an interrupted publication with 130.

Scripts that build their own commands can reuse the option helpers::

    parser = argparse.ArgumentParser()
    hop.cli.add_client_opts(parser)      # URL and --no-auth
    hop.cli.add_logging_opts(parser)     # -q / -v
    args = parser.parse_args()
    hop.cli.set_up_logger(args)
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from hop.errors import HopError

from ._args import IntermixedParser, add_client_opts, add_logging_opts
from ._errors import CommandFailed, error_line
from ._logging import HeldClientWarnings, get_log_level, hop_handler, set_up_logger
from ._signals import reader_gone

__all__ = [
    "add_client_opts",
    "add_logging_opts",
    "build_parser",
    "get_log_level",
    "main",
    "set_up_logger",
]

_COMMANDS = "{auth,list-topics,publish,subscribe,version,local-broker,configure,journal,lag}"


def build_parser() -> argparse.ArgumentParser:
    """The parser of the whole command line, with every subcommand.

    Returns:
        The parser; options of each command may stand anywhere among its positional
        arguments.
    """
    from hop.version import __version__

    from . import _commands, _configure, _journal, _lag, _publish, _subscribe
    from ._global_flags import add_global_flags

    parser = IntermixedParser(
        prog="hop",
        description=(
            "Publish and subscribe to astronomical alerts over Kafka (SCiMMA Hopskotch, GCN "
            "Kafka, or any Kafka cluster). Run 'hop COMMAND -h' for a command's options."
        ),
    )
    parser.add_argument("--version", action="version", version=f"hop version {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", metavar=_COMMANDS)
    commands.required = True
    _commands.add_auth(commands)
    _commands.add_list_topics(commands)
    _publish.add_parser(commands)
    _subscribe.add_parser(commands)
    _commands.add_version(commands)
    _commands.add_local_broker(commands)
    _configure.add_parser(commands)
    _journal.add_parser(commands)
    _lag.add_parser(commands)
    add_global_flags(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``hop`` command line.

    Args:
        argv: the arguments after the program name; ``sys.argv[1:]`` when None.

    Returns:
        The exit status: 0 on success, 1 on an error, 2 on a usage error, 3 when
        ``hop subscribe --expect-every`` found the stream silent, 130 when an interrupted
        publication was cut short.
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not args_list:
        parser.print_help(sys.stderr)
        return 2
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # -h, or a usage error argparse has already printed
        return exc.code if isinstance(exc.code, int) else 2
    set_up_logger(args)
    verbose = bool(getattr(args, "verbose", False))
    handler = hop_handler()
    # With -v everything is shown as it happens; otherwise an early failure is one line.
    held = HeldClientWarnings(handler) if handler is not None and not verbose else None
    verbose = verbose or bool(getattr(args, "debug", False))
    try:
        status: int = args.func(args)
        # Written output still buffered would otherwise meet a closed pipe at exit, where
        # nothing can handle it.
        if sys.stdout is not None:
            sys.stdout.flush()
        return status
    except BrokenPipeError:
        # Whoever read the output has gone (`hop list-topics ... | head -1`): like other
        # Unix tools, stop quietly; the reader got what it wanted.
        reader_gone()
        return 0
    except KeyboardInterrupt:
        sys.stderr.write(f"hop {args.command}: interrupted\n")
        return 130
    except (HopError, CommandFailed, OSError, ValueError) as exc:
        return _fail(args.command, exc, verbose)
    except Exception as exc:  # a bug: still one line, and the traceback on request
        return _fail(args.command, exc, verbose, unexpected=True)
    finally:
        if held is not None:
            held.discard()


def _fail(command: str, exc: BaseException, verbose: bool, unexpected: bool = False) -> int:
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    text = error_line(exc)
    if unexpected:
        text = f"unexpected {type(exc).__name__}: {text}" + (
            "" if verbose else " (run with -v for the traceback)"
        )
    sys.stderr.write(f"hop {command}: error: {text}\n")
    sys.stderr.flush()
    return 1
