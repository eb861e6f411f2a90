"""Reading Rubin alerts: hop against raw confluent-kafka with fastavro, in one run.

Publishes N copies of lsst-alert-packet's newest sample alert in the Confluent wire format
(byte 0, the schema id, the record without a container), as Rubin does, with no headers.
Then reads them back from the earliest offset to the end of the stream, once through hop
(``Stream``, which finds the schema in lsst-alert-packet and decodes each message into an
``AvroRecord``) and once through raw confluent-kafka calling ``fastavro.schemaless_reader``
with a parsed schema cached by id. Prints messages per second for each and the ratio
hop / raw (target >= 0.7). ``--cutout-bytes`` adds bytes to the three cutout fields, as
real alerts carry FITS images. Needs lsst-alert-packet (``pip install hop-client[rubin]``).
Run: ``python benchmarks/rubin_decode.py [-n N] [--rounds R] [--cutout-bytes B]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import time
import uuid
from pathlib import Path
from typing import Any

import confluent_kafka
import fastavro
import fastavro.schema

from hop._local_broker import LocalBroker
from hop.io import StartPosition, Stream
from hop.models import AvroRecord


def newest_sample() -> tuple[int, Any, dict[str, Any]]:
    """lsst-alert-packet's newest schema version: its id, schema and sample alert."""
    spec = importlib.util.find_spec("lsst.alert.packet")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("lsst-alert-packet is not installed: pip install 'hop-client[rubin]'")
    root = Path(next(iter(spec.submodule_search_locations))) / "schema"
    major, minor = (root / "latest.txt").read_text().strip().split(".")
    directory = root / major / minor
    schema = fastavro.schema.load_schema(
        str(directory / f"lsst.v{major}_{minor}.alert.avsc"), _write_hint=False
    )
    with (directory / "sample_data" / "fakeAlert.avro").open("rb") as file:
        record = next(iter(fastavro.reader(file)))
    assert isinstance(record, dict)
    return int(major) * 100 + int(minor), schema, record


def framed(schema_id: int, schema: Any, record: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    out.write(b"\x00" + schema_id.to_bytes(4, "big"))
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), record)
    return out.getvalue()


def produce(bootstrap: str, topic: str, body: bytes, count: int) -> None:
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    for index in range(count):
        producer.produce(topic, body)
        if index % 1000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0


def raw_consume(bootstrap: str, topic: str, expected: int, schema: Any) -> float:
    """confluent-kafka reading to the end, ``schemaless_reader`` per message, the parsed
    schema cached by id (as a hand-written Rubin consumer does)."""
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
    parsed: dict[int, Any] = {}
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
            value = msg.value()
            assert value is not None
            schema_id = int.from_bytes(value[1:5], "big")
            writer = parsed.get(schema_id)
            if writer is None:
                writer = parsed[schema_id] = fastavro.parse_schema(schema)
            body = io.BytesIO(value)
            body.seek(5)
            fastavro.schemaless_reader(body, writer, None)
            count += 1
    consumer.close()
    elapsed = time.perf_counter() - start
    assert count == expected, f"raw read {count} of {expected}"
    return elapsed


def hop_consume(url: str, expected: int) -> float:
    stream = Stream(auth=False, start_at=StartPosition.EARLIEST, until_eos=True)
    start = time.perf_counter()
    count = 0
    with stream.open(url, "r") as consumer:
        for message in consumer:
            assert isinstance(message, AvroRecord), type(message)
            count += 1
    elapsed = time.perf_counter() - start
    assert count == expected, f"hop read {count} of {expected}"
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20_000, help="alerts per run (20,000)")
    parser.add_argument("--rounds", type=int, default=3, help="rotating rounds (3)")
    parser.add_argument(
        "--cutout-bytes", type=int, default=0, help="bytes in each cutout field (0)"
    )
    args = parser.parse_args(argv)
    schema_id, schema, record = newest_sample()
    if args.cutout_bytes:
        cutout = bytes(range(256)) * (args.cutout_bytes // 256 + 1)
        for name in ("cutoutDifference", "cutoutScience", "cutoutTemplate"):
            record[name] = cutout[: args.cutout_bytes]
    body = framed(schema_id, schema, record)
    print(
        f"{args.n} Rubin alerts (schema id {schema_id}) of {len(body):,} bytes, "
        f"{args.rounds} rounds, best of each"
    )
    times: dict[str, list[float]] = {"raw": [], "hop": []}
    for round_ in range(args.rounds):
        # A fresh broker each round: its memory store grows with every message kept.
        with LocalBroker() as broker:
            topic = f"rubin-{round_}-{uuid.uuid4().hex[:6]}"
            produce(broker.bootstrap, topic, body, args.n)
            order = ("raw", "hop") if round_ % 2 == 0 else ("hop", "raw")
            for variant in order:
                if variant == "hop":
                    url = f"kafka://{broker.bootstrap}/{topic}"
                    times["hop"].append(hop_consume(url, args.n))
                else:
                    times["raw"].append(raw_consume(broker.bootstrap, topic, args.n, schema))
    rate = {variant: args.n / min(found) for variant, found in times.items()}
    print(
        f"decode  raw {rate['raw']:>9,.0f} msg/s   hop {rate['hop']:>9,.0f} msg/s   "
        f"hop/raw {rate['hop'] / rate['raw']:.2f}   (target >= 0.70)"
    )


if __name__ == "__main__":
    main()
