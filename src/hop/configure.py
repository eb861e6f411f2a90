"""Where hop keeps its files, and the general settings in ``config.toml``.

Two files live in hop's configuration directory, ``$XDG_CONFIG_HOME/hop/`` (or
``~/.config/hop/`` when ``XDG_CONFIG_HOME`` is unset):

- ``auth.toml``: stored credentials (see :mod:`hop.auth`);
- ``config.toml``: general settings, which streams use as defaults.

General settings live in the ``[config]`` table of ``config.toml`` (as hop-client 0.13
writes it; top-level keys, as earlier hop versions read them, still count, and ``[config]``
wins over them). An environment variable named ``HOP_`` + the key in upper case overrides
the file (``HOP_PRODUCE_TIMEOUT=5``). Only the keys in :data:`SETTINGS` are read; an unknown
key in the file is logged and ignored, and other ``HOP_*`` variables (which other tools use
too) are left alone, and an empty variable counts as unset. Booleans are written
``true/yes/on/1`` or ``false/no/off/0`` (any case) in variables and ``hop configure set``.

hop-client 0.13's own keys ``fetch_external`` and ``automatic_offload`` are accepted and
kept without a word, although hop neither fetches nor offloads messages.

Only options that ``Stream.open`` takes as plain keyword arguments are settings here. What a
``Stream`` is constructed with (``start_at``, ``until_eos``) or ``open`` names as a
parameter (``group_id``, ``ignoretest``) is not, since a file or a variable must never
silently override what a program wrote. An explicit keyword
argument to ``Stream.open`` always wins over both.

A new setting is a :class:`Setting` in :data:`SETTINGS` and a field of :class:`Config`
(a setting without a field still loads, and is read through the mapping view).
"""

from __future__ import annotations

import dataclasses
import functools
import io
import logging
import os
import stat
import typing
import warnings
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

import tomli_w

from . import _toml
from ._duration import to_seconds
from .errors import ConfigurationError

__all__ = [
    "ENV_PREFIX",
    "SETTINGS",
    "Config",
    "Setting",
    "SettingsError",
    "get_config_dir",
    "get_config_path",
    "load_config",
    "write_config_value",
]

logger = logging.getLogger(__name__)

#: Environment variables that override ``config.toml`` start with this.
ENV_PREFIX = "HOP_"

_FILE_NAMES = {"general": "config.toml", "auth": "auth.toml"}

#: The table of ``config.toml`` that holds the general settings.
_TABLE = "config"


class SettingsError(ConfigurationError, RuntimeError):
    """The general settings cannot be read or written: ``config.toml`` (or TOML given to
    ``Config.load``) is not valid TOML, a file to write to has no ``[config]`` table, or a
    ``HOP_*`` variable holds a bad value. A ``RuntimeError`` too, as what hop-client 0.13
    raised there (and a ``ConfigurationError``, as hop raised before)."""


# Top-level keys ``config.toml`` may hold that are not general settings: the settings
# table itself, and legacy credentials (``hop.auth`` reads and prunes those).
_NOT_SETTINGS = frozenset({"auth", _TABLE})


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
    try:
        seconds = to_seconds(value, text=True)
    except TypeError as exc:
        raise ValueError(str(exc)) from None
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


_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def _parse_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise ValueError("expected true/yes/on/1 or false/no/off/0")


def _parse_registry(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected an http:// or https:// URL")
    text = value.strip()
    if not text.lower().startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return text


def _parse_connect_timeout(value: object) -> timedelta:
    # 0 (wait forever) stays a value: None would read as "not given" and bring back 15 s.
    return timedelta(seconds=_seconds(value))


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
    parse: Callable[[object], object]
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
            "seconds a client (publish, subscribe, list-topics) waits for some broker to answer at "
            "all before it gives up "
            "(a broker that answered once is waited for as long as necessary); 0 waits "
            "forever; default 15 (a datetime.timedelta once loaded)",
        ),
        Setting(
            "schema_registry",
            _parse_registry,
            "the schema registry (https://[user:password@]host[:port]) that readers ask "
            "for the schemas of Confluent-framed Avro records such as Rubin's alerts; "
            "Stream(schema_registry=...) and --schema-registry win over it",
        ),
        Setting(
            "fetch_external",
            _parse_bool,
            "hop-client 0.13's switch for fetching messages offloaded to an archive; "
            "accepted and kept, but hop does not fetch them (true by default)",
        ),
        Setting(
            "automatic_offload",
            _parse_bool,
            "hop-client 0.13's switch for offloading large messages to an archive; "
            "accepted and kept, but hop does not offload (true by default)",
        ),
    )
}


def _read_toml(path: Path) -> dict[str, Any]:
    loaded = _toml.read_toml(path, SettingsError)
    return {} if loaded is None else loaded[0]


def _settings_from(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The parsed settings of a ``config.toml`` document: top-level keys, then ``[config]``."""
    table = data.get(_TABLE, {})
    if not isinstance(table, Mapping):
        raise ConfigurationError(f"{where}: {_TABLE!r} must be a table ([{_TABLE}])")
    top = {k: v for k, v in data.items() if k not in _NOT_SETTINGS}
    settings: dict[str, Any] = {}
    for key, value in [*top.items(), *table.items()]:
        setting = SETTINGS.get(key)
        if setting is None:
            logger.warning(
                "ignoring unknown setting %r in %s (known: %s)",
                key,
                where,
                ", ".join(sorted(SETTINGS)),
            )
            continue
        try:
            settings[key] = setting.parse(value)
        except ValueError as exc:
            raise ConfigurationError(f"{where}: bad value for {key!r}: {exc}") from None
    return settings


def _environment_settings() -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for setting in SETTINGS.values():
        text = os.environ.get(setting.env_var)
        if not text:  # an empty variable is commonly how a shell "unsets" one
            continue
        try:
            settings[setting.name] = setting.parse(text)
        except ValueError as exc:
            # As 0.13: the variable is named here, the value in the cause.
            cause = ValueError(f"bad value {text!r} for {setting.name}: {exc}")
            raise SettingsError(
                f"environment variable {setting.env_var} holds a bad value: {exc}"
            ) from cause
    return settings


def _toml_value(value: Any) -> Any:
    """A loaded setting value as TOML can hold it (a timedelta as seconds)."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        return int(seconds) if seconds.is_integer() else seconds
    return value


# What Config.load reads: TOML text, or a file opened for reading (text or binary).
_Source = str | bytes | IO[str] | IO[bytes]


class _ClassOrInstanceMethod:
    """``Config.load``: on the class it builds a new ``Config``, on one it updates that one.

    hop-client 0.13 code may call either form; both return the loaded ``Config``.
    """

    def __init__(self, func: Callable[[Config, _Source], Config]) -> None:
        self._func = func
        functools.update_wrapper(self, func)  # type: ignore[arg-type]

    def __get__(
        self, obj: Config | None, objtype: type[Config] | None = None
    ) -> Callable[[_Source], Config]:
        if obj is None:
            cls = objtype or Config

            @functools.wraps(self._func)
            def build(source: _Source) -> Config:
                return self._func(cls(), source)

            return build
        return functools.partial(self._func, obj)


#: hop's own settings: they are read through a ``Config``'s mapping view, and are not
#: dataclass fields (``dataclasses.fields(Config)`` is 0.13's two).
_HOP_SETTINGS = ("produce_timeout", "session_timeout", "connect_timeout")


@dataclass(init=False, repr=False, eq=False)
class Config:
    """hop's general settings, as ``config.toml`` and ``HOP_*`` variables give them.

    The dataclass fields are hop-client 0.13's, ``fetch_external`` and
    ``automatic_offload``: accepted and kept, without effect in hop (which neither fetches
    nor offloads messages). hop's own settings are attributes outside the fields, None
    when not given, so that whoever uses them keeps its own default.

    For code written against hop's earlier ``load_config`` (a dict of the settings given),
    a ``Config`` also reads as a mapping of hop's own settings that were given:
    ``config["produce_timeout"]``, ``"session_timeout" in config``, ``config.items()``.

    Attributes:
        fetch_external: 0.13's switch for fetching offloaded messages (no effect in hop).
        automatic_offload: 0.13's switch for offloading large messages (no effect in hop).
        produce_timeout: how long a written message may wait for the broker, or None.
        session_timeout: the consumer group session timeout, or None.
        connect_timeout: how long a client waits for a first answer from a broker, or None.
    """

    fetch_external: bool = True
    automatic_offload: bool = True

    def __init__(
        self,
        fetch_external: bool = True,
        automatic_offload: bool = True,
        *,
        produce_timeout: timedelta | None = None,
        session_timeout: timedelta | None = None,
        connect_timeout: timedelta | None = None,
    ) -> None:
        self.fetch_external = fetch_external
        self.automatic_offload = automatic_offload
        # hop's own settings that were given (connect_timeout too), by name.
        self._hop: dict[str, Any] = {}
        self.produce_timeout = produce_timeout
        self.session_timeout = session_timeout
        self.connect_timeout = connect_timeout

    @property
    def produce_timeout(self) -> timedelta | None:
        """How long a written message may wait for the broker, or None when not given."""
        value: timedelta | None = self._hop.get("produce_timeout")
        return value

    @produce_timeout.setter
    def produce_timeout(self, value: timedelta | None) -> None:
        self._set_hop("produce_timeout", value)

    @property
    def session_timeout(self) -> timedelta | None:
        """The consumer group session timeout, or None when not given."""
        value: timedelta | None = self._hop.get("session_timeout")
        return value

    @session_timeout.setter
    def session_timeout(self, value: timedelta | None) -> None:
        self._set_hop("session_timeout", value)

    @property
    def connect_timeout(self) -> timedelta | None:
        """How long a client waits for some broker to answer at all (zero: for ever), or
        None when not given."""
        value: timedelta | None = self._hop.get("connect_timeout")
        return value

    @connect_timeout.setter
    def connect_timeout(self, value: timedelta | None) -> None:
        self._set_hop("connect_timeout", value)

    def _set_hop(self, name: str, value: Any) -> None:
        if value is None:
            self._hop.pop(name, None)
        else:
            self._hop[name] = value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config):
            return NotImplemented
        return (self.fetch_external, self.automatic_offload, self._hop) == (
            other.fetch_external,
            other.automatic_offload,
            other._hop,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like any dataclass with eq

    def __repr__(self) -> str:
        parts = [f"fetch_external={self.fetch_external!r}"]
        parts.append(f"automatic_offload={self.automatic_offload!r}")
        parts += [f"{k}={v!r}" for k, v in self._hop.items()]
        return f"Config({', '.join(parts)})"

    # ------------------------------------------------------------------ 0.13 interface

    def asdict(self) -> dict[str, Any]:
        """Every setting by name, as loaded (timeouts as ``timedelta`` or None)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values.update({name: None for name in SETTINGS if name not in values})
        values.update(self._hop)
        return values

    def _update(self, settings: Mapping[str, Any]) -> None:
        names = {f.name for f in dataclasses.fields(self)}
        for key, value in settings.items():
            if key in names:
                setattr(self, key, value)
            else:
                self._set_hop(key, value)

    def _load(self, source: _Source) -> Config:
        """Read settings from TOML text or an open file (text or binary).

        The ``[config]`` table is read (top-level keys too, as earlier hop versions wrote
        them); settings not in the source keep their current values.

        Args:
            source: TOML text, or a file opened for reading.

        Returns:
            This ``Config`` (when called on the class, a new one).

        Raises:
            SettingsError: (a ``RuntimeError``) not valid TOML.
            ConfigurationError: (a ``ValueError``) a bad value; the message names the key
                and what was expected.
        """
        where = getattr(source, "name", None) or "configuration"
        text = source if isinstance(source, str | bytes) else source.read()
        data = _toml.parse_toml(text, str(where), SettingsError, chain=True)
        self._update(_settings_from(data, str(where)))
        return self

    if TYPE_CHECKING:
        # What the descriptor below does, spelt so that type checkers (and readers of the
        # signature) see no private type: callable on the class or on a Config.

        @classmethod
        def load(cls, source: object) -> Config:
            """Read settings from TOML text or an open file, text or binary (see ``_load``).

            ``source`` is typed ``object`` as 0.13 took anything there (code building it
            from a mapping of choices must still check).
            """
    else:
        load = _ClassOrInstanceMethod(_load)

    def save(self, file: IO[str] | IO[bytes] | str | os.PathLike[str]) -> None:
        """Write the settings as a ``[config]`` table of TOML.

        Settings that are None (not given) are left out.

        Args:
            file: an open file (text or binary), or a path to write (replaced).
        """
        document = {_TABLE: {k: _toml_value(v) for k, v in self.asdict().items() if v is not None}}
        text = tomli_w.dumps(document)
        if isinstance(file, str | os.PathLike):
            Path(file).write_text(text, encoding="utf-8")
        elif isinstance(file, io.TextIOBase) or "b" not in getattr(file, "mode", "b"):
            cast(IO[str], file).write(text)
        else:
            cast(IO[bytes], file).write(text.encode("utf-8"))

    # --------------------------------------------------------------------- mapping view
    # The values are Any on purpose: this view stands in for the dict of mixed values that
    # earlier versions returned, and callers index it by a key only known at run time.

    def _given(self) -> dict[str, Any]:
        return {k: v for k, v in self._hop.items() if v is not None}

    def __getitem__(self, key: str) -> Any:
        return self._given()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._given()

    def get(self, key: str, default: Any = None) -> Any:
        """The value of hop's own setting ``key`` when given, else ``default``."""
        return self._given().get(key, default)

    def keys(self) -> KeysView[str]:
        """The names of hop's own settings that were given."""
        return self._given().keys()

    def values(self) -> ValuesView[Any]:
        """The values of hop's own settings that were given."""
        return self._given().values()

    def items(self) -> ItemsView[str, Any]:
        """``(name, value)`` of hop's own settings that were given."""
        return self._given().items()

    def __iter__(self) -> Iterator[str]:
        return iter(self._given())


# The module's annotations are strings (``from __future__ import annotations``), and so
# would the fields' types be: give them their real types, as 0.13's have.
_FIELD_TYPES = typing.get_type_hints(Config)
for _field in dataclasses.fields(Config):
    _field.type = _FIELD_TYPES[_field.name]
del _field


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """The general settings: ``config.toml`` overridden by ``HOP_*`` environment variables.

    Args:
        path: the file to read; ``get_config_path("general")`` when None. A missing file
            is the same as an empty one; so is one that exists but cannot be opened, with
            a warning (``warnings.warn``).

    Returns:
        The settings. hop's own that were given nowhere are None (and absent from the
        mapping view), so callers keep their own default; ``produce_timeout`` and
        ``session_timeout`` are a ``timedelta``.

    Raises:
        SettingsError: (a ``RuntimeError``) the file is not valid TOML (the parser's error
            is the cause), or a ``HOP_*`` variable holds a bad value (the message names the
            variable; the cause, a ``ValueError``, the value).
        ConfigurationError: (a ``ValueError``) a value in the file does not parse; the
            message names the file and key and what was expected.
    """
    file = Path(path) if path is not None else Path(get_config_path("general"))
    config = Config()
    try:
        with file.open("rb") as opened:
            content: bytes | None = opened.read()
    except FileNotFoundError:
        content = None
    except OSError as exc:
        warnings.warn(
            f"cannot read {file} ({exc.strerror or exc}); using the default settings",
            stacklevel=2,
        )
        content = None
    if content is not None:
        data = _toml.parse_toml(content, str(file), SettingsError, chain=True)
        config._update(_settings_from(data, str(file)))
    config._update(_environment_settings())
    return config


def write_config_value(name: str, value: object) -> None:
    """Set one general setting in ``config.toml`` (``hop configure set``).

    The value is checked as when it is read; the file's other content stays (its comments
    and layout do not survive the rewrite), and so does its mode (0644 for a new file).

    Args:
        name: a key of :data:`SETTINGS`.
        value: the value, as text (``"5"``, ``"yes"``) or as loaded (a ``timedelta``, a bool).

    Raises:
        ConfigurationError: (a ``ValueError``) an unknown name or a bad value.
        SettingsError: (a ``RuntimeError``) the file exists and is not valid TOML or has no
            ``[config]`` table (hop writes only into that table, as 0.13 does); nothing is
            written.
    """
    setting = SETTINGS.get(name)
    if setting is None:
        raise ConfigurationError(f"unknown setting {name!r} (known: {', '.join(sorted(SETTINGS))})")
    try:
        parsed = setting.parse(value)
    except ValueError as exc:
        raise ConfigurationError(f"bad value for {name!r}: {exc}") from None
    path = Path(get_config_path("general"))
    loaded = _toml.read_toml(path, SettingsError)
    data: dict[str, Any] = {} if loaded is None else loaded[0]
    table = data.get(_TABLE) if loaded is not None else {}
    if not isinstance(table, dict):
        raise SettingsError(
            f"{path} has no [{_TABLE}] table, where hop writes settings; add a line "
            f"'[{_TABLE}]' to it (settings go below that line)"
        )
    data.pop(name, None)  # a top-level key from an older hop: [config] now says it
    table[name] = _toml_value(parsed)
    data[_TABLE] = table
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    # Not private: config.toml holds no secret (and its directory is made as mkdir would).
    _toml.write_atomically(path, _toml.dumps(data), mode, private_dirs=False)
    logger.info("set %s in %s", name, path)
