"""The credential file ``auth.toml``: reading, writing, and the credentials old files keep.

Reading and writing go through :mod:`hop._toml` (one reader, one atomic 0600 writer).
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from hop import _toml
from hop.configure import SettingsError, get_config_path
from hop.errors import (
    ConfigurationError,
    CredentialError,
    CredentialFilePermissionError,
    MalformedCredentialError,
    NoCredentialsError,
)

from ._credential import PROTOCOLS, Auth, SASLMethod, control_character_field, host_only

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


class _MissingPropertyError(MalformedCredentialError):
    """An entry has no ``username`` or no ``password``: the whole file is refused, as in 0.13."""


# Group and other bits, and setuid, setgid and sticky: a credential file has none of them.
_FORBIDDEN_MODE_BITS = 0o7077


def _check_permissions(path: Path, mode: int) -> None:
    if os.name == "nt":  # permission bits mean nothing there
        return
    if mode & _FORBIDDEN_MODE_BITS:
        raise CredentialFilePermissionError(
            f"{path} has mode {stat.S_IMODE(mode):04o}, so hop will not read the credentials "
            f"in it: a credential file must be mode 0600 (no group, other, setuid, setgid or "
            f"sticky bit); fix it with: chmod 600 {path}"
        )


# The keys of an entry whose values are text (checked for control characters first).
_TEXT_KEYS = (
    "username",
    "password",
    "hostname",
    "protocol",
    "mechanism",
    "token_endpoint",
    "ssl_ca_location",
    "token_command",
)


def _entry_str(entry: Mapping[str, object], key: str, where: str, required: bool) -> str | None:
    value = entry.get(key)
    if value is None or value == "":
        if required:
            raise _MissingPropertyError(f"{where} has no {key!r}")
        return None
    if not isinstance(value, str):
        raise MalformedCredentialError(
            f"{where}: {key!r} must be a string, not {type(value).__name__}"
        )
    return value


def _auth_from_entry(entry: object, where: str) -> Auth:
    if not isinstance(entry, Mapping):
        raise MalformedCredentialError(f"{where} is not a table of keys")
    culprit = control_character_field({key: entry.get(key) for key in _TEXT_KEYS})
    if culprit is not None:
        # Before the username labels the messages: it may be the culprit.
        raise MalformedCredentialError(
            f"{where}: {culprit!r} holds a control character (a newline, tab, escape ...)"
        )
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
    if mechanism is not None:
        try:
            SASLMethod.parse(mechanism)
        except ValueError:
            # Auth takes any name (as 0.13 does), but a stored one hop does not know is
            # more likely a misplaced value (a password, say) than a mechanism: skipped,
            # so that 'hop auth list' never shows it.
            known = ", ".join(m.value for m in SASLMethod)
            raise MalformedCredentialError(
                f"{where}: unknown 'mechanism' value (expected one of {known})"
            ) from None
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
    error = NoCredentialsError(f"{NO_CREDENTIALS_MESSAGE}\n(no credential file at {path})")
    # As an OSError for a missing file has them; the message stays hop's (see __str__).
    error.errno = errno.ENOENT
    error.strerror = os.strerror(errno.ENOENT)
    error.filename = str(path)
    return error


def _entries_to_auths(entries: list[object], path: Path) -> list[Auth]:
    """The usable credentials among ``entries``; each unusable one is warned about.

    One bad entry must not take the others down with it. When no entry at all is usable,
    the first one's error is raised. An entry without ``username`` or ``password`` is not
    skipped: it is raised at once, as in 0.13.
    """
    creds: list[Auth] = []
    first_error: MalformedCredentialError | None = None
    for index, entry in enumerate(entries, 1):
        try:
            creds.append(_auth_from_entry(entry, f"credential {index} in {path}"))
        except _MissingPropertyError:
            raise
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

    An entry hop cannot use (an unknown protocol, a control character...) is logged as a
    warning and skipped, so that the others still load; one without ``username`` or
    ``password`` makes the whole file an error, as in hop-client 0.13. Without
    ``config_file``, when ``auth.toml`` is missing or holds no entry, credentials still kept
    in the ``auth`` table of an old general ``config.toml`` are used, with a warning saying
    to move them.

    Args:
        config_file: the file; ``get_config_path("auth")`` when None.

    Returns:
        The credentials, in file order (possibly none, for a file without entries).

    Raises:
        NoCredentialsError: (a ``FileNotFoundError`` with ``errno`` ``ENOENT`` and the
            path as ``filename``) the file does not exist; the message is
            :data:`NO_CREDENTIALS_MESSAGE` and the path.
        CredentialFilePermissionError: (a ``RuntimeError``) the file's mode has a bit
            beyond 0600 (group, other, setuid, setgid, sticky); it is not read, and the
            message gives the mode and the ``chmod`` that fixes it.
        MalformedCredentialError: (a ``RuntimeError``, and a ``KeyError``) an entry has no
            ``username`` or ``password``, or the file has entries and none is usable; the
            message names the entry and the problem.
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
    """Remove the credentials left in an old general ``config.toml``, as hop-client 0.13 does.

    Older clients kept credentials under a top-level ``auth`` key of ``config.toml``. When
    the file has that key, it is removed and the file rewritten with every other key (its
    comments and layout do not survive the rewrite; its mode stays). So that nothing usable
    is lost, a credential there that ``auth.toml`` does not hold yet is first added to
    ``auth.toml`` (with a warning naming its username, never its password); an entry hop
    cannot use is dropped with a warning.

    Args:
        config_file: the general file; ``get_config_path("general")`` when None.
        auth_file: the credential file; ``get_config_path("auth")`` when None.

    Returns:
        How many entries were removed from ``config_file``.

    Raises:
        SettingsError: (a ``RuntimeError``) ``config_file`` is not valid TOML; the message
            names it.
        CredentialFilePermissionError: ``auth_file`` is open to group or others.
    """
    path = Path(config_file) if config_file is not None else Path(get_config_path("general"))
    loaded = _toml.read_toml(path, SettingsError)
    if loaded is None:
        return 0
    data, mode = loaded[0], stat.S_IMODE(loaded[1])
    if "auth" not in data:
        return 0
    legacy = data.pop("auth")
    entries: list[object]
    if isinstance(legacy, Mapping):
        entries = [legacy]
    elif isinstance(legacy, list):
        entries = list(legacy)
    else:  # not credentials in any form: nothing to keep
        entries = []
    target = Path(auth_file) if auth_file is not None else Path(get_config_path("auth"))
    try:
        # Named explicitly: load_auth() alone would fall back to the legacy entries.
        stored = load_auth(target)
    except NoCredentialsError:
        stored = []
    known = {_legacy_key(c) for c in stored}
    moved: list[Auth] = []
    for index, entry in enumerate(entries, 1):
        try:
            auth = _auth_from_entry(entry, f"credential {index} in {path}")
        except MalformedCredentialError as exc:
            logger.warning("dropping an old credential hop cannot use: %s", exc)
            continue
        if _legacy_key(auth) not in known:
            known.add(_legacy_key(auth))
            moved.append(auth)
    if moved:
        write_auth_data(target, [*stored, *moved])
        logger.warning(
            "moved %d credential(s) from %s to %s: %s",
            len(moved),
            path,
            target,
            ", ".join(repr(c.username) for c in moved),
        )
    _toml.write_atomically(path, _toml.dumps(data), mode=mode)
    logger.info("removed the old 'auth' table from %s", path)
    return len(entries)
