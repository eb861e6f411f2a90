"""The credential file ``auth.toml``: reading, writing, and the credentials old files keep.

Reading and writing go through :mod:`hop._toml` (one reader, one atomic 0600 writer).
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from . import _toml
from ._credential import PROTOCOLS, Auth, host_only
from .configure import get_config_path
from .errors import (
    ConfigurationError,
    CredentialError,
    CredentialFilePermissionError,
    MalformedCredentialError,
    NoCredentialsError,
)

__all__ = [
    "NO_CREDENTIALS_MESSAGE",
    "CredentialFileError",
    "load_auth",
    "prune_outdated_auth",
    "write_auth_data",
]

logger = logging.getLogger("hop.auth")

#: What to tell a person who has no stored credential (the CLI prints it as is).
NO_CREDENTIALS_MESSAGE = (
    "No valid credential data found\n"
    "You can get a credential from https://my.hop.scimma.org\n"
    "To load your credential, run 'hop auth add'"
)


class CredentialFileError(CredentialError, RuntimeError):
    """``auth.toml`` cannot be read or is not a credential file (not TOML, no ``[[auth]]``).

    A ``RuntimeError`` too, as what hop-client 0.13 raised there.
    """


def _check_permissions(path: Path, mode: int) -> None:
    if os.name == "nt":  # permission bits mean nothing there
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO) & ~(stat.S_IXGRP | stat.S_IXOTH):
        raise CredentialFilePermissionError(
            f"{path} is readable or writable by group or others, so hop will not read "
            f"the credentials in it; fix it with: chmod 600 {path}"
        )


def _entry_str(entry: Mapping[str, object], key: str, where: str, required: bool) -> str | None:
    value = entry.get(key)
    if value is None or value == "":
        if required:
            raise MalformedCredentialError(f"{where} has no {key!r}")
        return None
    if not isinstance(value, str):
        raise MalformedCredentialError(
            f"{where}: {key!r} must be a string, not {type(value).__name__}"
        )
    return value


def _auth_from_entry(entry: object, where: str) -> Auth:
    if not isinstance(entry, Mapping):
        raise MalformedCredentialError(f"{where} is not a table of keys")
    username = _entry_str(entry, "username", where, required=True)
    # Label further messages with the username, now known: it is not secret.
    where = f"{where} (username {username!r})"
    token_command = _entry_str(entry, "token_command", where, required=False)
    # 0.13 writes an empty password beside a token command.
    password = _entry_str(entry, "password", where, required=not token_command) or ""
    assert username is not None
    # Values are never repeated in these messages: a secret may sit in the wrong key.
    protocol = (_entry_str(entry, "protocol", where, required=False) or "SASL_SSL").upper()
    if protocol not in PROTOCOLS:
        raise MalformedCredentialError(
            f"{where}: unknown 'protocol' value (expected SASL_SSL or SASL_PLAINTEXT)"
        )
    mechanism = _entry_str(entry, "mechanism", where, required=False)
    try:
        return Auth(
            username,
            password,
            host=_entry_str(entry, "hostname", where, required=False) or "",
            ssl=protocol == "SASL_SSL",
            method=mechanism,
            token_endpoint=_entry_str(entry, "token_endpoint", where, required=False),
            ssl_ca_location=_entry_str(entry, "ssl_ca_location", where, required=False),
            token_command=token_command,
        )
    except ConfigurationError as exc:
        message = str(exc).removeprefix(f"credential {username!r}: ")
        raise MalformedCredentialError(f"{where}: {message}") from None


def _entry_from_auth(auth: Auth) -> dict[str, str]:
    entry = {
        "username": auth.username,
        "password": auth.password,
        "protocol": auth.protocol,
        "mechanism": auth.mechanism,
    }
    if auth.hostname:
        entry["hostname"] = auth.hostname
    if auth.ssl_ca_location:
        entry["ssl_ca_location"] = auth.ssl_ca_location
    if auth.token_endpoint:
        entry["token_endpoint"] = auth.token_endpoint
    if auth.token_command:
        entry["token_command"] = auth.token_command
    return entry


def _no_credentials(path: Path) -> NoCredentialsError:
    # errno and filename stay unset: OSError's str() would then replace the message.
    return NoCredentialsError(f"{NO_CREDENTIALS_MESSAGE}\n(no credential file at {path})")


def _entries_to_auths(entries: list[object], path: Path) -> list[Auth]:
    """The usable credentials among ``entries``; each unusable one is warned about.

    One bad entry must not take the others down with it. When no entry at all is usable,
    the first one's error is raised (a ``KeyError`` for a missing key, as in 0.13).
    """
    creds: list[Auth] = []
    first_error: MalformedCredentialError | None = None
    for index, entry in enumerate(entries, 1):
        try:
            creds.append(_auth_from_entry(entry, f"credential {index} in {path}"))
        except MalformedCredentialError as exc:
            first_error = first_error or exc
            logger.warning("skipping a credential hop cannot use: %s", exc)
    if first_error is not None and not creds:
        raise first_error
    return creds


def _read_auth_entries(path: Path, key_required: bool) -> list[object] | None:
    """The entries under ``auth`` in ``path``; None when the file does not exist."""
    # The permissions are checked on the open file, so the file read is the file checked.
    check = _check_permissions if key_required else None
    loaded = _toml.read_toml(path, CredentialFileError, check=check)
    if loaded is None:
        return None
    data, mode = loaded
    entries = data.get("auth", [])
    if isinstance(entries, Mapping):  # a single [auth] table rather than [[auth]]
        entries = [entries]
    if not isinstance(entries, list):
        if not key_required:  # not credentials in any form hop knows: none here
            return []
        raise CredentialFileError(f"{path}: 'auth' must be an array of tables ([[auth]])")
    if entries and not key_required:
        # The general file may be world-readable as long as it holds no password.
        _check_permissions(path, mode)
    return list(entries)


def _legacy_credentials() -> list[Auth]:
    """Credentials an old ``config.toml`` still keeps in its ``auth`` table."""
    path = Path(get_config_path("general"))
    entries = _read_auth_entries(path, key_required=False)
    if not entries:
        return []
    creds = _entries_to_auths(entries, path)
    logger.warning(
        "using %d credential(s) from the old 'auth' table in %s, as auth.toml has none; "
        "store them in auth.toml with 'hop auth add'",
        len(creds),
        path,
    )
    return creds


def load_auth(config_file: str | os.PathLike[str] | None = None) -> list[Auth]:
    """Read the stored credentials.

    An entry hop cannot use (a missing key, an unknown mechanism...) is logged as a warning
    and skipped, so that the others still load. Without ``config_file``, when ``auth.toml``
    is missing or holds no entry, credentials still kept in the ``auth`` table of an old
    general ``config.toml`` are used, with a warning saying to move them.

    Args:
        config_file: the file; ``get_config_path("auth")`` when None.

    Returns:
        The credentials, in file order (possibly none, for a file without entries).

    Raises:
        NoCredentialsError: (a ``FileNotFoundError``) the file does not exist; the message
            is :data:`NO_CREDENTIALS_MESSAGE` and the path.
        CredentialFilePermissionError: (a ``RuntimeError``) group or others may read or
            write the file; it is not read, and the message gives the ``chmod`` that fixes it.
        MalformedCredentialError: (a ``KeyError``) the file has entries and none is usable;
            the message names the first entry and its problem.
        CredentialFileError: (a ``RuntimeError``) the file is not valid TOML, its ``auth``
            is not an array of tables, or it cannot be read.
    """
    default = config_file is None
    path = Path(config_file) if config_file is not None else Path(get_config_path("auth"))
    entries = _read_auth_entries(path, key_required=True)
    creds = _entries_to_auths(entries, path) if entries else []
    if default and not creds:
        legacy = _legacy_credentials()
        if legacy:
            return legacy
    if entries is None:
        raise _no_credentials(path)
    return creds


def write_auth_data(config_file: str | os.PathLike[str], credentials: Iterable[Auth]) -> None:
    """Write credentials to ``config_file``, replacing its content.

    Missing directories are created with mode 0700. The data goes to a temporary file
    (mode 0600 from its creation) in the same directory, which then replaces the old file
    in one rename: a crash leaves the old file or the new one, never half of either.

    Args:
        config_file: the file, normally ``get_config_path("auth")``.
        credentials: what to store.
    """
    document = {"auth": [_entry_from_auth(auth) for auth in credentials]}
    _toml.write_atomically(Path(config_file), _toml.dumps(document))


def _legacy_key(auth: Auth) -> tuple[str, str, str]:
    return (auth.username, auth.password, host_only(auth.hostname))


def prune_outdated_auth(
    config_file: str | os.PathLike[str] | None = None,
    auth_file: str | os.PathLike[str] | None = None,
) -> int:
    """Remove credentials left in an old general ``config.toml`` once ``auth.toml`` has them.

    Older clients kept credentials under ``auth`` in ``config.toml``. An entry there whose
    username, password and hostname are also in ``auth.toml`` is removed; any other entry
    stays (a warning, without the password, says to move it with ``hop auth add``). The
    file's other settings stay; its comments and layout do not survive the rewrite.

    Args:
        config_file: the general file; ``get_config_path("general")`` when None.
        auth_file: the credential file; ``get_config_path("auth")`` when None.

    Returns:
        How many entries were removed.

    Raises:
        ConfigurationError: ``config_file`` is not valid TOML.
        CredentialFilePermissionError: ``auth_file`` is open to group or others.
    """
    path = Path(config_file) if config_file is not None else Path(get_config_path("general"))
    loaded = _toml.read_toml(path, ConfigurationError)
    if loaded is None:
        return 0
    data, mode = loaded[0], stat.S_IMODE(loaded[1])
    legacy = data.get("auth")
    if isinstance(legacy, Mapping):
        entries: list[object] = [legacy]
    elif isinstance(legacy, list):
        entries = list(legacy)
    else:  # absent, or not credentials in any form hop knows: not ours to touch
        return 0
    try:
        # Named explicitly: load_auth() alone would fall back to the legacy entries.
        stored = {_legacy_key(c) for c in load_auth(auth_file or get_config_path("auth"))}
    except NoCredentialsError:
        stored = set()
    remaining: list[object] = []
    for index, entry in enumerate(entries, 1):
        try:
            auth = _auth_from_entry(entry, f"credential {index} in {path}")
        except MalformedCredentialError:
            remaining.append(entry)  # cannot tell whether it was moved: leave it be
            continue
        if _legacy_key(auth) not in stored:
            remaining.append(entry)
    removed = len(entries) - len(remaining)
    if remaining:
        logger.warning(
            "%s still holds %d credential(s) that are not in auth.toml; store them with "
            "'hop auth add'",
            path,
            len(remaining),
        )
    if not removed:
        return 0
    if remaining:
        data["auth"] = remaining[0] if isinstance(legacy, Mapping) else remaining
    else:
        del data["auth"]
    # Passwords may remain in the file: keep it private unless none do.
    new_mode = 0o600 if remaining else mode
    _toml.write_atomically(path, _toml.dumps(data), mode=new_mode)
    logger.info("removed %d outdated credential(s) from %s", removed, path)
    return removed
