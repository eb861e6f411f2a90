"""Standard (RFC 8259) JSON at the command line's edges: ``hop subscribe -j`` writes it and
``hop publish -f JSON`` insists on it.

Python's json module reads and writes ``NaN``, ``Infinity`` and ``-Infinity``, which JSON
does not have (jq, JavaScript's ``JSON.parse`` and most parsers refuse them, or turn them into
null without a word). A message may still hold them: hop's library sends what it is given.
"""

from __future__ import annotations

import json
import math
from typing import Any

#: How ``-j`` writes a number JSON cannot hold: as the string Python and JavaScript spell it
#: with (``float(text)`` reads it back).
NON_FINITE_TEXT = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _spelling(number: float) -> str:
    return NON_FINITE_TEXT[repr(number)]


def finite(value: Any) -> Any:
    """``value`` with every NaN and infinite float (in lists, tuples and dicts, keys too,
    however deep) replaced by the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``.

    Containers are copied; call it only for a value that holds such a number.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else _spelling(value)
    if isinstance(value, dict):
        return {finite(key): finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def first_non_finite(value: Any) -> tuple[str, str] | None:
    """Where the first NaN or infinite number in ``value`` is, and how it is spelled:
    ``(".alert.ra", "NaN")``, ``("[2]", "Infinity")``; None when there is none.

    The path is jq's: ``.key`` (``["odd key"]`` when the key is not a plain name, ``.[...]``
    first), ``[n]`` for the n-th item of an array, ``.`` for the value itself.
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return path or ".", _spelling(item)
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                name = str(key)
                if name.isidentifier():
                    step = f".{name}"
                else:
                    step = f"{'' if path else '.'}[{json.dumps(name)}]"
                stack.append((path + step, child))
        elif isinstance(item, list | tuple):
            for index in reversed(range(len(item))):
                stack.append((f"{path}[{index}]", item[index]))
    return None


def non_standard_reason(value: Any) -> str | None:
    """Why ``value`` cannot be written as standard JSON, in words; None when it can.

    Only NaN and infinite numbers (``NaN``, ``Infinity``, ``-Infinity``, or a number such
    as ``1e999`` too large for a 64-bit float, which Python reads as infinite) make it so.
    """
    try:
        json.dumps(value, allow_nan=False)
        return None
    except ValueError:
        pass
    except (TypeError, RecursionError):
        return None  # not for this check to say
    found = first_non_finite(value)
    if found is None:
        return None
    path, spelling = found
    too_large = "" if spelling == "NaN" else " (or a number too large for a 64-bit float)"
    return (
        f"{path} is {spelling}{too_large}, which standard JSON (RFC 8259) has no way to write: "
        "use null or a string"
    )
