"""The model checks over real-world alerts (``make test-realdata``, ``HOP_SHARED_DATA``).

Not part of ``make test``: the folder lives outside the repository. Without it, collecting
this module fails with a message that says what to set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hop.models import MessageModel
from tests.support.alert_checks import alert_files, check_alert_file
from tests.support.paths import shared_data

FILES = alert_files(shared_data())


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_real_alert_loads_and_round_trips(path: Path) -> None:
    assert isinstance(check_alert_file(path), MessageModel)
