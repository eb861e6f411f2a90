"""``hop.auth`` as hop-client 0.13 code and files use it: token commands, the builtin
exception bases, credentials left in ``config.toml``, and NASA GCN credentials.

Every test runs with its own ``XDG_CONFIG_HOME`` (the ``config_home`` fixture).
"""

from __future__ import annotations

import base64
import getpass
import json
import logging
import shlex
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hop import auth as hop_auth
from hop.auth import (
    GCN_DOMAIN,
    AmbiguousCredentialError,
    Auth,
    CredentialFileError,
    NoMatchingCredentialError,
    SASLMethod,
    add_credential,
    delete_credential,
    gcn_credential,
    list_credentials,
    load_auth,
    read_new_credential,
    select_matching_auth,
    write_auth_data,
)
from hop.auth._settings import security_settings
from hop.configure import get_config_path
from hop.errors import (
    AuthenticationError,
    ConfigurationError,
    CredentialError,
    CredentialFilePermissionError,
    CredentialInputError,
    HopError,
    MalformedCredentialError,
    NoCredentialsError,
)
from tests.support.sasl import unsigned_jwt

SECRET = "s3cr3t-Pa55word"

pytestmark = pytest.mark.usefixtures("config_home")


def write_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def auth_file(text: str, mode: int = 0o600) -> Path:
    return write_file(Path(get_config_path("auth")), text, mode)


def general_file(text: str, mode: int = 0o600) -> Path:
    return write_file(Path(get_config_path("general")), text, mode)


def jwt_without_exp() -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none'})}.{part({'sub': 'x', 'iat': int(time.time())})}."


def printing(token: str) -> str:
    """A shell command that prints ``token``."""
    return f"printf '%s\\n' {shlex.quote(token)}"


# ---------------------------------------------------------------------- token_command


def test_token_command_credential() -> None:
    cred = Auth("alice", "", token_command="get-token --user alice")
    assert cred.token_command == "get-token --user alice"
    assert cred.password == ""
    assert cred.method is SASLMethod.OAUTHBEARER  # the default with a token command
    assert cred.is_token is True
    assert cred.is_scram is False
    assert cred.token_endpoint is None


@pytest.mark.parametrize(
    ("cred", "token", "is_scram"),
    [
        (Auth("a", "pw"), False, True),
        (Auth("a", "pw", method="SCRAM-SHA-256"), False, True),
        (Auth("a", "pw", method="PLAIN"), False, False),
        (Auth("a", "pw", token_endpoint="https://idp/token"), True, False),
        (Auth("a", "", token_command="true"), True, False),
    ],
)
def test_token_and_is_scram(cred: Auth, token: bool, is_scram: bool) -> None:
    assert cred.is_token is token
    assert cred.is_scram is is_scram


def test_token_command_is_not_shown_by_repr() -> None:
    cred = Auth("alice", "", token_command=f"get-token --key {SECRET}")
    assert SECRET not in repr(cred) and SECRET not in str(cred)
    assert "token_command=[secure]" in repr(cred)


@pytest.mark.parametrize(
    ("kwargs", "complaint"),
    [
        ({"token_command": "x", "token_endpoint": "https://idp/t"}, "not both"),
        ({"token_command": "x", "method": "SCRAM-SHA-512"}, "OAUTHBEARER"),
        ({"method": "OAUTHBEARER", "password": "pw"}, "token command"),
    ],
)
def test_token_command_contradictions(kwargs: dict[str, Any], complaint: str) -> None:
    password = kwargs.pop("password", "")
    with pytest.raises(ConfigurationError, match=complaint):
        Auth("alice", password, **kwargs)


def test_credentials_differ_by_token_command() -> None:
    assert Auth("a", "", token_command="x") != Auth("a", "", token_command="y")
    assert Auth("a", "", token_command="x") == Auth("a", "", token_command="x")


def test_0_13_token_command_entry_loads_and_round_trips() -> None:
    path = auth_file(
        '[[auth]]\nusername = "alice"\npassword = ""\nprotocol = "SASL_SSL"\n'
        'mechanism = "OAUTHBEARER"\nhostname = "kafka.example.org"\n'
        'token_command = "get-token alice"\n'
    )
    expected = Auth("alice", "", host="kafka.example.org", token_command="get-token alice")
    assert load_auth() == [expected]
    write_auth_data(path, [expected])
    assert 'token_command = "get-token alice"' in path.read_text()
    assert load_auth() == [expected]


def test_entry_hop_cannot_use_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    auth_file(
        '[[auth]]\nusername = "alice"\npassword = ""\ntoken_command = "get-token"\n\n'
        '[[auth]]\nusername = "bob"\npassword = "pw"\nmechanism = "GSSAPI"\n\n'
        '[[auth]]\nusername = "carol"\npassword = "pw"\nhostname = "h"\n'
    )
    with caplog.at_level(logging.WARNING, logger="hop"):
        creds = load_auth()
    assert [c.username for c in creds] == ["alice", "carol"]
    assert "credential 2" in caplog.text and "'bob'" in caplog.text


def test_token_command_runs_and_its_jwt_expiry_is_handed_on(tmp_path: Path) -> None:
    token = unsigned_jwt("alice-sub", 300)
    cred = Auth("alice", "", ssl=False, token_command=printing(token))
    settings = security_settings(cred)
    assert settings["sasl.mechanism"] == "OAUTHBEARER"
    assert settings["security.protocol"] == "SASL_PLAINTEXT"
    assert "sasl.password" not in settings and "sasl.username" not in settings
    callback = settings["oauth_cb"]
    got, expiry, principal, extensions = callback("")
    assert got == token
    assert abs(expiry - (time.time() + 300)) < 5
    assert principal == "alice-sub"
    assert extensions == {}


def test_token_command_runs_again_for_each_refresh(tmp_path: Path) -> None:
    calls = tmp_path / "calls"
    token = unsigned_jwt("s", 300)
    cred = Auth("alice", "", token_command=f"echo x >> {calls}; {printing(token)}")
    callback = security_settings(cred)["oauth_cb"]
    assert calls.read_text().count("x") == 1  # run once up front
    callback("")  # librdkafka's first call takes that token
    assert calls.read_text().count("x") == 1
    callback("")  # a refresh runs the command again
    assert calls.read_text().count("x") == 2


@pytest.mark.parametrize(
    ("output", "status"),
    [
        (f"echo {SECRET}; echo {SECRET} >&2; exit 7", "exit status 7"),
        (f"echo {SECRET}", "exit status 0"),  # not a JWT
        ("printf 'a.b.c'", "exit status 0"),  # three parts, not base64url JSON
        (printing(jwt_without_exp()), "exit status 0"),
        ("exit 127", "exit status 127"),
    ],
)
def test_failing_token_command_names_its_status_never_its_output(
    output: str, status: str, caplog: pytest.LogCaptureFixture
) -> None:
    cred = Auth("alice", "", token_command=output)
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as caught:
        security_settings(cred)
    assert status in str(caught.value)
    assert isinstance(caught.value, PermissionError) and isinstance(caught.value, HopError)
    assert SECRET not in str(caught.value)
    assert SECRET not in caplog.text


def test_failing_refresh_is_logged_and_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    flag = tmp_path / "fail"
    token = unsigned_jwt("s", 300)
    command = f"if [ -e {flag} ]; then echo {SECRET}; exit 5; fi; {printing(token)}"
    callback = security_settings(Auth("alice", "", token_command=command))["oauth_cb"]
    callback("")
    flag.touch()
    with caplog.at_level(logging.WARNING), pytest.raises(AuthenticationError, match="status 5"):
        callback("")
    assert "exit status 5" in caplog.text  # librdkafka swallows it: the log says it
    assert SECRET not in caplog.text


# ------------------------------------------------------------- 0.13's exception bases


def test_ambiguous_choice_is_a_runtime_error() -> None:
    with pytest.raises(AmbiguousCredentialError) as caught:
        select_matching_auth([Auth("a", "x"), Auth("b", "y")], "kafka.example.org")
    assert isinstance(caught.value, RuntimeError) and isinstance(caught.value, CredentialError)
    assert hop_auth.AmbiguousCredentialError is AmbiguousCredentialError


def test_no_matching_credential_is_a_runtime_error() -> None:
    with pytest.raises(NoMatchingCredentialError) as caught:
        select_matching_auth([Auth("a", "x", host="h1")], "h2")
    assert isinstance(caught.value, RuntimeError) and isinstance(caught.value, CredentialError)


@pytest.mark.parametrize(
    "content",
    [b"[[auth]\nusername =", b'[[auth]]\nusername = "\xff"\n', b'auth = "alice"\n'],
    ids=["not-toml", "not-utf8", "auth-not-array"],
)
def test_unreadable_or_malformed_auth_file_is_a_runtime_error(content: bytes) -> None:
    path = auth_file("")
    path.write_bytes(content)
    with pytest.raises(CredentialFileError) as caught:
        load_auth()
    assert isinstance(caught.value, RuntimeError) and isinstance(caught.value, HopError)
    assert str(path) in str(caught.value)


def test_missing_credential_field_is_a_key_error() -> None:
    auth_file('[[auth]]\nusername = "alice"\n')
    with pytest.raises(MalformedCredentialError) as caught:
        load_auth()
    assert isinstance(caught.value, KeyError)
    assert "'password'" in str(caught.value)


def test_missing_csv_is_a_file_not_found_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        read_new_credential(tmp_path / "nope.csv")
    assert isinstance(caught.value, CredentialInputError)
    assert "nope.csv" in str(caught.value)


def test_delete_without_an_auth_file_is_a_runtime_error() -> None:
    with pytest.raises(RuntimeError) as caught:
        delete_credential("alice")
    assert isinstance(caught.value, NoCredentialsError)
    assert "hop auth add" in str(caught.value)


def test_add_conflict_without_force_logs_and_returns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stored = Auth("alice", SECRET, host="kafka.example.org")
    path = Path(get_config_path("auth"))
    write_auth_data(path, [stored])
    before = path.read_bytes()
    csv = tmp_path / "c.csv"
    csv.write_text("username,password,hostname\nalice,newpw,kafka.example.org\n")
    with caplog.at_level(logging.INFO, logger="hop"):
        add_credential(SimpleNamespace(cred_file=str(csv), force=False))
    assert path.read_bytes() == before
    assert "alice@kafka.example.org" in caplog.text and "--force" in caplog.text
    assert [r.levelno for r in caplog.records if "--force" in r.getMessage()] == [logging.ERROR]


# ------------------------------------------------------- credentials in config.toml


LEGACY = f'produce_timeout = 5\n\n[[auth]]\nusername = "old"\npassword = "{SECRET}"\n'


def test_legacy_credentials_are_used_without_auth_toml(caplog: pytest.LogCaptureFixture) -> None:
    general_file(LEGACY)
    with caplog.at_level(logging.WARNING, logger="hop"):
        assert load_auth() == [Auth("old", SECRET)]
    assert "hop auth add" in caplog.text
    assert "config.toml" in caplog.text
    assert SECRET not in caplog.text


def test_legacy_single_table_is_used_when_auth_toml_is_empty() -> None:
    general_file(f'[auth]\nusername = "old"\npassword = "{SECRET}"\n')
    auth_file("")
    assert load_auth() == [Auth("old", SECRET)]


def test_auth_toml_entries_win_over_legacy_ones() -> None:
    general_file(LEGACY)
    write_auth_data(get_config_path("auth"), [Auth("new", "pw")])
    assert load_auth() == [Auth("new", "pw")]


def test_an_explicit_file_has_no_legacy_fallback(tmp_path: Path) -> None:
    general_file(LEGACY)
    with pytest.raises(NoCredentialsError):
        load_auth(tmp_path / "auth.toml")


def test_legacy_credentials_in_a_file_open_to_others_are_refused() -> None:
    path = general_file(LEGACY, mode=0o644)
    with pytest.raises(CredentialFilePermissionError, match=f"chmod 600 {path}"):
        load_auth()


def test_a_world_readable_config_without_credentials_is_fine() -> None:
    general_file("produce_timeout = 5\n", mode=0o644)
    with pytest.raises(NoCredentialsError):  # nothing stored: the usual message
        load_auth()


def test_legacy_credentials_are_listed_and_chosen(capsys: pytest.CaptureFixture[str]) -> None:
    general_file(LEGACY)
    list_credentials()
    assert "old" in capsys.readouterr().out
    assert select_matching_auth(load_auth(), "kafka.example.org") == Auth("old", SECRET)


# ---------------------------------------------------------------------------- GCN


@pytest.mark.parametrize("domain", ["gcn.nasa.gov", "test.gcn.nasa.gov", "dev.gcn.nasa.gov"])
def test_gcn_credential(domain: str) -> None:
    cred = gcn_credential("client-id", SECRET, domain)
    assert cred.username == "client-id" and cred.password == SECRET
    assert cred.hostname == f"kafka.{domain}"
    assert cred.protocol == "SASL_SSL"
    assert cred.mechanism == "OAUTHBEARER"
    assert cred.token_endpoint == f"https://auth.{domain}/oauth2/token"


def test_gcn_credential_defaults_to_production() -> None:
    assert GCN_DOMAIN == "gcn.nasa.gov"
    assert gcn_credential("id", SECRET).hostname == "kafka.gcn.nasa.gov"


@pytest.mark.parametrize(
    ("args", "complaint"),
    [(("", SECRET), "client id"), (("id", ""), "client secret"), (("id", SECRET, ""), "domain")],
)
def test_gcn_credential_refuses_empty_parts(args: tuple[str, ...], complaint: str) -> None:
    with pytest.raises(ConfigurationError, match=complaint) as caught:
        gcn_credential(*args)
    assert SECRET not in str(caught.value)


def test_gcn_from_csv(tmp_path: Path) -> None:
    csv = tmp_path / "gcn.csv"
    csv.write_text(f"client_id,client_secret\nmy-id,{SECRET}\n")
    assert read_new_credential(csv, gcn=True) == gcn_credential("my-id", SECRET)
    assert read_new_credential(csv, gcn=True, domain="test.gcn.nasa.gov") == gcn_credential(
        "my-id", SECRET, "test.gcn.nasa.gov"
    )


@pytest.mark.parametrize(
    ("text", "exception", "complaint"),
    [
        (f"client_id,secret\nmy-id,{SECRET}\n", MalformedCredentialError, "'client_secret'"),
        (f"my-id,{SECRET}\n", MalformedCredentialError, "'client_id'"),
        ("client_id,client_secret\nmy-id,\n", CredentialInputError, "empty client_secret"),
    ],
)
def test_gcn_csv_errors_name_the_column(
    tmp_path: Path, text: str, exception: type[Exception], complaint: str
) -> None:
    csv = tmp_path / "gcn.csv"
    csv.write_text(text)
    with pytest.raises(exception, match=complaint) as caught:
        read_new_credential(csv, gcn=True)
    assert SECRET not in str(caught.value)


def test_gcn_typed_in(monkeypatch: pytest.MonkeyPatch) -> None:
    prompts: list[str] = []

    def fake_input(prompt: str = "") -> str:
        prompts.append(prompt)
        return " my-id "

    def fake_getpass(prompt: str = "Password: ", stream: Any = None) -> str:
        prompts.append(prompt)
        return SECRET

    monkeypatch.setattr("builtins.input", fake_input)
    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    assert read_new_credential(gcn=True, domain="dev.gcn.nasa.gov") == gcn_credential(
        "my-id", SECRET, "dev.gcn.nasa.gov"
    )
    assert prompts == ["GCN client ID: ", "GCN client secret: "]


def test_add_gcn_stores_it(tmp_path: Path) -> None:
    csv = tmp_path / "gcn.csv"
    csv.write_text(f"client_id,client_secret\nmy-id,{SECRET}\n")
    args = SimpleNamespace(cred_file=str(csv), force=False, gcn=True, domain="test.gcn.nasa.gov")
    add_credential(args)
    assert load_auth() == [gcn_credential("my-id", SECRET, "test.gcn.nasa.gov")]
    chosen = select_matching_auth(load_auth(), "kafka.test.gcn.nasa.gov")
    assert chosen.token_endpoint == "https://auth.test.gcn.nasa.gov/oauth2/token"


def test_new_names_are_exported() -> None:
    for name in (
        "AmbiguousCredentialError",
        "NoMatchingCredentialError",
        "CredentialFileError",
        "gcn_credential",
        "GCN_DOMAIN",
    ):
        assert name in hop_auth.__all__
