"""Throughput of the journaled RobustProducer against a plain hop Producer, in one run.

Publishes N JSON alerts of about 250 bytes through a plain ``Producer`` (write all, then
``close()``, which waits for every acknowledgement) and through a ``RobustProducer``
(``start()``, write all, ``stop()``, which waits for every acknowledgement and journals it),
against one local broker, each on a fresh topic. Rounds alternate the two; the best round of
each is kept (the machine is shared: the best round is the least disturbed one). Prints
messages per second for each, the ratio robust / plain (target: at least 0.5 with
``fsync=False``), and this process's CPU time per message in the best rounds, which other
processes' load disturbs less than the rates.

Then a steady run (``--steady SECONDS``, default 60; 0 skips it): a RobustProducer fed at a
steady ``--rate`` (default 10,000 msg/s) for that long, never idle, so the journal is never
empty. It samples the journal file's size and the pending messages every 0.1 s and prints the
largest of each, the rate achieved, and how long ``stop()`` took. The journal must stay under
a few MB (it is compacted as it goes), however long the run.

Run: ``python benchmarks/robust.py [-n N] [--rounds R] [--fsync] [--steady S] [--rate R]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
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


def steady(
    url: str, alerts: list[dict[str, Any]], journal: Path, seconds: float, rate: float
) -> None:
    """Feed a RobustProducer ``rate`` messages a second for ``seconds``; print the journal's
    largest size and the largest number of pending messages."""
    largest_file = largest_data = largest_pending = 0
    done = threading.Event()
    publisher = RobustProducer(url, auth=False, journal_path=journal)

    def sample() -> None:
        nonlocal largest_file, largest_data, largest_pending
        while not done.wait(0.1):
            assert publisher._journal is not None
            largest_pending = max(largest_pending, publisher._journal.pending_count())
            largest_data = max(largest_data, publisher._journal.size)
            try:
                largest_file = max(largest_file, os.stat(journal).st_size)
            except FileNotFoundError:  # between a compaction's steps: never, but be safe
                pass

    sampler = threading.Thread(target=sample, daemon=True)
    written = 0
    with publisher:
        sampler.start()
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            due = min(int(elapsed * rate) + 1, written + 1000)  # behind: catch up in steps
            while written < due:
                publisher.write(alerts[written % len(alerts)])
                written += 1
            ahead = written / rate - (time.perf_counter() - start)
            if ahead > 0:  # behind schedule: no sleep, write on
                time.sleep(ahead)
        elapsed = time.perf_counter() - start
        stopping = time.perf_counter()
    stop_time = time.perf_counter() - stopping
    done.set()
    sampler.join()
    print(
        f"steady run: {written:,} messages in {elapsed:.0f} s ({written / elapsed:,.0f} msg/s "
        f"asked {rate:,.0f}); journal at most {largest_data / 1e6:.2f} MB of records, "
        f"{largest_file / 1e6:.2f} MB on disk with preallocated space; at most "
        f"{largest_pending:,} messages pending; stop() took {stop_time:.2f} s; journal after "
        f"stop: {journal.stat().st_size} bytes"
    )


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50_000, help="messages per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each")
    parser.add_argument("--fsync", action="store_true", help="journal with fsync=True")
    parser.add_argument("--steady", type=float, default=60, help="seconds of the steady run")
    parser.add_argument("--rate", type=float, default=10_000, help="msg/s in the steady run")
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
        if args.steady > 0:
            url = f"kafka://{broker.bootstrap}/bench-{uuid.uuid4().hex[:8]}"
            steady(url, alerts, Path(directory) / "steady.journal", args.steady, args.rate)
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
