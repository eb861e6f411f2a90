"""Issue 23 item 5: ``Config`` as docs/auth.md describes it: ``asdict()`` gives every
setting, and every timeout loads as a ``timedelta``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hop import configure
from hop.configure import Config, load_config


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in configure.SETTINGS:
        monkeypatch.delenv(f"HOP_{name.upper()}", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    return tmp_path


def test_asdict_gives_every_setting_even_unset(config_home: Path) -> None:
    assert set(load_config().asdict()) == set(configure.SETTINGS)
    assert set(Config().asdict()) == set(configure.SETTINGS)
    assert Config().asdict()["connect_timeout"] is None


def test_every_timeout_loads_as_a_timedelta(
    config_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config_home / "hop" / "config.toml"
    path.parent.mkdir()
    path.write_text("[config]\nproduce_timeout = 3\nsession_timeout = 6\nconnect_timeout = 4\n")
    config = load_config()
    assert config.connect_timeout == timedelta(seconds=4)
    for name in ("produce_timeout", "session_timeout", "connect_timeout"):
        assert isinstance(config.asdict()[name], timedelta), name
    monkeypatch.setenv("HOP_CONNECT_TIMEOUT", "0")
    assert load_config().asdict()["connect_timeout"] == timedelta(0)  # given: waits forever
    assert Config(connect_timeout=timedelta(seconds=2)).connect_timeout == timedelta(seconds=2)
