"""Rubin's sample alerts, from lsst-alert-packet (a test dependency), framed as Rubin sends
them: byte 0x00, the schema id (``major*100 + minor``) in 4 big-endian bytes, the record
written without a container."""

from __future__ import annotations

import importlib.util
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro


@dataclass(frozen=True)
class Sample:
    """One version's sample alert."""

    schema_id: int
    schema: Any  # the writer schema, fully resolved, as the sample file holds it
    record: dict[str, Any]
    directory: Path  # the version's schema directory (its .avsc files)

    def framed(self, record: dict[str, Any] | None = None) -> bytes:
        """The record (or another of this schema) in the Confluent wire format."""
        return frame(self.schema_id, self.schema, self.record if record is None else record)


def schema_root() -> Path:
    """lsst-alert-packet's ``schema`` directory."""
    spec = importlib.util.find_spec("lsst.alert.packet")
    assert spec is not None and spec.submodule_search_locations, "lsst-alert-packet is missing"
    return Path(next(iter(spec.submodule_search_locations))) / "schema"


def samples() -> list[Sample]:
    """Every version's sample alert that lsst-alert-packet ships, oldest first."""
    found: list[Sample] = []
    for avro in sorted(schema_root().glob("*/*/sample_data/fakeAlert.avro")):
        directory = avro.parent.parent
        major, minor = int(directory.parent.name), int(directory.name)
        with avro.open("rb") as file:
            reader = fastavro.reader(file)
            records = list(reader)
            schema = reader.writer_schema
        record = records[0]
        assert isinstance(record, dict)
        found.append(Sample(major * 100 + minor, schema, record, directory))
    found.sort(key=lambda sample: sample.schema_id)
    assert found, "lsst-alert-packet ships no sample alerts"
    return found


def latest() -> Sample:
    """The newest version's sample alert."""
    return samples()[-1]


def frame(schema_id: int, schema: Any, record: Any) -> bytes:
    """A record in the Confluent wire format."""
    out = io.BytesIO()
    out.write(b"\x00" + schema_id.to_bytes(4, "big"))
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), record)
    return out.getvalue()


def with_cutouts(sample: Sample, size: int = 5000) -> dict[str, Any]:
    """The sample record with FITS-like bytes in its cutout fields."""
    record = dict(sample.record)
    for name in ("cutoutDifference", "cutoutScience", "cutoutTemplate"):
        if name in record:
            record[name] = b"SIMPLE  =                    T" + bytes(range(256)) * (size // 256)
    return record
