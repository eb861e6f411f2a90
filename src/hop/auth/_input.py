"""Entering a new credential: from a CSV file, or asked for on the terminal."""

from __future__ import annotations

import csv
import getpass
import io
import os
from collections.abc import Sequence
from pathlib import Path

from hop.errors import ConfigurationError, CredentialInputError, MalformedCredentialError

from ._credential import GCN_DOMAIN, PROTOCOLS, Auth, SASLMethod, gcn_credential

__all__ = ["read_new_credential"]


class _CredentialsFileNotFoundError(CredentialInputError, FileNotFoundError):
    """The CSV file given to ``hop auth add`` does not exist (0.13: ``FileNotFoundError``)."""

    def __str__(self) -> str:  # OSError would otherwise format its args as a tuple
        return str(self.args[0]) if self.args else ""


_CSV_COLUMNS = (
    "username",
    "password",
    "hostname",
    "mechanism",
    "protocol",
    "ssl_ca_location",
    "token_endpoint",
)
_GCN_CSV_COLUMNS = ("client_id", "client_secret")
_COMMA_HINT = "a value holding a comma must be in double quotes"


def _csv_row(path: Path, required: Sequence[str], known: Sequence[str]) -> dict[str, str]:
    """The one row of values of a credentials CSV file, by lower-cased column name.

    No message repeats a value of the file, not even of its first row: a file without a
    header row has the password there. Columns are named instead.
    """
    try:
        # utf-8-sig: spreadsheet programs often start the file with a byte-order mark.
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise _CredentialsFileNotFoundError(
            f"cannot read credentials file {path}: no such file"
        ) from None
    except OSError as exc:
        raise CredentialInputError(
            f"cannot read credentials file {path}: {exc.strerror or 'error'}"
        ) from None
    except UnicodeDecodeError as exc:
        raise CredentialInputError(
            f"credentials file {path} is not UTF-8 text (byte {exc.start})"
        ) from None
    header = "'" + ",".join(required) + "'"
    try:
        reader = csv.DictReader(io.StringIO(text))
        fieldnames = reader.fieldnames
        if not fieldnames:
            raise CredentialInputError(
                f"credentials file {path} is empty; expected a header row such as "
                f"{header} and one row of values"
            )
        reader.fieldnames = [name.strip().lower() for name in fieldnames]
        for column in required:
            if column not in reader.fieldnames:
                recognised = [n for n in reader.fieldnames if n in known]
                found = (
                    f"the columns it has: {', '.join(recognised)}"
                    if recognised
                    else "its first row names no known column, so it is not a header row"
                )
                raise MalformedCredentialError(
                    f"credentials file {path} has no {column!r} column ({found}); its first "
                    f"row must be a header row such as {header}"
                )
        # DictReader files values beyond the header's columns under the key None, as a list.
        rows = [
            row
            for row in reader
            if any(isinstance(v, str) and v.strip() for k, v in row.items() if k is not None)
        ]
    except csv.Error:
        raise CredentialInputError(
            f"credentials file {path} is not valid CSV (line {reader.line_num}); {_COMMA_HINT}"
        ) from None
    if len(rows) != 1:
        raise CredentialInputError(
            f"credentials file {path} holds {len(rows)} credential rows; expected exactly one"
        )
    return {k: v for k, v in rows[0].items() if isinstance(k, str) and isinstance(v, str)}


def _from_csv(path: Path) -> Auth:
    row = _csv_row(path, ("username", "password"), _CSV_COLUMNS)

    def value(key: str) -> str:
        # The password is kept exactly as written; other fields lose stray spaces.
        raw = row.get(key) or ""
        return raw if key == "password" else raw.strip()

    username, password = value("username"), value("password")
    if not username or not password:
        missing = "username" if not username else "password"
        raise CredentialInputError(f"credentials file {path} has an empty {missing}")
    protocol = (value("protocol") or "SASL_SSL").upper()
    if protocol not in PROTOCOLS:
        raise CredentialInputError(
            f"credentials file {path}: the 'protocol' column holds an unknown protocol "
            f"(expected SASL_SSL or SASL_PLAINTEXT); {_COMMA_HINT}"
        )
    mechanism = value("mechanism") or None
    if mechanism is not None:
        try:
            SASLMethod.parse(mechanism)
        except ValueError:
            known = ", ".join(m.value for m in SASLMethod)
            raise CredentialInputError(
                f"credentials file {path}: the 'mechanism' column holds an unknown SASL "
                f"mechanism (expected one of {known}); {_COMMA_HINT}"
            ) from None
    try:
        return Auth(
            username,
            password,
            host=value("hostname"),
            ssl=protocol == "SASL_SSL",
            method=mechanism,
            token_endpoint=value("token_endpoint") or None,
            ssl_ca_location=value("ssl_ca_location") or None,
        )
    except ConfigurationError as exc:
        # Auth's own messages name the user and the mechanism, both checked above.
        raise CredentialInputError(f"credentials file {path}: {exc}") from None


def _gcn_from_csv(path: Path, domain: str) -> Auth:
    row = _csv_row(path, _GCN_CSV_COLUMNS, _GCN_CSV_COLUMNS)
    client_id = (row.get("client_id") or "").strip()
    client_secret = row.get("client_secret") or ""
    for column, given in (("client_id", client_id), ("client_secret", client_secret)):
        if not given:
            raise CredentialInputError(f"credentials file {path} has an empty {column}")
    try:
        return gcn_credential(client_id, client_secret, domain)
    except ConfigurationError as exc:
        raise CredentialInputError(f"credentials file {path}: {exc}") from None


def _ask(prompt: str) -> str:
    try:
        return input(prompt).strip()
    except EOFError:
        return ""


def _ask_secret(prompt: str) -> str:
    try:
        return getpass.getpass(prompt)
    except EOFError:
        return ""


def _ask_name_and_secret(prompts: tuple[str, str], names: tuple[str, str]) -> tuple[str, str]:
    """A name typed on the terminal, then a secret through ``getpass`` (not echoed).

    Args:
        prompts: the two prompts.
        names: what the two are called in the error message.

    Raises:
        CredentialInputError: either is left empty.
    """
    typed = _ask(prompts[0])
    if not typed:
        raise CredentialInputError(f"no {names[0]} entered; nothing was stored")
    hidden = _ask_secret(prompts[1])
    if not hidden:
        raise CredentialInputError(f"no {names[1]} entered; nothing was stored")
    return typed, hidden


def _from_terminal() -> Auth:
    username, password = _ask_name_and_secret(
        ("Username: ", "Password: "), ("username", "password")
    )
    hostname = _ask("Hostname (leave empty to use it for any host): ")
    token_endpoint = _ask("Token endpoint (leave empty unless your provider gave one): ")
    try:
        return Auth(username, password, host=hostname, token_endpoint=token_endpoint or None)
    except ConfigurationError as exc:
        raise CredentialInputError(str(exc)) from None


def _gcn_from_terminal(domain: str) -> Auth:
    client_id, client_secret = _ask_name_and_secret(
        ("GCN client ID: ", "GCN client secret: "), ("client ID", "client secret")
    )
    try:
        return gcn_credential(client_id, client_secret, domain)
    except ConfigurationError as exc:
        raise CredentialInputError(str(exc)) from None


def read_new_credential(
    csv_file: str | os.PathLike[str] | None = None,
    *,
    gcn: bool = False,
    domain: str = GCN_DOMAIN,
) -> Auth:
    """Read one new credential from a CSV file, or ask for it on the terminal.

    The CSV file (as https://my.hop.scimma.org hands it out) has a header row and one row
    of values. ``username`` and ``password`` are required; ``hostname``, ``mechanism``,
    ``protocol``, ``ssl_ca_location`` and ``token_endpoint`` are optional; other columns
    are ignored. Without a file, hop prompts for the username, the password (through
    ``getpass``, not echoed), the hostname and a token endpoint (both may stay empty).

    With ``gcn``, the credential is a NASA GCN Kafka one (see :func:`gcn_credential`): the
    CSV file's columns are ``client_id`` and ``client_secret``, and the prompts ask for
    those two (the secret through ``getpass``).

    No error message repeats a value read from the file: columns are named instead.

    Args:
        csv_file: the CSV file, or None to ask interactively.
        gcn: read a GCN client id and secret instead of a username and password.
        domain: with ``gcn``, the GCN deployment (``gcn.nasa.gov`` by default).

    Returns:
        The credential (not stored yet: see :func:`add_credential`).

    Raises:
        CredentialInputError: (a ``RuntimeError``) an empty username or password, a file
            that cannot be read, does not hold exactly one credential row, or has a bad value;
            for a file that does not exist, also a ``FileNotFoundError``.
        MalformedCredentialError: (a ``KeyError``) the file has no ``username`` or
            ``password`` column (``client_id`` or ``client_secret`` with ``gcn``).
    """
    if gcn:
        if csv_file is None:
            return _gcn_from_terminal(domain)
        return _gcn_from_csv(Path(csv_file), domain)
    if csv_file is None:
        return _from_terminal()
    return _from_csv(Path(csv_file))
