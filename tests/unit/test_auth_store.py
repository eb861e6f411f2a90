"""Unit tests for the split of ``hop.auth``: plain-argument ``add_credential``, the one TOML
reader and the one atomic writer that ``auth.toml`` and ``config.toml`` share, and the facade.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import pickle
import stat
import typing
from pathlib import Path
from types import SimpleNamespace

import pytest

import hop.auth
import hop.configure
from hop import _toml
from hop.auth import (
    GCN_DOMAIN,
    Auth,
    CredentialFileError,
    SASLMethod,
    add_credential,
    gcn_credential,
    load_auth,
    write_auth_data,
)
from hop.configure import Config, get_config_path, load_config, write_config_value
from hop.errors import ConfigurationError, CredentialError, HopError

SECRET = "s3cr3t-Pa55word"

pytestmark = pytest.mark.usefixtures("config_home")


def write_csv(directory: Path, text: str) -> Path:
    path = directory / "cred.csv"
    path.write_text(text)
    return path


# ------------------------------------------------------------------ add_credential arguments


def test_add_credential_takes_plain_arguments(tmp_path: Path) -> None:
    csv = write_csv(tmp_path, f"username,password,hostname\nalice,{SECRET},kafka.example.org\n")
    add_credential(csv)
    assert load_auth() == [Auth("alice", SECRET, host="kafka.example.org")]


def test_add_credential_replaces_only_with_force(tmp_path: Path) -> None:
    add_credential(write_csv(tmp_path, f"username,password\nalice,{SECRET}\n"))
    add_credential(write_csv(tmp_path, "username,password\nalice,new-password\n"))
    assert load_auth() == [Auth("alice", SECRET)]
    add_credential(str(tmp_path / "cred.csv"), force=True)
    assert load_auth() == [Auth("alice", "new-password")]


def test_add_credential_gcn_with_plain_arguments(tmp_path: Path) -> None:
    csv = write_csv(tmp_path, f"client_id,client_secret\nclient-1,{SECRET}\n")
    add_credential(csv, gcn=True, domain="test.gcn.nasa.gov")
    assert load_auth() == [gcn_credential("client-1", SECRET, "test.gcn.nasa.gov")]


def test_add_credential_still_takes_a_namespace(tmp_path: Path) -> None:
    csv = write_csv(tmp_path, f"client_id,client_secret\nclient-1,{SECRET}\n")
    add_credential(argparse.Namespace(cred_file=str(csv), force=False, gcn=True, domain=None))
    assert load_auth() == [gcn_credential("client-1", SECRET, GCN_DOMAIN)]
    add_credential(SimpleNamespace(cred_file=str(csv), force=True, gcn=True, domain=None))
    assert len(load_auth()) == 1


def test_a_namespace_without_force_does_not_replace(tmp_path: Path) -> None:
    add_credential(write_csv(tmp_path, f"username,password\nalice,{SECRET}\n"))
    csv = write_csv(tmp_path, "username,password\nalice,other\n")
    add_credential(SimpleNamespace(cred_file=str(csv)))
    assert load_auth() == [Auth("alice", SECRET)]


# ---------------------------------------------------------------------------------- facade


def test_public_signatures_name_no_private_or_any_type() -> None:
    for module in (hop.auth, hop.configure):
        for name in module.__all__:
            obj = getattr(module, name)
            if not callable(obj) or isinstance(obj, type):
                continue
            hints = typing.get_type_hints(obj)
            for param, hint in hints.items():
                text = repr(hint)
                assert "typing.Any" not in text, (module.__name__, name, param, text)
                assert "hop._" not in text, (module.__name__, name, param, text)


def test_public_classes_belong_to_hop_auth() -> None:
    for cls in (Auth, SASLMethod, CredentialFileError):
        assert cls.__module__ == "hop.auth"
    restored = pickle.loads(pickle.dumps(Auth("alice", SECRET, method="PLAIN")))
    assert restored == Auth("alice", SECRET, method="PLAIN")
    assert b"hop.auth" in pickle.dumps(SASLMethod.PLAIN)


def test_add_credential_signature_is_keyword_only_after_the_file() -> None:
    parameters = inspect.signature(add_credential).parameters
    assert list(parameters) == ["cred_file", "force", "gcn", "domain"]
    assert all(p.kind is p.KEYWORD_ONLY for n, p in parameters.items() if n != "cred_file")


# -------------------------------------------------------------------------- the TOML reader


@pytest.mark.parametrize("error", [CredentialFileError, ConfigurationError])
def test_reader_translates_bad_toml(tmp_path: Path, error: type[HopError]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f'password = "{SECRET}\n')
    with pytest.raises(error, match="is not valid TOML") as caught:
        _toml.read_toml(path, error)
    assert SECRET not in str(caught.value)
    assert caught.value.__cause__ is None


def test_reader_reports_bytes_that_are_not_utf8_by_position(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(b'a = "caf\xe9"\n')
    with pytest.raises(ConfigurationError, match=r"not UTF-8 text \(byte 8\)"):
        _toml.read_toml(path, ConfigurationError)


def test_reader_returns_none_for_a_missing_file(tmp_path: Path) -> None:
    assert _toml.read_toml(tmp_path / "absent.toml", ConfigurationError) is None


def test_reader_checks_the_open_file_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text("not toml at all = = =\n")
    seen: list[int] = []

    def check(checked: Path, mode: int) -> None:
        seen.append(mode)
        raise CredentialError("refused")

    with pytest.raises(CredentialError, match="refused"):
        _toml.read_toml(path, ConfigurationError, check=check)
    assert len(seen) == 1 and stat.S_ISREG(seen[0])


def test_reader_turns_an_unreadable_path_into_the_error_class(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        _toml.read_toml(tmp_path, ConfigurationError)  # a directory


def test_config_load_and_file_share_the_utf8_message(tmp_path: Path) -> None:
    path = Path(get_config_path("general"))
    path.parent.mkdir(parents=True)
    path.write_bytes(b"produce_timeout = 5 # \xff\n")
    with pytest.raises(ConfigurationError, match=r"not UTF-8 text \(byte \d+\)"):
        load_config()
    with pytest.raises(ConfigurationError, match=r"not UTF-8 text \(byte \d+\)"):
        Config.load(path.read_bytes())


def test_bad_auth_toml_is_a_credential_file_error(config_home: Path) -> None:
    path = Path(get_config_path("auth"))
    path.parent.mkdir(parents=True)
    path.write_text("[[auth]\n")
    path.chmod(0o600)
    with pytest.raises(CredentialFileError, match="is not valid TOML"):
        load_auth()


# -------------------------------------------------------------------------- the one writer


def test_writer_replaces_the_file_with_private_directories(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "file.toml"
    _toml.write_atomically(path, _toml.dumps({"x": 1}))
    assert path.read_text() == "x = 1\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["file.toml"]


def test_writer_with_a_wider_mode_and_ordinary_directories(tmp_path: Path) -> None:
    path = tmp_path / "c" / "file.toml"
    _toml.write_atomically(path, b"y = 2\n", 0o644, private_dirs=False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert path.read_bytes() == b"y = 2\n"


def test_configure_set_keeps_config_toml_readable_and_auth_toml_private(
    config_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    write_config_value("produce_timeout", "7")
    general = Path(get_config_path("general"))
    assert stat.S_IMODE(general.stat().st_mode) == 0o644
    assert load_config().produce_timeout is not None
    write_auth_data(get_config_path("auth"), [Auth("alice", SECRET)])
    assert stat.S_IMODE(Path(get_config_path("auth")).stat().st_mode) == 0o600
    assert SECRET not in caplog.text
