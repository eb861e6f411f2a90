"""The credential model: ``Auth``, ``SASLMethod``, and GCN's credentials.

A credential is a plain value: it knows nothing of files (:mod:`hop.auth._store`),
of choosing one for a URL (:mod:`hop.auth._select`) or of prompts
(:mod:`hop.auth._input`). :mod:`hop.auth` re-exports the public names.
"""

from __future__ import annotations

import enum
import unicodedata
from datetime import datetime, timezone
from typing import Any

from hop.errors import ConfigurationError

from ._settings import security_settings
from ._token_endpoint import fetch_endpoint_token, run_token_command

__all__ = [
    "GCN_DOMAIN",
    "PROTOCOLS",
    "Auth",
    "SASLMethod",
    "control_character_field",
    "gcn_credential",
    "host_only",
    "label",
    "printable",
]

_SECURE = "[secure]"

# What an Auth compares, hashes and pickles as: its field values, in a fixed order.
_State = tuple[object, ...]

#: The ``protocol`` values a credential may have.
PROTOCOLS = ("SASL_SSL", "SASL_PLAINTEXT")

#: The production NASA GCN Kafka domain (``hop auth add --gcn`` without ``--domain``).
GCN_DOMAIN = "gcn.nasa.gov"


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


def _has_control(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" for c in text)


def control_character_field(fields: dict[str, object]) -> str | None:
    """The name of the first field whose text holds a control character, or None.

    Args:
        fields: field name to value; values that are not ``str`` are not looked at.
    """
    for name, value in fields.items():
        if isinstance(value, str) and _has_control(value):
            return name
    return None


def printable(text: str) -> str:
    """``text`` with every character that is not printable escaped (``\\n``, ``\\x1b``).

    For showing stored values on a terminal: no stored value may move the cursor, clear the
    screen or start a line that looks like another entry.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


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
            ``token_command`` is given. A name hop does not know (``"SCRAM-SHA-1"``) is
            kept as given, as in hop-client 0.13: librdkafka refuses it on connecting if
            it does not know it either.
        token_endpoint: an OIDC token endpoint URL: librdkafka then fetches and refreshes
            tokens itself with the client-credentials flow.
        ssl_ca_location: a file of CA certificates to trust instead of certifi's bundle.
        token_command: a shell command that prints a bearer token (a JWT) on standard
            output; hop runs it whenever librdkafka needs a token (OAUTHBEARER), and the
            token's ``exp`` claim says when the next one is due.

    Raises:
        ConfigurationError: (a ``ValueError``) for an empty username or password, a control
            character in any field (the message names the field, never the value), a method
            that is not a name, or a method that contradicts ``token_endpoint`` or
            ``token_command``.
    """

    __slots__ = (
        "_cached_token",
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
        culprit = control_character_field(
            {
                "username": user,
                "password": password,
                "hostname": host,
                "mechanism": method,
                "token_endpoint": token_endpoint,
                "ssl_ca_location": ssl_ca_location,
                "token_command": token_command,
            }
        )
        if culprit is not None:
            # Neither the value nor the username: the username may be the culprit.
            raise ConfigurationError(
                f"a credential's {culprit} holds a control character (a newline, tab, escape "
                "...), which hop refuses"
            )
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
        chosen: SASLMethod | str
        if method is None or (isinstance(method, str) and not method.strip()):
            bearer = token_endpoint or token_command
            chosen = SASLMethod.OAUTHBEARER if bearer else SASLMethod.SCRAM_SHA_512
        elif isinstance(method, SASLMethod | str):
            try:
                chosen = SASLMethod.parse(method)
            except ValueError:
                # As 0.13: any name is accepted; librdkafka refuses what it does not know.
                chosen = str(method).strip()
        else:
            raise ConfigurationError(
                f"credential {user!r}: the method must be a SASLMethod or a mechanism name"
            )
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
        self._cached_token: tuple[str, datetime] | None = None

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
    def method(self) -> SASLMethod | str:
        """The SASL mechanism: an enum member, or the name as given for one hop does not
        know (``"SCRAM-SHA-1"``)."""
        return self._method

    @property
    def mechanism(self) -> str:
        """The SASL mechanism's name, e.g. ``"SCRAM-SHA-512"``."""
        return self._method.value if isinstance(self._method, SASLMethod) else self._method

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
        """The CA certificates file to trust, or None for certifi's bundle."""
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
    def is_token(self) -> bool:
        """Whether this credential authenticates with OAUTHBEARER tokens (a token endpoint
        or a token command)."""
        return bool(self._token_endpoint or self._token_command)

    @property
    def token(self) -> str:
        """The current access token.

        With a token command, the command's output, stripped (it runs each time). With a
        token endpoint, a token fetched with the client-credentials flow (see
        :func:`hop.auth._token_endpoint.fetch_endpoint_token`), kept until the ``expires_in``
        of the answer has passed (counted from just before the request); without
        ``expires_in`` it is fetched each time.

        Raises:
            ValueError: the credential does not use tokens.
            TokenError: (a ``RuntimeError``) the endpoint or command failed, or its answer
                is not a bearer token.
        """
        if self._token_command:
            return run_token_command(self._token_command, self._username)
        if not self._token_endpoint:
            raise ValueError("Cannot extract a token from a non-token credential")
        cached = self._cached_token
        if cached is not None and datetime.now(timezone.utc) < cached[1]:
            return cached[0]
        token, expiry = fetch_endpoint_token(
            self._token_endpoint, self._username, self._password, self._ssl_ca_location
        )
        self._cached_token = None if expiry is None else (token, expiry)
        return token

    def __call__(self) -> dict[str, Any]:
        """The librdkafka settings for this credential, as hop uses them for connections.

        Always ``security.protocol`` and ``sasl.mechanism``; with TLS, ``ssl.ca.location``
        and ``https.ca.location`` (the CA file, otherwise certifi's bundle); SCRAM or PLAIN
        ``sasl.username`` and ``sasl.password``; with a token endpoint, librdkafka's OIDC
        settings; with a token command, ``sasl.oauthbearer.method="default"`` and an
        ``oauth_cb`` that runs it (the command runs once here).
        """
        return security_settings(self)

    @property
    def is_scram(self) -> bool:
        """Whether the mechanism is one of the ``SCRAM-`` ones."""
        return self.mechanism.startswith("SCRAM-")

    def _key(self) -> _State:
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

    def __getstate__(self) -> _State:
        return self._key()

    def __setstate__(self, state: _State) -> None:
        object.__setattr__(self, "_cached_token", None)
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


def label(auth: Auth) -> str:
    """``user@host (MECHANISM)`` for messages; never the password."""
    where = f"@{auth.hostname}" if auth.hostname else " (any host)"
    return f"{auth.username}{where} [{auth.mechanism}]"


def host_only(hostname: str) -> str:
    """The host of a ``host``, ``host:port`` or ``[v6]:port``, lower-cased, for comparing."""
    text = hostname.strip().lower()
    if text.startswith("["):
        return text[1:].partition("]")[0]
    if text.count(":") == 1:  # more than one colon is a bare IPv6 address
        return text.partition(":")[0]
    return text
