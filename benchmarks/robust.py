"""Throughput of the journaled RobustProducer against a plain hop Producer, in one run.

Publishes N JSON alerts of about 250 bytes through a plain ``Producer`` (write all, then
``close()``, which waits for every acknowledgement) and through a ``RobustProducer``
(``start()``, write all, ``stop()``, which waits for every acknowledgement and journals it),
against one local broker, each on a fresh topic. Rounds alternate the two; the best round of
each is kept (the machine is shared: the best round is the least disturbed one). Prints
messages per second for each, the ratio robust / plain (target: at least 0.5 with
``fsync=False``), and this process's CPU time per message in the best rounds, which other
processes' load disturbs less than the rates. Run: ``python benchmarks/robust.py [-n N]
[--rounds R] [--fsync]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

# The same alerts as the throughput benchmark (this folder is on sys.path when run).
from throughput import make_alerts

from hop._local_broker import LocalBroker
from hop.io import Stream
from hop.robust_publisher import RobustProducer


def plain(url: str, alerts: list[dict[str, Any]]) -> tuple[float, float]:
    """Wall and CPU seconds to publish every alert through a plain producer, acknowledged."""
    start, cpu = time.perf_counter(), time.process_time()
    with Stream(auth=False).open(url, "w") as producer:
        for alert in alerts:
            producer.write(alert)
    return time.perf_counter() - start, time.process_time() - cpu


def robust(
    url: str, alerts: list[dict[str, Any]], journal: Path, fsync: bool
) -> tuple[float, float]:
    """Wall and CPU seconds to publish every alert through a RobustProducer, acknowledged
    and journaled."""
    start, cpu = time.perf_counter(), time.process_time()
    with RobustProducer(url, auth=False, journal_path=journal, fsync=fsync) as producer:
        for alert in alerts:
            producer.write(alert)
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    assert journal.stat().st_size < 100, "the journal should be empty after stop()"
    return elapsed, used


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50_000, help="messages per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each")
    parser.add_argument("--fsync", action="store_true", help="journal with fsync=True")
    args = parser.parse_args()
    alerts = make_alerts(args.n)
    best = {"plain": (float("inf"), 0.0), "robust": (float("inf"), 0.0)}
    with LocalBroker() as broker, tempfile.TemporaryDirectory() as directory:
        journal = Path(directory) / "bench.journal"
        for _ in range(args.rounds):
            for kind in ("plain", "robust"):
                url = f"kafka://{broker.bootstrap}/bench-{uuid.uuid4().hex[:8]}"
                if kind == "plain":
                    measured = plain(url, alerts)
                else:
                    measured = robust(url, alerts, journal, args.fsync)
                best[kind] = min(best[kind], measured)
    plain_rate = args.n / best["plain"][0]
    robust_rate = args.n / best["robust"][0]
    print(f"messages: {args.n} x {args.rounds} rounds (best round kept), fsync={args.fsync}")
    for label, kind, rate in (
        ("plain Producer", "plain", plain_rate),
        ("RobustProducer", "robust", robust_rate),
    ):
        cpu = best[kind][1] / args.n * 1e6
        print(f"{label + ':':16} {rate:10,.0f} msg/s   {cpu:5.1f} us CPU/msg")
    print(f"ratio robust/plain: {robust_rate / plain_rate:.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
