"""Issue 23 item 2: the README's first Python example, run against the broker as written
(its host replaced by the session broker), shows the message it has just sent and ends."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

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


def test_streaming_statistics_example_logs_the_producer_queue(
    broker_url: str, topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    page = (ROOT / "docs" / "streaming.md").read_text(encoding="utf-8")
    (block,) = [b for b in python_blocks(page) if "stats_cb" in b.code]
    code = substitute(block.code, {"kafka://127.0.0.1:9092/": f"{broker_url}/{topic}-"})
    namespace: dict[str, Any] = {"__name__": "stats_example"}
    with caplog.at_level(logging.INFO, logger="alerts.stats"):
        exec(compile(code, "streaming.md", "exec"), namespace)
    lines = [r.getMessage() for r in caplog.records if r.name == "alerts.stats"]
    assert any(line.startswith("producer queue: ") for line in lines), lines
    # The lag logger, fed statistics as librdkafka writes them, logs each partition's lag.
    stats = {
        "topics": {"t": {"partitions": {"0": {"consumer_lag": 3}, "-1": {"consumer_lag": -1}}}}
    }
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="alerts.stats"):
        namespace["log_consumer_lag"](json.dumps(stats))
    assert [r.getMessage() for r in caplog.records] == ["t[0] lag 3"]
