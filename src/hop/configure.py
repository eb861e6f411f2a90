"""Where hop keeps its files, and the general settings in ``config.toml``.

Two files live in hop's configuration directory, ``$XDG_CONFIG_HOME/hop/`` (or
``~/.config/hop/`` when ``XDG_CONFIG_HOME`` is unset):

- ``auth.toml``: stored credentials (see :mod:`hop.auth`);
- ``config.toml``: general settings, which streams use as defaults.

General settings are top-level keys of ``config.toml``; an environment variable named
``HOP_`` + the key in upper case overrides the file (``HOP_PRODUCE_TIMEOUT=5``). Only the
keys in :data:`SETTINGS` are read; an unknown key in the file is logged and ignored, and
other ``HOP_*`` variables (which other tools use too) are left alone, and an empty variable
counts as unset.

Only options that ``Stream.open`` takes as plain keyword arguments are settings here. What a
``Stream`` is constructed with (``start_at``, ``until_eos``) or ``open`` names as a
parameter (``group_id``, ``ignoretest``) is not, since a file or a variable must never
silently override what a program wrote. An explicit keyword
argument to ``Stream.open`` always wins over both.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from .errors import ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "ENV_PREFIX",
    "SETTINGS",
    "Setting",
    "get_config_dir",
    "get_config_path",
    "load_config",
]

logger = logging.getLogger(__name__)

#: Environment variables that override ``config.toml`` start with this.
ENV_PREFIX = "HOP_"

_FILE_NAMES = {"general": "config.toml", "auth": "auth.toml"}

# Keys an old ``config.toml`` may hold that are not general settings: legacy credentials,
# which ``hop.auth.prune_outdated_auth`` deals with.
_NOT_SETTINGS = frozenset({"auth"})


def get_config_dir() -> str:
    """hop's configuration directory.

    Returns:
        ``$XDG_CONFIG_HOME/hop``, or ``~/.config/hop`` when ``XDG_CONFIG_HOME`` is unset or
        empty. The directory may not exist yet.
    """
    base = os.environ.get("XDG_CONFIG_HOME")
    root = Path(base) if base else Path.home() / ".config"
    return str(root / "hop")


def get_config_path(type: str = "general") -> str:
    """The path of one of hop's configuration files.

    Args:
        type: ``"general"`` for ``config.toml``, ``"auth"`` for ``auth.toml``.

    Returns:
        The file's path (it may not exist yet).

    Raises:
        ValueError: for any other ``type``.
    """
    try:
        name = _FILE_NAMES[type]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown configuration type {type!r}: expected 'general' or 'auth'"
        ) from None
    return str(Path(get_config_dir()) / name)


# ---------------------------------------------------------------------------- parsing values


# librdkafka's own limits for the settings these become (message.timeout.ms and
# session.timeout.ms): a larger value would only fail later, when a stream is opened,
# with a message naming a librdkafka property rather than this setting.
_MAX_PRODUCE_TIMEOUT = 2_147_483.647
_MAX_SESSION_TIMEOUT = 3_600.0


def _seconds(value: object) -> float:
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, bool):  # bool is an int; True seconds is surely a mistake
        raise ValueError("expected a number of seconds")
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value.strip())
        except ValueError:
            raise ValueError("expected a number of seconds") from None
    else:
        raise ValueError("expected a number of seconds")
    if seconds != seconds or seconds < 0:
        raise ValueError("expected a number of seconds, zero or more")
    return seconds


def _parse_produce_timeout(value: object) -> timedelta:
    seconds = _seconds(value)
    if seconds > _MAX_PRODUCE_TIMEOUT:
        raise ValueError(
            f"expected a number of seconds, zero or more, at most {_MAX_PRODUCE_TIMEOUT:g} "
            "(0 waits forever)"
        )
    return timedelta(seconds=seconds)


def _parse_session_timeout(value: object) -> timedelta:
    seconds = _seconds(value)
    if not 0 < seconds <= _MAX_SESSION_TIMEOUT:
        raise ValueError(
            f"expected a number of seconds above zero, at most {_MAX_SESSION_TIMEOUT:g}"
        )
    return timedelta(seconds=seconds)


def _parse_connect_timeout(value: object) -> float | None:
    seconds = _seconds(value)
    return None if seconds == 0 else seconds


@dataclass(frozen=True)
class Setting:
    """One general setting that ``config.toml`` and ``HOP_*`` variables may give.

    Attributes:
        name: the key in ``config.toml`` (and, upper-cased after ``HOP_``, the variable).
        parse: turns a TOML value or an environment string into the setting's value;
            raises ``ValueError`` saying what was expected.
        help: what the setting does, for the documentation and error messages.
    """

    name: str
    parse: Callable[[object], Any]
    help: str

    @property
    def env_var(self) -> str:
        """The environment variable that overrides this setting."""
        return ENV_PREFIX + self.name.upper()


#: Every general setting, by key. ``load_config`` returns only these keys.
SETTINGS: Mapping[str, Setting] = {
    s.name: s
    for s in (
        Setting(
            "produce_timeout",
            _parse_produce_timeout,
            "seconds a written message may wait for the broker's acknowledgement before it "
            "counts as failed; 0 waits forever, at most 2147483.647 (a datetime.timedelta "
            "once loaded)",
        ),
        Setting(
            "session_timeout",
            _parse_session_timeout,
            "seconds a consumer group waits for a silent member before handing its "
            "partitions to others; above 0, at most 3600 (a datetime.timedelta once loaded)",
        ),
        Setting(
            "connect_timeout",
            _parse_connect_timeout,
            "seconds a producer waits for some broker to answer at all before it gives up "
            "(a broker that answered once is waited for as long as necessary); 0 waits "
            "forever (None once loaded); default 15",
        ),
    )
}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            data: dict[str, Any] = tomllib.load(file)
            return data
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path} is not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:  # TOML is UTF-8; tomllib leaves this to the codec
        raise ConfigurationError(f"{path} is not valid TOML: not UTF-8 text ({exc})") from exc
    except OSError as exc:
        raise ConfigurationError(f"cannot read {path}: {exc.strerror or exc}") from exc


def load_config(config_file: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The general settings: ``config.toml`` overridden by ``HOP_*`` environment variables.

    Args:
        config_file: the file to read; ``get_config_path("general")`` when None. A missing
            file is the same as an empty one.

    Returns:
        The settings that were given, by key (a subset of :data:`SETTINGS`), parsed (both
        ``produce_timeout`` and ``session_timeout`` become a ``timedelta``). A setting given
        nowhere is absent, so callers keep their own default.

    Raises:
        ConfigurationError: (a ``ValueError``) when the file is not valid TOML or a value
            does not parse; the message names the file or variable and what was expected.
    """
    path = Path(config_file) if config_file is not None else Path(get_config_path("general"))
    raw = _read_toml(path)
    config: dict[str, Any] = {}
    for key, value in raw.items():
        setting = SETTINGS.get(key)
        if setting is None:
            if key not in _NOT_SETTINGS:
                logger.warning(
                    "ignoring unknown setting %r in %s (known: %s)",
                    key,
                    path,
                    ", ".join(sorted(SETTINGS)),
                )
            continue
        try:
            config[key] = setting.parse(value)
        except ValueError as exc:
            raise ConfigurationError(f"{path}: bad value for {key!r}: {exc}") from None
    for setting in SETTINGS.values():
        text = os.environ.get(setting.env_var)
        if not text:  # an empty variable is commonly how a shell "unsets" one
            continue
        try:
            config[setting.name] = setting.parse(text)
        except ValueError as exc:
            raise ConfigurationError(
                f"environment variable {setting.env_var}={text!r}: {exc}"
            ) from None
    return config
