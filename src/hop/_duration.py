"""Durations as hop's options take them: a ``timedelta`` or a number of seconds."""

from __future__ import annotations

from datetime import timedelta

from .errors import ConfigurationError


def to_timedelta(value: timedelta | float | int, name: str) -> timedelta:
    """A duration option as a ``timedelta``.

    Args:
        value: a ``timedelta`` or a number of seconds (not a bool).
        name: the option's name, for the error message.

    Raises:
        ConfigurationError: not a duration, or negative.
    """
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        result = timedelta(seconds=value)
    else:
        raise ConfigurationError(f"{name} must be a timedelta or a number of seconds")
    if result < timedelta(0):
        raise ConfigurationError(f"{name} must not be negative")
    return result
