"""The librdkafka settings hop builds for each kind of credential.

SASL is tested here, by the settings, and not against a broker: the test broker (Tansu,
see BROKER.md) keeps no SCRAM users in memory and refuses every SASL handshake, so no
broker test can cover it. The TLS half that ``SASL_SSL`` shares is tested end to end in
``test_tls.py``. Each set of settings is also handed to a real librdkafka client, which
rejects unknown or inconsistent settings when it is created, and the OIDC flow is watched
against a token endpoint served by the test: librdkafka fetches tokens and refreshes them
by itself, without the application polling.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import confluent_kafka
import pytest

from hop._local_broker import free_port
from hop.auth import Auth, SASLMethod
from hop.auth._settings import security_settings, tls_settings
from hop.io._rdkafka_config import (
    admin_settings,
    consumer_settings,
    producer_settings,
)
from hop.io._url import parse_url

SECRET = "s3cr3t-Pa55word"


@pytest.mark.parametrize(
    ("method", "mechanism"),
    [
        (SASLMethod.SCRAM_SHA_512, "SCRAM-SHA-512"),
        (SASLMethod.SCRAM_SHA_256, "SCRAM-SHA-256"),
        (SASLMethod.PLAIN, "PLAIN"),
    ],
)
def test_username_password_methods_over_tls(method: SASLMethod, mechanism: str) -> None:
    settings = security_settings(Auth("alice", SECRET, method=method))
    assert settings == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": mechanism,
        "sasl.username": "alice",
        "sasl.password": SECRET,
        **tls_settings(None),  # certifi's bundle, as no CA file is given
    }


@pytest.mark.parametrize("method", [SASLMethod.SCRAM_SHA_512, SASLMethod.PLAIN])
def test_without_tls(method: SASLMethod) -> None:
    # A CA file means nothing without TLS, so it is not passed on.
    cred = Auth("alice", SECRET, ssl=False, method=method, ssl_ca_location="/etc/ca.pem")
    assert security_settings(cred) == {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": method.value,
        "sasl.username": "alice",
        "sasl.password": SECRET,
    }


def test_ca_file_with_tls() -> None:
    settings = security_settings(Auth("alice", SECRET, ssl_ca_location="/etc/ca.pem"))
    assert settings["ssl.ca.location"] == "/etc/ca.pem"
    assert settings["security.protocol"] == "SASL_SSL"


def test_oauthbearer_uses_librdkafkas_oidc_client_credentials_flow() -> None:
    cred = Auth(
        "client-id",
        SECRET,
        token_endpoint="https://idp.example/oauth2/token",
        ssl_ca_location="/etc/ca.pem",
    )
    assert security_settings(cred) == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "OAUTHBEARER",
        "sasl.oauthbearer.method": "oidc",
        "sasl.oauthbearer.client.id": "client-id",
        "sasl.oauthbearer.client.secret": SECRET,
        "sasl.oauthbearer.token.endpoint.url": "https://idp.example/oauth2/token",
        **tls_settings("/etc/ca.pem"),
    }


def test_no_credential_is_plaintext() -> None:
    assert security_settings(None) == {"security.protocol": "PLAINTEXT"}


def test_client_settings_carry_the_credential() -> None:
    url = parse_url("kafka://alice@kafka.example.org/topic")
    cred = Auth("alice", SECRET, host="kafka.example.org")
    for settings in (
        producer_settings(url, cred, produce_timeout=timedelta(seconds=1)),
        consumer_settings(
            url, cred, group_id="g", auto_commit=True, offset_reset="earliest", partition_eof=True
        ),
        admin_settings(url, cred),
    ):
        assert settings["sasl.username"] == "alice"
        assert settings["sasl.password"] == SECRET
        assert settings["security.protocol"] == "SASL_SSL"


CREDENTIALS = [
    Auth("alice", SECRET),
    Auth("alice", SECRET, method=SASLMethod.SCRAM_SHA_256, ssl=False),
    Auth("alice", SECRET, method=SASLMethod.PLAIN),
    # An endpoint nothing listens on: librdkafka may try it in the background and fail.
    Auth("client", SECRET, token_endpoint=f"http://127.0.0.1:{free_port()}/token"),
]


@pytest.mark.parametrize("cred", CREDENTIALS, ids=lambda c: c.mechanism)
def test_librdkafka_accepts_the_settings(cred: Auth) -> None:
    settings: dict[str, Any] = {
        "bootstrap.servers": f"127.0.0.1:{free_port()}",
        "logger": logging.getLogger("test_auth_settings.librdkafka"),
        **security_settings(cred),
    }
    producer = confluent_kafka.Producer(settings)  # raises KafkaException on a bad setting
    assert producer.flush(0) == 0


class _TokenEndpoint(BaseHTTPRequestHandler):
    """An OIDC token endpoint that hands out (unsigned) JWTs valid for three seconds."""

    requests: ClassVar[list[tuple[str | None, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.requests.append((self.headers.get("Authorization"), body))
        now = int(time.time())

        def part(data: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

        token = (
            f"{part({'alg': 'none'})}.{part({'sub': 'client-id', 'iat': now, 'exp': now + 3})}.x"
        )
        answer = json.dumps({"access_token": token, "token_type": "bearer", "expires_in": 3})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer.encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_oidc_tokens_are_fetched_and_refreshed_by_librdkafka_while_idle() -> None:
    # No broker is needed to watch librdkafka talk to the token endpoint: it fetches a
    # token as the client starts and a fresh one before it expires, with nobody calling
    # poll() (an idle client), sending the client id and secret as HTTP basic auth.
    _TokenEndpoint.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_port}/token"
        cred = Auth("client-id", SECRET, ssl=False, token_endpoint=endpoint)
        producer = confluent_kafka.Producer(
            {
                "bootstrap.servers": f"127.0.0.1:{free_port()}",
                "logger": logging.getLogger("test_auth_settings.librdkafka"),
                **security_settings(cred),
            }
        )
        deadline = time.monotonic() + 20
        while len(_TokenEndpoint.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(_TokenEndpoint.requests) >= 2, _TokenEndpoint.requests
        expected = "Basic " + base64.b64encode(f"client-id:{SECRET}".encode()).decode()
        for authorization, body in _TokenEndpoint.requests:
            assert authorization == expected
            assert b"grant_type=client_credentials" in body
        assert producer.flush(0) == 0
    finally:
        server.shutdown()
        server.server_close()
