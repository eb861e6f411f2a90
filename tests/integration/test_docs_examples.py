"""Every ```python example of the pages about message models runs, against the test broker.

The pages: docs/formats.md and docs/gcn.md. The only change made to an example's text is
mechanical: each placeholder host below becomes the session broker, with a per-test prefix
on the topic (``kafka://127.0.0.1:9092/alerts`` -> ``kafka://127.0.0.1:PORT/t-1a2b-alerts``).
docs/gcn.md reads through ``from hop import stream``; here that ``stream`` is a
``Stream(auth=False)`` reading from the earliest message to the end, and each GCN topic the
page reads holds one GCN-style message (no headers, as GCN sends them) first. A block marked
``<!-- not-run: REASON -->`` is left out; there are few (counted below).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import confluent_kafka
import pytest

import hop
from hop._local_broker import LocalBroker
from hop.io import StartPosition, Stream
from tests.support import gcn_messages
from tests.support.doc_examples import python_blocks, run_page

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

#: The hosts the pages write in their URLs, each replaced by the test broker.
PLACEHOLDER_HOSTS = ("kafka://127.0.0.1:9092/", "kafka://kafka.gcn.nasa.gov/")

#: What docs/gcn.md reads, by topic: one message each, as GCN sends it.
GCN_TOPICS = {
    "gcn.classic.voevent.FERMI_GBM_FIN_POS": gcn_messages.VOEVENT,
    "gcn.classic.text.FERMI_GBM_FIN_POS": gcn_messages.TEXT_NOTICE,
    "gcn.classic.binary.FERMI_GBM_FIN_POS": gcn_messages.BINARY_PACKET,
    "gcn.notices.icecube.lvk_nu_track_search": gcn_messages.JSON_NOTICE,
    "gcn.circulars": gcn_messages.JSON_CIRCULAR,
}


@pytest.fixture
def in_scratch_dir(tmp_path: Path) -> Iterator[Path]:
    """Run in an empty folder holding a copy of examples/ (the pages write files there)."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    before = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(before)


def replacements(broker_url: str, topic: str) -> dict[str, str]:
    return {host: f"{broker_url}/{topic}-" for host in PLACEHOLDER_HOSTS}


def test_formats_page_examples_run(
    broker_url: str, topic: str, in_scratch_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ran, checked, skipped = run_page(DOCS / "formats.md", replacements(broker_url, topic))
    assert skipped == []
    assert ran == len(python_blocks((DOCS / "formats.md").read_text()))
    assert checked >= 10  # the `expression  # 'value'` lines the page shows
    # The Avro example reads back what it wrote, and prints it.
    assert "{'priority': 1, 'payload': b'\\x02Binary data\\x03'}" in capsys.readouterr().out


def write_raw(broker: LocalBroker, topic: str, body: bytes) -> None:
    """Write ``body`` as GCN does: plain confluent-kafka, no headers at all."""
    producer = confluent_kafka.Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce(topic, body)
    assert producer.flush(30) == 0


def test_gcn_page_examples_run(
    broker: LocalBroker,
    broker_url: str,
    topic: str,
    in_scratch_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, body in GCN_TOPICS.items():
        write_raw(broker, f"{topic}-{name}", body)
    reading = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    monkeypatch.setattr(hop, "stream", reading)
    ran, _, skipped = run_page(DOCS / "gcn.md", replacements(broker_url, topic))
    assert len(skipped) <= 1, skipped  # only the one needing real GCN credentials
    assert ran == len(python_blocks((DOCS / "gcn.md").read_text())) - len(skipped)
    out = capsys.readouterr().out
    for printed in (
        "ivo://nasa.gsfc.gcn/Fermi#GBM_Fin_Pos2026-11-26T08:21:04.00_999999999_0-123 115",
        "Fermi-GBM Final Position 21000 TJD;   330 DOY;   26/11/26",
        "123.450d {+08h 13m 48s} (J2000)",
        "packet type 115",
        "IceCube LVK Alert Nu Track Search 2026-11-26T08:21:04Z",
        "99999 GRB 261126A: hop test circular",
    ):
        assert printed in out
