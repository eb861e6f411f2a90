"""Avro Object Container Files for AvroBlob: schema inference, writing and reading.

Inference maps Python values to Avro types so that records come back equal:
``None`` -> null, ``bool`` -> boolean, ``int`` -> long, ``float`` -> double,
``str`` -> string, ``bytes`` -> bytes, ``list`` -> array, and a ``dict`` -> a record when its
keys are valid Avro names, else a map. Values that differ between records become unions;
dicts whose keys differ between records become maps (a record would add the missing keys
as nulls, and the records would no longer come back equal).
"""

from __future__ import annotations

import io
import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

import fastavro
import fastavro.validation

from hop.errors import DecodeError

__all__ = ["infer_schema", "read_container", "write_container"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Union branches in this order so that fastavro writes a bool as boolean, not long.
_PRIMITIVE_ORDER = ("null", "boolean", "long", "double", "string", "bytes")

Schema = Any  # an Avro schema in its JSON form: str, list (union) or dict


def _kind(schema: Schema) -> str:
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return "union"
    return str(schema["type"])


class _Inferrer:
    def __init__(self) -> None:
        self._names = (f"record_{n}" for n in itertools.count())

    def infer(self, value: Any) -> Schema:
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, int):
            return "long"
        if isinstance(value, float):
            return "double"
        if isinstance(value, str):
            return "string"
        if isinstance(value, (bytes, bytearray)):
            return "bytes"
        if isinstance(value, (list, tuple)):
            return {"type": "array", "items": self.merge_all(self.infer(v) for v in value)}
        if isinstance(value, dict):
            for key in value:
                if not isinstance(key, str):
                    raise TypeError(f"Avro keys must be str, not {type(key).__name__} ({key!r})")
            if all(_NAME.match(key) for key in value):
                return {
                    "type": "record",
                    "name": next(self._names),
                    "fields": [{"name": k, "type": self.infer(v)} for k, v in value.items()],
                }
            return {"type": "map", "values": self.merge_all(self.infer(v) for v in value.values())}
        raise TypeError(f"cannot infer an Avro type for {type(value).__name__} ({value!r:.60})")

    def merge_all(self, schemas: Iterator[Schema]) -> Schema:
        merged: Schema = None
        for schema in schemas:
            merged = schema if merged is None else self.merge(merged, schema)
        return "null" if merged is None else merged

    def merge(self, a: Schema, b: Schema) -> Schema:
        if a == b:
            return a
        kind_a, kind_b = _kind(a), _kind(b)
        if kind_a == "union" or kind_b == "union" or kind_a != kind_b:
            if {kind_a, kind_b} <= {"record", "map"}:
                return self._as_map(a, b)
            return self._union(a, b)
        if kind_a == "array":
            return {"type": "array", "items": self.merge(a["items"], b["items"])}
        if kind_a == "map":
            return {"type": "map", "values": self.merge(a["values"], b["values"])}
        # Two records.
        types_b = {f["name"]: f["type"] for f in b["fields"]}
        if {f["name"] for f in a["fields"]} != types_b.keys():
            return self._as_map(a, b)
        fields = [
            {"name": f["name"], "type": self.merge(f["type"], types_b[f["name"]])}
            for f in a["fields"]
        ]
        return {"type": "record", "name": a["name"], "fields": fields}

    def _as_map(self, *schemas: Schema) -> Schema:
        values: Schema = None
        for schema in schemas:
            if _kind(schema) == "map":
                parts = [schema["values"]]
            else:
                parts = [f["type"] for f in schema["fields"]]
            for part in parts:
                values = part if values is None else self.merge(values, part)
        return {"type": "map", "values": "null" if values is None else values}

    def _union(self, a: Schema, b: Schema) -> Schema:
        branches: list[Schema] = []
        for schema in (*_branches(a), *_branches(b)):
            kind = _kind(schema)
            for i, branch in enumerate(branches):
                bkind = _kind(branch)
                # A union holds at most one array, one map and (here) one record or map.
                if kind == bkind and kind in ("array", "map", "record"):
                    branches[i] = self.merge(branch, schema)
                    break
                if {kind, bkind} == {"record", "map"}:
                    branches[i] = self._as_map(branch, schema)
                    break
                if kind == bkind:
                    break
            else:
                branches.append(schema)
        branches.sort(key=_branch_order)
        return branches[0] if len(branches) == 1 else branches


def _branches(schema: Schema) -> list[Schema]:
    return list(schema) if isinstance(schema, list) else [schema]


def _branch_order(schema: Schema) -> int:
    kind = _kind(schema)
    return _PRIMITIVE_ORDER.index(kind) if kind in _PRIMITIVE_ORDER else len(_PRIMITIVE_ORDER)


def infer_schema(records: list[Any]) -> dict[str, Any] | Schema:
    """Infer one Avro schema that fits every record.

    Args:
        records: the records (usually dicts).

    Returns:
        The schema in its JSON form.

    Raises:
        TypeError: a value has no Avro counterpart.
    """
    inferrer = _Inferrer()
    if not records:
        return {"type": "record", "name": "record_0", "fields": []}
    return inferrer.merge_all(inferrer.infer(r) for r in records)


def write_container(records: list[Any], schema: Schema) -> bytes:
    """Write records as an Avro Object Container File.

    Args:
        records: the records.
        schema: the Avro schema (JSON form).

    Returns:
        The file's bytes.

    Raises:
        ValueError: the schema is not a valid Avro schema, or a record does not fit it.
    """
    try:
        parsed = fastavro.parse_schema(schema)
    except Exception as exc:
        raise ValueError(f"not a valid Avro schema: {exc}") from exc
    out = io.BytesIO()
    try:
        fastavro.writer(out, parsed, records, validator=True)
    except fastavro.validation.ValidationError as exc:
        raise ValueError(f"a record does not fit the Avro schema: {exc}") from exc
    return out.getvalue()


def read_container(data: bytes) -> tuple[list[Any], Any]:
    """Read an Avro Object Container File.

    Args:
        data: the file's bytes.

    Returns:
        ``(records, schema)``, the schema as written in the file's header.

    Raises:
        DecodeError: the data is not a readable Avro container file.
    """
    try:
        reader = fastavro.reader(io.BytesIO(data))
        records = list(reader)
        schema = json.loads(reader.metadata["avro.schema"])
    except Exception as exc:
        raise DecodeError(f"not a valid Avro container file: {type(exc).__name__}: {exc}") from exc
    return records, schema
