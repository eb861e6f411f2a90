"""A known secret fed through every error path of CSV reading and credential-file loading
never shows: not in an exception's text (its whole traceback, causes included), not in a
log record (at DEBUG), not in what ``hop auth`` prints with ``-v``."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

from hop.auth import load_auth, read_new_credential
from hop.cli import main
from hop.configure import get_config_path

SECRET = "zq9-s3cretpw!x"

pytestmark = pytest.mark.usefixtures("config_home")


def assert_hidden(call: Callable[[], object], caplog: pytest.LogCaptureFixture) -> str:
    """Run ``call`` (which fails or warns); the secret is in none of what it produced.

    Returns:
        The error's text, or the log, for the caller's own checks.
    """
    caplog.clear()
    text = ""
    with caplog.at_level(logging.DEBUG):
        try:
            call()
        except Exception as exc:  # each path has its own type; all must be clean
            text = "".join(traceback.format_exception(exc))
    assert SECRET not in text
    assert SECRET not in caplog.text
    for record in caplog.records:
        assert SECRET not in record.getMessage()
    return text or caplog.text


def assert_cli_hidden(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    capsys.readouterr()
    main([*argv, "-v"])
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    return err


# ----------------------------------------------------------------------------- CSV files

CSV_CASES = {
    "no header row": f"alice,{SECRET}\n",
    "no password column": f"username,pass\nalice,{SECRET}\n",
    "comma in password shifts into protocol": f"username,password,protocol\nalice,pw,{SECRET}\n",
    "comma in password shifts into mechanism": f"username,password,mechanism\nalice,pw,{SECRET}\n",
    "two rows": f"username,password\na,{SECRET}\nb,{SECRET}\n",
    "empty username": f"username,password\n,{SECRET}\n",
    "endpoint with another mechanism": (
        f"username,password,mechanism,token_endpoint\nalice,{SECRET},PLAIN,https://idp/t\n"
    ),
    "oauthbearer without endpoint": f"username,password,mechanism\nalice,{SECRET},OAUTHBEARER\n",
    "field too large for csv": f'username,password\nalice,"{SECRET}' + "x" * 200_000 + '"\n',
    "gcn without header": f"my-id,{SECRET}\n",
    "gcn wrong columns": f"id,secret\nmy-id,{SECRET}\n",
}


@pytest.mark.parametrize("case", sorted(CSV_CASES))
def test_csv_errors_never_show_a_value(
    tmp_path: Path,
    case: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "cred.csv"
    path.write_text(CSV_CASES[case])
    gcn = case.startswith("gcn")
    text = assert_hidden(lambda: read_new_credential(path, gcn=gcn), caplog)
    assert "Error" in text  # it did fail
    argv = ["auth", "add", *(["--gcn"] if gcn else []), str(path)]
    err = assert_cli_hidden(capsys, *argv)
    assert "error:" in err and "Traceback" in err  # -v printed all there was to print
    assert not Path(get_config_path("auth")).exists()


def test_csv_that_is_not_utf8(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cred.csv"
    path.write_bytes(f"username,password\nalice,{SECRET}\xff\n".encode("latin-1"))
    assert "UTF-8" in assert_hidden(lambda: read_new_credential(path), caplog)
    assert_cli_hidden(capsys, "auth", "add", str(path))


def test_csv_without_error_messages_naming_the_column(tmp_path: Path) -> None:
    path = tmp_path / "cred.csv"
    path.write_text(CSV_CASES["comma in password shifts into protocol"])
    with pytest.raises(RuntimeError) as caught:
        read_new_credential(path)
    assert "'protocol' column" in str(caught.value)
    path.write_text(CSV_CASES["no header row"])
    with pytest.raises(KeyError) as missing:
        read_new_credential(path)
    assert "'username' column" in str(missing.value) and "header row" in str(missing.value)


# --------------------------------------------------------------------------- auth.toml

# An entry with a harmless username and password, for a secret placed in another key.
AB = b'[[auth]]\nusername = "a"\npassword = "p"\n'

TOML_CASES: dict[str, bytes] = {
    "unquoted password": f'[[auth]]\nusername = "alice"\npassword = {SECRET}\n'.encode(),
    "not utf-8": f'[[auth]]\nusername = "alice"\npassword = "{SECRET}'.encode() + b'\xff"\n',
    "auth is a string": f'auth = "{SECRET}"\n'.encode(),
    "entry is a string": f'auth = ["{SECRET}"]\n'.encode(),
    "no username": f'[[auth]]\npassword = "{SECRET}"\n'.encode(),
    "secret as protocol": AB + f'protocol = "{SECRET}"\n'.encode(),
    "secret as mechanism": AB + f'mechanism = "{SECRET}"\n'.encode(),
    "password of the wrong type": f'[[auth]]\nusername = "a"\npassword = ["{SECRET}"]\n'.encode(),
    "hostname of the wrong type": (
        f'[[auth]]\nusername = "a"\npassword = "{SECRET}"\nhostname = 7\n'.encode()
    ),
    "endpoint with scram": (
        f'[[auth]]\nusername = "a"\npassword = "{SECRET}"\nmechanism = "SCRAM-SHA-512"\n'
        'token_endpoint = "https://idp/t"\n'
    ).encode(),
    "bad entry beside a good one": (
        f'[[auth]]\nusername = "ok"\npassword = "x"\n\n[[auth]]\nusername = "b"\n'
        f'password = "p"\nmechanism = "{SECRET}"\n'
    ).encode(),
}


def write_private(path: Path, content: bytes, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    path.chmod(mode)


@pytest.mark.parametrize("case", sorted(TOML_CASES))
@pytest.mark.parametrize("where", ["auth.toml", "legacy config.toml"])
def test_credential_file_errors_never_show_a_secret(
    case: str,
    where: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kind = "auth" if where == "auth.toml" else "general"
    write_private(Path(get_config_path(kind)), TOML_CASES[case])
    text = assert_hidden(load_auth, caplog)
    assert text  # an error, or the warning about the entry that was skipped
    for argv in (["auth", "list"], ["auth", "remove", "nobody"]):
        assert_cli_hidden(capsys, *argv)


@pytest.mark.parametrize("kind", ["auth", "general"])
def test_file_open_to_others_never_shows_its_secret(
    kind: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    path = Path(get_config_path(kind))
    write_private(path, f'[[auth]]\nusername = "a"\npassword = "{SECRET}"\n'.encode(), 0o644)
    assert "chmod 600" in assert_hidden(load_auth, caplog)
    assert "chmod 600" in assert_cli_hidden(capsys, "auth", "list")
