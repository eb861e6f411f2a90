"""Throughput of hop against raw confluent-kafka doing the same work, in one run.

Produces N JSON alerts of about 250 bytes and consumes them back (from the earliest offset
to the end of the stream), once through hop and once through raw confluent-kafka with the
same headers and ``json.dumps`` / ``json.loads`` per message, against one local broker.
Prints messages per second for each and the ratios hop / raw, and hop's time to first
message. Run: ``make bench`` or ``python benchmarks/throughput.py [-n N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

import confluent_kafka

from hop._local_broker import LocalBroker
from hop.io import StartPosition, Stream


def make_alerts(count: int) -> list[dict[str, Any]]:
    """Alerts shaped like a small GCN/LVK notice, about 250 bytes of JSON each."""
    alerts = []
    for i in range(count):
        alerts.append(
            {
                "alert_type": "PRELIMINARY",
                "superevent_id": f"S261126{i:06d}",
                "created": "2026-11-26T03:14:15Z",
                "event": {
                    "far": 1.2e-10 + i,
                    "significant": True,
                    "instruments": ["H1", "L1", "V1"],
                    "group": "CBC",
                },
                "url": f"https://gracedb.ligo.org/superevents/S{i:06d}/",
            }
        )
    return alerts


def raw_produce(bootstrap: str, topic: str, alerts: list[dict[str, Any]]) -> float:
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap})
    failures = 0

    def on_delivery(err: Any, msg: Any) -> None:
        nonlocal failures
        if err is not None:
            failures += 1

    start = time.perf_counter()
    for alert in alerts:
        value = json.dumps(alert).encode("utf-8")
        headers = [("_id", uuid.uuid4().bytes), ("_format", b"json")]
        while True:
            try:
                producer.produce(topic, value, headers=headers, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    producer.flush()
    elapsed = time.perf_counter() - start
    assert failures == 0, f"{failures} raw deliveries failed"
    return elapsed


def hop_produce(url: str, alerts: list[dict[str, Any]]) -> float:
    stream = Stream(auth=False)
    start = time.perf_counter()
    with stream.open(url, "w") as producer:
        for alert in alerts:
            producer.write(alert)
    return time.perf_counter() - start


def raw_consume(bootstrap: str, topic: str, expected: int) -> float:
    start = time.perf_counter()
    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"raw-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "fetch.wait.max.ms": 100,
        }
    )
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign(
        [
            confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
            for p in partitions
        ]
    )
    at_end: set[int] = set()
    count = 0
    while len(at_end) < len(partitions):
        for msg in consumer.consume(100, 0.2):
            err = msg.error()
            if err is not None:
                if err.code() == confluent_kafka.KafkaError._PARTITION_EOF:
                    at_end.add(msg.partition())
                continue
            json.loads(msg.value())
            count += 1
    consumer.close()
    elapsed = time.perf_counter() - start
    assert count == expected, f"raw read {count} of {expected}"
    return elapsed


def hop_consume(url: str, expected: int) -> tuple[float, float]:
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    start = time.perf_counter()
    first = 0.0
    count = 0
    with stream.open(url, "r") as consumer:
        for _ in consumer:
            if count == 0:
                first = time.perf_counter() - start
            count += 1
    elapsed = time.perf_counter() - start
    assert count == expected, f"hop read {count} of {expected}"
    return elapsed, first


def best(times: list[float]) -> float:
    return min(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50_000, help="messages per run (50,000)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (3)")
    args = parser.parse_args(argv)
    alerts = make_alerts(args.n)
    size = statistics.mean(len(json.dumps(a)) for a in alerts[:100])
    print(
        f"{args.n} JSON alerts of ~{size:.0f} bytes, {args.rounds} alternating rounds, best of each"
    )
    results: dict[str, list[float]] = {k: [] for k in ("raw_p", "hop_p", "raw_c", "hop_c")}
    firsts: list[float] = []
    with LocalBroker() as broker:
        for round_ in range(args.rounds):
            raw_topic, hop_topic = (
                f"raw-{round_}-{uuid.uuid4().hex[:6]}",
                f"hop-{round_}-{uuid.uuid4().hex[:6]}",
            )
            hop_url = f"kafka://{broker.bootstrap}/{hop_topic}"
            order: list[Callable[[], None]] = [
                lambda t=raw_topic: results["raw_p"].append(
                    raw_produce(broker.bootstrap, t, alerts)
                ),
                lambda u=hop_url: results["hop_p"].append(hop_produce(u, alerts)),
            ]
            for step in order if round_ % 2 == 0 else reversed(order):
                step()
            consume: list[Callable[[], None]] = [
                lambda t=raw_topic: results["raw_c"].append(
                    raw_consume(broker.bootstrap, t, args.n)
                ),
                lambda u=hop_url: _hop_c(u, args.n, results, firsts),
            ]
            for step in consume if round_ % 2 == 0 else reversed(consume):
                step()
    rate = {k: args.n / best(v) for k, v in results.items()}
    print(
        f"produce  raw {rate['raw_p']:>9,.0f} msg/s   hop {rate['hop_p']:>9,.0f} msg/s   "
        f"ratio {rate['hop_p'] / rate['raw_p']:.2f} (target >= 0.90)"
    )
    print(
        f"consume  raw {rate['raw_c']:>9,.0f} msg/s   hop {rate['hop_c']:>9,.0f} msg/s   "
        f"ratio {rate['hop_c'] / rate['raw_c']:.2f} (target >= 0.70)"
    )
    print(
        f"hop time to first message: {min(firsts) * 1000:.1f} ms (best), "
        f"{max(firsts) * 1000:.1f} ms (worst)"
    )


def _hop_c(url: str, n: int, results: dict[str, list[float]], firsts: list[float]) -> None:
    elapsed, first = hop_consume(url, n)
    results["hop_c"].append(elapsed)
    firsts.append(first)


if __name__ == "__main__":
    main()
