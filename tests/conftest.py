"""Fixtures shared by both tiers: a private configuration home."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private XDG_CONFIG_HOME (returned) and HOME, and no HOP_* settings from outside.

    Test modules about credentials and settings use it for every test, so that nothing
    reads or writes the real ``~/.config/hop``.
    """
    from hop.configure import SETTINGS

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for setting in SETTINGS.values():
        monkeypatch.delenv(setting.env_var, raising=False)
    return tmp_path / "xdg"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests that use the broker are marked, so `make unit` can run only the fast tier.
    for item in items:
        if "broker" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.broker)
