"""No control characters in stored credentials (issue 18, hardening item 5).

``hop auth add`` and ``Auth(...)`` refuse a control character in any credential field, with
an error that names the field and never the value; ``hop auth list`` never prints one raw,
even from a file written by hand.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest

from hop import auth as hop_auth
from hop.auth import Auth, list_credentials, load_auth
from hop.cli import main
from hop.configure import get_config_path
from hop.errors import ConfigurationError

pytestmark = pytest.mark.usefixtures("config_home")

SECRET = "s3cr3t-Pa55word"
# Any C0 or C1 control character, or DEL.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def credentials_csv(tmp_path: Path, **values: str) -> Path:
    row = {"username": "alice", "password": SECRET, **values}
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(row))
    writer.writeheader()
    writer.writerow(row)
    path = tmp_path / "cred.csv"
    path.write_text(out.getvalue())
    return path


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("username", "alice\nbob"),
        ("hostname", "kafka.example.org\nevil"),
        ("hostname", "kafka\x1b[31m.example.org"),
        ("password", "pw\x07word"),
        ("token_endpoint", "https://idp/\rtoken"),
        ("ssl_ca_location", "/ca\x01.pem"),
    ],
)
def test_hop_auth_add_refuses_control_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], column: str, value: str
) -> None:
    path = credentials_csv(tmp_path, **{column: value})
    assert main(["auth", "add", str(path)]) == 1
    err = capsys.readouterr().err
    assert column.replace("_", " ") in err or column in err
    assert "control character" in err
    assert value not in err and repr(value)[1:-1] not in err
    assert SECRET not in err
    assert not Path(get_config_path("auth")).exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"user": "a\nb"}, "username"),
        ({"password": "p\tw"}, "password"),
        ({"host": "h\n"}, "hostname"),
        ({"method": "PLAIN\n"}, "mechanism"),
        ({"token_endpoint": "https://x/\x85"}, "token_endpoint"),
        ({"ssl_ca_location": "/\x7fca"}, "ssl_ca_location"),
        ({"password": "", "token_command": "get\ntoken"}, "token_command"),
    ],
)
def test_auth_refuses_control_characters(kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"user": "alice", "password": SECRET, **kwargs}
    user, password = args.pop("user"), args.pop("password")
    with pytest.raises(ConfigurationError) as caught:
        Auth(user, password, **args)
    message = str(caught.value)
    assert field in message and "control character" in message
    for value in (user, password, *args.values()):
        if CONTROL.search(str(value)) or "\n" in str(value) or "\t" in str(value):
            assert str(value) not in message and repr(value)[1:-1] not in message


def test_hand_written_file_with_a_control_character_is_never_listed_raw(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = Path(get_config_path("auth"))
    path.parent.mkdir(parents=True)
    path.write_text(
        f'[[auth]]\nusername = "good"\npassword = "{SECRET}"\n'
        f'[[auth]]\nusername = "bad"\npassword = "{SECRET}"\nhostname = "evil\\nhost\\u001b[2J"\n'
    )
    path.chmod(0o600)
    assert main(["auth", "list"]) == 0
    captured = capsys.readouterr()
    for stream in (captured.out, captured.err):
        assert not CONTROL.search(stream)
        assert "evil\nhost" not in stream
    assert "good" in captured.out
    assert "hostname" in captured.err and "control character" in captured.err
    assert [c.username for c in load_auth()] == ["good"]


def test_list_escapes_what_it_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    # An Auth unpickled from elsewhere bypasses the constructor's checks: still escaped.
    odd = Auth.__new__(Auth)
    odd.__setstate__(("a\nb", SECRET, "h\x1bx", True, "SCRAM-SHA-512", None, None, None))
    monkeypatch.setattr(hop_auth, "load_auth", lambda config_file=None: [odd])
    out = io.StringIO()
    list_credentials(file=out)
    text = out.getvalue()
    assert not CONTROL.search(text)
    assert "a\\nb" in text and "h\\x1bx" in text
    assert len(text.splitlines()) == 2
