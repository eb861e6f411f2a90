"""Throughput of hop.aio against the blocking hop.io API doing the same work, in one run.

Writes N JSON alerts of about 250 bytes and reads them back (from the earliest offset to the
end of the stream), once through ``hop.io`` (blocking) and once through ``hop.aio``
(``await producer.write`` in a loop, then ``async for``), with the same messages, against
one local broker per round. Prints messages per second for each, the ratios async /
blocking (target >= 0.9), the worst event-loop stall seen by a 1 ms ticker task while
the async API was writing or reading, and the CPU time of the calling thread per message
(less sensitive to other load on the machine than wall-clock rates). The generated alerts
are moved out of the garbage collector's reach (``gc.freeze``) before any round.
Run: ``python benchmarks/aio_throughput.py [-n N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import time
import uuid
from typing import Any

from throughput import make_alerts  # type: ignore[import-not-found]

from hop import aio
from hop._local_broker import LocalBroker
from hop.io import StartPosition, Stream


class Ticker:
    """Sleeps 1 ms at a time on the loop; ``worst`` is the latest it ever woke."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            self.worst = max(self.worst, time.perf_counter() - before - 0.001)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> float:
        assert self._task is not None
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        return self.worst


CPU: dict[str, list[float]] = {}


def _cpu(label: str, seconds: float) -> None:
    CPU.setdefault(label, []).append(seconds)


def blocking_write(url: str, alerts: list[dict[str, Any]]) -> float:
    start = time.perf_counter()
    cpu = time.thread_time()
    with Stream(auth=False).open(url, "w") as producer:
        for alert in alerts:
            producer.write(alert)
    _cpu("write blocking", time.thread_time() - cpu)
    return time.perf_counter() - start


def blocking_read(url: str, expected: int) -> float:
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    start = time.perf_counter()
    cpu = time.thread_time()
    count = 0
    with stream.open(url, "r") as consumer:
        for _ in consumer:
            count += 1
    elapsed = time.perf_counter() - start
    _cpu("read blocking", time.thread_time() - cpu)
    assert count == expected, f"blocking read {count} of {expected}"
    return elapsed


async def async_write(url: str, alerts: list[dict[str, Any]]) -> tuple[float, float]:
    ticker = Ticker()
    ticker.start()
    start = time.perf_counter()
    cpu = time.thread_time()
    async with aio.Stream(auth=False).open(url, "w") as producer:
        for alert in alerts:
            await producer.write(alert)
    elapsed = time.perf_counter() - start
    _cpu("write async", time.thread_time() - cpu)
    return elapsed, await ticker.stop()


async def async_read(url: str, expected: int) -> tuple[float, float]:
    stream = aio.Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    ticker = Ticker()
    ticker.start()
    start = time.perf_counter()
    cpu = time.thread_time()
    count = 0
    async with stream.open(url, "r") as consumer:
        async for _ in consumer:
            count += 1
    elapsed = time.perf_counter() - start
    _cpu("read async", time.thread_time() - cpu)
    assert count == expected, f"async read {count} of {expected}"
    return elapsed, await ticker.stop()


VARIANTS = ("blocking", "async")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50_000, help="messages per run (50,000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, order alternating (5)")
    args = parser.parse_args(argv)
    alerts = make_alerts(args.n)
    # The alerts are the benchmark's own data (half a million objects): frozen, so that the
    # garbage collector's full collections, which hop's futures make happen during the async
    # runs, do not traverse them (35-40 ms each, which the ticker would count as a stall of
    # hop's). Both APIs run with the same frozen heap.
    gc.collect()
    gc.freeze()
    size = statistics.mean(len(json.dumps(a)) for a in alerts[:100])
    print(f"{args.n} JSON alerts of ~{size:.0f} bytes, {args.rounds} rounds, best of each")
    wrote: dict[str, list[float]] = {v: [] for v in VARIANTS}
    read: dict[str, list[float]] = {v: [] for v in VARIANTS}
    stalls: dict[str, float] = {"write": 0.0, "read": 0.0}
    for round_ in range(args.rounds):
        # A fresh broker each round: its memory store grows with every message kept.
        with LocalBroker() as broker:
            order = VARIANTS if round_ % 2 == 0 else VARIANTS[::-1]
            urls = {
                v: f"kafka://{broker.bootstrap}/{v}-{round_}-{uuid.uuid4().hex[:6]}"
                for v in VARIANTS
            }
            for variant in order:
                if variant == "blocking":
                    wrote[variant].append(blocking_write(urls[variant], alerts))
                else:
                    elapsed, stall = asyncio.run(async_write(urls[variant], alerts))
                    wrote[variant].append(elapsed)
                    stalls["write"] = max(stalls["write"], stall)
            for variant in order:
                if variant == "blocking":
                    read[variant].append(blocking_read(urls[variant], args.n))
                else:
                    elapsed, stall = asyncio.run(async_read(urls[variant], args.n))
                    read[variant].append(elapsed)
                    stalls["read"] = max(stalls["read"], stall)
    for label, results in (("write", wrote), ("read", read)):
        rate = {v: args.n / min(results[v]) for v in VARIANTS}
        print(
            f"{label:<5}  blocking {rate['blocking']:>9,.0f} msg/s   async "
            f"{rate['async']:>9,.0f} msg/s   async/blocking "
            f"{rate['async'] / rate['blocking']:.2f} (target >= 0.90)   worst loop stall "
            f"{stalls[label] * 1000:.1f} ms"
        )
        per = {v: min(CPU[f"{label} {v}"]) / args.n * 1e6 for v in VARIANTS}
        print(
            f"       calling thread's CPU per message: blocking {per['blocking']:.1f} us, "
            f"async {per['async']:.1f} us"
        )


if __name__ == "__main__":
    main()
