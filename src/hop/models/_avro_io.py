"""Avro Object Container Files for AvroBlob: schema inference, writing and reading.

Inference maps Python values to Avro types so that records come back equal:
``None`` -> null, ``bool`` -> boolean, ``int`` -> long, ``float`` -> double,
``str`` -> string, ``bytes`` -> bytes, ``list`` -> array, and a ``dict`` -> a record when its
keys are valid Avro names, else a map. Values that differ between records become unions;
dicts whose keys differ between records become maps (a record would add the missing keys
as nulls, and the records would no longer come back equal).

Reading refuses containers that would make a small message cost unbounded memory: schemas
under which values take no bytes (:func:`_check_not_a_bomb`, here), and containers that
would inflate or decode to too much (:mod:`hop.models._avro_bounds`).
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

from hop.errors import DecodeError, InvalidMessageError

# Re-exported too: AvroBlob and the tests know the limits and readers as hop.models._avro_io's.
from ._avro_bounds import MAX_DECODED_BYTES as MAX_DECODED_BYTES
from ._avro_bounds import MAX_INFLATED_BYTES as MAX_INFLATED_BYTES
from ._avro_bounds import MAX_INFLATION_RATIO as MAX_INFLATION_RATIO
from ._avro_bounds import MAX_ITEMS as MAX_ITEMS
from ._avro_bounds import _check_decoded_size as _check_decoded_size
from ._avro_bounds import _check_inflated_size as _check_inflated_size
from ._avro_bounds import _header as _header
from ._avro_bounds import _read_long as _read_long
from ._avro_bounds import _read_sized as _read_sized

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
                    raise InvalidMessageError(
                        f"Avro keys must be str, not {type(key).__name__} ({key!r:.60})"
                    )
            if value and all(_NAME.match(key) for key in value):
                return {
                    "type": "record",
                    "name": next(self._names),
                    "fields": [{"name": k, "type": self.infer(v)} for k, v in value.items()],
                }
            return {"type": "map", "values": self.merge_all(self.infer(v) for v in value.values())}
        raise InvalidMessageError(
            f"cannot infer an Avro type for {type(value).__name__} ({value!r:.60}): "
            "give a schema, or convert the value"
        )

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
        InvalidMessageError: a value has no Avro counterpart, or a dict has a key that is
            not a str (a ``ValueError``, as hop-client 0.13 raised, and a ``TypeError``).
    """
    inferrer = _Inferrer()
    return _widen_null(inferrer.merge_all(inferrer.infer(r) for r in records))


def _widen_null(schema: Schema) -> Schema:
    """Replace each bare ``null`` by ``["null", "string"]``.

    A bare null takes no bytes, and the reader refuses arrays of zero-size items (see
    :func:`_check_not_a_bomb`); a union costs one byte per value and decodes the same None.
    """
    if schema == "null":
        return ["null", "string"]
    if isinstance(schema, list):
        return [branch if branch == "null" else _widen_null(branch) for branch in schema]
    if isinstance(schema, dict):
        kind = schema["type"]
        if kind == "record":
            fields = [{**f, "type": _widen_null(f["type"])} for f in schema["fields"]]
            return {**schema, "fields": fields}
        if kind == "array":
            return {**schema, "items": _widen_null(schema["items"])}
        if kind == "map":
            return {**schema, "values": _widen_null(schema["values"])}
    return schema


def _children(node: dict[str, Any]) -> Iterator[Any]:
    """The schemas directly inside a schema object: items, values, a nested type, fields' types.

    The one definition of "inside" shared by the walks of :func:`_check_not_a_bomb`.
    """
    kind = node.get("type")
    for child in (
        node.get("items"),
        node.get("values"),
        kind if isinstance(kind, (dict, list)) else None,
    ):
        if child is not None:
            yield child
    fields = node.get("fields")
    for field in fields if isinstance(fields, list) else ():
        if isinstance(field, dict):
            yield field.get("type")


def _check_not_a_bomb(schema: Any) -> None:
    """Refuse schemas under which a few bytes can stand for billions of values.

    An array whose items take zero bytes (null, an empty record, ``fixed`` of size 0), or a
    file whose records take zero bytes, lets a tiny message claim any number of values,
    and reading it would exhaust memory.

    Raises:
        DecodeError: the schema allows that.
    """
    named: dict[str, Any] = {}

    def collect(node: Any, namespace: str) -> None:
        if isinstance(node, list):
            for branch in node:
                collect(branch, namespace)
        elif isinstance(node, dict):
            kind = node.get("type")
            if kind in ("record", "error", "enum", "fixed") and isinstance(node.get("name"), str):
                space = node.get("namespace", namespace)
                name = node["name"]
                full = name if "." in name or not space else f"{space}.{name}"
                named[full] = node
                named.setdefault(name, node)
                namespace = full.rpartition(".")[0]
            for child in _children(node):
                collect(child, namespace)

    def zero_width(node: Any, seen: frozenset[int]) -> bool:
        if isinstance(node, str):
            if node == "null":
                return True
            target = named.get(node)
            return (
                target is not None
                and id(target) not in seen
                and zero_width(target, seen | {id(target)})
            )
        if isinstance(node, dict):
            kind = node.get("type")
            if kind in ("record", "error"):
                return all(
                    zero_width(f.get("type"), seen | {id(node)})
                    for f in node.get("fields", ())
                    if isinstance(f, dict)
                )
            if kind == "fixed":
                return node.get("size") == 0
            if kind in ("array", "map", "enum"):
                return False
            return zero_width(kind, seen)
        return False

    def check(node: Any) -> None:
        if isinstance(node, list):
            for branch in node:
                check(branch)
        elif isinstance(node, dict):
            kind = node.get("type")
            if kind == "array" and zero_width(node.get("items"), frozenset()):
                raise DecodeError(
                    "Avro schema refused: an array of zero-size items (such as null) lets a "
                    "small message claim unbounded memory"
                )
            for child in _children(node):
                check(child)

    collect(schema, "")
    if zero_width(schema, frozenset()):
        raise DecodeError(
            "Avro schema refused: records of zero size let a small message claim unbounded memory"
        )
    check(schema)


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
        fastavro.parse_schema(schema)
    except Exception as exc:
        raise ValueError(f"not a valid Avro schema: {exc}") from exc
    out = io.BytesIO()
    try:
        # The unparsed schema, so that the file's header holds it as given (fastavro writes
        # a parsed schema in its own normalized form, losing namespaces and defaults).
        fastavro.writer(out, schema, records, validator=True)
    except fastavro.validation.ValidationError as exc:
        raise ValueError(f"a record does not fit the Avro schema: {exc}") from exc
    return out.getvalue()


def read_container(
    data: bytes, max_items: int = MAX_ITEMS, max_decoded_bytes: int = MAX_DECODED_BYTES
) -> tuple[list[Any], Any]:
    """Read an Avro Object Container File.

    Args:
        data: the file's bytes.
        max_items: the most records plus array items plus map entries to decode.
        max_decoded_bytes: the most memory the decoded values may take (estimated).

    Returns:
        ``(records, schema)``, the schema as written in the file's header.

    Raises:
        DecodeError: the data is not a readable Avro container file, or is over a limit.
    """
    try:
        metadata, first_block = _header(data)
        codec = metadata.get("avro.codec", b"null").decode()
        schema = json.loads(metadata["avro.schema"])
        _check_not_a_bomb(schema)
        _check_decoded_size(
            data,
            metadata["avro.schema"],
            schema,
            codec,
            first_block,
            max_items,
            max_decoded_bytes,
            # Between counting the records the blocks claim (so a record bomb is refused
            # before anything is inflated) and walking their data.
            lambda: _check_inflated_size(data, codec, first_block),
        )
        records = list(fastavro.reader(io.BytesIO(data)))
    except DecodeError:
        raise
    except Exception as exc:
        raise DecodeError(f"not a valid Avro container file: {type(exc).__name__}: {exc}") from exc
    return records, schema
