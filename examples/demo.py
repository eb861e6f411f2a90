"""A tour of the hop command line against a local broker (``make demo``).

It starts ``hop local-broker``, publishes the example GCN circular and VOEvent shipped
next to this script and a few JSON alerts piped on standard input, prints everything back
with ``hop subscribe -s EARLIEST -e``, then the first two as JSON lines (``-j --count 2``),
and stops the broker. Each command is shown as you would type it.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ALERTS = [
    {"event": "GRB 261126A", "ra": 48.1903, "dec": -27.6848, "instrument": "BAT"},
    {"event": "GRB 261126A", "afterglow": True, "r_mag": 19.3},
    {"event": "S261126ab", "far_hz": 3.2e-10, "classification": {"BNS": 0.91, "Terrestrial": 0.09}},
]


def hop_command() -> list[str]:
    """The ``hop`` executable of this Python environment (``python -m hop`` without one)."""
    script = Path(sys.executable).with_name("hop")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hop"]


def show(args: list[str], stdin: str | None = None) -> None:
    """Print a command as typed in a shell, then run it; stop the tour if it fails."""
    typed = shlex.join(["hop", *args])
    if stdin is not None:
        typed = f"printf '%s' {shlex.quote(stdin)} | {typed}"
    print(f"\n$ {typed}", flush=True)
    result = subprocess.run([*hop_command(), *args], input=stdin, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"demo: 'hop {args[0]}' failed with exit status {result.returncode}")


def main() -> int:
    """Run the tour.

    Returns:
        The exit status.
    """
    print("$ hop local-broker --port 0 &", flush=True)
    broker = subprocess.Popen(
        [*hop_command(), "local-broker", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        assert broker.stdout is not None
        first = broker.stdout.readline()
        print(first, end="", flush=True)
        if "kafka://" not in first:
            raise SystemExit("demo: the local broker did not start (see above)")
        url = first.split()[-1].rstrip("/")
        topic = f"{url}/demo-{uuid.uuid4().hex[:8]}"

        show(["publish", topic, "-f", "CIRCULAR", str(HERE / "example.gcn3"), "--no-auth"])
        show(["publish", topic, "-f", "VOEVENT", str(HERE / "example_voevent.xml"), "--no-auth"])
        lines = "".join(json.dumps(alert) + "\n" for alert in ALERTS)
        show(["publish", topic, "-f", "JSON", "--no-auth"], stdin=lines)
        show(["subscribe", topic, "-s", "EARLIEST", "-e", "--no-auth", "-q"])
        # The same stream for programs: one JSON object a line (pipe it to jq), and only the
        # first two messages.
        show(["subscribe", topic, "-s", "EARLIEST", "-j", "--count", "2", "--no-auth", "-q"])
    finally:
        # Stop the broker before printing anything more: if whoever reads our output has
        # gone (`make demo | head`), a print would fail and leave the broker running.
        broker.send_signal(signal.SIGINT)
        try:
            rest, _ = broker.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            broker.kill()
            rest, _ = broker.communicate()
        # The broker's usage notes come first; its goodbye line is the last one.
        goodbye = [line for line in (rest or "").splitlines() if line.strip()]
        print("\n$ kill -INT %1   # stop the local broker", flush=True)
        if goodbye:
            print(goodbye[-1])
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except BrokenPipeError:
        # Whoever read the tour stopped early (`make demo | head`); the broker is stopped.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(0) from None
