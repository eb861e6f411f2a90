"""The installed ``hop`` against hostile input (issue 18, hardening items 2 and 3): ``-j``
prints standard JSON whatever the numbers, and ``--save`` never follows a planted link."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

import pytest

from hop import Stream
from hop.io import StartPosition
from hop.models import AvroBlob, JSONBlob

HOP = str(Path(sys.executable).with_name("hop"))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A user with no configuration and short group joins."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOP_")}
    return dict(clean, XDG_CONFIG_HOME=str(tmp_path / "config"), HOP_SESSION_TIMEOUT="4")


def hop(*args: str | Path, env: dict[str, str], stdin: bytes | None = None) -> Any:
    return subprocess.run(
        [HOP, *map(str, args)], input=stdin, capture_output=True, env=env, timeout=120, check=False
    )


def _refuse(constant: str) -> NoReturn:
    raise ValueError(f"not RFC 8259 JSON: {constant}")


def strict_json(line: bytes) -> Any:
    """``line`` parsed as RFC 8259 JSON: NaN, Infinity and -Infinity are refused."""
    return json.loads(line, parse_constant=_refuse)


def read_back(url: str) -> list[Any]:
    with Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True).open(url) as reader:
        return [message.content for message in reader]


# --- item 3: -j prints standard JSON -----------------------------------------------------------


def test_every_json_line_is_standard_json_when_messages_hold_nan_or_infinity(
    topic_url: str, env: dict[str, str]
) -> None:
    document = {"nan": math.nan, "inf": math.inf, "ninf": -math.inf, "list": [1.5, math.nan]}
    with Stream(auth=False).open(topic_url, "w") as producer:
        producer.write(JSONBlob(document))
        producer.write(JSONBlob(math.inf))
        producer.write(AvroBlob({"x": math.nan, "y": 2.5}))
        producer.write(JSONBlob({"text": "NaN", "big": 1e308}))
    read = hop("subscribe", topic_url, "-s", "EARLIEST", "-e", "-j", "--no-auth", env=env)
    assert read.returncode == 0, read.stderr
    lines = read.stdout.splitlines()
    assert len(lines) == 4
    records = [strict_json(line) for line in lines]
    # The topic has several partitions: the order between them is not kept.
    shown = sorted(json.dumps([r["format"], r["content"]], sort_keys=True) for r in records)
    assert shown == sorted(
        json.dumps(expected, sort_keys=True)
        for expected in [
            ["json", {"nan": "NaN", "inf": "Infinity", "ninf": "-Infinity", "list": [1.5, "NaN"]}],
            ["json", "Infinity"],
            ["avro", {"x": "NaN", "y": 2.5}],
            ["json", {"text": "NaN", "big": 1e308}],
        ]
    )


def test_plain_subscribe_prints_a_json_message_as_it_was_sent(
    topic_url: str, env: dict[str, str]
) -> None:
    # Without -j a message is shown as it is, even one a strict parser would refuse.
    with Stream(auth=False).open(topic_url, "w") as producer:
        producer.write(JSONBlob({"nan": math.nan}))
    read = hop("subscribe", topic_url, "-s", "EARLIEST", "-e", "--no-auth", env=env)
    assert read.returncode == 0, read.stderr
    assert read.stdout == b'{"nan": NaN}\n'


@pytest.mark.parametrize(
    ("line", "what"),
    [
        (b'{"x": NaN}', "NaN"),
        (b"[1, Infinity]", "Infinity"),
        (b'{"x": {"y": -Infinity}}', "-Infinity"),
        (b'{"x": 1e999}', "too large"),
    ],
)
def test_publish_refuses_a_json_line_holding_a_non_finite_number(
    topic_url: str, env: dict[str, str], line: bytes, what: str
) -> None:
    stdin = b'{"ok": 1}\n' + line + b'\n{"ok": 3}\n'
    result = hop("publish", topic_url, "-f", "JSON", "--no-auth", env=env, stdin=stdin)
    assert result.returncode == 1, result.stderr
    stderr = result.stderr.decode()
    (error,) = [ln for ln in stderr.splitlines() if ln.startswith("hop publish: error: ")]
    assert "standard input line 2" in error and what in error and "standard JSON" in error
    assert "1 of 1 message(s) delivered" in error
    assert read_back(topic_url) == [{"ok": 1}]


def test_publish_refuses_a_json_file_holding_nan_and_sends_nothing(
    topic_url: str, env: dict[str, str], tmp_path: Path
) -> None:
    good = tmp_path / "good.json"
    good.write_text('{"ok": 1}')
    bad = tmp_path / "bad.json"
    bad.write_text('{"alert": {"ra": NaN}}')
    result = hop("publish", topic_url, good, bad, "--no-auth", env=env)
    assert result.returncode == 1, result.stderr
    stderr = result.stderr.decode()
    assert f"{bad} is not a valid JSON message" in stderr and "NaN" in stderr
    assert "nothing was published" in stderr
    assert read_back(topic_url) == []


# --- item 2: --save never follows a planted link ----------------------------------------------


def _publish(url: str, *contents: Any) -> None:
    with Stream(auth=False).open(url, "w") as producer:
        for content in contents:
            producer.write(JSONBlob(content))


def test_save_does_not_follow_a_symlink_planted_at_a_file_name(
    topic_url: str, topic: str, env: dict[str, str], tmp_path: Path
) -> None:
    saved = tmp_path / "saved"
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious\n")
    folder = saved / topic
    folder.mkdir(parents=True)
    # Links at every name the two messages may get (a fresh topic: offsets 0 and 1 of any
    # partition), and at the first other name hop would try for offset 0.
    planted = [f"{p}-{o}.json" for p in range(16) for o in (0, 1)] + [
        f"{p}-0.1.json" for p in range(16)
    ]
    for name in planted:
        (folder / name).symlink_to(victim)
    _publish(topic_url, {"n": 0}, {"n": 1})
    result = hop("subscribe", topic_url, "-s", "EARLIEST", "-e", "--save", saved, "--no-auth",
                 env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert victim.read_bytes() == b"precious\n"
    paths = [Path(line) for line in result.stdout.decode().splitlines()]
    assert [p.parent for p in paths] == [folder, folder]
    assert all(not p.is_symlink() and p.is_file() for p in paths)
    assert sorted(json.loads(p.read_bytes())["n"] for p in paths) == [0, 1]
    for path in paths:  # the next free name: PARTITION-OFFSET.N.json
        partition, offset = path.name.split(".")[0].split("-")
        expected = 2 if offset == "0" else 1
        assert path.name == f"{partition}-{offset}.{expected}.json"
    assert all((folder / name).is_symlink() for name in planted)  # left alone
    assert "exists and is not this message" in result.stderr.decode()  # and said so
    assert "exists" in result.stderr.decode()  # and said so


def test_save_refuses_a_topic_directory_that_is_a_symlink(
    topic_url: str, topic: str, env: dict[str, str], tmp_path: Path
) -> None:
    saved = tmp_path / "saved"
    saved.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (saved / topic).symlink_to(elsewhere)
    _publish(topic_url, {"n": 0})
    result = hop("subscribe", topic_url, "-s", "EARLIEST", "-e", "--save", saved, "--no-auth",
                 env=env)  # fmt: skip
    assert result.returncode == 1
    stderr = result.stderr.decode()
    (error,) = [ln for ln in stderr.splitlines() if ln.startswith("hop subscribe: error: ")]
    assert "symbolic link" in error and str(saved / topic) in error
    assert list(elsewhere.iterdir()) == []


def test_saving_the_same_messages_again_keeps_the_files_and_adds_none(
    topic_url: str, env: dict[str, str], tmp_path: Path
) -> None:
    saved = tmp_path / "saved"
    _publish(topic_url, {"n": 0})
    args = ("subscribe", topic_url, "-s", "EARLIEST", "-e", "--save", saved, "--no-auth")
    first = hop(*args, env=env)
    second = hop(*args, env=env)
    assert first.returncode == second.returncode == 0, second.stderr
    assert first.stdout == second.stdout
    (path,) = [Path(line) for line in first.stdout.decode().splitlines()]
    assert [p.name for p in path.parent.iterdir()] == [path.name]
