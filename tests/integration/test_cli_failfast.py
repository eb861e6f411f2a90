"""The installed ``hop`` when something is wrong (issue 13): fail fast and say why, with the
time asserted loosely; and no secret of a URL in any output (issue 10 item 8)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from hop import Stream
from hop._local_broker import LocalBroker, free_port
from hop.auth import Auth, write_auth_data

HOP = str(Path(sys.executable).with_name("hop"))
SECRET = "zq9-s3cr/etPW!x"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A user with no configuration and short group joins."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOP_")}
    return dict(clean, XDG_CONFIG_HOME=str(tmp_path / "config"), HOP_SESSION_TIMEOUT="4")


@pytest.fixture
def message_file(tmp_path: Path) -> Path:
    path = tmp_path / "alert.txt"
    path.write_bytes(b"an alert\n")
    return path


def hop(*args: str | Path, env: dict[str, str]) -> tuple[Any, float]:
    """Run the installed hop; return the finished process and how long it took."""
    started = time.monotonic()
    result = subprocess.run(
        [HOP, *map(str, args)], capture_output=True, env=env, timeout=120, check=False
    )
    return result, time.monotonic() - started


def one_error_line(result: Any, command: str) -> str:
    stderr: str = result.stderr.decode()
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith(f"hop {command}: error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


def write_message(bootstrap: str, topic: str) -> None:
    with Stream(auth=False).open(f"kafka://{bootstrap}/{topic}", "w") as producer:
        producer.write({"topic": topic})


# --- item 1: publish to a broker never reached -------------------------------------------------


def test_publish_to_a_refused_port_stops_and_counts_what_was_lost(
    env: dict[str, str], message_file: Path
) -> None:
    url = f"kafka://127.0.0.1:{free_port()}/t"
    result, took = hop(
        "publish", url, "--no-auth", "--connect-timeout", "2", message_file, message_file, env=env
    )
    assert result.returncode == 1 and took < 20
    line = one_error_line(result, "publish")
    assert "no broker answered within 2 s (connection refused)" in line
    assert "2 message(s) not delivered" in line
    assert line.count("not delivered") == 1  # the count is said once
    assert result.stdout == b""


def test_publish_with_the_default_connect_timeout_says_it_in_one_line(
    env: dict[str, str], message_file: Path
) -> None:
    url = f"kafka://127.0.0.1:{free_port()}/t"
    result, took = hop("publish", url, "--no-auth", message_file, env=env)
    assert result.returncode == 1 and 14 < took < 20
    line = one_error_line(result, "publish")
    assert "no broker answered within 15 s (connection refused)" in line
    assert result.stderr.count(b"\n") == 1, result.stderr  # no warnings before it


def test_publish_to_an_unknown_host_uses_the_configured_timeout(
    env: dict[str, str], message_file: Path
) -> None:
    env = dict(env, HOP_CONNECT_TIMEOUT="1")
    result, took = hop(
        "publish", "kafka://no-such-host.invalid/t", "--no-auth", message_file, env=env
    )
    assert result.returncode == 1 and took < 20
    line = one_error_line(result, "publish")
    assert "within 1 s (host name not resolved)" in line and "1 message(s) not delivered" in line


# --- item 3: TLS/SASL credential against a plaintext broker ------------------------------------


@pytest.mark.parametrize(
    ("command", "extra"),
    [("publish", ["{file}"]), ("subscribe", ["-e"]), ("list-topics", [])],
)
def test_a_tls_credential_on_a_plaintext_broker_suggests_no_auth(
    broker: LocalBroker,
    env: dict[str, str],
    message_file: Path,
    command: str,
    extra: list[str],
) -> None:
    auth_file = Path(env["XDG_CONFIG_HOME"]) / "hop" / "auth.toml"
    write_auth_data(auth_file, [Auth("alice", SECRET, host="127.0.0.1")])
    url = f"kafka://{broker.bootstrap}/t-{uuid.uuid4().hex[:8]}"
    args = [a.format(file=message_file) for a in extra]
    result, took = hop(command, url, *args, env=env)
    assert result.returncode == 1 and took < 20
    line = one_error_line(result, command)
    assert "TLS handshake failed" in line and "--no-auth" in line
    assert SECRET.encode() not in result.stderr + result.stdout


# --- item 4: list-topics on a refused port ----------------------------------------------------


def test_list_topics_on_a_refused_port_answers_at_once(env: dict[str, str]) -> None:
    # Issue 23 item 3: as publish and subscribe, after the connect timeout.
    url = f"kafka://127.0.0.1:{free_port()}/"
    result, took = hop("list-topics", url, "--no-auth", "--connect-timeout", "1", env=env)
    assert result.returncode == 1 and took < 10
    assert "connection refused" in one_error_line(result, "list-topics")


# --- item 6: a topic that does not exist -------------------------------------------------------


def test_subscribe_to_a_missing_topic_says_so_with_the_closest_names(
    broker: LocalBroker, env: dict[str, str]
) -> None:
    tag = uuid.uuid4().hex[:8]
    write_message(broker.bootstrap, f"gcn-{tag}")
    result, took = hop(
        "subscribe", f"kafka://{broker.bootstrap}/gcn-{tag[:-1]}q", "-e", "--no-auth", env=env
    )
    assert result.returncode == 0 and took < 20
    stderr = result.stderr.decode()
    notes = [line for line in stderr.splitlines() if "does not exist (yet)" in line]
    assert len(notes) == 1, stderr
    assert f"gcn-{tag[:-1]}q" in notes[0] and f"closest existing: gcn-{tag}" in notes[0]
    assert result.stdout == b""


# --- item 12: topic patterns -------------------------------------------------------------------


def test_subscribe_to_a_topic_pattern(broker: LocalBroker, env: dict[str, str]) -> None:
    tag = uuid.uuid4().hex[:8]
    for topic in (f"pat-{tag}-one", f"pat-{tag}-two", f"nopat-{tag}"):
        write_message(broker.bootstrap, topic)
    result, took = hop(
        "subscribe",
        f"kafka://{broker.bootstrap}/^pat-{tag}-.*",
        "-s",
        "EARLIEST",
        "-e",
        "--no-auth",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert f"pat-{tag}-one" in out and f"pat-{tag}-two" in out and f"nopat-{tag}" not in out
    assert took < 60


# --- item 5: a group that never hands out partitions --------------------------------------------

# A group member that has been joining for two seconds (its JoinGroup sent) when it says so.
_ZOMBIE = """
import sys, time, confluent_kafka
consumer = confluent_kafka.Consumer(
    {"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2], "session.timeout.ms": 60000}
)
consumer.subscribe([sys.argv[3]])
started = time.monotonic()
while time.monotonic() - started < 2:
    consumer.poll(0.1)
print("joining", flush=True)
while True:
    consumer.poll(0.1)
"""


def test_a_group_join_that_never_completes_ends_with_until_eos(
    broker: LocalBroker, env: dict[str, str]
) -> None:
    # A member that joined with a 60 s session and was killed stays in the group for a minute;
    # a reader with a 2 s session (join timeout 6 s) is handed nothing in that time.
    topic = f"t-{uuid.uuid4().hex[:8]}"
    write_message(broker.bootstrap, topic)
    group = f"joiner-{uuid.uuid4().hex[:6]}"
    zombie = subprocess.Popen(
        [sys.executable, "-c", _ZOMBIE, broker.bootstrap, group, topic],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert zombie.stdout is not None and zombie.stdout.readline() == b"joining\n"
    finally:
        zombie.kill()
        zombie.wait()
        if zombie.stdout is not None:
            zombie.stdout.close()
    env = dict(env, HOP_SESSION_TIMEOUT="2")
    url = f"kafka://{broker.bootstrap}/{topic}"
    result, took = hop("subscribe", url, "-g", group, "-s", "EARLIEST", "-e", "--no-auth", env=env)
    assert result.returncode == 1 and took < 20, result.stderr
    line = one_error_line(result, "subscribe")
    assert repr(group) in line and "no partitions" in line and "another group" in line


# --- issue 10 item 8: a password in the URL is in no output, log or error ---------------------


@pytest.mark.parametrize(
    "argv",
    [
        [
            "publish",
            "kafka://alice:{secret}@127.0.0.1:{port}/t",
            "--connect-timeout",
            "1",
            "{file}",
        ],
        ["subscribe", "kafka://alice:{secret}@127.0.0.1:{port}/t", "-e"],
        ["list-topics", "kafka://alice:{secret}@127.0.0.1:{port}/"],
        ["subscribe", "kafka://alice:{secret}@127.0.0.1:notaport/t"],
        ["publish", "kafka:/alice:{secret}@127.0.0.1/t", "{file}"],
        ["list-topics", "kafka//alice:{secret}@127.0.0.1/"],
    ],
)
def test_a_password_in_the_url_is_never_shown(
    env: dict[str, str], message_file: Path, argv: list[str]
) -> None:
    args = [a.format(secret=SECRET, port=free_port(), file=message_file) for a in argv]
    result, took = hop(*args, "--no-auth", "-v", env=env)
    assert result.returncode != 0 and took < 30
    assert b"s3cr" not in result.stdout + result.stderr
    assert b"error: " in result.stderr


# --- issue 18 item 4: nor when the URL percent-encodes it --------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [
            "publish",
            "kafka://bob%3Asecret@127.0.0.1:{port}/t",
            "--connect-timeout",
            "1",
            "{file}",
        ],
        ["subscribe", "kafka://bob%3Asecret@127.0.0.1:{port}/t", "-e"],
        ["publish", "kafka://bob%3asecret%40127.0.0.1:{port}/t", "{file}"],
        ["subscribe", "kafka://bob:secret%40127.0.0.1:{port}/t", "-e"],
        ["subscribe", "kafka://bob%3Asecret@127.0.0.1:notaport/t"],
        ["publish", "kafka:/bob%3Asecret@127.0.0.1/t", "{file}"],
        ["publish", "kafka://bob:secret/t", "{file}"],
    ],
)
def test_a_percent_encoded_password_in_the_url_is_never_shown(
    env: dict[str, str], message_file: Path, argv: list[str]
) -> None:
    args = [a.format(port=free_port(), file=message_file) for a in argv]
    result, took = hop(*args, "--no-auth", "-v", env=env)
    assert result.returncode != 0 and took < 30
    assert b"secret" not in result.stdout + result.stderr, result.stderr
    assert b"error: " in result.stderr


def test_a_percent_encoded_password_is_not_shown_by_a_working_publish_and_subscribe(
    env: dict[str, str], broker: LocalBroker, message_file: Path
) -> None:
    topic = f"t-{uuid.uuid4().hex[:8]}"
    url = f"kafka://bob%3Asecret@{broker.bootstrap}/{topic}"
    published, _ = hop("publish", url, message_file, "--no-auth", "-v", env=env)
    assert published.returncode == 0, published.stderr
    read, _ = hop("subscribe", url, "-s", "EARLIEST", "-e", "--no-auth", "-v", env=env)
    assert read.returncode == 0, read.stderr
    assert b"an alert" in read.stdout
    for result in (published, read):
        assert b"secret" not in result.stdout + result.stderr, result.stderr
