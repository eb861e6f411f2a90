"""``hop auth`` and ``hop configure`` as the installed ``hop`` in a subprocess: output,
exit status, and the files left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HOP = str(Path(sys.executable).with_name("hop"))
SECRET = "s3cr3t-Pa55word"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A user with no configuration at all."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOP_")}
    return dict(clean, XDG_CONFIG_HOME=str(tmp_path / "xdg"), HOME=str(tmp_path / "home"))


def hop(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HOP, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_auth_list_without_credentials_says_where_they_would_be(
    env: dict[str, str], tmp_path: Path
) -> None:
    done = hop(env, "auth", "list")
    assert done.returncode == 0, done.stderr
    assert "No credentials" in done.stdout
    assert str(tmp_path / "xdg" / "hop" / "auth.toml") in done.stdout
    assert done.stderr == ""


def test_auth_add_conflict_exits_0_and_changes_nothing(env: dict[str, str], tmp_path: Path) -> None:
    first, second = tmp_path / "1.csv", tmp_path / "2.csv"
    first.write_text(f"username,password,hostname\nalice,{SECRET},kafka.example.org\n")
    second.write_text("username,password,hostname\nalice,other-pw,kafka.example.org\n")
    assert hop(env, "auth", "add", str(first)).returncode == 0
    stored = (tmp_path / "xdg" / "hop" / "auth.toml").read_bytes()
    done = hop(env, "auth", "add", str(second))
    assert done.returncode == 0
    assert "--force" in done.stderr
    assert SECRET not in done.stderr and "other-pw" not in done.stderr
    assert (tmp_path / "xdg" / "hop" / "auth.toml").read_bytes() == stored


def test_configure_locate_set_show(env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "xdg" / "hop" / "config.toml"
    assert hop(env, "configure", "locate").stdout.strip() == str(config)
    assert hop(env, "configure", "locate", "-t", "auth").stdout.strip() == str(
        config.with_name("auth.toml")
    )
    assert hop(env, "configure", "set", "automatic_offload", "off").returncode == 0
    assert hop(env, "configure", "set", "produce_timeout", "12").returncode == 0
    assert "[config]" in config.read_text()
    shown = hop({**env, "HOP_FETCH_EXTERNAL": "no"}, "configure", "show")
    assert shown.returncode == 0
    lines = shown.stdout.splitlines()
    assert "automatic_offload = false" in lines
    assert "fetch_external = false" in lines
    assert "produce_timeout = 12" in lines
    bad = hop(env, "configure", "set", "produce_timeout", "-3")
    assert bad.returncode == 1
    assert bad.stderr.startswith("hop configure: error:") and "Traceback" not in bad.stderr
