"""Every ```python example of the guide (docs/*.md and README.md) runs, against the test broker.

``GUIDE_PAGES`` names every page that has examples (tests/unit/test_docs_site.py checks that
none is missing). The only change made to an example's text is mechanical: each placeholder
host below becomes the session broker, with a per-test prefix on the topic
(``kafka://127.0.0.1:9092/alerts`` -> ``kafka://127.0.0.1:PORT/t-1a2b-alerts``). Pages that
read through ``from hop import stream`` (the stored credential, waiting for new messages)
get a ``hop.stream`` that is a ``Stream(auth=False)`` reading from the earliest message to
the end; docs/gcn.md's GCN topics each hold one GCN-style message (no headers, as GCN sends
them) first. A block marked ``<!-- not-run: REASON -->`` is left out; there are few (counted
below).
"""

from __future__ import annotations

import getpass
import logging
import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import confluent_kafka
import pytest

import hop
import hop.io
from hop._local_broker import LocalBroker
from hop.auth import load_auth
from hop.io import StartPosition, Stream
from tests.support import gcn_messages
from tests.support.doc_examples import python_blocks, run_page

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

#: The hosts the pages write in their URLs, each replaced by the test broker.
PLACEHOLDER_HOSTS = (
    "kafka://127.0.0.1:9092/",
    "kafka://kafka.gcn.nasa.gov/",
    "kafka://kafka.scimma.org/",
)

#: Every page with ```python examples, relative to the repository: each has a test below.
GUIDE_PAGES = (
    "README.md",
    "docs/index.md",
    "docs/installation.md",
    "docs/quickstart.md",
    "docs/streaming.md",
    "docs/auth.md",
    "docs/formats.md",
    "docs/gcn.md",
    "docs/robust.md",
    "docs/asyncio.md",
    "docs/operations.md",
    "docs/cli.md",
)

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
    """Placeholder -> real text, in order: the URLs naming no topic or two, then the hosts."""
    return {
        'kafka://127.0.0.1:9092/"': f'{broker_url}/"',
        "kafka://127.0.0.1:9092/alerts,other": f"{broker_url}/{topic}-alerts,{topic}-other",
        **{host: f"{broker_url}/{topic}-" for host in PLACEHOLDER_HOSTS},
    }


def to_the_end() -> Stream:
    """What ``hop.stream`` is while a page runs: no credential, earliest to the end."""
    return Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)


def run_guide_page(page: str, broker_url: str, topic: str) -> tuple[int, int, list[str]]:
    """Run ``page`` (relative to the repository), checking that every block not marked ran."""
    path = ROOT / page
    ran, checked, skipped = run_page(path, replacements(broker_url, topic))
    assert ran + len(skipped) == len(python_blocks(path.read_text())) > 0
    return ran, checked, skipped


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


def test_readme_examples_run(
    broker_url: str,
    topic: str,
    in_scratch_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(hop, "stream", to_the_end())
    assert run_guide_page("README.md", broker_url, topic)[2] == []
    out = capsys.readouterr().out
    # Each example reads back what it wrote.
    assert "{'event': 'GRB 261126A', 'ra': 48.19, 'dec': -27.68}\n" in out
    assert re.search(rf"{topic}-my\.alerts \d+ {{'event': 'GRB 261126A'", out)


def test_index_page_examples_run(
    broker_url: str, topic: str, in_scratch_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_guide_page("docs/index.md", broker_url, topic)[2] == []
    assert "{'event': 'GRB 261126A', 'ra': 48.19, 'dec': -27.68}" in capsys.readouterr().out


def test_asyncio_page_examples_run(
    broker_url: str, topic: str, in_scratch_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ran, _, skipped = run_guide_page("docs/asyncio.md", broker_url, topic)
    assert (ran, skipped) == (2, [])
    out = capsys.readouterr().out
    assert '"event": "GRB 261126A"' in out or "'event': 'GRB 261126A'" in out
    assert "3 follow-ups delivered" in out


def test_installation_page_examples_run(broker_url: str, topic: str, in_scratch_dir: Path) -> None:
    ran, checked, skipped = run_guide_page("docs/installation.md", broker_url, topic)
    assert (ran, checked, skipped) == (1, 2, [])


def test_quickstart_page_examples_run(
    broker_url: str, topic: str, in_scratch_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ran, checked, skipped = run_guide_page("docs/quickstart.md", broker_url, topic)
    assert (ran, skipped) == (3, []) and checked == 4
    out = capsys.readouterr().out
    for name in ("JSONBlob", "GCNCircular", "VOEvent"):
        assert f"{topic}-quickstart " in out and f" {name}\n" in out


def test_streaming_page_examples_run(
    broker_url: str,
    topic: str,
    in_scratch_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(hop, "stream", to_the_end())
    _, _, skipped = run_guide_page("docs/streaming.md", broker_url, topic)
    assert skipped == ["the signatures, not an example"]
    out = capsys.readouterr().out
    # The reading example prints what the writing example wrote, and list_topics lists it.
    assert "'event': 'GRB 261126A'" in out and "ivo://hop.example/demo#GRB261126A-1" in out
    assert f"'{topic}-alerts'" in out


def test_auth_page_examples_run(
    broker_url: str,
    topic: str,
    in_scratch_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The files the page stores credentials from, a config folder of its own, and what
    # add_credential() without a file is told on the terminal.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name, text in {
        "hop-credentials.csv": "username,password,hostname\nalice,one,kafka.scimma.org\n",
        "new.csv": "username,password,hostname\nalice,two,kafka.scimma.org\n",
        "gcn.csv": "client_id,client_secret\nmy-client,my-secret\n",
    }.items():
        (in_scratch_dir / name).write_text(text)
    typed = iter(["bob", "", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(typed))
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": "bob-password")
    _, _, skipped = run_guide_page("docs/auth.md", broker_url, topic)
    assert skipped == ["needs a GCN client id and secret, and GCN's brokers"]
    stored = {(a.username, a.hostname): a for a in load_auth()}
    assert set(stored) == {("my-client", "kafka.test.gcn.nasa.gov"), ("bob", "")}
    assert stored["my-client", "kafka.test.gcn.nasa.gov"].mechanism == "OAUTHBEARER"


def test_robust_page_examples_run(broker_url: str, topic: str, in_scratch_dir: Path) -> None:
    ran, checked, skipped = run_guide_page("docs/robust.md", broker_url, topic)
    assert (ran, checked, skipped) == (2, 1, [])
    assert (in_scratch_dir / "alerts.journal").is_file()


def test_operations_page_examples_run(broker_url: str, topic: str, in_scratch_dir: Path) -> None:
    ran, checked, skipped = run_guide_page("docs/operations.md", broker_url, topic)
    assert (ran, checked, skipped) == (1, 1, [])


class _ToTheEndStream(Stream):
    """``hop.io.Stream`` while docs/cli.md runs: its reader stops at the end of the stream."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(start_at=StartPosition.EARLIEST, until_eos=True, **kwargs)


def test_cli_page_examples_run(
    broker_url: str,
    topic: str,
    in_scratch_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The page's script reads the URL and --no-auth from its command line.
    with Stream(auth=False).open(f"{broker_url}/{topic}-tool", "w") as producer:
        producer.write({"event": "GRB 261126A"})
    monkeypatch.setattr(sys, "argv", ["my-alert-tool", f"{broker_url}/{topic}-tool", "--no-auth"])
    monkeypatch.setattr(hop.io, "Stream", _ToTheEndStream)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        assert run_guide_page("docs/cli.md", broker_url, topic)[2] == []
    finally:  # the script sets up logging for the whole process, as a script does
        root.handlers[:] = handlers
        root.setLevel(level)
    assert "GRB 261126A" in capsys.readouterr().out
