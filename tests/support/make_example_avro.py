"""Writes ``tests/data/example_avro.avro``: an Avro container of two survey alerts.

Run it (``python -m tests.support.make_example_avro``) only to change the example; the file
is committed. A fixed sync marker makes the output the same bytes on every run.
"""

from __future__ import annotations

import io
from typing import Any

import fastavro

from tests.support.paths import DATA

SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Alert",
    "namespace": "org.example.hopsworth",
    "doc": "One difference-imaging detection and its recent history.",
    "fields": [
        {"name": "alertId", "type": "long"},
        {"name": "objectId", "type": "string"},
        {
            "name": "source",
            "type": {
                "type": "record",
                "name": "Detection",
                "fields": [
                    {"name": "mjd", "type": "double"},
                    {"name": "ra", "type": "double"},
                    {"name": "dec", "type": "double"},
                    {
                        "name": "band",
                        "type": {"type": "enum", "name": "Band", "symbols": list("ugrizy")},
                    },
                    {"name": "mag", "type": "float"},
                    {"name": "magErr", "type": "float"},
                    {"name": "isNegative", "type": "boolean"},
                ],
            },
        },
        {"name": "history", "type": {"type": "array", "items": "Detection"}},
        {"name": "classifierScores", "type": {"type": "map", "values": "float"}},
        {"name": "grbAssociation", "type": ["null", "string"], "default": None},
        {"name": "cutoutDifference", "type": ["null", "bytes"], "default": None},
    ],
}


def _detection(mjd: float, band: str, mag: float, err: float) -> dict[str, Any]:
    return {
        "mjd": mjd,
        "ra": 64.46796,
        "dec": 21.11247,
        "band": band,
        "mag": mag,
        "magErr": err,
        "isNegative": False,
    }


RECORDS: list[dict[str, Any]] = [
    {
        "alertId": 3120045117,
        "objectId": "HT2025vzq",
        "source": _detection(60983.91564, "r", 19.625, 0.078125),
        "history": [],
        "classifierScores": {"realbogus": 0.96875, "afterglow": 0.75},
        "grbAssociation": "GRB 251104A",
        "cutoutDifference": bytes(range(0, 256, 7)),
    },
    {
        "alertId": 3120051802,
        "objectId": "HT2025vzq",
        "source": _detection(60984.81944, "r", 21.375, 0.15625),
        "history": [_detection(60983.91564, "r", 19.625, 0.078125)],
        "classifierScores": {"realbogus": 0.9375},
        "grbAssociation": None,
        "cutoutDifference": None,
    },
]


def container() -> bytes:
    """The example file's bytes."""
    out = io.BytesIO()
    fastavro.writer(out, fastavro.parse_schema(SCHEMA), RECORDS, sync_marker=b"hop-test-example")
    return out.getvalue()


if __name__ == "__main__":
    (DATA / "example_avro.avro").write_bytes(container())
