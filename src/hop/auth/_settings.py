"""The librdkafka settings a credential stands for: the security protocol, SASL, OAUTHBEARER
(a token endpoint or a token command) and TLS trust. ``Auth.__call__`` returns them, and
``hop.io`` builds every client's security settings here."""

from __future__ import annotations

from typing import Any, Protocol

import certifi

from ._token_command import token_callback

#: librdkafka settings, by their librdkafka names.
Settings = dict[str, Any]


class AuthLike(Protocol):
    """What the settings need from a credential (``hop.auth.Auth`` provides it)."""

    @property
    def username(self) -> str: ...
    @property
    def password(self) -> str: ...
    @property
    def mechanism(self) -> str: ...
    @property
    def protocol(self) -> str: ...
    @property
    def ssl_ca_location(self) -> str | None: ...
    @property
    def token_endpoint(self) -> str | None: ...


def tls_settings(ssl_ca_location: str | None) -> Settings:
    """The TLS half of a secure connection: which CA certificates to trust.

    ``ssl.ca.location`` for the brokers and ``https.ca.location`` for a token endpoint name
    the CA file, or certifi's bundle without one: the OpenSSL inside confluent-kafka's
    wheels may not find the system's store.
    """
    location = ssl_ca_location or certifi.where()
    return {"ssl.ca.location": location, "https.ca.location": location}


def security_settings(auth: AuthLike | None) -> Settings:
    """Security settings for a credential, or for no credential at all.

    Args:
        auth: the credential; ``None`` means a plaintext, unauthenticated connection.

    Returns:
        ``security.protocol``, the SASL settings and, for ``SASL_SSL``, the TLS settings.
        A credential with a token endpoint uses librdkafka's own OIDC client-credentials
        flow (client id and secret are the username and password), which refreshes tokens
        by itself, also while the client is idle. A credential with a token command gets
        an ``oauth_cb`` that runs it (see ``hop.auth.Auth.token_command``).

    Raises:
        AuthenticationError: a token command failed when first run (it runs here once).
    """
    if auth is None:
        return {"security.protocol": "PLAINTEXT"}
    settings: Settings = {
        "security.protocol": auth.protocol,
        "sasl.mechanism": auth.mechanism,
    }
    token_command = getattr(auth, "token_command", None)
    if token_command:
        # The command's token reaches librdkafka through oauth_cb (see _token_command).
        settings["sasl.mechanism"] = "OAUTHBEARER"
        settings["sasl.oauthbearer.method"] = "default"
        settings["oauth_cb"] = token_callback(auth)
    elif auth.token_endpoint:
        settings.update(
            {
                "sasl.mechanism": "OAUTHBEARER",
                "sasl.oauthbearer.method": "oidc",
                "sasl.oauthbearer.client.id": auth.username,
                "sasl.oauthbearer.client.secret": auth.password,
                "sasl.oauthbearer.token.endpoint.url": auth.token_endpoint,
            }
        )
    else:
        settings["sasl.username"] = auth.username
        settings["sasl.password"] = auth.password
    if auth.protocol.upper().endswith("SSL"):
        settings.update(tls_settings(auth.ssl_ca_location))
    return settings
