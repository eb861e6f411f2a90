"""The installed ``hop`` at 3 a.m.: signals, broken pipes, settings, and the options people
reach for (issues 9, 10 and 13), each checked on stdout, stderr and exit status."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from hop import Stream
from hop._local_broker import LocalBroker, free_port
from hop.io import StartPosition
from hop.version import __version__

HOP = str(Path(sys.executable).with_name("hop"))
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
VOEVENT_FILE = EXAMPLES / "example_voevent.xml"
CIRCULAR = EXAMPLES / "example.gcn3"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of a user with no configuration, and short group joins."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOP_")}
    return dict(clean, XDG_CONFIG_HOME=str(tmp_path / "config"), HOP_SESSION_TIMEOUT="6")


def hop(
    *args: str | Path, env: dict[str, str], stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [HOP, *map(str, args)],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )


def start(*args: str | Path, env: dict[str, str], **kwargs: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([HOP, *map(str, args)], env=env, **kwargs)


def finish(process: subprocess.Popen[bytes], timeout: float = 60) -> tuple[int, bytes, bytes]:
    """Wait for the process; return its status, the rest of its stdout and its stderr."""
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, out or b"", err or b""


def wait_for_signal_handler(pid: int, signum: int, deadline: float = 30.0) -> None:
    """Wait until the process catches ``signum`` (hop installs its handler once it is
    publishing or reading), so that a signal sent next is handled, not fatal."""
    bit = 1 << (signum - 1)
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("SigCgt:") and int(line.split()[1], 16) & bit:
                    return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} never caught signal {signum}")


def read_back(url: str) -> list[Any]:
    with Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True).open(url) as reader:
        return [getattr(message, "content", message) for message in reader]


def publish_json(url: str, values: list[Any], key: str = "one-partition") -> None:
    # One key: one partition, so that the order read back is the order written.
    with Stream(auth=False).open(url, "w") as producer:
        for value in values:
            producer.write(value, key=key)


def no_noise(err: bytes) -> None:
    assert b"Traceback" not in err
    assert b"Exception ignored" not in err
    assert b"unexpected" not in err


# ------------------------------------------------------------------- issue 9: command line


def test_version_flag(env: dict[str, str]) -> None:
    result = hop("--version", env=env)
    assert result.returncode == 0
    assert result.stdout == f"hop version {__version__}\n".encode()
    assert result.stderr == b""


def test_debug_before_the_command_prints_the_traceback(env: dict[str, str]) -> None:
    argv: list[str | Path] = [
        "publish", "kafka://127.0.0.1:1/t", "-f", "VOEVENT", CIRCULAR, "--no-auth",
    ]  # fmt: skip
    plain = hop(*argv, env=env)
    assert plain.returncode == 1 and b"Traceback" not in plain.stderr
    debug = hop("-d", *argv, env=env)
    assert debug.returncode == 1
    assert b"Traceback (most recent call last)" in debug.stderr
    assert b"hop publish: error: " in debug.stderr
    long_form = hop("--debug", *argv, env=env)
    assert long_form.returncode == 1 and b"Traceback" in long_form.stderr


def test_subscribe_delimiter(topic_url: str, env: dict[str, str], tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.write_bytes(b"first")
    two.write_bytes(b"second::")  # already ends with the delimiter used below
    sent = hop("publish", topic_url, one, two, "--key", "k", "--no-auth", "-q", env=env)
    assert sent.returncode == 0, sent.stderr
    base = ["subscribe", topic_url, "-s", "EARLIEST", "-e", "--no-auth", "-q"]
    assert hop(*base, env=env).stdout == b"first\nsecond::\n"
    colons = hop(*base, "-D", "::", env=env)
    assert colons.returncode == 0, colons.stderr
    assert colons.stdout == b"first::second::"
    assert hop(*base, "--delimiter", "\\x00", env=env).stdout == b"first\x00second::\x00"
    assert hop(*base, "-D", "\\t|\\n", env=env).stdout == b"first\t|\nsecond::\t|\n"


def test_list_topics_output(broker_url: str, topic: str, env: dict[str, str]) -> None:
    names = [f"{topic}-b", f"{topic}-a"]
    for name in names:
        sent = hop("publish", f"{broker_url}/{name}", "--no-auth", env=env, stdin=b"x\n")
        assert sent.returncode == 0, sent.stderr
    everything = hop("list-topics", f"{broker_url}/", "--no-auth", env=env)
    assert everything.returncode == 0, everything.stderr
    lines = everything.stdout.decode().splitlines()
    assert lines[0] == "Accessible topics:"
    assert lines[1:] == sorted(lines[1:])
    assert {f" {name}" for name in names} <= set(lines[1:])
    restricted = hop("list-topics", f"{broker_url}/{names[0]},{names[1]}", "--no-auth", env=env)
    assert restricted.stdout.decode() == f"Accessible topics:\n {names[1]}\n {names[0]}\n"
    bare = hop("list-topics", f"{broker_url}/{names[0]},{names[1]}", "-q", "--no-auth", env=env)
    assert bare.stdout.decode() == f"{names[1]}\n{names[0]}\n"
    missing = hop("list-topics", f"{broker_url}/{topic}-never-written", "--no-auth", env=env)
    assert missing.returncode == 0, missing.stderr
    # The broker may create a topic when asked about it; then it is listed, else not.
    assert missing.stdout.decode() in (
        "No accessible topics\n",
        f"Accessible topics:\n {topic}-never-written\n",
    )


def test_list_topics_with_no_topics_says_so(env: dict[str, str]) -> None:
    with LocalBroker() as empty:
        result = hop("list-topics", f"kafka://{empty.bootstrap}/", "--no-auth", env=env)
        quiet = hop("list-topics", f"kafka://{empty.bootstrap}/", "--no-auth", "-q", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"No accessible topics\n"
    assert quiet.returncode == 0 and quiet.stdout == b""


# --------------------------------------------------------------- issue 13.1: SIGTERM, fail fast


def test_sigterm_publish_gives_up_after_the_grace_period(
    env: dict[str, str], tmp_path: Path
) -> None:
    files = []
    for number in range(3):
        path = tmp_path / f"alert{number}.json"
        path.write_text(json.dumps({"n": number}))
        files.append(path)
    process = start(
        "publish",
        f"kafka://127.0.0.1:{free_port()}/t",
        *files,
        "--no-auth",
        "--term-grace",
        "2",
        env=env,
        stderr=subprocess.PIPE,
    )
    wait_for_signal_handler(process.pid, signal.SIGTERM)
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    status, _, err = finish(process)
    took = time.monotonic() - started
    assert status == 143, err
    assert took < 20
    no_noise(err)
    text = err.decode()
    assert "terminated: delivering what is queued for at most 2 s" in text
    assert "hop publish: terminated: 0 of 3 message(s) delivered; 3 not delivered" in text


def test_sigterm_publish_delivers_what_is_queued_and_stops_reading(
    topic_url: str, env: dict[str, str]
) -> None:
    process = start(
        "publish", topic_url, "-f", "JSON", "--no-auth", env=env,
        stdin=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdin is not None
    process.stdin.write(b"".join(b'{"n": %d}\n' % n for n in range(5)))
    process.stdin.flush()
    deadline = time.monotonic() + 30
    while len(read_back(topic_url)) < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    # Standard input stays open: without SIGTERM it would wait for more lines forever.
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    status, _, err = finish(process)
    process.stdin.close()
    assert time.monotonic() - started < 20
    assert status == 143, err
    no_noise(err)
    assert b"hop publish: terminated: 5 of 5 message(s) delivered; 0 not delivered" in err
    assert sorted(m["n"] for m in read_back(topic_url)) == list(range(5))


def test_sigterm_subscribe_exits_promptly_and_commits(topic_url: str, env: dict[str, str]) -> None:
    publish_json(topic_url, list(range(4)))
    group = f"g-{uuid.uuid4().hex[:8]}"
    process = start(
        "subscribe", topic_url, "-g", group, "-s", "EARLIEST", "--no-auth", env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    printed = [process.stdout.readline() for _ in range(4)]
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    status, rest, err = finish(process)
    assert time.monotonic() - started < 20
    assert status == 0, err
    no_noise(err)
    assert printed == [b"%d\n" % n for n in range(4)] and rest == b""
    publish_json(topic_url, ["new"])
    again = hop("subscribe", topic_url, "-g", group, "-s", "EARLIEST", "-e", "--no-auth", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout == b'"new"\n'  # what was printed before SIGTERM was committed


def test_no_broker_reached_reports_the_undelivered_count(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    # What the library raises once no broker has answered within the connect timeout.
    from hop.cli import main
    from hop.errors import BrokerUnavailableError

    def unreachable(self: Any, timeout: float | None = None) -> int:
        raise BrokerUnavailableError("no broker reached at 127.0.0.1:1: connection refused")

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setattr("hop.io.Producer.flush", unreachable)
    status = main(
        ["publish", f"kafka://127.0.0.1:{free_port()}/t", "--no-auth", str(CIRCULAR), "-q"]
    )
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("hop publish: error: no broker reached at 127.0.0.1:1: ")
    assert "(0 of 1 message(s) delivered; 1 not delivered)" in err
    assert err.count("\n") == 1


# ------------------------------------------------------------- issue 13.2: settings and flags


def test_produce_timeout_from_the_environment_is_honoured(env: dict[str, str]) -> None:
    url = f"kafka://127.0.0.1:{free_port()}/t"
    started = time.monotonic()
    result = hop("publish", url, "--no-auth", env=dict(env, HOP_PRODUCE_TIMEOUT="1"), stdin=b"a\n")
    assert time.monotonic() - started < 14  # the setting, not a connect timeout, ended it
    assert result.returncode == 1
    assert b"1 of 1 message(s) were not delivered" in result.stderr
    assert b"Message timed out" in result.stderr


def test_a_flag_given_wins_over_the_environment(env: dict[str, str]) -> None:
    url = f"kafka://127.0.0.1:{free_port()}/t"
    started = time.monotonic()
    # The environment says wait forever; the flag says one second.
    result = hop(
        "publish", url, "--no-auth", "--timeout", "1",
        env=dict(env, HOP_PRODUCE_TIMEOUT="0"), stdin=b"a\n",
    )  # fmt: skip
    assert time.monotonic() - started < 14
    assert result.returncode == 1
    assert b"Message timed out" in result.stderr


def test_a_bad_setting_in_the_environment_is_named(env: dict[str, str]) -> None:
    result = hop(
        "publish", "kafka://127.0.0.1:1/t", "--no-auth",
        env=dict(env, HOP_PRODUCE_TIMEOUT="soon"), stdin=b"a\n",
    )  # fmt: skip
    assert result.returncode == 1
    assert b"HOP_PRODUCE_TIMEOUT" in result.stderr
    no_noise(result.stderr)


# ------------------------------------------------------------------ issue 13.7: broken pipes


def closed_pipe_run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """Run hop with standard output a pipe whose reader has already gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [HOP, *args], stdout=write_end, stderr=subprocess.PIPE, env=env,
            timeout=60, check=False,
        )  # fmt: skip
    finally:
        os.close(write_end)


@pytest.mark.parametrize(
    "argv", [["version"], ["auth", "locate"], ["list-topics", "{url}/", "--no-auth"]]
)
def test_a_reader_gone_is_not_an_error(
    argv: list[str], broker_url: str, env: dict[str, str]
) -> None:
    result = closed_pipe_run(*[a.format(url=broker_url) for a in argv], env=env)
    assert result.returncode in (0, 141)
    assert result.stderr == b"", result.stderr


def test_subscribe_into_head(topic_url: str, env: dict[str, str]) -> None:
    # More than a pipe holds, so that hop is still writing when head has gone.
    publish_json(topic_url, [{"n": n, "pad": "x" * 8000} for n in range(60)])
    script = f"{HOP} subscribe {topic_url} -s EARLIEST --no-auth -q | head -5"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", script],
        capture_output=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode in (0, 141)
    assert len(result.stdout.splitlines()) == 5
    assert result.stderr == b"", result.stderr


# --------------------------------------------------------------- issue 13.8, 13.9: publish text


def test_publish_usage_names_only_the_url_as_required(env: dict[str, str]) -> None:
    result = hop("publish", env=env)
    assert result.returncode == 2
    assert b"URL [MESSAGE ...]" in result.stderr
    assert result.stderr.rstrip().endswith(b"the following arguments are required: URL")


def test_json_lines_file_gets_a_hint(env: dict[str, str], tmp_path: Path) -> None:
    lines = tmp_path / "alerts.jsonl"
    lines.write_text('{"n": 1}\n{"n": 2}\n')
    result = hop("publish", "kafka://127.0.0.1:1/t", "-f", "JSON", lines, "--no-auth", env=env)
    assert result.returncode == 1
    no_noise(result.stderr)
    text = result.stderr.decode()
    assert text.count("\n") == 1
    assert "a file holds one message" in text
    assert f"hop publish URL -f JSON < {lines}" in text


# ------------------------------------------------------------------- issue 13.10: -j records


def test_json_lines_for_jq(topic_url: str, env: dict[str, str], tmp_path: Path) -> None:
    blob = tmp_path / "raw.bin"
    blob.write_bytes(b"\x00\x01\xff")
    sent = [
        hop("publish", topic_url, "-f", "JSON", "--key", "k1", "--header", "site=LCO",
            "--no-auth", env=env, stdin=b'{"event": "GRB 261126A"}\n'),
        hop("publish", topic_url, VOEVENT_FILE, CIRCULAR, blob, "--key", "k1", "--no-auth",
            env=env),
    ]  # fmt: skip
    assert all(s.returncode == 0 for s in sent), [s.stderr for s in sent]
    result = hop("subscribe", topic_url, "-s", "EARLIEST", "-e", "-j", "--no-auth", env=env)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["format"] for r in records] == ["json", "voevent", "circular", "blob"]
    topic = topic_url.rsplit("/", 1)[1]
    for offset, record in enumerate(records):
        assert record["topic"] == topic and record["offset"] == offset
        assert isinstance(record["partition"], int)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["timestamp"])
        assert record["key"] == "k1"
        assert record["headers"]["_format"] == record["format"]
        assert "headers._id" in record["base64"]
    json_record, voevent, circular, binary = records
    assert json_record["content"] == {"event": "GRB 261126A"}
    assert json_record["headers"]["site"] == "LCO" and json_record["base64"] == ["headers._id"]
    assert voevent["content"] == VOEVENT_FILE.read_text() and "content" not in voevent["base64"]
    assert "GRB 261126A: hop example circular" in circular["content"]
    assert base64.b64decode(binary["content"]) == b"\x00\x01\xff"
    assert binary["base64"] == ["content", "headers._id"]


# --------------------------------------------------------- issue 13.11: --count --save --filter


def test_count_stops_after_n(topic_url: str, env: dict[str, str]) -> None:
    publish_json(topic_url, list(range(5)))
    # No -e: only --count ends it.
    result = hop("subscribe", topic_url, "-s", "EARLIEST", "--count", "2", "--no-auth", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"0\n1\n"


def test_save_writes_files_that_publish_back(
    topic_url: str, broker_url: str, env: dict[str, str], tmp_path: Path
) -> None:
    blob = tmp_path / "raw"
    blob.write_bytes(b"\x00bytes")
    sent = hop(
        "publish", topic_url, VOEVENT_FILE, CIRCULAR, blob, "--key", "k", "--no-auth", env=env
    )
    assert sent.returncode == 0, sent.stderr
    publish_json(topic_url, [{"n": 1}], key="k")
    saved = tmp_path / "saved"
    result = hop("subscribe", topic_url, "-s", "EARLIEST", "-e", "--save", saved, "--no-auth",
                 env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    paths = [Path(line) for line in result.stdout.decode().splitlines()]
    topic = topic_url.rsplit("/", 1)[1]
    assert [p.parent for p in paths] == [saved / topic] * 4
    assert [p.suffix for p in paths] == [".xml", ".gcn3", ".bin", ".json"]
    assert all(re.fullmatch(r"\d+-\d+", p.stem) for p in paths)
    assert paths[0].read_bytes() == VOEVENT_FILE.read_bytes()
    assert paths[2].read_bytes() == b"\x00bytes"
    assert json.loads(paths[3].read_bytes()) == {"n": 1}
    # The files publish back as the same formats, without -f.
    copy = f"{broker_url}/{topic}-copy"
    again = hop("publish", copy, *paths, "--key", "k", "--no-auth", env=env)
    assert again.returncode == 0, again.stderr
    read = hop("subscribe", copy, "-s", "EARLIEST", "-e", "-j", "--no-auth", env=env)
    assert [json.loads(line)["format"] for line in read.stdout.splitlines()] == [
        "voevent", "circular", "blob", "json",
    ]  # fmt: skip


def test_filter_keeps_matching_messages(topic_url: str, env: dict[str, str]) -> None:
    alerts = [
        {"event": "GRB 261126A", "classification": {"BNS": 0.1}},
        {"event": "S261126ab", "classification": {"BNS": 0.91}},
        {"event": "S261127c", "classification": {"BNS": 0.4}},
        {"event": "S261128d", "classification": {"BNS": 0.97}},
    ]
    publish_json(topic_url, [*alerts, "not an object"])
    base = ["subscribe", topic_url, "-s", "EARLIEST", "-e", "--no-auth", "-q"]
    both = hop(*base, "--filter", "classification.BNS>0.5", "--filter", "event~^S26112[67]",
               env=env)  # fmt: skip
    assert both.returncode == 0, both.stderr
    assert [json.loads(line) for line in both.stdout.splitlines()] == [alerts[1]]
    equal = hop(*base, "--filter", 'event=="GRB 261126A"', env=env)
    assert [json.loads(line)["event"] for line in equal.stdout.splitlines()] == ["GRB 261126A"]
    counted = hop(*base, "--filter", "classification.BNS>=0.4", "--count", "2", env=env)
    assert [json.loads(line)["event"] for line in counted.stdout.splitlines()] == [
        "S261126ab", "S261127c",
    ]  # fmt: skip
    bad = hop(*base, "--filter", "classification.BNS", env=env)
    assert bad.returncode == 2 and b"FIELD OP VALUE" in bad.stderr


# -------------------------------------------------------- issue 13.13: key, headers, formats


def test_publish_key_headers_and_formats_from_extensions(
    topic_url: str, env: dict[str, str], tmp_path: Path
) -> None:
    alert = tmp_path / "alert.json"
    alert.write_text('{"event": "S261126ab"}')
    other = tmp_path / "notes.txt"
    other.write_text("plain")
    sent = hop(
        "publish", topic_url, alert, VOEVENT_FILE, CIRCULAR, other, "--key", "S261126ab",
        "--header", "origin=test-suite", "--header", "origin=again", "--no-auth", env=env,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    assert b"published 4 message(s)" in sent.stderr
    read = hop("subscribe", topic_url, "-s", "EARLIEST", "-e", "-j", "--no-auth", env=env)
    records = [json.loads(line) for line in read.stdout.splitlines()]
    assert [r["format"] for r in records] == ["json", "voevent", "circular", "blob"]
    assert {r["key"] for r in records} == {"S261126ab"}
    assert all(r["headers"]["origin"] == ["test-suite", "again"] for r in records)
    assert records[0]["content"] == {"event": "S261126ab"}
    assert records[3]["content"] == "plain"


# -------------------------------------------------------------- issue 13.15: the local broker


def test_local_broker_prints_its_limits_once(env: dict[str, str]) -> None:
    process = start(
        "local-broker", "--port", "0", env=dict(env, PYTHONUNBUFFERED="1"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    lines: list[bytes] = []
    while not lines or b"Press Ctrl+C" not in lines[-1]:
        line = process.stdout.readline()
        assert line, b"".join(lines)
        lines.append(line)
    process.send_signal(signal.SIGINT)
    status, rest, err = finish(process)
    assert status == 0, err
    text = b"".join(lines).decode()
    assert text.count("Known limits") == 1
    assert "off by a record batch" in text and "half the session timeout" in text
    assert "Known limits" not in rest.decode()


# ------------------------------------------------------ issue 10.10, 10.12: publish endings


@pytest.mark.parametrize("attempt", range(3))
def test_double_ctrl_c_exits_130_with_the_documented_message(
    attempt: int, env: dict[str, str], tmp_path: Path
) -> None:
    files = []
    for number in range(4):
        path = tmp_path / f"alert{number}.json"
        path.write_text(json.dumps({"n": number}))
        files.append(path)
    process = start(
        "publish", f"kafka://127.0.0.1:{free_port()}/t", *files, "--no-auth", env=env,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    wait_for_signal_handler(process.pid, signal.SIGTERM)
    process.send_signal(signal.SIGINT)
    first = process.stderr.readline()
    assert first == b"interrupted: delivering what is queued; press Ctrl+C again to abandon it\n"
    process.send_signal(signal.SIGINT)
    status, _, err = finish(process)
    assert status == 130, err
    no_noise(err)
    assert b"SystemError" not in err
    assert err == b"hop publish: abandoned: 0 of 4 message(s) delivered; 4 not confirmed\n"


def test_every_file_is_attempted_and_each_failure_named(
    topic_url: str, env: dict[str, str], tmp_path: Path
) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    a.write_bytes(b"first")
    b.write_bytes(b"\x00" * 5_242_880)
    c.write_bytes(b"third")
    result = hop("publish", topic_url, a, b, c, "--no-auth", env=env)
    assert result.returncode == 1
    no_noise(result.stderr)
    assert result.stderr.decode() == (
        f"hop publish: error: 2 of 3 message(s) delivered; 1 failed: {b}: message too large "
        "(5,242,880 bytes, limit 1,000,000)\n"
    )
    assert sorted(read_back(topic_url)) == [b"first", b"third"]
