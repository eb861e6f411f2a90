"""Issue 23 item 2: the README's first Python example, run against the broker as written
(its host replaced by the session broker), shows the message it has just sent and ends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.doc_examples import python_blocks, substitute

ROOT = Path(__file__).resolve().parents[2]


def test_readme_first_example_reads_back_what_it_wrote(broker_url: str, topic: str) -> None:
    first = python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))[0]
    assert "kafka://127.0.0.1:9092/" in first.code  # the local broker, hop local-broker
    code = substitute(first.code, {"kafka://127.0.0.1:9092/": f"{broker_url}/{topic}-"})
    # A subprocess with a deadline: an example that waits for ever fails instead of hanging.
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "GRB 261126A" in result.stdout
