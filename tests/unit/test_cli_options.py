"""The command line's own logic, without a broker: filters, delimiters, -j records, usage."""

from __future__ import annotations

import argparse
import base64
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, cast

import confluent_kafka
import pytest

import hop.cli
from hop.cli import _publish, _subscribe
from hop.cli._progress import ProgressBar
from hop.io import Metadata
from hop.models import AvroBlob, Blob, GCNCircular, JSONBlob, MessageModel, VOEvent

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ROOT = Path(__file__).resolve().parents[2]


def metadata(
    headers: list[tuple[str, bytes]] | None = None,
    key: str | bytes | None = None,
    timestamp: int = 1_795_000_000_123,
) -> Metadata:
    return Metadata("alerts", 2, 41, timestamp, key, headers or [], cast(Any, None))


def record(message: MessageModel, meta: Metadata | None = None) -> dict[str, Any]:
    line = _subscribe.render_json(message, meta or metadata())
    assert b"\n" not in line  # one line, whatever the content
    decoded: dict[str, Any] = json.loads(line)
    return decoded


# --------------------------------------------------------------------------------- filters


@pytest.mark.parametrize(
    ("expr", "content", "expected"),
    [
        ("event==GRB 261126A", {"event": "GRB 261126A"}, True),
        ('event=="GRB 261126A"', {"event": "GRB 261126A"}, True),
        ("event!=GRB 261126A", {"event": "S261126ab"}, True),
        ("classification.BNS>0.5", {"classification": {"BNS": 0.91}}, True),
        ("classification.BNS > 0.5", {"classification": {"BNS": 0.09}}, False),
        ("ra<=48.19", {"ra": 48.19}, True),
        ("ra>=48.2", {"ra": 48.19}, False),
        ("ra<50", {"ra": "48"}, False),  # text is not ordered against a number
        ("name<b", {"name": "a"}, True),
        ("event~^GRB", {"event": "GRB 261126A"}, True),
        ("event~^S", {"event": "GRB 261126A"}, False),
        ("afterglow==true", {"afterglow": True}, True),
        ("items.1==5", {"items": [4, 5]}, True),
        ("items.7==5", {"items": [4, 5]}, False),
        ("missing==1", {"event": "x"}, False),
        ("missing!=1", {"event": "x"}, False),  # no field: never a match
        ("a.b==1", [1, 2], False),
    ],
)
def test_filter_matches(expr: str, content: Any, expected: bool) -> None:
    assert _subscribe.parse_filter(expr).matches(content) is expected


@pytest.mark.parametrize("expr", ["event", "==1", "a..b==1", "event~(unclosed"])
def test_bad_filter_is_a_usage_error(expr: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        _subscribe.parse_filter(expr)


def test_filters_apply_to_json_content_only() -> None:
    wanted = [_subscribe.parse_filter("n>1")]
    assert _subscribe._passes(wanted, JSONBlob({"n": 2}))
    assert not _subscribe._passes(wanted, JSONBlob({"n": 1}))
    assert _subscribe._passes(wanted, AvroBlob([{"n": 5}]))
    assert not _subscribe._passes(wanted, Blob(b'{"n": 2}'))
    assert _subscribe._passes([], Blob(b"anything"))


# ------------------------------------------------------------------------------ delimiter


@pytest.mark.parametrize(
    ("text", "expected"),
    [("\\n", b"\n"), ("\\t", b"\t"), ("\\x00", b"\x00"), ("--\\n", b"--\n"), ("é", "é".encode())],
)
def test_delimiter_escapes_are_interpreted(text: str, expected: bytes) -> None:
    assert _subscribe._delimiter(text) == expected


def test_subscribe_defaults() -> None:
    args = hop.cli.build_parser().parse_args(["subscribe", "kafka://h/t"])
    assert args.delimiter == b"\n"
    assert args.count is None and args.save is None and args.filter == []


# ----------------------------------------------------------------------------- -j records


def test_json_record_has_every_key_and_iso_utc_time() -> None:
    got = record(
        JSONBlob({"event": "GRB 261126A"}),
        metadata([("_id", bytes(range(200, 216))), ("_format", b"json"), ("site", b"LCO")], "k"),
    )
    assert list(got) == [
        "topic",
        "partition",
        "offset",
        "timestamp",
        "key",
        "headers",
        "format",
        "content",
        "base64",
    ]
    assert (got["topic"], got["partition"], got["offset"]) == ("alerts", 2, 41)
    stamp = datetime.fromisoformat(got["timestamp"].replace("Z", "+00:00"))
    assert stamp == datetime.fromtimestamp(1_795_000_000.123, tz=timezone.utc)
    assert got["timestamp"].endswith(".123Z")
    assert got["key"] == "k"
    assert got["headers"]["_format"] == "json" and got["headers"]["site"] == "LCO"
    assert base64.b64decode(got["headers"]["_id"]) == bytes(range(200, 216))
    assert got["base64"] == ["headers._id"]
    assert got["content"] == {"event": "GRB 261126A"}


def test_text_bodies_are_strings() -> None:
    voevent = VOEvent.load_file(EXAMPLES / "example_voevent.xml")
    assert record(voevent)["content"] == (EXAMPLES / "example_voevent.xml").read_text()
    circular = GCNCircular.load_file(EXAMPLES / "example.gcn3")
    assert record(circular)["content"] == str(circular)
    text = record(Blob(b"plain text\n"))
    assert text["content"] == "plain text\n" and text["base64"] == []


def test_binary_is_base64_and_says_so() -> None:
    got = record(Blob(b"\x00\xffbin"), metadata(key=b"\xfe\x01"))
    assert base64.b64decode(got["content"]) == b"\x00\xffbin"
    assert base64.b64decode(got["key"]) == b"\xfe\x01"
    assert got["base64"] == ["content", "key"]


def test_repeated_headers_become_a_list_and_no_timestamp_is_null() -> None:
    got = record(JSONBlob(1), metadata([("x", b"1"), ("x", b"2"), ("x", b"3")], timestamp=0))
    assert got["headers"] == {"x": ["1", "2", "3"]}
    assert got["timestamp"] is None and got["key"] is None


# -------------------------------------------------------------------------------- publish


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.xml", "VOEVENT"),
        ("b.GCN3", "CIRCULAR"),
        ("c.avro", "AVRO"),
        ("d.json", "JSON"),
        ("e.jsonl", "BLOB"),
        ("f", "BLOB"),
    ],
)
def test_format_from_the_extension(name: str, expected: str) -> None:
    assert _publish._file_format(name, None) == expected
    assert _publish._file_format(name, "BLOB") == "BLOB"  # -f wins


def test_publish_parses_key_headers_and_no_timeout_by_default() -> None:
    args = hop.cli.build_parser().parse_args(
        ["publish", "kafka://h/t", "--key", "k", "--header", "a=1", "--header", "b=x=y"]
    )
    assert args.key == "k"
    assert args.header == [("a", b"1"), ("b", b"x=y")]
    assert args.timeout is None  # so that the configured produce_timeout applies
    assert args.format is None and args.term_grace == 10.0


@pytest.mark.parametrize("header", ["novalue", "=1", "_format=json"])
def test_bad_header_is_a_usage_error(header: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert hop.cli.main(["publish", "kafka://h/t", "--header", header]) == 2
    assert "usage: hop publish" in capsys.readouterr().err


def test_publish_usage_says_only_url_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    assert hop.cli.main(["publish"]) == 2
    err = capsys.readouterr().err
    assert "URL [MESSAGE ...]" in err
    assert err.rstrip().endswith("the following arguments are required: URL")


# ----------------------------------------------------------------------------- top level


def test_version_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert hop.cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"hop version {hop.version.__version__}\n"


def test_debug_flag_prints_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert hop.cli.main(["list-topics", "http://example.org/", "--no-auth"]) == 1
    assert "Traceback" not in capsys.readouterr().err
    assert hop.cli.main(["-d", "list-topics", "http://example.org/", "--no-auth"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "kafka://" in err


def test_readme_states_the_local_broker_limits() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("hop local-broker") :]
    assert "off by a record batch" in section
    assert "half the session timeout" in section


def tally() -> _publish._Tally:
    return _publish._Tally(ProgressBar(1, enabled=False), 1_000_000)


def test_a_size_refused_by_the_broker_names_the_size() -> None:
    counted = tally()
    counted.attempted = 1
    too_large = confluent_kafka.KafkaError(confluent_kafka.KafkaError.MSG_SIZE_TOO_LARGE)
    counted.callback("big.bin", Blob(b"x" * 2000))(too_large, None)
    assert counted.failures == [
        ("big.bin", "message too large for the broker (2,000 bytes; see its message.max.bytes)")
    ]
    assert counted.summary() == "0 of 1 message(s) delivered"


def test_many_failures_are_named_up_to_five() -> None:
    counted = tally()
    for number in range(8):
        counted.fail(f"f{number}", "refused")
    assert counted.failure_list() == (
        "f0: refused; f1: refused; f2: refused; f3: refused; f4: refused; and 3 more"
    )


def test_avro_bytes_and_times_in_records_are_json() -> None:
    when = datetime(2026, 11, 26, 8, 42, tzinfo=timezone.utc)
    got = record(AvroBlob([{"raw": b"\x00\x01", "at": when}]))
    assert got["content"] == [{"raw": "AAE=", "at": "2026-11-26T08:42:00+00:00"}]
