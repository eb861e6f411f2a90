"""Standard JSON at the command line's edges (issue 18 item 3): where a non-finite number is,
and how ``-j`` writes one."""

from __future__ import annotations

import math
from typing import Any

import pytest

from hop.cli._json import finite, first_non_finite, non_standard_reason


@pytest.mark.parametrize(
    ("value", "found"),
    [
        (math.nan, (".", "NaN")),
        ({"a": {"b": [1.0, -math.inf]}}, (".a.b[1]", "-Infinity")),
        ({"b c": {"d-e": math.inf}}, ('.["b c"]["d-e"]', "Infinity")),
        ([0, {"x": 1}, (2, math.nan)], ("[2][1]", "NaN")),
        ({"first": math.nan, "second": math.inf}, (".first", "NaN")),
        ({"x": [1.5, "NaN", None, True]}, None),
    ],
)
def test_the_first_non_finite_number_is_found_by_its_jq_path(
    value: Any, found: tuple[str, str] | None
) -> None:
    assert first_non_finite(value) == found


def test_non_finite_numbers_become_their_spelling_and_nothing_else_changes() -> None:
    value = {"n": math.nan, "l": [math.inf, -math.inf, 1e308, "x", 3, None], "t": (math.nan,)}
    assert finite(value) == {
        "n": "NaN",
        "l": ["Infinity", "-Infinity", 1e308, "x", 3, None],
        "t": ["NaN"],
    }


def test_the_reason_names_the_place_and_the_way_out() -> None:
    reason = non_standard_reason({"alert": {"ra": math.nan}})
    assert reason is not None
    assert ".alert.ra is NaN" in reason and "null or a string" in reason
    assert non_standard_reason({"alert": {"ra": 1.5}}) is None
    too_large = non_standard_reason([math.inf])
    assert too_large is not None and "too large" in too_large
