"""``hop.auth`` behaviours of hop-client 0.13 that issue 19 lists (items 1 to 8).

Each test names its item. The token endpoint is a small HTTP server on 127.0.0.1 started
by the test (``token_server``). Every test runs with its own ``XDG_CONFIG_HOME``.
"""

from __future__ import annotations

import base64
import errno
import json
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import certifi
import pytest

from hop import auth as hop_auth
from hop.auth import (
    Auth,
    add_credential,
    load_auth,
    prune_outdated_auth,
    select_matching_auth,
    write_auth_data,
)
from hop.configure import get_config_path
from hop.errors import (
    CredentialError,
    CredentialFilePermissionError,
    MalformedCredentialError,
    NoCredentialsError,
)
from tests.support.sasl import unsigned_jwt

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

SECRET = "s3cr3t-Pa55word"

pytestmark = pytest.mark.usefixtures("config_home")


def auth_file(text: str, mode: int = 0o600) -> Path:
    path = Path(get_config_path("auth"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def general_file(text: str, mode: int = 0o644) -> Path:
    path = Path(get_config_path("general"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


# ------------------------------------------------------------------ item 1: is_token


@pytest.mark.parametrize(
    ("cred", "is_token"),
    [
        (Auth("a", "pw"), False),
        (Auth("a", "pw", method="PLAIN"), False),
        (Auth("a", "pw", token_endpoint="https://idp/token"), True),
        (Auth("a", "", token_command="true"), True),
    ],
)
def test_item1_is_token(cred: Auth, is_token: bool) -> None:
    assert cred.is_token is is_token


def test_item1_any_method_name_is_accepted() -> None:
    cred = Auth("u", "p", method="SCRAM-SHA-1")
    assert cred.mechanism == "SCRAM-SHA-1"
    assert cred.is_scram is True
    assert cred.is_token is False
    assert cred()["sasl.mechanism"] == "SCRAM-SHA-1"


def test_item1_stored_unknown_mechanism_is_still_skipped() -> None:
    # Auth takes any name, but in auth.toml an unknown one is more likely a misplaced
    # secret: the entry is skipped (hop's rule), so 'hop auth list' never shows it.
    path = Path(get_config_path("auth"))
    write_auth_data(path, [Auth("u", "p", method="SCRAM-SHA-1"), Auth("v", "p")])
    assert [c.username for c in load_auth()] == ["v"]


# --------------------------------------------------------------------- item 2: token


def test_item2_no_token_from_a_non_token_credential() -> None:
    with pytest.raises(ValueError, match="Cannot extract a token from a non-token credential"):
        _ = Auth("a", "pw").token


def test_item2_token_command_gives_its_stripped_output(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    command = f"echo x >> {shlex.quote(str(counter))}; printf '  tok-en \\n\\n'"
    cred = Auth("a", "", token_command=command)
    assert cred.token == "tok-en"
    assert cred.token == "tok-en"
    assert counter.read_text().count("x") == 2  # run each time


def test_item2_failing_token_command_is_a_runtime_error() -> None:
    with pytest.raises(RuntimeError, match="exit status 3"):
        _ = Auth("a", "", token_command=f"echo {SECRET}; exit 3").token


@dataclass
class TokenServer:
    """What the token endpoint answers, and what it was asked."""

    url: str = ""
    status: int = 200
    body: bytes = b""
    requests: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, status: int, body: object) -> None:
        self.status = status
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.fixture
def token_server() -> Iterator[TokenServer]:
    server_state = TokenServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            server_state.requests.append(
                {
                    "path": self.path,
                    "body": self.rfile.read(length),
                    "content_type": self.headers.get("Content-Type"),
                    "authorization": self.headers.get("Authorization"),
                }
            )
            self.send_response(server_state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(server_state.body)))
            self.end_headers()
            self.wfile.write(server_state.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    server_state.url = f"http://127.0.0.1:{httpd.server_address[1]}/oauth2/token"
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def endpoint_cred(server: TokenServer) -> Auth:
    return Auth("client-id", SECRET, token_endpoint=server.url)


def test_item2_token_endpoint_request_and_caching(token_server: TokenServer) -> None:
    token_server.answer(200, {"access_token": "T1", "token_type": "Bearer", "expires_in": 3600})
    cred = endpoint_cred(token_server)
    assert cred.token == "T1"
    token_server.answer(200, {"access_token": "T2", "token_type": "bearer", "expires_in": 3600})
    assert cred.token == "T1"  # cached until it expires
    assert len(token_server.requests) == 1
    request = token_server.requests[0]
    assert request["path"] == "/oauth2/token"
    assert request["body"] == b"grant_type=client_credentials"
    assert request["content_type"] == "application/x-www-form-urlencoded"
    expected = base64.b64encode(f"client-id:{SECRET}".encode()).decode()
    assert request["authorization"] == f"Basic {expected}"


def test_item2_token_is_fetched_again_once_expired(token_server: TokenServer) -> None:
    token_server.answer(200, {"access_token": "T1", "token_type": "BEARER", "expires_in": 0.2})
    cred = endpoint_cred(token_server)
    assert cred.token == "T1"
    token_server.answer(200, {"access_token": "T2", "token_type": "bearer", "expires_in": 0.2})
    deadline = time.monotonic() + 10
    while cred.token != "T2":
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_item2_without_expires_in_the_token_is_fetched_each_time(
    token_server: TokenServer,
) -> None:
    token_server.answer(200, {"access_token": "T1", "token_type": "bearer"})
    cred = endpoint_cred(token_server)
    assert cred.token == "T1"
    token_server.answer(200, {"access_token": "T2", "token_type": "bearer"})
    assert cred.token == "T2"
    assert len(token_server.requests) == 2


@pytest.mark.parametrize(
    ("status", "body", "complaint"),
    [
        (401, b'{"error": "invalid_client"}', r"401.*invalid_client"),
        (500, b"boom", r"500.*boom"),
        (200, b"not json", "JSON"),
        (200, b"[1, 2]", "JSON object"),
        (200, {"token_type": "bearer"}, "access_token"),
        (200, {"access_token": 5, "token_type": "bearer"}, "access_token"),
        (200, {"access_token": "T"}, "token_type"),
        (200, {"access_token": "T", "token_type": 7}, "token_type"),
        (200, {"access_token": "T", "token_type": "mac"}, "'mac'"),
        (200, {"access_token": "T", "token_type": "bearer", "expires_in": "soon"}, "expires_in"),
        (200, {"access_token": "T", "token_type": "bearer", "expires_in": [1]}, "expires_in"),
    ],
)
def test_item2_token_endpoint_failures_are_runtime_errors(
    token_server: TokenServer, status: int, body: object, complaint: str
) -> None:
    token_server.answer(status, body)
    with pytest.raises(RuntimeError, match=complaint) as caught:
        _ = endpoint_cred(token_server).token
    assert SECRET not in str(caught.value)


# ---------------------------------------------------------------- item 3: cred()


def test_item3_scram_settings_with_certifi_by_default() -> None:
    assert Auth("alice", SECRET)() == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "alice",
        "sasl.password": SECRET,
        "ssl.ca.location": certifi.where(),
        "https.ca.location": certifi.where(),
    }


def test_item3_plaintext_has_no_tls_settings() -> None:
    assert Auth("alice", SECRET, ssl=False, method="PLAIN")() == {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "alice",
        "sasl.password": SECRET,
    }


def test_item3_token_endpoint_settings_with_a_ca_file() -> None:
    cred = Auth("cid", SECRET, token_endpoint="https://idp/token", ssl_ca_location="/ca.pem")
    assert cred() == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "OAUTHBEARER",
        "sasl.oauthbearer.method": "oidc",
        "sasl.oauthbearer.client.id": "cid",
        "sasl.oauthbearer.client.secret": SECRET,
        "sasl.oauthbearer.token.endpoint.url": "https://idp/token",
        "ssl.ca.location": "/ca.pem",
        "https.ca.location": "/ca.pem",
    }


def test_item3_token_command_settings_and_oauth_cb() -> None:
    jwt = unsigned_jwt("the-subject", 600)
    cred = Auth("alice", "", token_command=f"printf '%s' {shlex.quote(jwt)}")
    settings = cred()
    callback: Callable[[Any], tuple[str, float, str, dict[str, str]]] = settings.pop("oauth_cb")
    assert settings == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "OAUTHBEARER",
        "sasl.oauthbearer.method": "default",
        "ssl.ca.location": certifi.where(),
        "https.ca.location": certifi.where(),
    }
    token, expiry, subject, extensions = callback("ignored")
    assert token == jwt
    assert isinstance(expiry, float) and time.time() < expiry <= time.time() + 601
    assert subject == "the-subject"
    assert extensions == {}


def test_item3_hop_connections_use_the_same_defaults() -> None:
    from hop.io._rdkafka_config import admin_settings
    from hop.io._url import parse_url

    settings = admin_settings(parse_url("kafka://example.org/t"), Auth("alice", SECRET))
    assert settings["ssl.ca.location"] == certifi.where()
    assert settings["https.ca.location"] == certifi.where()


# ------------------------------------------------------- item 4: file permissions


@pytest.mark.parametrize("mode", [0o610, 0o601, 0o4600, 0o2600, 0o1600, 0o0010, 0o640, 0o644])
def test_item4_any_bit_beyond_0600_is_refused(mode: int) -> None:
    path = auth_file(f'[[auth]]\nusername = "a"\npassword = "{SECRET}"\n', mode=mode)
    with pytest.raises(RuntimeError) as caught:
        load_auth()
    assert isinstance(caught.value, CredentialFilePermissionError)
    message = str(caught.value)
    assert str(path) in message and oct(mode)[2:] in message and "0600" in message


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_item4_owner_only_modes_are_read(mode: int) -> None:
    auth_file(f'[[auth]]\nusername = "a"\npassword = "{SECRET}"\n', mode=mode)
    assert [c.username for c in load_auth()] == ["a"]


# ---------------------------------------------------- item 5: missing username/password


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        (
            f'[[auth]]\nusername = "a"\npassword = "{SECRET}"\n[[auth]]\nusername = "b"\n',
            "password",
        ),
        (f'[[auth]]\npassword = "{SECRET}"\n', "username"),
        ('[auth]\nusername = "a"\n', "password"),
        (f'[auth]\npassword = "{SECRET}"\n', "username"),
    ],
    ids=["array-second-entry", "array", "single-table", "single-table-username"],
)
def test_item5_missing_username_or_password_is_a_runtime_error(text: str, missing: str) -> None:
    auth_file(text)
    with pytest.raises(RuntimeError) as caught:
        load_auth()
    assert isinstance(caught.value, MalformedCredentialError)
    assert isinstance(caught.value, KeyError)  # hop's own earlier base stays
    assert missing in str(caught.value)
    assert SECRET not in str(caught.value)


# ------------------------------------------------------------ item 6: ENOENT


def test_item6_no_auth_file_is_enoent_with_the_path() -> None:
    with pytest.raises(FileNotFoundError) as caught:
        load_auth()
    exc = caught.value
    assert isinstance(exc, NoCredentialsError)
    assert exc.errno == errno.ENOENT
    assert exc.filename == get_config_path("auth")
    assert str(exc).startswith("No valid credential data found")
    assert "[Errno" not in str(exc)


# ------------------------------------------------------- item 7: prune_outdated_auth


def test_item7_prune_removes_the_auth_key_and_keeps_the_rest() -> None:
    path = general_file(
        "produce_timeout = 5\n[config]\nfetch_external = false\n"
        f'[[auth]]\nusername = "old"\npassword = "{SECRET}"\n'
    )
    prune_outdated_auth()
    assert tomllib.loads(path.read_text()) == {
        "produce_timeout": 5,
        "config": {"fetch_external": False},
    }
    # Nothing usable was lost: the old credential is now in auth.toml.
    assert [c.username for c in load_auth(get_config_path("auth"))] == ["old"]


def test_item7_prune_of_a_given_file_with_a_single_auth_table(tmp_path: Path) -> None:
    path = tmp_path / "old.toml"
    path.write_text(f'x = 1\n[auth]\nusername = "old"\npassword = "{SECRET}"\n')
    prune_outdated_auth(path)
    assert path.read_text().strip() == "x = 1"


def test_item7_prune_of_invalid_toml_is_a_runtime_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("auth = [\n")
    with pytest.raises(RuntimeError, match=str(path)):
        prune_outdated_auth(path)


# ------------------------------------------------ item 8: select and add_credential


def test_item8_select_from_nothing_is_a_runtime_error() -> None:
    with pytest.raises(RuntimeError) as caught:
        select_matching_auth([], "kafka.example.org", "alice")
    assert isinstance(caught.value, CredentialError)
    assert isinstance(caught.value, NoCredentialsError)  # hop's own name still works


def test_item8_add_credential_takes_a_mock_namespace(tmp_path: Path) -> None:
    csv = tmp_path / "cred.csv"
    csv.write_text(f"username,password\nmocked,{SECRET}\n")
    args = MagicMock()
    args.cred_file = str(csv)
    args.force = False
    args.gcn = False
    args.domain = None
    add_credential(args)
    assert [c.username for c in load_auth()] == ["mocked"]


def test_the_module_still_exports_its_names() -> None:
    assert hop_auth.Auth is Auth
