"""Credentials: the ``Auth`` object, the ``auth.toml`` file, and choosing one for a URL.

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

The file holds passwords, so hop refuses to read it while group or others may read or
write it, and always writes it with mode 0600 (directories 0700). A password never appears
in a ``repr``, a log line, an error message or ``hop auth list``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import csv
import enum
import getpass
import io
import json
import logging
import os
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO

import tomli_w

if sys.version_info >= (3, 11):
    import tomllib as _tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as _tomllib  # type: ignore[import-not-found,unused-ignore]

from .configure import get_config_path
from .errors import (
    AuthenticationError,
    ConfigurationError,
    CredentialError,
    CredentialFilePermissionError,
    CredentialInputError,
    HopError,
    MalformedCredentialError,
    NoCredentialsError,
)

__all__ = [
    "GCN_DOMAIN",
    "NO_CREDENTIALS_MESSAGE",
    "AmbiguousCredentialError",
    "Auth",
    "CredentialFileError",
    "NoMatchingCredentialError",
    "SASLMethod",
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

#: What to tell a person who has no stored credential (the CLI prints it as is).
NO_CREDENTIALS_MESSAGE = (
    "No valid credential data found\n"
    "You can get a credential from https://my.hop.scimma.org\n"
    "To load your credential, run 'hop auth add'"
)

_SECURE = "[secure]"
_PROTOCOLS = ("SASL_SSL", "SASL_PLAINTEXT")

#: The production NASA GCN Kafka domain (``hop auth add --gcn`` without ``--domain``).
GCN_DOMAIN = "gcn.nasa.gov"


class AmbiguousCredentialError(CredentialError, RuntimeError):
    """Several stored credentials fit a URL and none can be chosen.

    A ``RuntimeError`` too, as what hop-client 0.13 raised there.
    """


class NoMatchingCredentialError(CredentialError, RuntimeError):
    """Credentials are stored, but none fits the URL (a ``RuntimeError`` too, as in 0.13)."""


class CredentialFileError(CredentialError, RuntimeError):
    """``auth.toml`` cannot be read or is not a credential file (not TOML, no ``[[auth]]``).

    A ``RuntimeError`` too, as what hop-client 0.13 raised there.
    """


class _NothingToDeleteError(NoCredentialsError, RuntimeError):
    """``hop auth remove`` without a credential file (0.13 raised a ``RuntimeError``)."""


class _CredentialsFileNotFoundError(CredentialInputError, FileNotFoundError):
    """The CSV file given to ``hop auth add`` does not exist (0.13: ``FileNotFoundError``)."""

    def __str__(self) -> str:  # OSError would otherwise format its args as a tuple
        return str(self.args[0]) if self.args else ""


class SASLMethod(enum.Enum):
    """A SASL mechanism; the value is its name as Kafka spells it."""

    SCRAM_SHA_512 = "SCRAM-SHA-512"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    PLAIN = "PLAIN"
    OAUTHBEARER = "OAUTHBEARER"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: SASLMethod | str) -> SASLMethod:
        """The method named ``value``.

        Args:
            value: a ``SASLMethod``, or a name in either spelling, any case
                (``"SCRAM-SHA-512"``, ``"scram_sha_512"``).

        Returns:
            The method.

        Raises:
            ValueError: for an unknown name; the message lists the known ones.
        """
        if isinstance(value, SASLMethod):
            return value
        if isinstance(value, str):
            key = value.strip().upper().replace("-", "_")
            if key in cls.__members__:
                return cls[key]
        known = ", ".join(m.value for m in cls)
        raise ValueError(f"unknown SASL mechanism {value!r} (expected one of {known})")


class Auth:
    """A credential for a Kafka cluster.

    Equal credentials compare equal (all fields, password included); the ``repr`` shows
    ``[secure]`` in place of the password and the token command.

    Args:
        user: the username (for OIDC, the client id).
        password: the password (for OIDC, the client secret); may be empty with
            ``token_command``.
        host: the broker host this credential is for; empty for any host.
        ssl: whether to use TLS (``SASL_SSL``) or not (``SASL_PLAINTEXT``).
        method: the SASL mechanism, a ``SASLMethod`` or its name; ``SCRAM_SHA_512`` by
            default, ``OAUTHBEARER`` by default when ``token_endpoint`` or
            ``token_command`` is given.
        token_endpoint: an OIDC token endpoint URL: librdkafka then fetches and refreshes
            tokens itself with the client-credentials flow.
        ssl_ca_location: a file of CA certificates to trust instead of the system's.
        token_command: a shell command that prints a bearer token (a JWT) on standard
            output; hop runs it whenever librdkafka needs a token (OAUTHBEARER), and the
            token's ``exp`` claim says when the next one is due.

    Raises:
        ConfigurationError: (a ``ValueError``) for an empty username or password, an
            unknown method, or a method that contradicts ``token_endpoint`` or
            ``token_command``.
    """

    __slots__ = (
        "_hostname",
        "_method",
        "_password",
        "_ssl",
        "_ssl_ca_location",
        "_token_command",
        "_token_endpoint",
        "_username",
    )

    def __init__(
        self,
        user: str,
        password: str,
        host: str = "",
        ssl: bool = True,
        method: SASLMethod | str | None = None,
        token_endpoint: str | None = None,
        ssl_ca_location: str | None = None,
        token_command: str | None = None,
    ) -> None:
        if not isinstance(user, str) or not user:
            raise ConfigurationError("a credential needs a non-empty username (a str)")
        token_endpoint = token_endpoint or None
        token_command = token_command or None
        if token_command is not None and not isinstance(token_command, str):
            raise ConfigurationError(f"credential {user!r}: token_command must be a str")
        if password is None and token_command:
            password = ""
        if not isinstance(password, str) or (not password and not token_command):
            raise ConfigurationError(f"the credential for {user!r} needs a non-empty password")
        if token_endpoint and token_command:
            raise ConfigurationError(
                f"credential {user!r}: give a token endpoint or a token command, not both"
            )
        if method is None:
            bearer = token_endpoint or token_command
            chosen = SASLMethod.OAUTHBEARER if bearer else SASLMethod.SCRAM_SHA_512
        else:
            try:
                chosen = SASLMethod.parse(method)
            except ValueError:
                known = ", ".join(m.value for m in SASLMethod)
                # The value itself is not repeated: a misplaced secret may be in it.
                raise ConfigurationError(
                    f"credential {user!r}: unknown SASL mechanism (expected one of {known})"
                ) from None
        for what, given in (("token endpoint", token_endpoint), ("token command", token_command)):
            if given and chosen is not SASLMethod.OAUTHBEARER:
                raise ConfigurationError(
                    f"credential {user!r}: a {what} is used with OAUTHBEARER, not {chosen}"
                )
        if chosen is SASLMethod.OAUTHBEARER and not (token_endpoint or token_command):
            # librdkafka would fall back to unsigned test tokens, which no real broker takes.
            raise ConfigurationError(
                f"credential {user!r}: OAUTHBEARER needs a token endpoint (token_endpoint) "
                "or a token command (token_command)"
            )
        self._username = user
        self._password = password
        self._hostname = host or ""
        self._ssl = bool(ssl)
        self._method = chosen
        self._token_endpoint = token_endpoint
        self._ssl_ca_location = ssl_ca_location or None
        self._token_command = token_command

    @property
    def username(self) -> str:
        """The username (for OIDC, the client id)."""
        return self._username

    @property
    def password(self) -> str:
        """The password (for OIDC, the client secret); empty for a token command."""
        return self._password

    @property
    def hostname(self) -> str:
        """The broker host this credential is for; empty when it serves any host."""
        return self._hostname

    @property
    def method(self) -> SASLMethod:
        """The SASL mechanism as an enum member."""
        return self._method

    @property
    def mechanism(self) -> str:
        """The SASL mechanism's name, e.g. ``"SCRAM-SHA-512"``."""
        return self._method.value

    @property
    def ssl(self) -> bool:
        """Whether the connection uses TLS."""
        return self._ssl

    @property
    def protocol(self) -> str:
        """``"SASL_SSL"``, or ``"SASL_PLAINTEXT"`` without TLS."""
        return "SASL_SSL" if self._ssl else "SASL_PLAINTEXT"

    @property
    def ssl_ca_location(self) -> str | None:
        """The CA certificates file to trust, or None for the system's trust store."""
        return self._ssl_ca_location

    @property
    def token_endpoint(self) -> str | None:
        """The OIDC token endpoint URL, or None."""
        return self._token_endpoint

    @property
    def token_command(self) -> str | None:
        """The shell command that prints a bearer token, or None."""
        return self._token_command

    @property
    def token(self) -> bool:
        """Whether this credential authenticates with a bearer token (endpoint or command)."""
        return bool(self._token_endpoint or self._token_command)

    @property
    def is_scram(self) -> bool:
        """Whether the mechanism is one of the ``SCRAM-`` ones."""
        return self.mechanism.startswith("SCRAM-")

    def _key(self) -> tuple[Any, ...]:
        return (
            self._username,
            self._password,
            self._hostname,
            self._ssl,
            self._method,
            self._token_endpoint,
            self._ssl_ca_location,
            self._token_command,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Auth):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        parts = [f"username={self._username!r}", f"password={_SECURE}"]
        if self._hostname:
            parts.append(f"hostname={self._hostname!r}")
        parts += [f"mechanism={self.mechanism!r}", f"protocol={self.protocol!r}"]
        if self._ssl_ca_location:
            parts.append(f"ssl_ca_location={self._ssl_ca_location!r}")
        if self._token_endpoint:
            parts.append(f"token_endpoint={self._token_endpoint!r}")
        if self._token_command:
            # A command line may carry a secret of its own (an API key, say).
            parts.append(f"token_command={_SECURE}")
        return f"Auth({', '.join(parts)})"

    __str__ = __repr__

    def __getstate__(self) -> tuple[Any, ...]:
        return self._key()

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        names = (
            "_username",
            "_password",
            "_hostname",
            "_ssl",
            "_method",
            "_token_endpoint",
            "_ssl_ca_location",
            "_token_command",
        )
        for name, value in zip(names, state, strict=False):
            object.__setattr__(self, name, value)
        if len(state) < len(names):  # pickled by a hop without token commands
            object.__setattr__(self, "_token_command", None)


def gcn_credential(client_id: str, client_secret: str, domain: str = GCN_DOMAIN) -> Auth:
    """A credential for NASA's GCN Kafka (General Coordinates Network).

    Args:
        client_id: the client id GCN gave you.
        client_secret: its client secret.
        domain: the deployment: ``"gcn.nasa.gov"`` (production), ``"test.gcn.nasa.gov"``
            or ``"dev.gcn.nasa.gov"``.

    Returns:
        A credential for host ``kafka.DOMAIN`` over ``SASL_SSL`` with ``OAUTHBEARER``, whose
        tokens come from ``https://auth.DOMAIN/oauth2/token`` (client-credentials flow).

    Raises:
        ConfigurationError: (a ``ValueError``) an empty client id, secret or domain.
    """
    domain = (domain or "").strip().strip(".").lower()
    if not domain or any(c.isspace() or c in "/:@" for c in domain):
        raise ConfigurationError("a GCN domain is a host name such as 'gcn.nasa.gov'")
    if not isinstance(client_id, str) or not client_id.strip():
        raise ConfigurationError("a GCN credential needs a non-empty client id")
    if not isinstance(client_secret, str) or not client_secret:
        raise ConfigurationError("a GCN credential needs a non-empty client secret")
    return Auth(
        client_id.strip(),
        client_secret,
        host=f"kafka.{domain}",
        ssl=True,
        method=SASLMethod.OAUTHBEARER,
        token_endpoint=f"https://auth.{domain}/oauth2/token",
    )


# ------------------------------------------------------------------- token_command

#: How long a token command may run before hop gives up on it.
_TOKEN_COMMAND_TIMEOUT = 60.0


def _b64url_json(part: str) -> object:
    padded = part + "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def _jwt_expiry(token: str) -> tuple[float, str | None] | None:
    """``(exp, sub)`` of a JWT, or None when ``token`` is not one with an ``exp`` claim."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        return None
    try:
        header, claims = _b64url_json(parts[0]), _b64url_json(parts[1])
    except (ValueError, UnicodeError, binascii.Error):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    sub = claims.get("sub")
    return float(exp), sub if isinstance(sub, str) and sub else None


class _TokenCommand:
    """librdkafka's ``oauth_cb`` for a credential with a ``token_command``.

    Each call runs the command through the shell and hands its output, a JWT, to
    librdkafka with the expiry from the token's ``exp`` claim; librdkafka calls again
    before that time. The command's output and error output are never shown or logged:
    they are, or may contain, the secret.
    """

    def __init__(self, command: str, username: str) -> None:
        self._command = command
        self._username = username
        self._ready: tuple[str, float, str, dict[str, str]] | None = None

    def prime(self) -> None:
        """Run the command now, for the token librdkafka asks for as the client starts.

        librdkafka asks for the first token while the client is being created and, when
        the callback fails then, waits ten seconds and reports only that no token was set.
        Running the command beforehand makes a failing command an immediate error that
        says what failed.

        Raises:
            AuthenticationError: as for a call.
        """
        self._ready = self._run()

    def _fail(self, why: str) -> AuthenticationError:
        return AuthenticationError(f"the token command of credential {self._username!r} {why}")

    def __call__(self, config: str | None = None) -> tuple[str, float, str, dict[str, str]]:
        """Run the command and return ``(token, expiry, principal, extensions)``.

        Args:
            config: librdkafka's ``sasl.oauthbearer.config`` (unused).

        Raises:
            AuthenticationError: the command failed, timed out, or did not print a JWT
                with an ``exp`` claim; the message gives the exit status, never the output.
        """
        ready, self._ready = self._ready, None
        if ready is not None and ready[1] > time.time():
            return ready
        try:
            return self._run()
        except AuthenticationError as exc:
            # librdkafka swallows a callback's exception on a refresh: say it here.
            logger.warning("%s", exc)
            raise

    def _run(self) -> tuple[str, float, str, dict[str, str]]:
        try:
            done = subprocess.run(
                self._command,
                shell=True,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=_TOKEN_COMMAND_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise self._fail(f"did not finish within {_TOKEN_COMMAND_TIMEOUT:g} s") from None
        except OSError as exc:
            raise self._fail(f"could not be started ({exc.strerror or 'error'})") from None
        if done.returncode != 0:
            raise self._fail(f"failed (exit status {done.returncode})")
        try:
            token = done.stdout.decode("ascii").strip()
        except UnicodeDecodeError:
            token = ""
        parsed = _jwt_expiry(token)
        if parsed is None:
            raise self._fail(
                f"did not print a JWT with an 'exp' claim (exit status {done.returncode})"
            )
        expiry, subject = parsed
        logger.debug("token command of credential %r gave a token", self._username)
        return token, expiry, subject or self._username, {}


def _token_callback(auth: object) -> _TokenCommand | None:
    """The ``oauth_cb`` for ``auth``, or None when it has no token command.

    The command runs once here (see :meth:`_TokenCommand.prime`).

    Raises:
        AuthenticationError: the command failed or did not print a JWT.
    """
    command = getattr(auth, "token_command", None)
    if not command:
        return None
    callback = _TokenCommand(str(command), str(getattr(auth, "username", "")))
    callback.prime()
    return callback


def _label(auth: Auth) -> str:
    """``user@host (MECHANISM)`` for messages; never the password."""
    where = f"@{auth.hostname}" if auth.hostname else " (any host)"
    return f"{auth.username}{where} [{auth.mechanism}]"


def _host_only(hostname: str) -> str:
    """The host of a ``host``, ``host:port`` or ``[v6]:port``, lower-cased, for comparing."""
    text = hostname.strip().lower()
    if text.startswith("["):
        return text[1:].partition("]")[0]
    if text.count(":") == 1:  # more than one colon is a bare IPv6 address
        return text.partition(":")[0]
    return text


# ------------------------------------------------------------------------------ auth.toml


def _check_permissions(path: Path, mode: int) -> None:
    if os.name == "nt":  # permission bits mean nothing there
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO) & ~(stat.S_IXGRP | stat.S_IXOTH):
        raise CredentialFilePermissionError(
            f"{path} is readable or writable by group or others, so hop will not read "
            f"the credentials in it; fix it with: chmod 600 {path}"
        )


def _entry_str(entry: Mapping[str, Any], key: str, where: str, required: bool) -> str | None:
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
    if protocol not in _PROTOCOLS:
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
    try:
        file = path.open("rb")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CredentialFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    with file:
        # Checked on the open file, so the file read is the file checked.
        mode = os.fstat(file.fileno()).st_mode
        if key_required:
            _check_permissions(path, mode)
        try:
            data = _tomllib.load(file)
        except _tomllib.TOMLDecodeError as exc:
            # tomllib's messages give a line and column, never the text there.
            raise CredentialFileError(f"{path} is not valid TOML: {exc}") from None
        except UnicodeDecodeError as exc:  # tomllib leaves undecodable bytes to the codec
            raise CredentialFileError(
                f"{path} is not valid TOML: not UTF-8 text (byte {exc.start})"
            ) from None
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


def _make_private_dirs(directory: Path) -> None:
    """Create ``directory`` and any missing parents with mode 0700 (whatever the umask)."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # created meanwhile by someone else
            os.mkdir(path, 0o700)
            os.chmod(path, 0o700)  # mkdir's mode is filtered through the umask


def _write_private_atomically(path: Path, content: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``content`` in one rename; the data is never world-readable."""
    _make_private_dirs(path.parent)
    # mkstemp creates the file with mode 0600 before a byte is written.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        if mode != 0o600:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable, where possible
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


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
    _write_private_atomically(Path(config_file), tomli_w.dumps(document).encode("utf-8"))


# ----------------------------------------------------------------------- choosing a credential


def select_matching_auth(
    creds: Sequence[Auth], hostname: str | Sequence[str], username: str | None = None
) -> Auth:
    """Choose the credential to use for a broker.

    The rules: among the credentials of ``username`` (all of them when None), those whose
    hostname matches win; when none does, those with no hostname may serve any host. Exactly
    one must remain.

    ``hostname`` may be every host of a URL's bootstrap list: the brokers in one URL belong
    to one cluster, so a credential stored for any of them is for that cluster.

    Args:
        creds: the candidates, e.g. ``load_auth()``.
        hostname: the broker host (without port), or several hosts of one cluster.
        username: the user asked for (a URL's ``user@``), or None.

    Returns:
        The chosen credential.

    Raises:
        NoCredentialsError: ``creds`` is empty.
        NoMatchingCredentialError: (a ``RuntimeError``) no credential fits; the message
            lists those considered.
        AmbiguousCredentialError: (a ``RuntimeError``) several fit; the message lists them
            and how to pick one with ``kafka://USERNAME@host/topic``.
    """
    hosts = [hostname] if isinstance(hostname, str) else list(hostname)
    wanted = {_host_only(h) for h in hosts}
    shown_host = hosts[0] if len(hosts) == 1 else ",".join(hosts)
    if not creds:
        raise NoCredentialsError(NO_CREDENTIALS_MESSAGE)
    pool = [c for c in creds if username is None or c.username == username]
    by_host = [c for c in pool if c.hostname and _host_only(c.hostname) in wanted]
    hostless = [c for c in pool if not c.hostname]
    candidates = by_host or hostless
    for_whom = f"user {username!r} on {shown_host}" if username else shown_host
    if not candidates:
        considered = "; ".join(_label(c) for c in creds)
        raise NoMatchingCredentialError(
            f"no stored credential fits {for_whom}; considered: {considered}. Add one with "
            "'hop auth add' (giving this hostname), or name a stored user in the URL"
        )
    if len(candidates) > 1:
        considered = "; ".join(_label(c) for c in candidates)
        if username is None:
            advice = f"choose one by writing its username in the URL: kafka://<username>@{shown_host}/topic"
        else:
            advice = "remove the duplicate with 'hop auth remove'"
        raise AmbiguousCredentialError(
            f"several stored credentials fit {for_whom} and hop cannot choose: {considered}; "
            f"{advice}"
        )
    chosen = candidates[0]
    logger.info("using credential %s for %s", _label(chosen), shown_host)
    return chosen


# ----------------------------------------------------------------- entering a new credential


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
    if protocol not in _PROTOCOLS:
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


def _from_terminal() -> Auth:
    username = _ask("Username: ")
    if not username:
        raise CredentialInputError("no username entered; nothing was stored")
    password = _ask_secret("Password: ")
    if not password:
        raise CredentialInputError("no password entered; nothing was stored")
    hostname = _ask("Hostname (leave empty to use it for any host): ")
    token_endpoint = _ask("Token endpoint (leave empty unless your provider gave one): ")
    try:
        return Auth(username, password, host=hostname, token_endpoint=token_endpoint or None)
    except ConfigurationError as exc:
        raise CredentialInputError(str(exc)) from None


def _gcn_from_terminal(domain: str) -> Auth:
    client_id = _ask("GCN client ID: ")
    if not client_id:
        raise CredentialInputError("no client ID entered; nothing was stored")
    client_secret = _ask_secret("GCN client secret: ")
    if not client_secret:
        raise CredentialInputError("no client secret entered; nothing was stored")
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


# ---------------------------------------------------------------------- managing auth.toml


class _AddArgs(Protocol):
    @property
    def cred_file(self) -> str | None: ...
    @property
    def force(self) -> bool: ...


def _same_identity(a: Auth, b: Auth) -> bool:
    return a.username == b.username and _host_only(a.hostname) == _host_only(b.hostname)


def add_credential(args: _AddArgs) -> None:
    """Store a new credential (``hop auth add``).

    The credential is read as :func:`read_new_credential` does and added to
    ``auth.toml`` (created when missing). A stored credential with the same username and
    hostname is replaced only with ``args.force``; without it, the conflict is logged and
    nothing is written (and ``hop auth add`` exits 0, as in hop-client 0.13). Afterwards,
    credentials an old ``config.toml`` still holds and ``auth.toml`` now has are removed
    from it (:func:`prune_outdated_auth`).

    Args:
        args: ``args.cred_file`` (a CSV file, or None to ask on the terminal),
            ``args.force`` (replace an existing credential of that username and hostname),
            and optionally ``args.gcn`` (a NASA GCN Kafka credential) with ``args.domain``.

    Raises:
        CredentialInputError: what was entered is not a usable credential.
        CredentialFilePermissionError: the existing ``auth.toml`` is open to others.
    """
    path = Path(get_config_path("auth"))
    new = read_new_credential(
        args.cred_file,
        gcn=bool(getattr(args, "gcn", False)),
        domain=getattr(args, "domain", None) or GCN_DOMAIN,
    )
    try:
        existing = load_auth(path)
    except NoCredentialsError:
        existing = []
    same = [c for c in existing if _same_identity(c, new)]
    if same == [new]:
        logger.info("credential %s is already stored in %s", _label(new), path)
        return
    if same and not args.force:
        logger.error(
            "a credential for %s is already stored in %s; nothing was changed. Add it with "
            "--force to replace it",
            _label(same[0]),
            path,
        )
        return
    updated: list[Auth] = []
    for cred in existing:
        if not _same_identity(cred, new):
            updated.append(cred)
        elif new not in updated:  # the replacement takes the first old one's place
            updated.append(new)
    if new not in updated:
        updated.append(new)
    write_auth_data(path, updated)
    logger.info("%s credential %s in %s", "replaced" if same else "stored", _label(new), path)
    try:
        prune_outdated_auth()
    except (HopError, OSError) as exc:
        # The credential is stored; tidying the old file is a courtesy, not the command.
        logger.warning("could not remove old credentials from the general config: %s", exc)


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
        if c.username == user and (host is None or _host_only(c.hostname) == _host_only(host))
    ]
    if not matches:
        stored = "; ".join(_label(c) for c in creds) or "none"
        raise CredentialInputError(f"no stored credential matches {name!r}; stored: {stored}")
    if len(matches) > 1:
        listed = "; ".join(_label(c) for c in matches)
        raise CredentialInputError(
            f"{len(matches)} stored credentials match {name!r}: {listed}; "
            "name one as USER@HOST (USER@ for the one with no hostname)"
        )
    write_auth_data(path, [c for c in creds if c is not matches[0]])
    logger.info("removed credential %s from %s", _label(matches[0]), path)


def list_credentials(
    file: TextIO | None = None, config_file: str | os.PathLike[str] | None = None
) -> None:
    """Print the stored credentials: username, hostname and mechanism, never a password.

    Without a credential file, it prints that there are none and where they would be.

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
    rows += [(c.username, c.hostname or "(any host)", c.mechanism) for c in creds]
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for username, hostname, mechanism in rows:
        print(f"{username:<{widths[0]}}  {hostname:<{widths[1]}}  {mechanism}", file=out)


def _legacy_key(auth: Auth) -> tuple[str, str, str]:
    return (auth.username, auth.password, _host_only(auth.hostname))


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
    try:
        with path.open("rb") as handle:
            mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
            data = _tomllib.load(handle)
    except FileNotFoundError:
        return 0
    except _tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: not UTF-8 text ({exc})") from exc
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
    _write_private_atomically(path, tomli_w.dumps(data).encode("utf-8"), mode=new_mode)
    logger.info("removed %d outdated credential(s) from %s", removed, path)
    return removed
