"""Throughput of hop against raw confluent-kafka doing the same work, in one run.

Produces N JSON alerts of about 250 bytes and consumes them back (from the earliest offset
to the end of the stream), once through hop and once through raw confluent-kafka with the
same headers and ``json.dumps`` / ``json.loads`` per message, against one local broker.
Prints messages per second for each and the ratios hop / raw, and hop's time to first
message. "raw" is confluent-kafka as its documentation writes it; "raw-matched" is
confluent-kafka with the same tricks hop uses (ids from batched randomness, polling every
32 messages, consume-what-is-ready), so hop / raw-matched is hop's own overhead.
Run: ``make bench`` or ``python benchmarks/throughput.py [-n N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
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


def _matched_ids(count: int) -> list[bytes]:
    """UUID4 bytes drawn from one block of OS randomness, the technique hop uses."""
    pool = bytearray(os.urandom(16 * count))
    for offset in range(0, len(pool), 16):
        pool[offset + 6] = (pool[offset + 6] & 0x0F) | 0x40
        pool[offset + 8] = (pool[offset + 8] & 0x3F) | 0x80
    return [bytes(pool[i : i + 16]) for i in range(0, len(pool), 16)]


def raw_produce(
    bootstrap: str, topic: str, alerts: list[dict[str, Any]], matched: bool = False
) -> float:
    """Raw confluent-kafka producing the same messages with the same headers.

    Idiomatic (``matched=False``): ``uuid.uuid4().bytes`` and ``poll(0)`` after every
    message, as confluent-kafka's documentation writes it. Matched: the same tricks hop uses
    (ids from batched randomness, ``poll(0)`` every 32 messages), so the ratio against it
    is hop's own Python overhead.
    """
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap})
    failures = 0

    def on_delivery(err: Any, msg: Any) -> None:
        nonlocal failures
        if err is not None:
            failures += 1

    start = time.perf_counter()
    ids: list[bytes] = []
    poll_every = 32 if matched else 1
    for index, alert in enumerate(alerts):
        value = json.dumps(alert).encode("utf-8")
        if matched:
            if not ids:
                ids = _matched_ids(4096)
            message_id = ids.pop()
        else:
            message_id = uuid.uuid4().bytes
        headers = [("_id", message_id), ("_format", b"json")]
        while True:
            try:
                producer.produce(topic, value, headers=headers, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        if index % poll_every == 0:
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


def raw_consume(bootstrap: str, topic: str, expected: int, matched: bool = False) -> float:
    """Raw confluent-kafka reading a topic to its end with ``json.loads`` per message.

    Idiomatic: ``consume(100, 0.2)``. Matched: hop's fetch strategy (below).
    """
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
        if matched:
            # hop's strategy: take what is ready, else wait for one message.
            batch = consumer.consume(100, 0)
            if not batch:
                first = consumer.poll(0.2)
                batch = [first] if first is not None else []
        else:
            batch = consumer.consume(100, 0.2)
        for msg in batch:
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


VARIANTS = ("raw", "matched", "hop")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50_000, help="messages per run (50,000)")
    parser.add_argument("--rounds", type=int, default=3, help="rotating rounds (3)")
    args = parser.parse_args(argv)
    alerts = make_alerts(args.n)
    size = statistics.mean(len(json.dumps(a)) for a in alerts[:100])
    print(f"{args.n} JSON alerts of ~{size:.0f} bytes, {args.rounds} rounds, best of each")
    produced: dict[str, list[float]] = {v: [] for v in VARIANTS}
    consumed: dict[str, list[float]] = {v: [] for v in VARIANTS}
    firsts: list[float] = []
    for round_ in range(args.rounds):
        # A fresh broker each round: its memory store grows with every message kept.
        with LocalBroker() as broker:
            # Rotate the order, so that no variant always runs first (or last) in a round.
            order = VARIANTS[round_ % 3 :] + VARIANTS[: round_ % 3]
            topics = {v: f"{v}-{round_}-{uuid.uuid4().hex[:6]}" for v in VARIANTS}
            for variant in order:
                if variant == "hop":
                    url = f"kafka://{broker.bootstrap}/{topics[variant]}"
                    produced[variant].append(hop_produce(url, alerts))
                else:
                    produced[variant].append(
                        raw_produce(broker.bootstrap, topics[variant], alerts, variant == "matched")
                    )
            for variant in order:
                if variant == "hop":
                    url = f"kafka://{broker.bootstrap}/{topics[variant]}"
                    elapsed, first = hop_consume(url, args.n)
                    consumed[variant].append(elapsed)
                    firsts.append(first)
                else:
                    consumed[variant].append(
                        raw_consume(broker.bootstrap, topics[variant], args.n, variant == "matched")
                    )
    for label, results, target in (
        ("produce", produced, 0.9),
        ("consume", consumed, 0.7),
    ):
        rate = {v: args.n / best(results[v]) for v in VARIANTS}
        print(
            f"{label}  raw {rate['raw']:>9,.0f} msg/s   raw-matched {rate['matched']:>9,.0f} msg/s"
            f"   hop {rate['hop']:>9,.0f} msg/s   hop/raw {rate['hop'] / rate['raw']:.2f}"
            f"   hop/raw-matched {rate['hop'] / rate['matched']:.2f}   (target >= {target:.2f})"
        )
    print(
        f"hop time to first message: {min(firsts) * 1000:.1f} ms (best), "
        f"{max(firsts) * 1000:.1f} ms (worst)"
    )


if __name__ == "__main__":
    main()
