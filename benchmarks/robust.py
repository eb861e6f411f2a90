"""Throughput of the journaled RobustProducer against a plain hop Producer, in one run.

Publishes N JSON alerts of about 250 bytes through a plain ``Producer`` (write all, then
``close()``, which waits for every acknowledgement) and through a ``RobustProducer``
(``start()``, write all, ``stop()``, which waits for every acknowledgement and journals it),
against one local broker, each on a fresh topic. Rounds alternate the two; the best round of
each is kept. Prints messages per second for each and the ratio robust / plain (target: at
least 0.5 with ``fsync=False``). Run: ``python benchmarks/robust.py [-n N] [--rounds R]
[--fsync]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from hop._local_broker import LocalBroker
from hop.io import Stream
from hop.robust_publisher import RobustProducer


def make_alerts(count: int) -> list[dict[str, Any]]:
    """Alerts shaped like a small GCN/LVK notice, about 250 bytes of JSON each."""
    return [
        {
            "alert_type": "PRELIMINARY",
            "superevent_id": f"S261126{i:06d}",
            "time_created": "2026-11-26T03:14:15Z",
            "event": {
                "far": 1.2e-10 + i,
                "significant": True,
                "instruments": ["H1", "L1", "V1"],
                "group": "CBC",
                "pipeline": "gstlal",
            },
            "urls": {"gracedb": f"https://gracedb.ligo.org/superevents/S{i:06d}/"},
        }
        for i in range(count)
    ]


def plain(url: str, alerts: list[dict[str, Any]]) -> float:
    """Seconds to publish every alert through a plain producer, acknowledged."""
    start = time.perf_counter()
    with Stream(auth=False).open(url, "w") as producer:
        for alert in alerts:
            producer.write(alert)
    return time.perf_counter() - start


def robust(url: str, alerts: list[dict[str, Any]], journal: Path, fsync: bool) -> float:
    """Seconds to publish every alert through a RobustProducer, acknowledged and journaled."""
    start = time.perf_counter()
    with RobustProducer(url, auth=False, journal_path=journal, fsync=fsync) as producer:
        for alert in alerts:
            producer.write(alert)
    elapsed = time.perf_counter() - start
    assert journal.stat().st_size < 100, "the journal should be empty after stop()"
    return elapsed


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50_000, help="messages per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each")
    parser.add_argument("--fsync", action="store_true", help="journal with fsync=True")
    args = parser.parse_args()
    alerts = make_alerts(args.n)
    best = {"plain": float("inf"), "robust": float("inf")}
    with LocalBroker() as broker, tempfile.TemporaryDirectory() as directory:
        journal = Path(directory) / "bench.journal"
        for _ in range(args.rounds):
            for kind in ("plain", "robust"):
                url = f"kafka://{broker.bootstrap}/bench-{uuid.uuid4().hex[:8]}"
                if kind == "plain":
                    seconds = plain(url, alerts)
                else:
                    seconds = robust(url, alerts, journal, args.fsync)
                best[kind] = min(best[kind], seconds)
    plain_rate = args.n / best["plain"]
    robust_rate = args.n / best["robust"]
    print(f"messages: {args.n} x {args.rounds} rounds (best round kept), fsync={args.fsync}")
    print(f"plain Producer:  {plain_rate:10,.0f} msg/s")
    print(f"RobustProducer:  {robust_rate:10,.0f} msg/s")
    print(f"ratio robust/plain: {robust_rate / plain_rate:.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
