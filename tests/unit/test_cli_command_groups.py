"""Unit tests for what ``hop.cli._args`` gives the commands made of subcommands (``auth``,
``configure``, ``journal``) and for its signal helpers."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from hop.auth import Auth, load_auth
from hop.cli import build_parser, main
from hop.cli._signals import on_interrupt, on_signals

SECRET = "s3cr3t-Pa55word"


@pytest.mark.parametrize(
    ("argv", "dest", "chosen"),
    [
        (["auth", "list"], "auth_command", "list"),
        (["configure", "show"], "configure_command", "show"),
        (["journal", "check", "j.journal"], "journal_command", "check"),
    ],
)
def test_groups_record_the_subcommand(argv: list[str], dest: str, chosen: str) -> None:
    args = build_parser().parse_args(argv)
    assert getattr(args, dest) == chosen
    assert args.quiet is False and args.verbose is False


@pytest.mark.parametrize("group", [["auth"], ["configure"], ["journal"]])
def test_a_group_requires_a_subcommand(
    group: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(group)
    assert caught.value.code == 2
    assert "required" in capsys.readouterr().err


@pytest.mark.parametrize("leaf", [["auth", "list"], ["configure", "show"]])
def test_logging_options_stand_before_or_after_the_subcommand(leaf: list[str]) -> None:
    before = build_parser().parse_args([leaf[0], "-v", leaf[1]])
    after = build_parser().parse_args([*leaf, "-q"])
    assert before.verbose is True and before.quiet is False
    assert after.quiet is True and after.verbose is False


def test_journal_leaves_take_the_logging_options_too() -> None:
    # Issue 23 item 4: -v, -q and -d before or after the command name, on every command.
    assert build_parser().parse_args(["journal", "-q", "check", "x"]).quiet is True
    assert build_parser().parse_args(["journal", "check", "x", "-q"]).quiet is True
    assert build_parser().parse_args(["journal", "check", "x", "-d"]).debug is True


@pytest.mark.usefixtures("config_home")
def test_hop_auth_add_stores_through_plain_arguments(tmp_path: Path) -> None:
    csv = tmp_path / "cred.csv"
    csv.write_text(f"username,password,hostname\nalice,{SECRET},kafka.example.org\n")
    assert main(["auth", "add", str(csv)]) == 0
    csv.write_text("username,password,hostname\nalice,other,kafka.example.org\n")
    assert main(["auth", "add", str(csv)]) == 0
    assert load_auth() == [Auth("alice", SECRET, host="kafka.example.org")]
    assert main(["auth", "add", "--force", str(csv)]) == 0
    assert load_auth() == [Auth("alice", "other", host="kafka.example.org")]


def test_on_signals_calls_the_handler_each_time_and_restores() -> None:
    before = signal.getsignal(signal.SIGTERM)
    seen: list[int] = []
    with on_signals(seen.append):
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGINT)
    assert seen == [signal.SIGTERM, signal.SIGINT]
    assert signal.getsignal(signal.SIGTERM) is before


def test_on_interrupt_calls_once_then_interrupts() -> None:
    before = signal.getsignal(signal.SIGINT)
    calls: list[str] = []
    with pytest.raises(KeyboardInterrupt), on_interrupt(lambda: calls.append("first")):
        signal.raise_signal(signal.SIGTERM)
        assert calls == ["first"]
        signal.raise_signal(signal.SIGINT)
    assert calls == ["first"]
    assert signal.getsignal(signal.SIGINT) is before
