"""``hop auth`` through ``hop.cli.main``, and the message every command prints without
credentials. Each test has its own XDG_CONFIG_HOME; the real ``~/.config`` is never used."""

from __future__ import annotations

import getpass
import os
import stat
from pathlib import Path

import pytest

from hop.auth import NO_CREDENTIALS_MESSAGE, Auth, load_auth, write_auth_data
from hop.cli import main
from hop.configure import get_config_path
from tests.support.terminal import answer_prompts

SECRET = "s3cr3t-Pa55word"


# Every test gets a private configuration folder (the fixture is in conftest.py).
pytestmark = pytest.mark.usefixtures("config_home")


def csv_file(tmp_path: Path, password: str = SECRET, name: str = "alice") -> str:
    path = tmp_path / f"{name}-{len(password)}.csv"
    path.write_text(f"username,password,hostname\n{name},{password},kafka.example.org\n")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_locate(capsys: pytest.CaptureFixture[str], config_home: Path) -> None:
    status, out, _ = run(capsys, "auth", "locate")
    assert status == 0
    assert out.strip() == str(config_home / "hop" / "auth.toml")


@pytest.mark.parametrize(
    "argv",
    [
        ["auth", "remove", "alice"],
        ["list-topics", "kafka://127.0.0.1:9/"],
        ["subscribe", "kafka://127.0.0.1:9/topic"],
        ["publish", "kafka://127.0.0.1:9/topic", "/dev/null"],
    ],
)
def test_no_credentials_message(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    status, _, err = run(capsys, *argv)
    assert status == 1
    for line in NO_CREDENTIALS_MESSAGE.splitlines():
        assert line in err
    assert "Traceback" not in err


def test_add_list_remove(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, _, err = run(capsys, "auth", "add", csv_file(tmp_path))
    assert status == 0, err
    assert SECRET not in err
    path = Path(get_config_path("auth"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    status, out, _ = run(capsys, "auth", "list")
    assert status == 0
    assert "alice" in out and "kafka.example.org" in out and "SCRAM-SHA-512" in out
    assert SECRET not in out

    status, _, _ = run(capsys, "auth", "remove", "alice@kafka.example.org")
    assert status == 0
    assert load_auth() == []


def test_auth_list_without_a_file_says_where_credentials_would_be(
    capsys: pytest.CaptureFixture[str], config_home: Path
) -> None:
    status, out, err = run(capsys, "auth", "list")
    assert status == 0, err
    assert "No credentials" in out
    assert str(config_home / "hop" / "auth.toml") in out
    assert "hop auth add" in out


def test_add_twice_needs_force(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(capsys, "auth", "add", csv_file(tmp_path))[0] == 0
    status, _, err = run(capsys, "auth", "add", csv_file(tmp_path, "other-pw"))
    # As hop-client 0.13: the conflict is logged, nothing changes, and the exit status is 0.
    assert status == 0
    assert "--force" in err and "Traceback" not in err
    assert "other-pw" not in err and SECRET not in err
    assert load_auth()[0].password == SECRET
    assert run(capsys, "auth", "add", "--force", csv_file(tmp_path, "other-pw"))[0] == 0
    assert load_auth() == [Auth("alice", "other-pw", host="kafka.example.org")]


def test_add_interactively(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter(["alice", "", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    monkeypatch.setattr(getpass, "getpass", lambda prompt="Password: ", stream=None: SECRET)
    status, out, err = run(capsys, "auth", "add")
    assert status == 0, err
    assert SECRET not in out + err
    assert load_auth() == [Auth("alice", SECRET)]


def test_remove_ambiguous_lists_the_matches(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_auth_data(
        get_config_path("auth"),
        [Auth("alice", SECRET, host="a.example.org"), Auth("alice", SECRET, host="b.example.org")],
    )
    status, _, err = run(capsys, "auth", "remove", "alice")
    assert status == 1
    assert "alice@a.example.org" in err and "alice@b.example.org" in err
    assert SECRET not in err and "Traceback" not in err


def test_permission_refusal_names_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    path = Path(get_config_path("auth"))
    write_auth_data(path, [Auth("alice", SECRET)])
    path.chmod(0o644)
    status, _, err = run(capsys, "auth", "list")
    assert status == 1
    assert f"chmod 600 {path}" in err
    assert SECRET not in err


@pytest.mark.parametrize("flag", ["-q", "-v"])
def test_quiet_and_verbose_are_accepted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flag: str
) -> None:
    status, out, err = run(capsys, "auth", flag, "add", csv_file(tmp_path))
    assert status == 0, err
    assert SECRET not in out + err
    status, out, _ = run(capsys, "auth", "list", flag)
    assert status == 0 and "alice" in out


@pytest.mark.parametrize("command", ["subscribe", "publish", "list-topics"])
def test_refused_credential_against_the_broker_leaks_no_password(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, broker_url: str, topic: str, command: str
) -> None:
    # The test broker refuses every SASL handshake (BROKER.md): the stored credential is
    # offered and refused, and even -v (debug logs, traceback) must not show its password.
    write_auth_data(get_config_path("auth"), [Auth("alice", SECRET, ssl=False)])
    message = tmp_path / "m.json"
    message.write_text('{"a": 1}')
    argv = {
        "subscribe": ["subscribe", f"{broker_url}/{topic}", "-v"],
        "publish": ["publish", f"{broker_url}/{topic}", str(message), "-v"],
        "list-topics": ["list-topics", broker_url, "--timeout", "10"],  # it has no -v
    }[command]
    status, out, err = run(capsys, *argv)
    assert status == 1
    assert "SASL" in err
    if "-v" in argv:  # what could leak was really printed: the traceback
        assert "Traceback" in err
    assert SECRET not in out + err


def test_add_on_a_real_terminal_does_not_echo_the_password(
    config_home: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(config_home), "HOME": str(tmp_path / "home")}
    answers = [
        (b"Username: ", b"alice"),
        (b"Password: ", SECRET.encode()),
        (b"Hostname", b"kafka.example.org"),
        (b"Token endpoint", b""),
    ]
    seen = answer_prompts(["auth", "add"], answers, env)
    assert b"alice" in seen  # typed input is echoed...
    assert SECRET.encode() not in seen  # ...except the password
    assert load_auth() == [Auth("alice", SECRET, host="kafka.example.org")]
