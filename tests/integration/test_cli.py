"""The hop command line, run in-process through ``hop.cli.main(argv)`` against the broker."""

from __future__ import annotations

import argparse
import base64
import importlib.metadata
import io
import json
import logging
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import confluent_kafka
import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

import hop.cli
import hop.version
from hop._local_broker import LocalBroker, free_port
from hop.cli import _logging
from hop.cli._progress import ProgressBar
from hop.errors import AuthorizationError
from hop.io import StartPosition
from hop.models import GCNCircular, VOEvent
from tests.support.waiting import a_later_millisecond

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CIRCULAR = EXAMPLES / "example.gcn3"
VOEVENT_FILE = EXAMPLES / "example_voevent.xml"


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No user configuration or credentials, and logging left as it was found."""
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    for name in ("HOP_PRODUCE_TIMEOUT", "HOP_SESSION_TIMEOUT", "HOP_IGNORETEST", "HOP_GROUP_ID"):
        monkeypatch.delenv(name, raising=False)
    root = logging.getLogger()
    level = root.level
    yield config
    for handler in list(root.handlers):
        if isinstance(handler, _logging._HopHandler):
            root.removeHandler(handler)
    root.setLevel(level)


class Result:
    """What one run of ``hop`` gave: exit status, stdout bytes, stderr text."""

    def __init__(self, code: int, out: bytes, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err

    @property
    def lines(self) -> list[str]:
        return self.out.decode("utf-8").splitlines()

    def __repr__(self) -> str:
        return f"Result(code={self.code}, out={self.out[:300]!r}, err={self.err[-500:]!r})"


@pytest.fixture
def hop_run(capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch) -> Any:
    def run(*argv: str | Path, stdin: bytes | None = None) -> Result:
        capsysbinary.readouterr()
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        code = hop.cli.main([str(a) for a in argv])
        captured = capsysbinary.readouterr()
        return Result(code, captured.out, captured.err.decode("utf-8", "replace"))

    return run


def one_partition_topic(broker: LocalBroker, name: str) -> str:
    """Create ``name`` with one partition (reads by offset or time need one record a batch)."""
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for future in admin.create_topics([NewTopic(name, num_partitions=1)]).values():
        future.result(10)
    return f"kafka://{broker.bootstrap}/{name}"


def assert_one_error_line(result: Result, code: int = 1) -> str:
    assert result.code == code, result
    assert "Traceback" not in result.err
    errors = [line for line in result.err.splitlines() if ": error: " in line]
    assert len(errors) == 1, result
    return errors[0]


# ----------------------------------------------------------------------------- helpers API


def test_documented_helpers_build_a_working_parser() -> None:
    parser = argparse.ArgumentParser()
    hop.cli.add_client_opts(parser)
    hop.cli.add_logging_opts(parser)
    args = parser.parse_args(["kafka://host/topic", "--no-auth", "-v"])
    assert args.url == "kafka://host/topic"
    assert args.no_auth is True
    assert hop.cli.get_log_level(args) == logging.DEBUG
    assert hop.cli.get_log_level(parser.parse_args(["u", "-q"])) == logging.WARNING
    assert hop.cli.get_log_level(parser.parse_args(["u"])) == logging.INFO
    with pytest.raises(SystemExit):
        parser.parse_args(["u", "-q", "-v"])


def test_set_up_logger_replaces_its_handler_instead_of_adding(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = argparse.Namespace(quiet=True, verbose=False)
    hop.cli.set_up_logger(args)
    hop.cli.set_up_logger(args)
    ours = [h for h in logging.getLogger().handlers if isinstance(h, _logging._HopHandler)]
    assert len(ours) == 1
    logging.getLogger("hop.test").info("hidden with -q")
    logging.getLogger("hop.test").warning("shown with -q")
    err = capsys.readouterr().err
    assert "shown with -q" in err
    assert "hidden with -q" not in err


def test_repeated_log_messages_are_shown_once(capsys: pytest.CaptureFixture[str]) -> None:
    hop.cli.set_up_logger(argparse.Namespace(quiet=False, verbose=False))
    log = logging.getLogger("hop.test")
    for attempt in range(5):
        log.warning("connect failed (after %d ms)", attempt)
    log.warning("another problem")
    err = capsys.readouterr().err
    assert err.count("connect failed") == 1
    assert "another problem" in err


def test_version_lists_hop_and_its_dependencies(hop_run: Any) -> None:
    result = hop_run("version")
    assert result.code == 0
    versions = dict(line.split("==", 1) for line in result.lines)
    assert {"hop-client", "confluent-kafka", "librdkafka", "fastavro", "pluggy"} <= set(versions)
    assert versions["hop-client"] == hop.__version__ == importlib.metadata.version("hop-client")
    assert versions["confluent-kafka"] == importlib.metadata.version("confluent-kafka")
    assert versions["librdkafka"] == confluent_kafka.libversion()[0]
    assert versions["fastavro"] == importlib.metadata.version("fastavro")
    assert versions["pluggy"] == importlib.metadata.version("pluggy")
    assert hop.version.get_packages() == versions


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("EARLIEST", StartPosition.EARLIEST),
        ("latest", StartPosition.LATEST),
        ("-10", -10),
        ("2026-11-26T08:00:00Z", datetime(2026, 11, 26, 8, tzinfo=timezone.utc)),
        ("2026-11-26T09:00:00+01:00", datetime(2026, 11, 26, 8, tzinfo=timezone.utc)),
        ("2026-11-26T08:00:00", datetime(2026, 11, 26, 8)),
        ("2026-11-26", datetime(2026, 11, 26)),
    ],
)
def test_start_at_forms(text: str, expected: object) -> None:
    args = hop.cli.build_parser().parse_args(["subscribe", "kafka://h/t", "-s", text])
    assert args.start_at == expected
    assert type(args.start_at) is type(expected)


def test_local_broker_listens_on_9092_by_default() -> None:
    assert hop.cli.build_parser().parse_args(["local-broker"]).port == 9092


def test_no_command_prints_help_and_exits_2(hop_run: Any) -> None:
    result = hop_run()
    assert result.code == 2
    assert "publish" in result.err and "subscribe" in result.err


@pytest.mark.parametrize(
    "argv",
    [
        ["publish", "kafka://h/t", "-f", "NOSUCHFORMAT", "x"],
        ["subscribe", "kafka://h/t", "-s", "YESTERDAY"],
        ["subscribe", "kafka://h/t", "-s", "5"],
        ["publish", "kafka://h/t", "--timeout", "-1"],
        ["list-topics", "kafka://h/", "--timeout", "0"],
        ["subscribe", "kafka://h/t", "-q", "-v"],
        ["publish"],
        ["frobnicate"],
        ["local-broker", "--port", "http"],
    ],
)
def test_usage_errors_exit_2(hop_run: Any, argv: list[str]) -> None:
    result = hop_run(*argv)
    assert result.code == 2, result
    assert "usage: hop" in result.err
    assert "Traceback" not in result.err


def test_help_exits_0(hop_run: Any) -> None:
    result = hop_run("publish", "--help")
    assert result.code == 0
    assert result.out.startswith(b"usage: hop publish")


# ------------------------------------------------------------------ publish and subscribe


def test_manual_example_options_after_positionals(hop_run: Any, topic_url: str) -> None:
    # The manual's own example, which the old client's parser rejected.
    published = hop_run("publish", topic_url, "-f", "CIRCULAR", CIRCULAR, "--no-auth")
    assert published.code == 0, published
    read = hop_run("subscribe", topic_url, "-s", "EARLIEST", "-e", "--no-auth")
    assert read.code == 0, read
    expected = str(GCNCircular.load_file(CIRCULAR)).encode("utf-8")
    assert read.out.rstrip(b"\n") == expected.rstrip(b"\n")
    assert b"GRB 261126A" in read.out


def test_voevent_is_printed_as_its_original_xml(hop_run: Any, topic_url: str) -> None:
    assert hop_run("--no-auth" and "publish", "-f", "voevent", topic_url, VOEVENT_FILE,
                   "--no-auth").code == 0  # fmt: skip
    read = hop_run("subscribe", "--no-auth", "-e", topic_url, "-s", "EARLIEST")
    assert read.code == 0, read
    original = VOEVENT_FILE.read_bytes()
    assert read.out == original if original.endswith(b"\n") else original + b"\n"
    assert VOEvent.load(read.out).ivorn == "ivo://hop.example/demo#GRB261126A-1"


def test_json_lines_from_stdin_one_message_each(hop_run: Any, topic_url: str) -> None:
    alerts = [{"n": 1, "event": "GRB 261126A"}, [1, 2, 3], "just a string", 4.5, None]
    # Blank lines (and a CRLF ending) are not messages.
    data = (
        "\n".join(json.dumps(a) for a in alerts[:3])
        + "\r\n\n"
        + "\n".join(json.dumps(a) for a in alerts[3:])
    )
    published = hop_run("publish", topic_url, "-f", "JSON", "--no-auth", stdin=data.encode())
    assert published.code == 0, published
    assert "published 5 message(s)" in published.err
    read = hop_run("subscribe", topic_url, "-s", "EARLIEST", "-e", "--no-auth")
    assert read.code == 0, read
    got = [json.loads(line) for line in read.lines]
    assert sorted(got, key=json.dumps) == sorted(alerts, key=json.dumps)


def test_blob_lines_from_stdin_keep_their_bytes(hop_run: Any, topic_url: str) -> None:
    lines = [b"plain text", b"\xff\xfe not utf-8", b'{"looks": "like json"}']
    published = hop_run("publish", topic_url, "--no-auth", stdin=b"\n".join(lines) + b"\n")
    assert published.code == 0, published
    read = hop_run("subscribe", topic_url, "-s", "EARLIEST", "-e", "--no-auth", "-j")
    assert read.code == 0, read
    records = [json.loads(line) for line in read.lines]
    assert {r["format"] for r in records} == {"blob"}
    # Text stays text; only the bytes that are not UTF-8 come base64-encoded, and say so.
    assert sorted(
        base64.b64decode(r["content"]) if "content" in r["base64"] else r["content"].encode()
        for r in records
    ) == sorted(lines)
    assert [r["content"] for r in records if "content" in r["base64"]] == [
        base64.b64encode(b"\xff\xfe not utf-8").decode()
    ]


def test_invalid_json_line_on_stdin_is_named_and_earlier_lines_are_delivered(
    hop_run: Any, topic_url: str
) -> None:
    result = hop_run("publish", topic_url, "-f", "json", "--no-auth", stdin=b'{"ok": 1}\n{oops\n')
    line = assert_one_error_line(result)
    assert "standard input line 2 is not valid JSON" in line
    assert "1 of 1 message(s) delivered" in line
    read = hop_run("subscribe", topic_url, "-s", "EARLIEST", "-e", "--no-auth")
    assert read.lines == ['{"ok": 1}']


@pytest.mark.parametrize("fmt", ["CIRCULAR", "VOEVENT", "AVRO", "GCNTEXTNOTICE"])
def test_only_blob_and_json_may_be_piped(hop_run: Any, fmt: str) -> None:
    result = hop_run("publish", "kafka://127.0.0.1:1/t", "-f", fmt, "--no-auth", stdin=b"x\n")
    line = assert_one_error_line(result)
    assert f"{fmt} messages cannot be read from standard input" in line


def test_json_output_parses_back_with_headers(hop_run: Any, topic_url: str) -> None:
    assert hop_run("publish", topic_url, "-f", "JSON", "--no-auth", stdin=b'{"a": [1]}\n').code == 0
    assert hop_run("publish", topic_url, "-f", "CIRCULAR", CIRCULAR, "--no-auth").code == 0
    assert hop_run("publish", topic_url, "-f", "VOEVENT", VOEVENT_FILE, "--no-auth").code == 0
    read = hop_run("subscribe", topic_url, "-s", "EARLIEST", "-e", "--no-auth", "--json")
    assert read.code == 0, read
    by_format = {r["format"]: r for r in map(json.loads, read.lines)}
    assert set(by_format) == {"json", "circular", "voevent"}
    assert by_format["json"]["content"] == {"a": [1]}
    circular = GCNCircular.load_file(CIRCULAR)
    assert by_format["circular"]["content"] == str(circular)
    assert by_format["voevent"]["content"] == VOEVENT_FILE.read_text()
    for record in by_format.values():
        headers = record["headers"]
        assert record["base64"] == ["headers._id"]
        assert len(base64.b64decode(headers["_id"])) == 16
        assert headers["_format"] == record["format"]
        assert "_test" not in headers


def test_test_messages_are_marked_and_shown_only_with_t(hop_run: Any, topic_url: str) -> None:
    assert (
        hop_run("publish", topic_url, "-t", "-f", "JSON", "--no-auth", stdin=b'"test"\n').code == 0
    )
    assert hop_run("publish", topic_url, "-f", "JSON", "--no-auth", stdin=b'"real"\n').code == 0
    plain = hop_run("subscribe", topic_url, "-s", "EARLIEST", "-e", "--no-auth")
    assert plain.lines == ['"real"']
    shown = hop_run("subscribe", topic_url, "-s", "EARLIEST", "-e", "--no-auth", "-t", "-j")
    records = {json.loads(line)["content"]: json.loads(line) for line in shown.lines}
    assert set(records) == {"test", "real"}
    assert records["test"]["headers"]["_test"] == "true"
    assert "_test" not in records["real"]["headers"]


def test_start_at_last_n_of_the_partition(hop_run: Any, broker: LocalBroker, topic: str) -> None:
    url = one_partition_topic(broker, topic)
    for number in range(5):  # one publish each: one record per batch
        assert hop_run("publish", url, "-f", "JSON", "--no-auth", stdin=b"%d\n" % number).code == 0
    read = hop_run("subscribe", url, "-s", "-2", "-e", "--no-auth")
    assert read.code == 0, read
    assert read.lines == ["3", "4"]


def test_start_at_a_time(hop_run: Any, broker: LocalBroker, topic: str) -> None:
    url = one_partition_topic(broker, topic)
    assert hop_run("publish", url, "-f", "JSON", "--no-auth", stdin=b'"before"\n').code == 0
    # Clear gaps on both sides: timestamps are the clients' clocks, in milliseconds.
    middle = a_later_millisecond()
    a_later_millisecond(middle)
    assert hop_run("publish", url, "-f", "JSON", "--no-auth", stdin=b'"after"\n').code == 0
    read = hop_run("subscribe", url, "-s", middle.isoformat(), "-e", "--no-auth")
    assert read.code == 0, read
    assert read.lines == ['"after"']
    # Without a zone, a time is UTC.
    naive = middle.replace(tzinfo=None).isoformat()
    assert hop_run("subscribe", url, "-s", naive, "-e", "--no-auth").lines == ['"after"']
    everything = hop_run("subscribe", url, "-s", "2000-01-01T00:00:00Z", "-e", "--no-auth")
    assert everything.lines == ['"before"', '"after"']


def test_start_at_latest_by_default_sees_nothing_old(hop_run: Any, topic_url: str) -> None:
    # One publish per message: this broker answers "latest" per record batch (BROKER.md).
    for number in (b"1\n", b"2\n"):
        assert hop_run("publish", topic_url, "-f", "JSON", "--no-auth", stdin=number).code == 0
    read = hop_run("subscribe", topic_url, "-e", "--no-auth")
    assert read.code == 0, read
    assert read.out == b""


def test_group_resumes_after_what_it_printed(
    hop_run: Any, topic_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short session timeout: joining a group on this broker takes half of it.
    monkeypatch.setenv("HOP_SESSION_TIMEOUT", "6")
    assert hop_run("publish", topic_url, "-f", "JSON", "--no-auth", stdin=b"1\n2\n").code == 0
    group = f"g-{topic_url[-12:]}"
    first = hop_run("subscribe", topic_url, "-g", group, "-s", "EARLIEST", "-e", "--no-auth")
    assert first.code == 0, first
    assert sorted(first.lines) == ["1", "2"]
    assert hop_run("publish", topic_url, "-f", "JSON", "--no-auth", stdin=b"3\n").code == 0
    again = hop_run(
        "subscribe", topic_url, "--group-id", group, "-s", "EARLIEST", "-e", "--no-auth"
    )
    assert again.code == 0, again
    assert again.lines == ["3"]


def test_publish_to_several_topics_sends_each_message_to_each(
    hop_run: Any, broker_url: str, topic: str
) -> None:
    url = f"{broker_url}/{topic}-a,{topic}-b"
    assert hop_run("publish", url, "-f", "JSON", "--no-auth", stdin=b"1\n").code == 0
    read = hop_run("subscribe", url, "-s", "EARLIEST", "-e", "--no-auth")
    assert read.lines == ["1", "1"]


def test_many_files_progress_bar_not_drawn_when_piped(
    hop_run: Any, topic_url: str, tmp_path: Path
) -> None:
    files = []
    for number in range(20):
        path = tmp_path / f"alert{number}.json"
        path.write_text(json.dumps({"n": number}))
        files.append(path)
    result = hop_run("publish", topic_url, "-f", "JSON", "--no-auth", *files)
    assert result.code == 0, result
    assert "delivered" not in result.err.replace("published", "")  # no bar
    assert "\r" not in result.err
    read = hop_run("subscribe", topic_url, "-s", "EARLIEST", "-e", "--no-auth")
    assert sorted(json.loads(line)["n"] for line in read.lines) == list(range(20))


def test_progress_bar_draws_on_a_terminal_only() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    bar = ProgressBar(4, stream=screen)
    assert bar.enabled
    for ok in (True, True, False, True):
        bar.advance(ok)
    assert "\r[" in screen.getvalue()
    assert bar.render().endswith("3/4 delivered, 1 failed")
    assert bar.render().startswith("[" + "#" * 30 + "]")
    bar.clear()
    assert screen.getvalue().endswith("\r")
    piped = io.StringIO()
    quiet = ProgressBar(4, stream=piped)
    quiet.advance()
    quiet.draw()
    assert not quiet.enabled and piped.getvalue() == ""


def test_list_topics_sorted_one_per_line(hop_run: Any, broker_url: str, topic: str) -> None:
    names = [f"{topic}-zeta", f"{topic}-alpha", f"{topic}-mid"]
    for name in names:
        assert hop_run("publish", f"{broker_url}/{name}", "--no-auth", stdin=b"x\n").code == 0
    result = hop_run("list-topics", broker_url + "/", "--no-auth", "--timeout", "10")
    assert result.code == 0, result
    assert result.lines[0] == "Accessible topics:"
    listed = result.lines[1:]
    assert all(line.startswith(" ") for line in listed)
    assert listed == sorted(listed)
    assert [line for line in listed if line.startswith(" " + topic)] == [
        " " + name for name in sorted(names)
    ]
    assert not any(line.startswith(" __") for line in listed)
    bare = hop_run("list-topics", broker_url + "/", "--no-auth", "--timeout", "10", "-q")
    assert bare.code == 0, bare
    assert bare.lines == [line[1:] for line in listed]


# ---------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("command", ["publish", "subscribe", "list-topics"])
def test_url_that_is_not_kafka_is_one_line(hop_run: Any, command: str) -> None:
    result = hop_run(command, "http://example.org/topic", "--no-auth", stdin=b"")
    line = assert_one_error_line(result)
    assert "kafka://" in line


def test_missing_file_is_named(hop_run: Any, topic_url: str, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-alert.gcn3"
    result = hop_run("publish", topic_url, "-f", "CIRCULAR", CIRCULAR, missing, "--no-auth")
    line = assert_one_error_line(result)
    assert str(missing) in line and "No such file" in line
    # Nothing was published: files are all read before the first message is sent.
    read = hop_run("subscribe", topic_url, "-s", "EARLIEST", "-e", "--no-auth")
    assert read.out == b""


def test_unreadable_file_is_named(hop_run: Any, topic_url: str, tmp_path: Path) -> None:
    # A directory cannot be read as a file, even by root (who may read any mode 000 file).
    result = hop_run("publish", topic_url, "-f", "JSON", tmp_path, "--no-auth")
    line = assert_one_error_line(result)
    assert f"cannot read {tmp_path}: Is a directory" in line
    assert result.err.count("\n") == 1


def test_unparsable_file_is_named_with_the_reason(hop_run: Any, topic_url: str) -> None:
    result = hop_run("publish", topic_url, "-f", "VOEVENT", CIRCULAR, "--no-auth")
    line = assert_one_error_line(result)
    assert f"{CIRCULAR} is not a valid VOEVENT message" in line


def test_verbose_shows_the_traceback(hop_run: Any, topic_url: str) -> None:
    result = hop_run("publish", topic_url, "-f", "VOEVENT", CIRCULAR, "--no-auth", "-v")
    assert result.code == 1
    assert "Traceback" in result.err
    listing = hop_run("list-topics", "http://example.org/", "--no-auth", "-v")
    assert listing.code == 1
    assert "Traceback" in listing.err and "ConfigurationError" in listing.err


@pytest.mark.parametrize(
    "argv",
    [
        ["publish", "{url}", "-f", "CIRCULAR", str(CIRCULAR)],
        ["subscribe", "{url}", "-e"],
        ["list-topics", "{url}"],
    ],
)
def test_no_credentials_says_hop_auth_add(hop_run: Any, topic_url: str, argv: list[str]) -> None:
    result = hop_run(*[a.format(url=topic_url) for a in argv])
    assert result.code == 1, result
    assert "Traceback" not in result.err
    assert "No valid credential data found" in result.err
    assert "To load your credential, run 'hop auth add'" in result.err


def test_unreachable_broker_within_timeout(hop_run: Any) -> None:
    url = f"kafka://127.0.0.1:{free_port()}/"
    started = time.monotonic()
    result = hop_run("list-topics", url, "--no-auth", "--timeout", "1")
    assert time.monotonic() - started < 10
    line = assert_one_error_line(result)
    assert "listing topics" in line and "is the broker address right" in line
    # librdkafka's connection warnings say the same; the error line alone is printed.
    assert result.err == line + "\n"


def test_undelivered_messages_fail_with_their_count(hop_run: Any) -> None:
    url = f"kafka://127.0.0.1:{free_port()}/t"
    result = hop_run("publish", url, "--no-auth", "--timeout", "1", stdin=b"a\nb\nc\n")
    line = assert_one_error_line(result)
    assert "3 of 3 message(s) were not delivered" in line
    assert "is the broker address right" in line
    assert result.err == line + "\n"


def test_client_warnings_are_held_back_then_shown(capsys: pytest.CaptureFixture[str]) -> None:
    hop.cli.set_up_logger(argparse.Namespace(quiet=False, verbose=False))
    handler = _logging.hop_handler()
    assert handler is not None
    held = _logging.HeldClientWarnings(handler, grace=0.2)
    logging.getLogger("hop.io").warning("broker down")
    logging.getLogger("hop.models").warning("not held")
    assert capsys.readouterr().err.count("\n") == 1
    deadline = time.monotonic() + 10
    while "broker down" not in (err := capsys.readouterr().err) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "broker down" in err
    logging.getLogger("hop.io").warning("after the grace period")
    assert "after the grace period" in capsys.readouterr().err
    held.discard()
    assert held not in handler.filters

    dropped = _logging.HeldClientWarnings(handler, grace=60)
    logging.getLogger("hop.io").warning("dropped")
    dropped.discard()
    logging.getLogger("hop.io").warning("shown")
    err = capsys.readouterr().err
    assert "dropped" not in err and "shown" in err


def test_publication_refused_by_the_broker_is_one_line(
    hop_run: Any, topic_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The local broker has no ACLs; stand in for a broker refusing this topic.
    def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
        raise AuthorizationError("writing to topic t: Broker: Topic authorization failed")

    monkeypatch.setattr("hop.io.Producer.write", refuse)
    result = hop_run("publish", topic_url, "--no-auth", stdin=b"x\n")
    line = assert_one_error_line(result)
    assert "Topic authorization failed" in line


def test_delivery_refused_for_the_topic_is_one_line_with_the_count(
    hop_run: Any, topic_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On Kafka a topic the credential may not write fails each message's delivery report.
    def refuse(self: Any, message: Any, **kwargs: Any) -> None:
        error = confluent_kafka.KafkaError(confluent_kafka.KafkaError.TOPIC_AUTHORIZATION_FAILED)
        kwargs["delivery_callback"](error, None)

    monkeypatch.setattr("hop.io.Producer.write", refuse)
    result = hop_run("publish", topic_url, "--no-auth", stdin=b"x\ny\n")
    line = assert_one_error_line(result)
    assert "2 of 2 message(s) were not delivered" in line
    assert "Topic authorization failed" in line
    assert "is the broker address right" not in line


@pytest.mark.parametrize(
    ("argv", "stdin"),
    [
        (["list-topics", "{bootstrap}/", "--timeout", "10"], None),
        (["publish", "{bootstrap}/{topic}", "--timeout", "10"], b"x\n"),
        (["subscribe", "{bootstrap}/{topic}", "-e"], None),
    ],
)
def test_failed_authentication_is_one_clear_line(
    hop_run: Any,
    broker: LocalBroker,
    topic: str,
    isolated: Path,
    argv: list[str],
    stdin: bytes | None,
) -> None:
    # The local broker refuses every SASL handshake, as a broker refuses a wrong password;
    # hop.io raises AuthenticationError at once rather than waiting for the timeout.
    from hop.auth import Auth, write_auth_data

    write_auth_data(
        isolated / "hop" / "auth.toml", [Auth("alice", "wrong-pw", ssl=False, host="127.0.0.1")]
    )
    words = [a.format(bootstrap=f"kafka://{broker.bootstrap}", topic=topic) for a in argv]
    started = time.monotonic()
    result = hop_run(*words, "-q", stdin=stdin)
    assert time.monotonic() - started < 8
    line = assert_one_error_line(result)
    assert f"hop {argv[0]}: error: authentication failed: " in line
    assert "check the credential ('hop auth list')" in line
    assert result.err == line + "\n"  # no connection warnings around it
    assert "wrong-pw" not in result.err  # never the password


# ------------------------------------------------------------------------------------ auth


def test_auth_commands(hop_run: Any, isolated: Path, tmp_path: Path) -> None:
    located = hop_run("auth", "locate")
    assert located.lines == [str(isolated / "hop" / "auth.toml")]

    missing = hop_run("auth", "list")  # no credentials: said on stdout, exit 0
    assert missing.code == 0 and "hop auth add" in missing.out.decode()

    csv_file = tmp_path / "creds.csv"
    csv_file.write_text("username,password,hostname\nalice-1,s3cret-pw,kafka.example.org\n")
    assert hop_run("auth", "add", csv_file).code == 0
    listed = hop_run("auth", "list")
    assert listed.code == 0
    assert "alice-1" in listed.out.decode() and "kafka.example.org" in listed.out.decode()
    assert "s3cret-pw" not in listed.out.decode() + listed.err

    again = hop_run("auth", "add", csv_file)
    assert again.code == 0  # the very same credential: nothing to do
    csv_file.write_text("username,password,hostname\nalice-1,new-pw,kafka.example.org\n")
    refused = hop_run("auth", "-q", "add", csv_file)  # logged, and exit 0 as in 0.13
    assert refused.code == 0 and "--force" in refused.err and "new-pw" not in refused.err
    assert hop_run("auth", "add", "--force", csv_file, "-v").code == 0

    assert hop_run("auth", "remove", "alice-1").code == 0
    gone = hop_run("auth", "remove", "alice-1")
    assert_one_error_line(gone)
    assert "alice-1" in gone.err


def test_auth_needs_a_subcommand(hop_run: Any) -> None:
    assert hop_run("auth").code == 2


def test_stdin_without_a_binary_buffer(
    hop_run: Any, topic_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"from": "StringIO"}\n'))
    assert hop_run("publish", topic_url, "-f", "JSON", "--no-auth").code == 0
    read = hop_run("subscribe", topic_url, "-s", "EARLIEST", "-e", "--no-auth")
    assert read.lines == ['{"from": "StringIO"}']
