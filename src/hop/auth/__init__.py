"""Credentials: the ``Auth`` object, the ``auth.toml`` file, and choosing one for a URL.

This module is the facade users import; the work is done in private modules, one job each:
:mod:`hop.auth._credential` (the model), :mod:`hop.auth._store` (``auth.toml``),
:mod:`hop.auth._select` (choosing one for a broker), :mod:`hop.auth._input`
(a CSV file or the terminal) and :mod:`hop.auth._token_command` (``token_command``). What is
left here are the operations behind ``hop auth add/remove/list``.

``auth.toml`` (see :func:`hop.configure.get_config_path`) is an array of tables, the format
other hop clients write and read::

    [[auth]]
    username = "alice-1a2b3c"
    password = "..."
    protocol = "SASL_SSL"
    mechanism = "SCRAM-SHA-512"
    hostname = "kafka.scimma.org"          # optional
    ssl_ca_location = "/path/to/ca.pem"    # optional
    token_endpoint = "https://..."         # optional (OAUTHBEARER / OIDC)
    token_command = "shell command"        # optional: prints a JWT (password then empty)

An entry hop cannot use is logged as a warning and skipped; the others still load.

The file holds passwords, so hop refuses to read it while its mode has any bit beyond the
owner's (group, other, setuid, setgid, sticky), and always writes it with mode 0600
(directories 0700). No field may hold a control character. A password never appears
in a ``repr``, a log line, an error message or ``hop auth list``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import TextIO

from hop.configure import get_config_path
from hop.errors import CredentialInputError, HopError, NoCredentialsError

from ._credential import GCN_DOMAIN, Auth, SASLMethod, gcn_credential, host_only, label, printable
from ._input import read_new_credential
from ._select import AmbiguousCredentialError, NoMatchingCredentialError, select_matching_auth
from ._store import (
    NO_CREDENTIALS_MESSAGE,
    CredentialFileError,
    load_auth,
    prune_outdated_auth,
    write_auth_data,
)
from ._token_endpoint import TokenError

__all__ = [
    "GCN_DOMAIN",
    "NO_CREDENTIALS_MESSAGE",
    "AmbiguousCredentialError",
    "Auth",
    "CredentialFileError",
    "NoMatchingCredentialError",
    "SASLMethod",
    "TokenError",
    "add_credential",
    "delete_credential",
    "gcn_credential",
    "get_config_path",
    "list_credentials",
    "load_auth",
    "prune_outdated_auth",
    "read_new_credential",
    "select_matching_auth",
    "write_auth_data",
]

logger = logging.getLogger(__name__)

# The public classes say they are hop.auth's, where users import them from (and where an
# object pickled by an earlier hop says its class is).
for _public in (
    Auth,
    SASLMethod,
    AmbiguousCredentialError,
    NoMatchingCredentialError,
    CredentialFileError,
    TokenError,
):
    _public.__module__ = __name__
del _public


class _NothingToDeleteError(NoCredentialsError, RuntimeError):
    """``hop auth remove`` without a credential file (0.13 raised a ``RuntimeError``)."""


# ---------------------------------------------------------------------- managing auth.toml


def _same_identity(a: Auth, b: Auth) -> bool:
    return a.username == b.username and host_only(a.hostname) == host_only(b.hostname)


def add_credential(
    cred_file: str | os.PathLike[str] | argparse.Namespace | SimpleNamespace | None = None,
    *,
    force: bool = False,
    gcn: bool = False,
    domain: str | None = None,
) -> None:
    """Store a new credential (``hop auth add``).

    The credential is read as :func:`read_new_credential` does and added to
    ``auth.toml`` (created when missing). A stored credential with the same username and
    hostname is replaced only with ``force``; without it, the conflict is logged and
    nothing is written (and ``hop auth add`` exits 0, as in hop-client 0.13). Afterwards,
    credentials an old ``config.toml`` still holds and ``auth.toml`` now has are removed
    from it (:func:`prune_outdated_auth`).

    For hop-client 0.13 code, ``cred_file`` may instead be the parsed command line of
    ``hop auth add``: an object with ``cred_file`` and ``force`` (and optionally ``gcn``
    and ``domain``), which then give the other arguments.

    Args:
        cred_file: a CSV file, or None to ask on the terminal.
        force: replace a stored credential of the same username and hostname.
        gcn: read a NASA GCN Kafka credential (client id and secret).
        domain: with ``gcn``, the GCN deployment (``gcn.nasa.gov`` when None).

    Raises:
        CredentialInputError: what was entered is not a usable credential.
        CredentialFilePermissionError: the existing ``auth.toml`` is open to others.
    """
    # The attribute first: a mock of the namespace also passes for an os.PathLike.
    if hasattr(cred_file, "cred_file") or (
        cred_file is not None and not isinstance(cred_file, str | os.PathLike)
    ):
        args = cred_file  # 0.13: the argparse namespace of 'hop auth add'
        cred_file = getattr(args, "cred_file", None)
        force = bool(getattr(args, "force", False))
        gcn = bool(getattr(args, "gcn", False))
        domain = getattr(args, "domain", None)
    new = read_new_credential(cred_file, gcn=gcn, domain=domain or GCN_DOMAIN)
    if _store_new(new, force):
        try:
            prune_outdated_auth()
        except (HopError, OSError) as exc:
            # The credential is stored; tidying the old file is a courtesy, not the command.
            logger.warning("could not remove old credentials from the general config: %s", exc)


def _store_new(new: Auth, force: bool) -> bool:
    """Add ``new`` to ``auth.toml``, replacing one of its identity only when ``force``.

    Returns:
        Whether the file was written.
    """
    path = Path(get_config_path("auth"))
    try:
        existing = load_auth(path)
    except NoCredentialsError:
        existing = []
    same = [c for c in existing if _same_identity(c, new)]
    if same == [new]:
        logger.info("credential %s is already stored in %s", label(new), path)
        return False
    if same and not force:
        logger.error(
            "a credential for %s is already stored in %s; nothing was changed. Add it with "
            "--force to replace it",
            label(same[0]),
            path,
        )
        return False
    updated: list[Auth] = []
    for cred in existing:
        if not _same_identity(cred, new):
            updated.append(cred)
        elif new not in updated:  # the replacement takes the first old one's place
            updated.append(new)
    if new not in updated:
        updated.append(new)
    write_auth_data(path, updated)
    logger.info("%s credential %s in %s", "replaced" if same else "stored", label(new), path)
    return True


def delete_credential(name: str) -> None:
    """Remove one stored credential (``hop auth remove``).

    Args:
        name: ``USER`` or ``USER@HOST`` (``USER@`` names the one with no hostname).

    Raises:
        NoCredentialsError: nothing is stored (also a ``RuntimeError``, as in 0.13).
        CredentialInputError: (a ``RuntimeError``) no stored credential matches ``name``,
            or several do; the message lists them.
    """
    path = Path(get_config_path("auth"))
    try:
        creds = load_auth(path)
    except NoCredentialsError as exc:
        raise _NothingToDeleteError(str(exc)) from None
    host: str | None = None
    user = name
    if "@" in name:
        user, _, host = name.rpartition("@")
    matches = [
        c
        for c in creds
        if c.username == user and (host is None or host_only(c.hostname) == host_only(host))
    ]
    if not matches:
        stored = "; ".join(label(c) for c in creds) or "none"
        raise CredentialInputError(f"no stored credential matches {name!r}; stored: {stored}")
    if len(matches) > 1:
        listed = "; ".join(label(c) for c in matches)
        raise CredentialInputError(
            f"{len(matches)} stored credentials match {name!r}: {listed}; "
            "name one as USER@HOST (USER@ for the one with no hostname)"
        )
    write_auth_data(path, [c for c in creds if c is not matches[0]])
    logger.info("removed credential %s from %s", label(matches[0]), path)


def list_credentials(
    file: TextIO | None = None, config_file: str | os.PathLike[str] | None = None
) -> None:
    """Print the stored credentials: username, hostname and mechanism, never a password.

    Without a credential file, it prints that there are none and where they would be. A
    character that is not printable is shown escaped (``\\n``, ``\\x1b``), never raw.

    Args:
        file: where to print; standard output when None.
        config_file: the credential file; ``get_config_path("auth")`` when None (then
            credentials left in an old ``config.toml`` are listed when ``auth.toml`` has
            none, as :func:`load_auth` uses them).

    Raises:
        CredentialFilePermissionError: the file is open to group or others.
        MalformedCredentialError: the file has entries and none is usable.
        CredentialFileError: the file is not a readable credential file.
    """
    out = file if file is not None else sys.stdout
    path = Path(config_file) if config_file is not None else Path(get_config_path("auth"))
    try:
        creds = load_auth(config_file)
    except NoCredentialsError:
        print(
            f"No credentials are stored (they would be in {path}); add one with 'hop auth add'",
            file=out,
        )
        return
    if not creds:
        print(f"No credentials are stored in {path}; run 'hop auth add'", file=out)
        return
    rows = [("USERNAME", "HOSTNAME", "MECHANISM")]
    rows += [
        (printable(c.username), printable(c.hostname) or "(any host)", printable(c.mechanism))
        for c in creds
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for username, hostname, mechanism in rows:
        print(f"{username:<{widths[0]}}  {hostname:<{widths[1]}}  {mechanism}", file=out)
