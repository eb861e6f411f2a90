"""Durations: the one reader of "a number of seconds" (a ``timedelta``, a number, or text
where the caller allows it). Each caller keeps its own limits and words for a value out of
range (zero allowed or not, a maximum); this module decides what counts as seconds."""

from __future__ import annotations

from datetime import timedelta

from .errors import ConfigurationError


def to_seconds(value: object, *, text: bool = False) -> float:
    """A duration as a number of seconds, sign and size unchecked.

    Args:
        value: a ``timedelta``, an int or a float (not a bool: ``True`` seconds is surely a
            mistake), or with ``text`` a string holding a number.
        text: whether a string is accepted.

    Raises:
        TypeError: the value is not a duration (or a string not holding a number).
    """
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool):
        raise TypeError("expected a number of seconds")
    if isinstance(value, int | float):
        return float(value)
    if text and isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise TypeError("expected a number of seconds") from None
    raise TypeError("expected a number of seconds")


def to_timedelta(value: timedelta | float | int, name: str) -> timedelta:
    """A duration option as a ``timedelta``.

    Args:
        value: a ``timedelta`` or a number of seconds (not a bool).
        name: the option's name, for the error message.

    Raises:
        ConfigurationError: not a duration, or negative.
    """
    try:
        seconds = to_seconds(value)
    except TypeError:
        raise ConfigurationError(f"{name} must be a timedelta or a number of seconds") from None
    result = value if isinstance(value, timedelta) else timedelta(seconds=seconds)
    if result < timedelta(0):
        raise ConfigurationError(f"{name} must not be negative")
    return result
