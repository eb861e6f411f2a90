"""Run ``hop`` on a real pseudo-terminal and answer its prompts, for the credential tests."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence


def answer_prompts(
    argv: Sequence[str],
    answers: Sequence[tuple[bytes, bytes]],
    env: Mapping[str, str],
    done: bytes = b"stored credential",
) -> bytes:
    """Run ``hop ARGV`` with a pseudo-terminal as its controlling terminal and answer it.

    The terminal is the child's controlling terminal, so getpass really turns echo off (on a
    pipe it would fall back to plain input, and echo).

    Args:
        argv: the arguments after ``hop``.
        answers: (prompt, answer) pairs: each answer is typed once its prompt has appeared.
        env: the child's environment.
        done: what the child prints last, before it exits.

    Returns:
        Everything the terminal showed. The child must have exited with status 0.
    """
    leader, follower = pty.openpty()
    script = (
        "import fcntl, sys, termios\n"
        "fcntl.ioctl(0, termios.TIOCSCTTY, 0)\n"
        "from hop.cli import main\n"
        f"sys.exit(main({list(argv)!r}))\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=dict(env),
        start_new_session=True,
    )
    os.close(follower)
    seen = b""

    def read_until(marker: bytes) -> None:
        nonlocal seen
        deadline = time.monotonic() + 20
        while marker not in seen:
            assert time.monotonic() < deadline, seen
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(leader, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break

    try:
        for prompt, answer in answers:
            read_until(prompt)
            os.write(leader, answer + b"\n")
        read_until(done)
        assert child.wait(20) == 0, seen
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        os.close(leader)
    return seen
