"""Unit tests for ``hop.configure``: file locations and general settings."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hop.configure import SETTINGS, Config, get_config_dir, get_config_path, load_config
from hop.errors import ConfigurationError

# Every test gets a private configuration folder (the fixture is in conftest.py).
pytestmark = pytest.mark.usefixtures("config_home")


def given(config: Config) -> dict[str, Any]:
    """hop's own settings that were given (the mapping view), as a plain dict."""
    return dict(config.items())


def general_file(text: str) -> Path:
    path = Path(get_config_path("general"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_paths_under_xdg_config_home(config_home: Path) -> None:
    assert get_config_dir() == str(config_home / "hop")
    assert get_config_path() == str(config_home / "hop" / "config.toml")
    assert get_config_path("general") == str(config_home / "hop" / "config.toml")
    assert get_config_path("auth") == str(config_home / "hop" / "auth.toml")


@pytest.mark.parametrize("xdg", [None, ""])
def test_paths_under_home_without_xdg(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, xdg: str | None
) -> None:
    if xdg is None:
        monkeypatch.delenv("XDG_CONFIG_HOME")
    else:
        monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
    base = tmp_path / "home" / ".config" / "hop"
    assert get_config_path("general") == str(base / "config.toml")
    assert get_config_path("auth") == str(base / "auth.toml")


@pytest.mark.parametrize("kind", ["credentials", "", "AUTH", None])
def test_unknown_path_type_is_a_value_error(kind: str) -> None:
    with pytest.raises(ValueError, match="'general' or 'auth'"):
        get_config_path(kind)


def test_missing_file_is_empty() -> None:
    assert given(load_config()) == {}


def test_settings_from_the_file() -> None:
    general_file("produce_timeout = 2.5\nsession_timeout = 6\n")
    assert given(load_config()) == {
        "produce_timeout": timedelta(seconds=2.5),
        "session_timeout": timedelta(seconds=6),
    }


def test_explicit_file(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text("produce_timeout = 0\n")
    assert given(load_config(path)) == {"produce_timeout": timedelta(0)}
    assert given(load_config(str(path))) == {"produce_timeout": timedelta(0)}


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    general_file("produce_timeout = 10\nsession_timeout = 6\n")
    monkeypatch.setenv("HOP_PRODUCE_TIMEOUT", "5")
    assert given(load_config()) == {
        "produce_timeout": timedelta(seconds=5),
        "session_timeout": timedelta(seconds=6),
    }


def test_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOP_SESSION_TIMEOUT", " 7.5 ")
    assert given(load_config()) == {"session_timeout": timedelta(seconds=7.5)}


def test_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    general_file("produce_timeout = 3\n")
    monkeypatch.setenv("HOP_PRODUCE_TIMEOUT", "")
    assert given(load_config()) == {"produce_timeout": timedelta(seconds=3)}


def test_other_hop_variables_are_not_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOP_BROKER_LOG", "debug")
    monkeypatch.setenv("HOP_SOMETHING_ELSE", "1")
    assert given(load_config()) == {}


@pytest.mark.parametrize(
    ("variable", "text", "expected"),
    [
        ("HOP_PRODUCE_TIMEOUT", "soon", "number of seconds"),
        ("HOP_PRODUCE_TIMEOUT", "-1", "zero or more"),
        ("HOP_PRODUCE_TIMEOUT", "inf", "zero or more"),
        ("HOP_SESSION_TIMEOUT", "0", "above zero"),
        ("HOP_PRODUCE_TIMEOUT", "1e300", "at most"),
        ("HOP_PRODUCE_TIMEOUT", "2147484", "at most"),
        ("HOP_SESSION_TIMEOUT", "1e300", "at most"),
        ("HOP_SESSION_TIMEOUT", "3601", "at most"),
    ],
)
def test_bad_variable_names_itself(
    monkeypatch: pytest.MonkeyPatch, variable: str, text: str, expected: str
) -> None:
    monkeypatch.setenv(variable, text)
    with pytest.raises(ConfigurationError) as caught:
        load_config()
    assert isinstance(caught.value, ValueError)
    assert variable in str(caught.value)
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('produce_timeout = "later"', "'produce_timeout'"),
        ("produce_timeout = true", "'produce_timeout'"),
        ("produce_timeout = [1]", "'produce_timeout'"),
        ("session_timeout = 0", "'session_timeout'"),
        ("produce_timeout = 1e300", "'produce_timeout'"),
        ("session_timeout = inf", "'session_timeout'"),
    ],
)
def test_bad_file_value_names_file_and_key(text: str, key: str) -> None:
    path = general_file(text + "\n")
    with pytest.raises(ConfigurationError) as caught:
        load_config()
    assert str(path) in str(caught.value)
    assert key in str(caught.value)


def test_largest_values_librdkafka_takes() -> None:
    general_file("produce_timeout = 2147483.647\nsession_timeout = 3600\n")
    assert given(load_config()) == {
        "produce_timeout": timedelta(seconds=2147483.647),
        "session_timeout": timedelta(hours=1),
    }


def test_file_that_is_not_utf8() -> None:
    path = general_file("")
    path.write_bytes(b"produce_timeout = 1 # \xff\n")
    with pytest.raises(ConfigurationError, match="not UTF-8") as caught:
        load_config()
    assert str(path) in str(caught.value)


def test_invalid_toml() -> None:
    path = general_file("produce_timeout = = 3\n")
    with pytest.raises(ConfigurationError, match="not valid TOML") as caught:
        load_config()
    assert str(path) in str(caught.value)


def test_unknown_key_is_logged_and_ignored(caplog: pytest.LogCaptureFixture) -> None:
    general_file('colour = "blue"\nproduce_timeout = 1\n')
    with caplog.at_level(logging.WARNING, logger="hop"):
        assert given(load_config()) == {"produce_timeout": timedelta(seconds=1)}
    assert "'colour'" in caplog.text
    assert "produce_timeout" in caplog.text  # the known keys are listed


def test_legacy_credentials_are_not_settings(caplog: pytest.LogCaptureFixture) -> None:
    general_file('produce_timeout = 1\n[[auth]]\nusername = "a"\npassword = "secret-pw"\n')
    with caplog.at_level(logging.DEBUG, logger="hop"):
        assert given(load_config()) == {"produce_timeout": timedelta(seconds=1)}
    assert "secret-pw" not in caplog.text
    assert caplog.records == []


def test_every_setting_has_help_and_a_variable() -> None:
    for name, setting in SETTINGS.items():
        assert setting.name == name
        assert setting.help
        assert setting.env_var == "HOP_" + name.upper()
