"""``hop.configure`` as hop-client 0.13 uses it: ``Config``, the ``[config]`` table,
booleans, ``write_config_value``, and the ``hop configure`` command (in process)."""

from __future__ import annotations

import io
import logging
import stat
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from hop.cli import main
from hop.configure import Config, get_config_path, load_config, write_config_value
from hop.errors import ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

pytestmark = pytest.mark.usefixtures("config_home")

SECRET = "s3cr3t-Pa55word"


def general_file(text: str, mode: int = 0o644) -> Path:
    path = Path(get_config_path("general"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


# ------------------------------------------------------------------------------ Config


def test_defaults() -> None:
    config = Config()
    assert config.fetch_external is True
    assert config.automatic_offload is True
    assert config.produce_timeout is None and config.session_timeout is None
    assert config.asdict() == {
        "fetch_external": True,
        "automatic_offload": True,
        "produce_timeout": None,
        "session_timeout": None,
        "connect_timeout": None,
        "schema_registry": None,
    }


def test_load_on_the_class_builds_a_new_config() -> None:
    config = Config.load("[config]\nfetch_external = false\nproduce_timeout = 2.5\n")
    assert config == Config(fetch_external=False, produce_timeout=timedelta(seconds=2.5))


def test_load_on_an_instance_updates_it() -> None:
    config = Config(automatic_offload=False)
    assert config.load("[config]\nsession_timeout = 6\n") is config
    assert config == Config(automatic_offload=False, session_timeout=timedelta(seconds=6))


@pytest.mark.parametrize("kind", ["str", "bytes", "text file", "binary file"])
def test_load_from_text_or_file(kind: str) -> None:
    text = "[config]\nautomatic_offload = false\n"
    source: object = {
        "str": text,
        "bytes": text.encode(),
        "text file": io.StringIO(text),
        "binary file": io.BytesIO(text.encode()),
    }[kind]
    assert Config.load(source) == Config(automatic_offload=False)


@pytest.mark.parametrize("kind", ["text", "binary", "path"])
def test_save_then_load_round_trips(tmp_path: Path, kind: str) -> None:
    config = Config(
        fetch_external=False,
        produce_timeout=timedelta(seconds=1.5),
        session_timeout=timedelta(seconds=10),
    )
    if kind == "text":
        with open(tmp_path / "c.toml", "w") as text_file:
            config.save(text_file)
    elif kind == "binary":
        with open(tmp_path / "c.toml", "wb") as binary_file:
            config.save(binary_file)
    else:
        config.save(tmp_path / "c.toml")
    written = (tmp_path / "c.toml").read_text()
    assert tomllib.loads(written) == {
        "config": {
            "fetch_external": False,
            "automatic_offload": True,
            "produce_timeout": 1.5,
            "session_timeout": 10,
        }
    }
    with open(tmp_path / "c.toml", "rb") as file:
        assert Config.load(file) == config


def test_bad_value_in_load_names_the_key() -> None:
    with pytest.raises(ConfigurationError, match="'fetch_external'"):
        Config.load('[config]\nfetch_external = "maybe"\n')


def test_mapping_view_holds_only_hop_settings_that_were_given() -> None:
    config = Config(fetch_external=False, produce_timeout=timedelta(seconds=3))
    assert dict(config.items()) == {"produce_timeout": timedelta(seconds=3)}
    assert config["produce_timeout"] == timedelta(seconds=3)
    assert "produce_timeout" in config and "session_timeout" not in config
    assert config.get("session_timeout", 9) == 9
    assert list(config.keys()) == ["produce_timeout"] == list(config)
    assert bool(Config()) is True  # a config is never falsy, even with nothing given


# ------------------------------------------------------------------- load_config


def test_config_table_is_read() -> None:
    general_file("[config]\nproduce_timeout = 4\nfetch_external = false\n")
    config = load_config()
    assert config.produce_timeout == timedelta(seconds=4)
    assert config.fetch_external is False


def test_top_level_keys_still_count_and_the_table_wins() -> None:
    general_file("produce_timeout = 4\nsession_timeout = 8\n[config]\nproduce_timeout = 5\n")
    config = load_config()
    assert config.produce_timeout == timedelta(seconds=5)
    assert config.session_timeout == timedelta(seconds=8)


def test_path_argument(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text("[config]\nautomatic_offload = false\n")
    assert load_config(path=path).automatic_offload is False
    assert load_config(str(path)).automatic_offload is False


def test_0_13_keys_are_accepted_silently(caplog: pytest.LogCaptureFixture) -> None:
    general_file("[config]\nfetch_external = true\nautomatic_offload = false\n")
    with caplog.at_level(logging.DEBUG, logger="hop"):
        load_config()
    assert caplog.records == []


def test_unknown_key_in_the_table_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    general_file('[config]\ncolour = "blue"\n')
    with caplog.at_level(logging.WARNING, logger="hop"):
        assert load_config() == Config()
    assert "'colour'" in caplog.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *((word, True) for word in ("true", "YES", "On", "1", " yes ")),
        *((word, False) for word in ("false", "No", "OFF", "0")),
    ],
)
def test_booleans_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, text: str, expected: bool
) -> None:
    general_file(f"[config]\nfetch_external = {str(not expected).lower()}\n")
    monkeypatch.setenv("HOP_FETCH_EXTERNAL", text)
    monkeypatch.setenv("HOP_AUTOMATIC_OFFLOAD", text)
    config = load_config()
    assert config.fetch_external is expected
    assert config.automatic_offload is expected


def test_boolean_words_in_the_file() -> None:
    general_file('[config]\nfetch_external = "off"\nautomatic_offload = "yes"\n')
    config = load_config()
    assert (config.fetch_external, config.automatic_offload) == (False, True)


@pytest.mark.parametrize("text", ["maybe", "2", "tru"])
def test_bad_boolean_names_the_variable(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("HOP_AUTOMATIC_OFFLOAD", text)
    with pytest.raises(ConfigurationError) as caught:
        load_config()
    assert "HOP_AUTOMATIC_OFFLOAD" in str(caught.value)
    assert "true/yes/on/1" in str(caught.value)


def test_environment_overrides_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    general_file("[config]\nproduce_timeout = 10\n")
    monkeypatch.setenv("HOP_PRODUCE_TIMEOUT", "2")
    assert load_config().produce_timeout == timedelta(seconds=2)


def test_config_table_of_the_wrong_type() -> None:
    path = general_file("config = 3\n")
    with pytest.raises(ConfigurationError, match=r"\[config\]") as caught:
        load_config()
    assert str(path) in str(caught.value)


# -------------------------------------------------------------- write_config_value


def test_write_creates_the_config_table() -> None:
    write_config_value("produce_timeout", "7.5")
    path = Path(get_config_path("general"))
    assert tomllib.loads(path.read_text()) == {"config": {"produce_timeout": 7.5}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert load_config().produce_timeout == timedelta(seconds=7.5)


def test_write_keeps_the_rest_of_the_file_and_its_mode() -> None:
    path = general_file(
        f'session_timeout = 6\n[config]\nfetch_external = false\n\n[[auth]]\nusername = "a"\n'
        f'password = "{SECRET}"\n',
        mode=0o600,
    )
    write_config_value("session_timeout", 12)
    write_config_value("automatic_offload", "no")
    data = tomllib.loads(path.read_text())
    assert data["config"] == {
        "fetch_external": False,
        "session_timeout": 12,
        "automatic_offload": False,
    }
    assert "session_timeout" not in data  # the old top-level key gave way to [config]
    assert data["auth"] == [{"username": "a", "password": SECRET}]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("colour", "blue", "unknown setting 'colour'"),
        ("session_timeout", "0", "above zero"),
        ("fetch_external", "perhaps", "true/yes/on/1"),
    ],
)
def test_write_refuses_and_writes_nothing(name: str, value: str, complaint: str) -> None:
    path = general_file("[config]\nproduce_timeout = 1\n")
    before = path.read_bytes()
    with pytest.raises(ConfigurationError, match=complaint):
        write_config_value(name, value)
    assert path.read_bytes() == before


# ------------------------------------------------------------------- hop configure


def test_cli_locate(capsys: pytest.CaptureFixture[str], config_home: Path) -> None:
    assert main(["configure", "locate"]) == 0
    assert capsys.readouterr().out.strip() == str(config_home / "hop" / "config.toml")
    assert main(["configure", "locate", "-t", "auth"]) == 0
    assert capsys.readouterr().out.strip() == str(config_home / "hop" / "auth.toml")
    assert main(["configure", "locate", "--type", "general"]) == 0
    assert capsys.readouterr().out.strip() == str(config_home / "hop" / "config.toml")


def test_cli_set_then_show(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["configure", "set", "produce_timeout", "30"]) == 0
    assert main(["configure", "set", "fetch_external", "off"]) == 0
    monkeypatch.setenv("HOP_SESSION_TIMEOUT", "6")
    capsys.readouterr()
    assert main(["configure", "show"]) == 0
    out = capsys.readouterr().out
    shown = tomllib.loads(out)["config"]
    assert shown == {
        "produce_timeout": 30,
        "session_timeout": 6,
        "fetch_external": False,
        "automatic_offload": True,
    }


def test_cli_show_marks_unset_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["configure", "show"]) == 0
    out = capsys.readouterr().out
    assert "# produce_timeout is not set" in out
    assert tomllib.loads(out)["config"] == {"fetch_external": True, "automatic_offload": True}


def test_cli_set_bad_value_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["configure", "set", "produce_timeout", "soon"]) == 1
    err = capsys.readouterr().err
    assert "number of seconds" in err and "Traceback" not in err
    assert not Path(get_config_path("general")).exists()
