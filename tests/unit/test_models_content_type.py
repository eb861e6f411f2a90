"""``message.content`` as a type checker sees it on what a consumer yields."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hop.models import GCNCircular, VOEvent

_GOOD = """
from __future__ import annotations

from hop.io import Stream
from hop.models import Blob, MessageModel, VOEvent


def first_values(url: str) -> list[int]:
    with Stream(auth=False).open(url, "r") as consumer:
        return [message.content["i"] for message in consumer]


def one(message: MessageModel) -> object:
    return message.content


raw: bytes = Blob(b"x").content
event = VOEvent(ivorn="ivo://x")
"""

# A Blob's content stays bytes for the type checker: the base declaration does not widen it.
_BAD = """
from hop.models import Blob

number: int = Blob(b"x").content
"""


def _mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "check.py"
    path.write_text(textwrap.dedent(source))
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", "/dev/null", str(path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_content_of_a_consumed_message_type_checks(tmp_path: Path) -> None:
    result = _mypy(tmp_path, _GOOD)
    assert result.returncode == 0, result.stdout + result.stderr
    result = _mypy(tmp_path, _BAD)
    assert result.returncode == 1
    assert "bytes" in result.stdout


@pytest.mark.parametrize("model", [VOEvent(ivorn="ivo://x"), GCNCircular(header={}, body="")])
def test_models_without_content_still_have_none(model: object) -> None:
    assert not hasattr(model, "content")
