"""Unit tests for ``hop.auth``: the credential object, auth.toml, and choosing a credential.

Every test runs with ``XDG_CONFIG_HOME`` and ``HOME`` inside its own temporary directory,
so the real ``~/.config`` is never touched.
"""

from __future__ import annotations

import copy
import getpass
import logging
import os
import pickle
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hop import auth as hop_auth
from hop.auth import (
    NO_CREDENTIALS_MESSAGE,
    Auth,
    SASLMethod,
    add_credential,
    delete_credential,
    list_credentials,
    load_auth,
    prune_outdated_auth,
    read_new_credential,
    select_matching_auth,
    write_auth_data,
)
from hop.configure import get_config_path, load_config
from hop.errors import (
    ConfigurationError,
    CredentialError,
    CredentialFilePermissionError,
    CredentialInputError,
    HopError,
    MalformedCredentialError,
    NoCredentialsError,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

SECRET = "s3cr3t-Pa55word"


# Every test gets a private configuration folder (the fixture is in conftest.py).
pytestmark = pytest.mark.usefixtures("config_home")


@pytest.fixture
def auth_path() -> Path:
    return Path(get_config_path("auth"))


def write_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


# ------------------------------------------------------------------------------- Auth


def test_auth_defaults() -> None:
    cred = Auth("alice", SECRET)
    assert cred.username == "alice"
    assert cred.password == SECRET
    assert cred.hostname == ""
    assert cred.ssl is True
    assert cred.protocol == "SASL_SSL"
    assert cred.method is SASLMethod.SCRAM_SHA_512
    assert cred.mechanism == "SCRAM-SHA-512"
    assert cred.ssl_ca_location is None
    assert cred.token_endpoint is None


def test_auth_without_ssl_is_sasl_plaintext() -> None:
    cred = Auth("alice", SECRET, ssl=False)
    assert cred.ssl is False
    assert cred.protocol == "SASL_PLAINTEXT"


@pytest.mark.parametrize(
    ("method", "mechanism"),
    [
        (SASLMethod.SCRAM_SHA_256, "SCRAM-SHA-256"),
        (SASLMethod.PLAIN, "PLAIN"),
        ("SCRAM-SHA-256", "SCRAM-SHA-256"),
        ("scram_sha_512", "SCRAM-SHA-512"),
        ("plain", "PLAIN"),
    ],
)
def test_auth_method_by_enum_or_name(method: SASLMethod | str, mechanism: str) -> None:
    assert Auth("alice", SECRET, method=method).mechanism == mechanism


def test_token_endpoint_makes_oauthbearer_the_default() -> None:
    cred = Auth("client-id", SECRET, token_endpoint="https://idp.example/token")
    assert cred.method is SASLMethod.OAUTHBEARER
    assert cred.mechanism == "OAUTHBEARER"
    assert cred.token_endpoint == "https://idp.example/token"


@pytest.mark.parametrize(
    ("kwargs", "complaint"),
    [
        ({"user": "", "password": SECRET}, "username"),
        ({"user": "alice", "password": ""}, "password"),
        ({"user": "alice", "password": SECRET, "method": 5}, "mechanism name"),
        (
            {
                "user": "alice",
                "password": SECRET,
                "method": SASLMethod.PLAIN,
                "token_endpoint": "https://idp/t",
            },
            "OAUTHBEARER",
        ),
        ({"user": "alice", "password": SECRET, "method": "OAUTHBEARER"}, "token endpoint"),
    ],
)
def test_bad_auth_is_a_value_error_saying_why(kwargs: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Auth(**kwargs)
    assert isinstance(caught.value, ValueError)
    assert complaint in str(caught.value)
    assert SECRET not in str(caught.value)


def test_auth_equality_and_hash_by_value() -> None:
    one = Auth("alice", SECRET, host="kafka.example.org", ssl_ca_location="/ca.pem")
    same = Auth("alice", SECRET, host="kafka.example.org", ssl_ca_location="/ca.pem")
    assert one == same
    assert hash(one) == hash(same)
    assert len({one, same}) == 1
    assert one != Auth("alice", "other", host="kafka.example.org", ssl_ca_location="/ca.pem")
    assert one != Auth("alice", SECRET, host="other.example.org", ssl_ca_location="/ca.pem")
    assert one != Auth("alice", SECRET, host="kafka.example.org")
    assert one != Auth("alice", SECRET, host="kafka.example.org", method="PLAIN")
    assert one != "alice"


def test_auth_survives_pickle_and_copy() -> None:
    cred = Auth("alice", SECRET, host="h", token_endpoint="https://idp/token")
    assert pickle.loads(pickle.dumps(cred)) == cred
    assert copy.deepcopy(cred) == cred


def test_auth_is_read_only() -> None:
    cred = Auth("alice", SECRET)
    with pytest.raises(AttributeError):
        cred.password = "changed"  # type: ignore[misc]


def test_repr_never_shows_the_password() -> None:
    cred = Auth(
        "alice",
        SECRET,
        host="kafka.example.org",
        ssl_ca_location="/ca.pem",
        method=SASLMethod.PLAIN,
    )
    oauth = Auth("client", SECRET, token_endpoint="https://idp.example/token")
    for text in (repr(cred), str(cred), f"{cred}", repr([cred, oauth]), repr({"c": oauth})):
        assert SECRET not in text
    assert "[secure]" in repr(cred)
    assert "alice" in repr(cred)
    assert "kafka.example.org" in repr(cred)
    assert "PLAIN" in repr(cred)
    assert "https://idp.example/token" in repr(oauth)


def test_sasl_method_str_is_kafka_spelling() -> None:
    assert str(SASLMethod.SCRAM_SHA_256) == "SCRAM-SHA-256"
    assert [m.value for m in SASLMethod] == [
        "SCRAM-SHA-512",
        "SCRAM-SHA-256",
        "PLAIN",
        "OAUTHBEARER",
    ]


# ------------------------------------------------------------------------------ load_auth


def test_missing_file_is_no_credentials_error(auth_path: Path) -> None:
    with pytest.raises(NoCredentialsError) as caught:
        load_auth()
    error = caught.value
    assert isinstance(error, FileNotFoundError)
    assert NO_CREDENTIALS_MESSAGE in str(error)
    assert "No valid credential data found" in str(error)
    assert "https://my.hop.scimma.org" in str(error)
    assert "To load your credential, run 'hop auth add'" in str(error)
    assert str(auth_path) in str(error)


def test_config_path_falls_back_to_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME")
    expected = tmp_path / "home" / ".config" / "hop" / "auth.toml"
    write_auth_data(expected, [Auth("alice", SECRET)])
    assert load_auth() == [Auth("alice", SECRET)]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o602, 0o644, 0o666])
def test_file_open_to_others_is_refused_and_not_read(auth_path: Path, mode: int) -> None:
    # Not even valid TOML: a refusal proves the file was not parsed.
    write_file(auth_path, "this is [[ not toml", mode)
    with pytest.raises(CredentialFilePermissionError) as caught:
        load_auth()
    assert isinstance(caught.value, RuntimeError)
    message = str(caught.value)
    assert str(auth_path) in message
    assert f"chmod 600 {auth_path}" in message


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
def test_private_file_is_read(auth_path: Path, mode: int) -> None:
    write_file(auth_path, '[[auth]]\nusername = "a"\npassword = "b"\n', mode)
    assert load_auth() == [Auth("a", "b")]


def test_reads_the_format_other_clients_write(auth_path: Path) -> None:
    write_file(
        auth_path,
        """
[[auth]]
username = "alice-1a2b"
password = "p1"
protocol = "SASL_SSL"
mechanism = "SCRAM-SHA-512"
hostname = "kafka.scimma.org"
ssl_ca_location = "/etc/ssl/ca.pem"

[[auth]]
username = "bob"
password = "p2"
protocol = "SASL_PLAINTEXT"
mechanism = "PLAIN"

[[auth]]
username = "client"
password = "p3"
protocol = "SASL_SSL"
mechanism = "OAUTHBEARER"
token_endpoint = "https://idp.example/token"
""",
    )
    assert load_auth() == [
        Auth("alice-1a2b", "p1", host="kafka.scimma.org", ssl_ca_location="/etc/ssl/ca.pem"),
        Auth("bob", "p2", ssl=False, method=SASLMethod.PLAIN),
        Auth("client", "p3", token_endpoint="https://idp.example/token"),
    ]


def test_protocol_and_mechanism_default_when_absent(auth_path: Path) -> None:
    write_file(auth_path, '[[auth]]\nusername = "a"\npassword = "b"\nhostname = "h"\n')
    (cred,) = load_auth()
    assert (cred.protocol, cred.mechanism, cred.hostname) == ("SASL_SSL", "SCRAM-SHA-512", "h")


def test_single_auth_table_is_read(auth_path: Path) -> None:
    write_file(auth_path, '[auth]\nusername = "a"\npassword = "b"\n')
    assert load_auth() == [Auth("a", "b")]


def test_explicit_file_argument(tmp_path: Path) -> None:
    path = write_file(tmp_path / "elsewhere.toml", '[[auth]]\nusername = "a"\npassword = "b"\n')
    assert load_auth(path) == [Auth("a", "b")]
    assert load_auth(str(path)) == [Auth("a", "b")]


def test_file_without_entries_is_an_empty_list(auth_path: Path) -> None:
    write_file(auth_path, "")
    assert load_auth() == []


MALFORMED = [
    (f'password = "{SECRET}"', "'username'"),
    ('username = "alice"', "'password'"),
    ('username = "alice"\npassword = ""', "'password'"),
    (f'username = "alice"\npassword = "{SECRET}"\nmechanism = "MD5"', "mechanism"),
    (f'username = "alice"\npassword = "{SECRET}"\nprotocol = "SSL"', "'protocol'"),
    (f'username = "alice"\npassword = "{SECRET}"\nhostname = 7', "'hostname'"),
    (f'username = "alice"\npassword = "{SECRET}"\nmechanism = "OAUTHBEARER"', "token"),
]
# An entry without username or password stops the whole file, as in 0.13 (issue 19 item 5).
MALFORMED_ENTRIES = [
    entry for entry, named in MALFORMED if named not in ("'username'", "'password'")
]


@pytest.mark.parametrize(("entry", "named"), MALFORMED)
def test_malformed_entry_is_a_key_error_naming_the_problem(
    auth_path: Path, entry: str, named: str
) -> None:
    write_file(auth_path, f"[[auth]]\n{entry}\n")
    with pytest.raises(MalformedCredentialError) as caught:
        load_auth()
    assert isinstance(caught.value, KeyError)
    message = str(caught.value)
    assert named in message
    assert "credential 1" in message
    assert str(auth_path) in message
    assert SECRET not in message


@pytest.mark.parametrize("entry", MALFORMED_ENTRIES)
def test_malformed_entry_is_skipped_with_a_warning_and_the_others_load(
    auth_path: Path, entry: str, caplog: pytest.LogCaptureFixture
) -> None:
    write_file(auth_path, f'[[auth]]\nusername = "ok"\npassword = "x"\n\n[[auth]]\n{entry}\n')
    with caplog.at_level(logging.WARNING, logger="hop"):
        assert load_auth() == [Auth("ok", "x")]
    assert "credential 2" in caplog.text
    assert SECRET not in caplog.text


def test_invalid_toml_is_a_credential_error(auth_path: Path) -> None:
    write_file(auth_path, "[[auth]\nusername =")
    with pytest.raises(CredentialError, match="not valid TOML"):
        load_auth()


def test_file_that_is_not_utf8_is_a_credential_error(auth_path: Path) -> None:
    auth_path.parent.mkdir(parents=True)
    auth_path.write_bytes(b'[[auth]]\nusername = "\xff"\npassword = "x"\n')
    auth_path.chmod(0o600)
    with pytest.raises(CredentialError, match="not UTF-8") as caught:
        load_auth()
    assert str(auth_path) in str(caught.value)


def test_auth_key_of_the_wrong_type(auth_path: Path) -> None:
    write_file(auth_path, 'auth = "alice"\n')
    with pytest.raises(CredentialError, match="array of tables") as caught:
        load_auth()
    assert isinstance(caught.value, RuntimeError)


# ------------------------------------------------------------------------ write_auth_data


ALL_KINDS = [
    Auth("alice", SECRET, host="kafka.scimma.org", ssl_ca_location="/etc/ca.pem"),
    Auth("bob", "pw2", ssl=False, method=SASLMethod.SCRAM_SHA_256),
    Auth("carol", "pw3", method="PLAIN"),
    Auth("client", "pw4", host="kafka.example.org", token_endpoint="https://idp/token"),
]


def test_write_then_load_round_trips(auth_path: Path) -> None:
    write_auth_data(auth_path, ALL_KINDS)
    assert load_auth() == ALL_KINDS


def test_written_file_is_in_the_shared_format(auth_path: Path) -> None:
    write_auth_data(auth_path, ALL_KINDS)
    data = tomllib.loads(auth_path.read_text())
    assert list(data) == ["auth"]
    first, second, _, fourth = data["auth"]
    assert first == {
        "username": "alice",
        "password": SECRET,
        "protocol": "SASL_SSL",
        "mechanism": "SCRAM-SHA-512",
        "hostname": "kafka.scimma.org",
        "ssl_ca_location": "/etc/ca.pem",
    }
    assert second == {
        "username": "bob",
        "password": "pw2",
        "protocol": "SASL_PLAINTEXT",
        "mechanism": "SCRAM-SHA-256",
    }
    assert fourth["mechanism"] == "OAUTHBEARER"
    assert fourth["token_endpoint"] == "https://idp/token"


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that would leave new files and directories world-readable."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("open_umask")
def test_creates_missing_directories_0700_and_file_0600(config_home: Path) -> None:
    path = config_home / "deeper" / "hop" / "auth.toml"
    write_auth_data(path, [Auth("alice", SECRET)])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for directory in (config_home, config_home / "deeper", config_home / "deeper" / "hop"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


def test_existing_directory_is_left_as_it_is(tmp_path: Path) -> None:
    directory = tmp_path / "shared"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    write_auth_data(directory / "auth.toml", [Auth("alice", SECRET)])
    assert stat.S_IMODE(directory.stat().st_mode) == 0o755


@pytest.mark.usefixtures("open_umask")
def test_file_is_0600_from_the_first_byte(auth_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, int]] = []
    real_fdopen = os.fdopen

    def spying_fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        info = os.fstat(fd)
        seen.append((stat.S_IMODE(info.st_mode), info.st_size))
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", spying_fdopen)
    write_auth_data(auth_path, [Auth("alice", SECRET)])
    assert seen == [(0o600, 0)]


def test_rewrite_replaces_the_file_by_rename(auth_path: Path) -> None:
    write_file(auth_path, "", 0o600)
    before = auth_path.stat().st_ino
    write_auth_data(auth_path, [Auth("alice", SECRET)])
    assert auth_path.stat().st_ino != before
    assert stat.S_IMODE(auth_path.stat().st_mode) == 0o600


def test_failed_write_leaves_the_old_file_and_no_temporary(
    auth_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_auth_data(auth_path, [Auth("alice", SECRET)])
    old = auth_path.read_bytes()

    def broken_replace(*args: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_auth_data(auth_path, [Auth("bob", "other")])
    assert auth_path.read_bytes() == old
    assert sorted(p.name for p in auth_path.parent.iterdir()) == ["auth.toml"]


# ------------------------------------------------------------------- select_matching_auth


ALICE_H = Auth("alice", SECRET, host="kafka.example.org")
BOB_H = Auth("bob", SECRET, host="kafka.example.org")
CAROL_ANY = Auth("carol", SECRET)
DAVE_ANY = Auth("dave", SECRET)
ALICE_OTHER = Auth("alice", SECRET, host="other.example.org")


def test_hostname_match_wins_over_hostless() -> None:
    assert select_matching_auth([CAROL_ANY, ALICE_H], "kafka.example.org") is ALICE_H


def test_single_hostless_credential_serves_any_host() -> None:
    assert select_matching_auth([ALICE_OTHER, CAROL_ANY], "kafka.example.org") is CAROL_ANY


def test_username_narrows_host_matches() -> None:
    creds = [ALICE_H, BOB_H]
    assert select_matching_auth(creds, "kafka.example.org", "bob") is BOB_H
    assert select_matching_auth(creds, "kafka.example.org", "alice") is ALICE_H


def test_username_reaches_a_hostless_credential_of_that_user() -> None:
    creds = [ALICE_H, CAROL_ANY, DAVE_ANY]
    assert select_matching_auth(creds, "kafka.example.org", "dave") is DAVE_ANY


def test_host_comparison_ignores_case_and_a_stored_port() -> None:
    stored = Auth("alice", SECRET, host="Kafka.Example.ORG:9092")
    assert select_matching_auth([CAROL_ANY, stored], "kafka.example.org") is stored
    v6 = Auth("alice", SECRET, host="[::1]:9092")
    assert select_matching_auth([CAROL_ANY, v6], "::1") is v6


def test_any_bootstrap_host_may_match() -> None:
    chosen = select_matching_auth(
        [CAROL_ANY, ALICE_OTHER], ["kafka.example.org", "other.example.org"]
    )
    assert chosen is ALICE_OTHER


def test_ambiguity_names_the_candidates_and_the_url_form() -> None:
    with pytest.raises(CredentialError) as caught:
        select_matching_auth([ALICE_H, BOB_H, CAROL_ANY], "kafka.example.org")
    message = str(caught.value)
    assert "alice@kafka.example.org" in message
    assert "bob@kafka.example.org" in message
    assert "carol" not in message  # not a candidate once a host matched
    assert "kafka://<username>@kafka.example.org/topic" in message
    assert SECRET not in message


def test_several_hostless_credentials_are_ambiguous() -> None:
    with pytest.raises(CredentialError, match=r"kafka://<username>@somewhere/topic"):
        select_matching_auth([CAROL_ANY, DAVE_ANY], "somewhere")


def test_duplicate_user_is_ambiguous_even_with_username() -> None:
    twin = Auth("alice", "another", host="kafka.example.org", method="PLAIN")
    with pytest.raises(CredentialError, match="hop auth remove") as caught:
        select_matching_auth([ALICE_H, twin], "kafka.example.org", "alice")
    assert "SCRAM-SHA-512" in str(caught.value) and "PLAIN" in str(caught.value)


def test_nothing_matching_lists_what_was_considered() -> None:
    with pytest.raises(CredentialError) as caught:
        select_matching_auth([ALICE_OTHER, BOB_H], "third.example.org")
    message = str(caught.value)
    assert "third.example.org" in message
    assert "alice@other.example.org" in message
    assert "bob@kafka.example.org" in message
    assert SECRET not in message


def test_unknown_username_lists_what_was_considered() -> None:
    with pytest.raises(CredentialError) as caught:
        select_matching_auth([ALICE_H, CAROL_ANY], "kafka.example.org", "zed")
    message = str(caught.value)
    assert "'zed'" in message
    assert "alice@kafka.example.org" in message and "carol (any host)" in message


def test_no_credentials_at_all() -> None:
    with pytest.raises(NoCredentialsError) as caught:
        select_matching_auth([], "kafka.example.org")
    assert NO_CREDENTIALS_MESSAGE in str(caught.value)


def test_choice_is_logged_without_the_password(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="hop"):
        select_matching_auth([ALICE_H], "kafka.example.org")
    assert any(
        "alice@kafka.example.org" in r.getMessage() and r.levelno == logging.INFO
        for r in caplog.records
    )
    assert SECRET not in caplog.text


# -------------------------------------------------------------------- read_new_credential


def write_csv(tmp_path: Path, text: str, name: str = "cred.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def test_csv_with_username_and_password_only(tmp_path: Path) -> None:
    path = write_csv(tmp_path, f"username,password\nalice,{SECRET}\n")
    assert read_new_credential(path) == Auth("alice", SECRET)
    assert read_new_credential(str(path)) == Auth("alice", SECRET)


def test_csv_with_every_column(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        "username,password,hostname,mechanism,protocol,ssl_ca_location,token_endpoint,extra\n"
        f"alice,{SECRET},kafka.example.org,SCRAM-SHA-256,SASL_PLAINTEXT,/ca.pem,,ignored\n",
    )
    assert read_new_credential(path) == Auth(
        "alice",
        SECRET,
        host="kafka.example.org",
        ssl=False,
        method=SASLMethod.SCRAM_SHA_256,
        ssl_ca_location="/ca.pem",
    )


def test_csv_with_token_endpoint(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path, f"username,password,token_endpoint\nclient,{SECRET},https://idp/token\n"
    )
    cred = read_new_credential(path)
    assert cred.mechanism == "OAUTHBEARER"
    assert cred.token_endpoint == "https://idp/token"


def test_csv_from_a_spreadsheet(tmp_path: Path) -> None:
    # Byte-order mark, CRLF line ends, header case and spaces, a trailing blank line.
    path = write_csv(
        tmp_path,
        f" Username , Password ,Hostname\r\nalice,{SECRET}, kafka.example.org \r\n,,\r\n",
        bom=True,
    )
    assert read_new_credential(path) == Auth("alice", SECRET, host="kafka.example.org")


def test_csv_values_beyond_the_header_are_ignored(tmp_path: Path) -> None:
    # A row longer than the header, and a row of nothing but such values.
    path = write_csv(tmp_path, f"username,password\nalice,{SECRET},x,y\n,,stray\n")
    assert read_new_credential(path) == Auth("alice", SECRET)


def test_csv_password_kept_exactly(tmp_path: Path) -> None:
    path = write_csv(tmp_path, 'username,password\nalice," pa,ss "\n')
    assert read_new_credential(path).password == " pa,ss "


@pytest.mark.parametrize("missing", ["username", "password"])
def test_csv_without_a_required_column(tmp_path: Path, missing: str) -> None:
    other = "password" if missing == "username" else "username"
    path = write_csv(tmp_path, f"{other},hostname\nvalue,host\n")
    with pytest.raises(MalformedCredentialError) as caught:
        read_new_credential(path)
    assert isinstance(caught.value, KeyError)
    assert f"'{missing}'" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "empty"),
        ("username,password\n", "0 credential rows"),
        (f"username,password\na,{SECRET}\nb,{SECRET}\n", "2 credential rows"),
        (f"username,password\n,{SECRET}\n", "empty username"),
        ("username,password\nalice,\n", "empty password"),
        (f"username,password,mechanism\nalice,{SECRET},MD5\n", "'mechanism' column"),
        (f"username,password,protocol\nalice,{SECRET},SSL\n", "'protocol' column"),
    ],
)
def test_bad_csv_is_a_runtime_error(tmp_path: Path, text: str, complaint: str) -> None:
    path = write_csv(tmp_path, text)
    with pytest.raises(CredentialInputError) as caught:
        read_new_credential(path)
    assert isinstance(caught.value, RuntimeError)
    assert complaint in str(caught.value)
    assert str(path) in str(caught.value)
    assert SECRET not in str(caught.value)


def test_missing_csv_file(tmp_path: Path) -> None:
    with pytest.raises(CredentialInputError, match="cannot read credentials file"):
        read_new_credential(tmp_path / "nope.csv")


class FakeTerminal:
    """Answers ``input`` and ``getpass`` prompts from scripts, recording the prompts."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, typed: list[str], secret: str) -> None:
        self.typed = list(typed)
        self.secret = secret
        self.input_prompts: list[str] = []
        self.getpass_prompts: list[str] = []
        monkeypatch.setattr("builtins.input", self.input)
        monkeypatch.setattr(getpass, "getpass", self.getpass)

    def input(self, prompt: str = "") -> str:
        self.input_prompts.append(prompt)
        if not self.typed:
            raise EOFError
        return self.typed.pop(0)

    def getpass(self, prompt: str = "Password: ", stream: Any = None) -> str:
        self.getpass_prompts.append(prompt)
        return self.secret


def test_interactive_entry_reads_the_password_through_getpass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminal = FakeTerminal(monkeypatch, ["alice ", "kafka.example.org", ""], SECRET)
    assert read_new_credential() == Auth("alice", SECRET, host="kafka.example.org")
    assert len(terminal.getpass_prompts) == 1
    assert "assword" in terminal.getpass_prompts[0]
    assert not any("assword" in p for p in terminal.input_prompts)


def test_interactive_entry_with_token_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeTerminal(monkeypatch, ["client", "", "https://idp/token"], SECRET)
    assert read_new_credential() == Auth("client", SECRET, token_endpoint="https://idp/token")


@pytest.mark.parametrize(
    ("typed", "secret", "complaint"),
    [
        ([""], SECRET, "no username"),
        ([], SECRET, "no username"),  # end of input
        (["alice"], "", "no password"),
    ],
)
def test_interactive_empty_entry_is_a_runtime_error(
    monkeypatch: pytest.MonkeyPatch, typed: list[str], secret: str, complaint: str
) -> None:
    FakeTerminal(monkeypatch, typed, secret)
    with pytest.raises(RuntimeError, match=complaint) as caught:
        read_new_credential()
    assert isinstance(caught.value, HopError)


# ------------------------------------------------------------ add / delete / list (hop auth)


def add(csv_path: Path | None, force: bool = False) -> None:
    add_credential(SimpleNamespace(cred_file=str(csv_path) if csv_path else None, force=force))


def test_add_creates_a_private_file(tmp_path: Path, auth_path: Path) -> None:
    add(write_csv(tmp_path, f"username,password,hostname\nalice,{SECRET},kafka.example.org\n"))
    assert load_auth() == [Auth("alice", SECRET, host="kafka.example.org")]
    assert stat.S_IMODE(auth_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(auth_path.parent.stat().st_mode) == 0o700


def test_add_interactively(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeTerminal(monkeypatch, ["alice", "", ""], SECRET)
    add(None)
    assert load_auth() == [Auth("alice", SECRET)]


def test_add_keeps_other_credentials(tmp_path: Path, auth_path: Path) -> None:
    write_auth_data(auth_path, [ALICE_H, CAROL_ANY])
    add(write_csv(tmp_path, f"username,password,hostname\nalice,{SECRET},other.example.org\n"))
    assert load_auth() == [ALICE_H, CAROL_ANY, ALICE_OTHER]


def test_add_existing_needs_force(
    tmp_path: Path, auth_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_auth_data(auth_path, [ALICE_H, CAROL_ANY])
    before = auth_path.read_bytes()
    csv_path = write_csv(tmp_path, "username,password,hostname\nalice,newpw,kafka.example.org\n")
    # As in 0.13: the conflict is logged, nothing is written, and no error is raised.
    with caplog.at_level(logging.DEBUG, logger="hop"):
        add(csv_path)
    assert "--force" in caplog.text
    assert "newpw" not in caplog.text and SECRET not in caplog.text
    assert auth_path.read_bytes() == before
    add(csv_path, force=True)
    # Replaced in place.
    assert load_auth() == [Auth("alice", "newpw", host="kafka.example.org"), CAROL_ANY]


def test_adding_an_identical_credential_changes_nothing(tmp_path: Path, auth_path: Path) -> None:
    write_auth_data(auth_path, [ALICE_H])
    add(write_csv(tmp_path, f"username,password,hostname\nalice,{SECRET},kafka.example.org\n"))
    assert load_auth() == [ALICE_H]


def test_add_refuses_an_auth_file_open_to_others(tmp_path: Path, auth_path: Path) -> None:
    write_auth_data(auth_path, [ALICE_H])
    auth_path.chmod(0o644)
    with pytest.raises(CredentialFilePermissionError):
        add(write_csv(tmp_path, f"username,password\nbob,{SECRET}\n"))


def test_add_logs_without_the_password(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="hop"):
        add(write_csv(tmp_path, f"username,password\nalice,{SECRET}\n"))
    assert "alice" in caplog.text
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    ("name", "removed"),
    [("bob", BOB_H), ("alice@other.example.org", ALICE_OTHER), ("carol@", CAROL_ANY)],
)
def test_delete_one(auth_path: Path, name: str, removed: Auth) -> None:
    stored = [ALICE_H, BOB_H, ALICE_OTHER, CAROL_ANY]
    write_auth_data(auth_path, stored)
    delete_credential(name)
    assert load_auth() == [c for c in stored if c is not removed]
    assert stat.S_IMODE(auth_path.stat().st_mode) == 0o600


def test_delete_matching_nothing_lists_what_is_stored(auth_path: Path) -> None:
    write_auth_data(auth_path, [ALICE_H, CAROL_ANY])
    with pytest.raises(CredentialInputError) as caught:
        delete_credential("zed")
    assert isinstance(caught.value, RuntimeError)
    message = str(caught.value)
    assert "'zed'" in message and "alice@kafka.example.org" in message and "carol" in message
    assert SECRET not in message
    assert load_auth() == [ALICE_H, CAROL_ANY]


def test_delete_matching_several_lists_them(auth_path: Path) -> None:
    write_auth_data(auth_path, [ALICE_H, ALICE_OTHER, CAROL_ANY])
    with pytest.raises(CredentialInputError) as caught:
        delete_credential("alice")
    message = str(caught.value)
    assert "alice@kafka.example.org" in message and "alice@other.example.org" in message
    assert "USER@HOST" in message
    assert "carol" not in message
    assert len(load_auth()) == 3


def test_delete_without_a_file() -> None:
    with pytest.raises(NoCredentialsError):
        delete_credential("alice")


def test_list_shows_username_hostname_mechanism_never_password(
    auth_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_auth_data(auth_path, [ALICE_H, Auth("bob", SECRET, method="PLAIN")])
    list_credentials()
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["USERNAME", "HOSTNAME", "MECHANISM"]
    assert lines[1].split() == ["alice", "kafka.example.org", "SCRAM-SHA-512"]
    assert lines[2].split() == ["bob", "(any", "host)", "PLAIN"]
    assert SECRET not in out


def test_list_to_a_file_object(auth_path: Path, tmp_path: Path) -> None:
    write_auth_data(auth_path, [ALICE_H])
    with open(tmp_path / "out.txt", "w") as out:
        list_credentials(file=out)
    assert "alice" in (tmp_path / "out.txt").read_text()


def test_list_empty_file(auth_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_auth_data(auth_path, [])
    list_credentials()
    assert "No credentials" in capsys.readouterr().out


def test_list_without_a_file(auth_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    list_credentials()
    out = capsys.readouterr().out
    assert "No credentials" in out
    assert str(auth_path) in out
    assert "hop auth add" in out


# ------------------------------------------------------------------- prune_outdated_auth


def legacy_config(path: Path, mode: int = 0o644, extra: str = "produce_timeout = 5\n") -> Path:
    return write_file(
        path,
        extra
        + f'\n[[auth]]\nusername = "alice"\npassword = "{SECRET}"\nhostname = "kafka.example.org"\n'
        + '\n[[auth]]\nusername = "zed"\npassword = "zpw"\n',
        mode,
    )


def test_prune_moves_what_auth_toml_lacks_then_removes_the_table(
    auth_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = legacy_config(Path(get_config_path("general")))
    write_auth_data(auth_path, [ALICE_H])
    with caplog.at_level(logging.INFO, logger="hop"):
        assert prune_outdated_auth() == 2
    assert tomllib.loads(config.read_text()) == {"produce_timeout": 5}
    assert stat.S_IMODE(config.stat().st_mode) == 0o644
    assert load_auth() == [ALICE_H, Auth("zed", "zpw")]
    assert "'zed'" in caplog.text
    assert SECRET not in caplog.text and "zpw" not in caplog.text


def test_prune_removes_all_and_keeps_settings_and_mode(auth_path: Path) -> None:
    config = legacy_config(Path(get_config_path("general")))
    write_auth_data(auth_path, [ALICE_H, Auth("zed", "zpw")])
    assert prune_outdated_auth() == 2
    assert tomllib.loads(config.read_text()) == {"produce_timeout": 5}
    assert stat.S_IMODE(config.stat().st_mode) == 0o644
    assert load_config()["produce_timeout"].total_seconds() == 5


def test_prune_single_legacy_table(tmp_path: Path) -> None:
    config = write_file(
        tmp_path / "config.toml", f'[auth]\nusername = "a"\npassword = "{SECRET}"\n'
    )
    auth_file = tmp_path / "auth.toml"
    write_auth_data(auth_file, [Auth("a", SECRET, method="PLAIN")])
    assert prune_outdated_auth(config, auth_file=auth_file) == 1
    assert tomllib.loads(config.read_text()) == {}


def test_prune_without_auth_toml_moves_everything_there() -> None:
    config = legacy_config(Path(get_config_path("general")))
    assert prune_outdated_auth() == 2  # no auth.toml at all: it is made
    assert tomllib.loads(config.read_text()) == {"produce_timeout": 5}
    assert [c.username for c in load_auth(get_config_path("auth"))] == ["alice", "zed"]
    assert stat.S_IMODE(Path(get_config_path("auth")).stat().st_mode) == 0o600


def test_prune_without_a_config_file_or_legacy_section(tmp_path: Path) -> None:
    assert prune_outdated_auth() == 0
    config = write_file(tmp_path / "c.toml", "produce_timeout = 3\n", 0o644)
    assert prune_outdated_auth(config) == 0
    assert config.read_text() == "produce_timeout = 3\n"


@pytest.mark.parametrize("content", [b"this is = = not toml\n", b"produce_timeout = \xff\n"])
def test_add_succeeds_when_the_old_config_is_broken(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes
) -> None:
    config = Path(get_config_path("general"))
    config.parent.mkdir(parents=True)
    config.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="hop"):
        add(write_csv(tmp_path, f"username,password\nalice,{SECRET}\n"))
    assert load_auth() == [Auth("alice", SECRET)]
    assert "not valid TOML" in caplog.text


@pytest.mark.parametrize("legacy", ["auth = 5", 'auth = "alice"', "auth = true"])
def test_prune_removes_an_auth_key_that_holds_no_credentials(auth_path: Path, legacy: str) -> None:
    config = write_file(Path(get_config_path("general")), legacy + "\nx = 1\n", 0o644)
    write_auth_data(auth_path, [ALICE_H])
    assert prune_outdated_auth() == 0
    assert tomllib.loads(config.read_text()) == {"x": 1}
    assert load_auth() == [ALICE_H]


def test_add_prunes_the_old_config(tmp_path: Path) -> None:
    config = legacy_config(Path(get_config_path("general")))
    add(write_csv(tmp_path, f"username,password,hostname\nalice,{SECRET},kafka.example.org\n"))
    assert "auth" not in tomllib.loads(config.read_text())
    assert [c.username for c in load_auth()] == ["alice", "zed"]


# ---------------------------------------------------- no password anywhere, all together


def test_password_absent_from_every_message(
    auth_path: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    texts: list[str] = []
    with caplog.at_level(logging.DEBUG):
        write_auth_data(auth_path, [ALICE_H, BOB_H, CAROL_ANY])
        for cred in load_auth():
            texts += [repr(cred), str(cred)]
        for call in (
            lambda: select_matching_auth(load_auth(), "kafka.example.org"),
            lambda: select_matching_auth(load_auth(), "nowhere", "zed"),
            lambda: delete_credential("nobody"),
        ):
            with pytest.raises(HopError) as caught:
                call()
            texts.append(str(caught.value))
        select_matching_auth(load_auth(), "kafka.example.org", "bob")
        add(write_csv(tmp_path, f"username,password\ncarol,{SECRET}x\n"))  # a conflict
    texts.append(caplog.text)
    for text in texts:
        assert SECRET not in text, text


def test_module_exports() -> None:
    for name in hop_auth.__all__:
        assert hasattr(hop_auth, name), name
