"""Issue 23: the installed ``hop`` from the first ten minutes to 24/7 (items 1-9)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from hop import Stream
from hop._local_broker import LocalBroker, free_port
from hop.auth import Auth, write_auth_data
from hop.io import StartPosition, consumer_lag

HOP = str(Path(sys.executable).with_name("hop"))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A user with no configuration and short group joins."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOP_")}
    return dict(clean, XDG_CONFIG_HOME=str(tmp_path / "config"), HOP_SESSION_TIMEOUT="6")


def hop(*args: str | Path, env: dict[str, str], stdin: bytes | None = None) -> tuple[Any, float]:
    """Run the installed hop; return the finished process and how long it took."""
    started = time.monotonic()
    result = subprocess.run(
        [HOP, *map(str, args)], input=stdin, capture_output=True, env=env, timeout=120
    )
    return result, time.monotonic() - started


def wait_for_signal_handler(pid: int, signum: int, deadline: float = 30.0) -> None:
    """Wait until the process catches ``signum`` (hop installs its handler once reading)."""
    bit = 1 << (signum - 1)
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("SigCgt:") and int(line.split()[1], 16) & bit:
                    return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} never caught signal {signum}")


def error_line(result: Any, command: str) -> str:
    stderr: str = result.stderr.decode()
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.startswith(f"hop {command}: error: ")]
    assert len(lines) == 1, stderr
    return lines[0][len(f"hop {command}: error: ") :]


# --- item 1: forgetting --no-auth against a broker on this machine ---------------------------


@pytest.mark.parametrize("command", ["publish", "subscribe", "list-topics"])
def test_no_stored_credential_for_a_local_broker_names_no_auth_first(
    broker: LocalBroker, env: dict[str, str], command: str
) -> None:
    url = f"kafka://{broker.bootstrap}/t-ops"
    extra = ["-e"] if command == "subscribe" else []
    result, took = hop(command, url, *extra, env=env, stdin=b"{}\n")
    assert result.returncode == 1 and took < 3
    text = error_line(result, command)
    assert text.index("--no-auth") < 80, text
    assert "auth=False" not in text  # the command line's own words
    assert "hop auth add" in result.stderr.decode()  # the rest of the story is still told


@pytest.mark.parametrize("ssl", [True, False])
@pytest.mark.parametrize("command", ["publish", "subscribe", "list-topics"])
def test_a_hostless_credential_against_a_local_broker_fails_in_under_3_s(
    broker: LocalBroker, env: dict[str, str], command: str, ssl: bool
) -> None:
    auth_file = Path(env["XDG_CONFIG_HOME"]) / "hop" / "auth.toml"
    write_auth_data(auth_file, [Auth("alice", "pw-alice", ssl=ssl)])
    url = f"kafka://127.0.0.1:{broker.bootstrap.rsplit(':', 1)[1]}/t-ops"
    extra = ["-e"] if command == "subscribe" else []
    result, took = hop(command, url, *extra, env=env, stdin=b"{}\n")
    assert result.returncode == 1 and took < 3, (took, result.stderr)
    text = error_line(result, command)
    assert text.index("--no-auth") < 80, text


# --- item 3: one connect timeout for every command ---------------------------------------------


@pytest.mark.parametrize("command", ["publish", "subscribe", "list-topics"])
@pytest.mark.parametrize("how", ["flag", "variable", "setting"])
def test_every_command_takes_the_connect_timeout(
    env: dict[str, str], tmp_path: Path, command: str, how: str
) -> None:
    url = f"kafka://127.0.0.1:{free_port()}/t-ops"
    args: list[str] = [command, url, "--no-auth"]
    if how == "flag":
        args += ["--connect-timeout", "4"]
    elif how == "variable":
        env = dict(env, HOP_CONNECT_TIMEOUT="4")
    else:
        config = Path(env["XDG_CONFIG_HOME"]) / "hop" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text("[config]\nconnect_timeout = 4\n")
    result, took = hop(*args, env=env, stdin=b"{}\n")
    assert result.returncode == 1
    assert "no broker answered within 4 s (connection refused)" in error_line(result, command)
    assert 3.5 < took < 10


def test_subscribe_and_list_topics_default_to_the_publish_default(env: dict[str, str]) -> None:
    url = f"kafka://127.0.0.1:{free_port()}/t-ops"
    result, took = hop("list-topics", url, "--no-auth", env=env)
    assert "no broker answered within 15 s" in error_line(result, "list-topics")
    assert 14 < took < 25


# --- item 4: -v, -q, -d before or after the command name, on every command ----------------


@pytest.mark.parametrize(
    "words",
    [
        ["version"],
        ["list-topics", "{url}", "--no-auth"],
        ["subscribe", "{url}t-ops", "--no-auth", "-e"],
        ["publish", "{url}t-ops", "--no-auth"],
        ["auth", "list"],
        ["configure", "show"],
        ["journal", "check", "{missing}"],
    ],
)
@pytest.mark.parametrize("flag", ["-v", "-q", "-d", "--debug"])
@pytest.mark.parametrize("where", ["before", "after"])
def test_global_flags_anywhere(
    broker: LocalBroker,
    env: dict[str, str],
    tmp_path: Path,
    words: list[str],
    flag: str,
    where: str,
) -> None:
    filled = [
        w.format(url=f"kafka://{broker.bootstrap}/", missing=tmp_path / "none.journal")
        for w in words
    ]
    args = [flag, *filled] if where == "before" else [*filled, flag]
    result, _ = hop(*args, env=env, stdin=b"{}\n")
    assert result.returncode in (0, 1), result.stderr
    assert b"unrecognized arguments" not in result.stderr
    assert b"usage:" not in result.stderr


def test_local_broker_takes_the_global_flags(env: dict[str, str]) -> None:
    for args in (["-v", "local-broker", "--help"], ["local-broker", "-q", "--help"]):
        result, _ = hop(*args, env=env)
        assert result.returncode == 0, result.stderr
        assert b"-d, --debug" in result.stdout


def test_debug_after_the_command_prints_the_traceback(env: dict[str, str]) -> None:
    url = f"kafka://127.0.0.1:{free_port()}/"
    result, _ = hop("list-topics", url, "--no-auth", "--connect-timeout", "1", "-d", env=env)
    assert result.returncode == 1 and b"Traceback" in result.stderr


# --- item 5: what the docs say is what happens --------------------------------------------------


def test_local_broker_copies_no_binary_into_the_home_directory(
    env: dict[str, str], tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = dict(env, HOME=str(home))
    env.pop("CALF_TANSU_BIN", None)
    process = subprocess.Popen(
        [HOP, "local-broker", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert b"hop local broker running at kafka://127.0.0.1:" in first, process.stderr
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert process.returncode == 0
    assert not (home / ".calfkit").exists()


def test_a_second_ctrl_c_during_a_group_join_exits_at_once(
    broker: LocalBroker, env: dict[str, str], topic_url: str
) -> None:
    with Stream(auth=False).open(topic_url, "w") as producer:
        producer.write({"n": 1})
    # A 10 s session: joining takes about 5 s on this broker, and closing waits for the join.
    env = dict(env, HOP_SESSION_TIMEOUT="10")
    group = f"g-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(
        [HOP, "subscribe", topic_url, "-g", group, "--no-auth"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        wait_for_signal_handler(process.pid, signal.SIGINT)
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        time.sleep(0.3)
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
        took = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    assert took < 1.0, took
    assert b"hop subscribe: interrupted" in err


def test_configure_show_prints_what_cli_md_shows(env: dict[str, str]) -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    start = docs.index("    $ HOP_SESSION_TIMEOUT=6 hop configure show\n")
    block = docs[start:].split("\n\n", 1)[0].splitlines()[1:]
    shown = [line[4:] for line in block]
    config = Path(env["XDG_CONFIG_HOME"]) / "hop" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("[config]\nproduce_timeout = 30\n")
    result, _ = hop("configure", "show", env=dict(env, HOP_SESSION_TIMEOUT="6"))
    assert result.returncode == 0, result.stderr
    printed = result.stdout.decode().splitlines()
    assert printed[0] == f"# {config}, with HOP_* variables applied"
    assert printed[1:] == shown[1:]


# --- item 6: smaller things --------------------------------------------------------------------


def test_journal_check_on_a_file_that_is_not_a_journal_says_so(
    env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are not the journal you are looking for\n" * 20)
    result, _ = hop("journal", "check", path, env=env)
    assert result.returncode == 1
    out = result.stdout.decode()
    assert "NOT A JOURNAL" in out and "nothing to salvage" in out
    assert "salvage " + str(path) not in out and "0 readable" not in out


def test_bad_json_on_stdin_says_nothing_was_published(
    broker: LocalBroker, env: dict[str, str], topic_url: str
) -> None:
    result, _ = hop("publish", topic_url, "-f", "JSON", "--no-auth", env=env, stdin=b"oops\n")
    assert result.returncode == 1
    line = error_line(result, "publish")
    assert "standard input line 1 is not valid JSON" in line
    assert line.endswith("(nothing was published)") and "0 of 0" not in line


def test_a_subscriber_whose_broker_dies_says_so_in_hops_words(env: dict[str, str]) -> None:
    with LocalBroker() as own:
        url = f"kafka://{own.bootstrap}/t-dies"
        with Stream(auth=False).open(url, "w") as producer:
            producer.write({"n": 1})
        started = time.monotonic()
        process = subprocess.Popen(
            [HOP, "subscribe", url, "--no-auth", "-s", "EARLIEST"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        try:
            assert process.stdout is not None
            assert process.stdout.readline() == b'{"n": 1}\n'
            own.kill()
            # Past the 20 s in which a starting command holds connection warnings back.
            time.sleep(max(0.0, 24 - (time.monotonic() - started)))
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    text = err.decode()
    assert process.returncode == 0, text
    assert f"cannot reach broker {own.bootstrap} (connection refused)" in text
    assert "Connect to ipv4" not in text and "brokers are down" not in text
    assert text.count("cannot reach broker") == 1  # rate-limited


# --- item 7: hop subscribe --end-at ------------------------------------------------------------


def iso(millis: int) -> str:
    moment = datetime.fromtimestamp(millis / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_subscribe_reads_exactly_a_window_of_time(
    broker: LocalBroker, env: dict[str, str], topic_url: str
) -> None:
    # One partition, one record per batch (the test broker looks times up by batch).
    with Stream(auth=False).open(topic_url, "w", config={"batch.num.messages": 1}) as producer:
        for number in range(6):
            producer.write({"n": number}, key="one-partition")
            producer.flush()
            time.sleep(0.02)
    result, _ = hop("subscribe", topic_url, "-s", "EARLIEST", "-e", "-j", "--no-auth", env=env)
    stamps = [json.loads(line)["timestamp"] for line in result.stdout.splitlines()]
    assert len(stamps) == 6
    millis = [
        int(datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000) for s in stamps
    ]
    window, took = hop(
        "subscribe",
        topic_url,
        "-s",
        iso(millis[1]),
        "--end-at",
        iso(millis[4]),
        "--no-auth",
        env=env,
    )
    assert window.returncode == 0, window.stderr
    assert [json.loads(line)["n"] for line in window.stdout.splitlines()] == [1, 2, 3, 4]
    assert took < 20  # it ended by itself, without -e


def test_end_at_takes_only_a_time(env: dict[str, str]) -> None:
    result, _ = hop("subscribe", "kafka://127.0.0.1:9/t", "--end-at", "LATEST", env=env)
    assert result.returncode == 2 and b"ISO 8601" in result.stderr


# --- item 9: hop subscribe --expect-every --------------------------------------------------------


def test_a_silent_stream_exits_3_with_one_line(
    broker: LocalBroker, env: dict[str, str], topic_url: str, topic: str
) -> None:
    with Stream(auth=False).open(topic_url, "w") as producer:
        producer.write({"n": 0})  # the topic exists; nothing new comes after it
    result, took = hop("subscribe", topic_url, "--no-auth", "--expect-every", "2s", env=env)
    assert result.returncode == 3, result.stderr
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"hop subscribe: no message on {topic} for 2")
    assert "--expect-every 2 s" in lines[0]
    assert 2 <= took < 10


def test_test_messages_count_as_signs_of_life(
    broker: LocalBroker, env: dict[str, str], topic_url: str
) -> None:
    with Stream(auth=False).open(topic_url, "w") as producer:
        producer.write({"n": 0})
    stop = threading.Event()

    def heartbeat() -> None:
        with Stream(auth=False).open(topic_url, "w") as producer:
            while not stop.wait(0.5):
                producer.write({"beat": True}, test=True)
                producer.flush()

    beating = threading.Thread(target=heartbeat)
    started = time.monotonic()
    beating.start()
    try:
        threading.Timer(6, stop.set).start()
        result, _ = hop("subscribe", topic_url, "--no-auth", "--expect-every", "3", env=env)
    finally:
        stop.set()
        beating.join()
    took = time.monotonic() - started
    assert result.returncode == 3, result.stderr
    assert result.stdout == b""  # test messages are still not printed
    assert took > 8  # alive while the test messages came (6 s), then 3 s of silence


# --- item 8: hop lag and hop.io.consumer_lag ------------------------------------------------------


def test_hop_lag_shows_a_groups_lag_per_partition(
    broker: LocalBroker, env: dict[str, str], topic_url: str, topic: str
) -> None:
    # Five messages in one partition, one record per batch (end offsets come per batch).
    with Stream(auth=False).open(topic_url, "w", config={"batch.num.messages": 1}) as producer:
        for number in range(5):
            producer.write({"n": number}, key="one-partition")
            producer.flush()
    group = f"lag-{uuid.uuid4().hex[:8]}"
    reader = Stream(auth=False, start_at=StartPosition.EARLIEST)
    with reader.open(topic_url, group_id=group, session_timeout=6) as consumer:
        for count, _ in enumerate(consumer, 1):
            if count == 3:
                break  # three handed out: they are committed at close
    result, _ = hop("lag", topic_url, "-g", group, "--no-auth", "-j", env=env)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 4  # the broker's four partitions, each reported
    (busy,) = [row for row in rows if row["end"] > 0]
    assert busy == {
        "topic": topic,
        "partition": busy["partition"],
        "committed": 3,
        "end": 5,
        "lag": 2,
    }
    assert all(row["committed"] is None and row["lag"] is None for row in rows if row != busy)
    assert consumer_lag(topic_url, group, auth=False) == rows  # the library says the same
    text, _ = hop("lag", topic_url, "-g", group, "--no-auth", env=env)
    lines = text.stdout.decode().splitlines()
    assert lines[0].split() == ["TOPIC", "PARTITION", "COMMITTED", "END", "LAG"]
    assert f"{topic} {busy['partition']} 3 5 2" in [" ".join(line.split()) for line in lines]
    assert lines[-1] == "total lag: 2"
    # Without topics in the URL: the partitions the group committed in.
    everywhere = consumer_lag(f"kafka://{broker.bootstrap}/", group, auth=False)
    assert everywhere == [busy]


def test_hop_lag_of_a_missing_topic_is_one_error_line(
    broker: LocalBroker, env: dict[str, str]
) -> None:
    url = f"kafka://{broker.bootstrap}/^never-{uuid.uuid4().hex[:6]}$"
    result, _ = hop("lag", url, "-g", "nobody", "--no-auth", env=env)
    assert result.returncode == 0 and result.stdout.decode().endswith("total lag: 0\n")
    missing = f"kafka://{broker.bootstrap}/absent-{uuid.uuid4().hex[:6]}"
    result, _ = hop("lag", missing, "-g", "nobody", "--no-auth", env=env)
    assert result.returncode == 1
    assert "does not exist" in error_line(result, "lag")
