"""``hop configure``: where hop's files are, and its general settings."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from hop.configure import SETTINGS, get_config_path, load_config, write_config_value
from hop.models._schema_registry import redact_url

from ._args import Subparsers, add_command_group, add_leaf_logging_opts


def add_parser(subparsers: Subparsers) -> None:
    """Add ``hop configure`` and its subcommands ``locate``, ``show``, ``set``.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned.
    """
    commands = add_command_group(
        subparsers,
        "configure",
        help="show or change general settings",
        description=(
            "Show or change hop's general settings, kept in the [config] table of "
            "config.toml; an environment variable HOP_<NAME> overrides a setting."
        ),
        commands=("locate", "show", "set"),
    )

    locate = commands.add_parser(
        "locate",
        help="print where a configuration file is",
        description="Print the path of the general configuration file or of the credentials.",
    )
    locate.add_argument(
        "-t",
        "--type",
        choices=("general", "auth"),
        default="general",
        help="which file: general settings (config.toml) or credentials (auth.toml); "
        "default: general",
    )
    locate.set_defaults(func=run_locate)

    show = commands.add_parser(
        "show",
        help="print the settings in force",
        description=(
            "Print every general setting as TOML: config.toml with HOP_* variables applied. "
            "A setting given nowhere is shown as a comment."
        ),
    )
    show.set_defaults(func=run_show)

    setter = commands.add_parser(
        "set",
        help="change a setting in config.toml",
        description=(
            "Set one general setting in config.toml (created when missing). Timeouts are "
            "seconds; booleans are true/yes/on/1 or false/no/off/0."
        ),
    )
    setter.add_argument("name", metavar="NAME", help="the setting, e.g. produce_timeout")
    setter.add_argument("value", metavar="VALUE", help="its new value")
    setter.set_defaults(func=run_set)

    add_leaf_logging_opts(locate, show, setter)


def run_locate(args: argparse.Namespace) -> int:
    """Run ``hop configure locate``: print a configuration file's path.

    Args:
        args: the parsed command line (``type``).

    Returns:
        0.
    """
    print(get_config_path(args.type))
    return 0


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        return str(int(seconds)) if seconds.is_integer() else repr(seconds)
    return repr(value)


def run_show(args: argparse.Namespace) -> int:
    """Run ``hop configure show``: print the settings in force.

    Args:
        args: the parsed command line.

    Returns:
        0.

    Raises:
        ConfigurationError: the file or a variable holds a bad value.
    """
    values = load_config().asdict()
    print(f"# {get_config_path('general')}, with HOP_* variables applied")
    print("[config]")
    for name in SETTINGS:
        value = values.get(name)
        if value is None:
            print(f"# {name} is not set")
        elif name == "schema_registry" and "@" in str(value).split("//", 1)[-1].split("/")[0]:
            # A password in the URL is never shown.
            print(f"{name} = {_toml(redact_url(str(value)))}  # credentials not shown")
        else:
            print(f"{name} = {_toml(value)}")
    sys.stdout.flush()
    return 0


def run_set(args: argparse.Namespace) -> int:
    """Run ``hop configure set NAME VALUE``.

    Args:
        args: the parsed command line (``name``, ``value``).

    Returns:
        0.

    Raises:
        ConfigurationError: an unknown name or a bad value; nothing is written.
    """
    write_config_value(args.name, args.value)
    return 0
