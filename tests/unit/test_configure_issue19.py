"""``hop.configure`` behaviours of hop-client 0.13 that issue 19 lists (items 9 to 12)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from hop.cli import main
from hop.configure import Config, get_config_path, load_config, write_config_value
from hop.errors import ConfigurationError, HopError

pytestmark = pytest.mark.usefixtures("config_home")


def general_file(text: str, mode: int = 0o644) -> Path:
    path = Path(get_config_path("general"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


# --------------------------------------------------------------------------- item 9


@pytest.mark.parametrize("text", ["[config\n", "x = = 1\n", b"\xff = 1\n"])
def test_item9_load_of_text_that_is_not_toml_is_a_runtime_error(text: str | bytes) -> None:
    with pytest.raises(RuntimeError) as caught:
        Config.load(text)
    assert isinstance(caught.value, HopError)


def test_item9_fields_are_exactly_the_two_booleans() -> None:
    fields = dataclasses.fields(Config)
    assert [(f.name, f.type, f.default) for f in fields] == [
        ("fetch_external", bool, True),
        ("automatic_offload", bool, True),
    ]
    assert dataclasses.asdict(Config()) == {"fetch_external": True, "automatic_offload": True}


def test_item9_hop_settings_still_load_and_compare() -> None:
    config = Config.load("[config]\nproduce_timeout = 2.5\nfetch_external = false\n")
    assert config.produce_timeout == timedelta(seconds=2.5)
    assert config == Config(fetch_external=False, produce_timeout=timedelta(seconds=2.5))
    assert config != Config(fetch_external=False)
    assert config["produce_timeout"] == timedelta(seconds=2.5)


# -------------------------------------------------------------------------- item 10


def test_item10_a_file_that_cannot_be_opened_warns_and_gives_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = Path(get_config_path("general"))
    path.mkdir(parents=True)  # exists, but opening it fails (even for root)
    monkeypatch.setenv("HOP_AUTOMATIC_OFFLOAD", "no")
    with pytest.warns(UserWarning, match=str(path)):
        config = load_config()
    assert config.fetch_external is True
    assert config.automatic_offload is False  # HOP_* still applies
    assert config.produce_timeout is None


def test_item10_content_that_cannot_be_parsed_is_a_chained_runtime_error() -> None:
    path = general_file("[config]\nproduce_timeout = \n")
    with pytest.raises(RuntimeError) as caught:
        load_config()
    assert str(path) in str(caught.value)
    assert caught.value.__cause__ is not None
    assert type(caught.value.__cause__).__name__ == "TOMLDecodeError"


# -------------------------------------------------------------------------- item 11


@pytest.mark.parametrize(
    ("variable", "value"),
    [("HOP_FETCH_EXTERNAL", "elk"), ("HOP_PRODUCE_TIMEOUT", "soon")],
)
def test_item11_bad_variable_is_a_runtime_error_caused_by_a_value_error(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(RuntimeError, match=variable) as caught:
        load_config()
    assert isinstance(caught.value, ConfigurationError)  # hop's own name still works
    cause = caught.value.__cause__
    assert type(cause) is ValueError
    assert value in str(cause)


# -------------------------------------------------------------------------- item 12


@pytest.mark.parametrize(
    "text",
    ["produce_timeout = 5\n", "", "[other]\nx = 1\n", "[config\n"],
    ids=["top-level-only", "empty", "other-table", "invalid"],
)
def test_item12_write_to_a_file_without_a_config_table_is_a_runtime_error(text: str) -> None:
    path = general_file(text)
    with pytest.raises(RuntimeError) as caught:
        write_config_value("fetch_external", "false")
    assert str(path) in str(caught.value)
    assert path.read_text() == text  # nothing written


def test_item12_write_still_creates_a_missing_file() -> None:
    write_config_value("fetch_external", "false")
    assert load_config().fetch_external is False


def test_item12_cli_set_on_a_file_without_the_table_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    general_file("produce_timeout = 5\n")
    assert main(["configure", "set", "fetch_external", "no"]) == 1
    err = capsys.readouterr().err
    assert "[config]" in err and "Traceback" not in err
