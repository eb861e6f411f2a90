"""``hop publish --schema-id``: JSON files sent as Confluent-framed Avro records."""

from __future__ import annotations

import json
from typing import Any

import fastavro.schema

from hop.errors import DecodeError
from hop.models import AvroRecord, MessageModel
from hop.models._schema_registry import default_sources

from ._errors import CommandFailed


def _schema(schema_id: int, path: str | None) -> Any:
    if path is not None:
        try:
            return fastavro.schema.load_schema(path, _write_hint=False)
        except OSError as exc:
            raise CommandFailed(f"cannot read the schema {path}: {exc.strerror or exc}") from exc
        except Exception as exc:
            raise CommandFailed(
                f"{path} is not an Avro schema: {type(exc).__name__}: {exc}"
            ) from exc
    found = default_sources().lookup(schema_id)
    if found is None:
        raise CommandFailed(
            f"no schema for id {schema_id} (looked in: {default_sources().describe()}): "
            "give it with --schema FILE"
        )
    return found.schema


def load_records(
    paths: list[str], schema_id: int | None, schema_path: str | None, given_format: str | None
) -> list[tuple[str, MessageModel]]:
    """Load each file (one JSON object) as an :class:`AvroRecord` of the schema.

    Everything is checked before anything is sent: every problem is reported at once.

    Raises:
        CommandFailed: a missing option, no files, or files that are not records of the
            schema (nothing is published).
    """
    if schema_id is None:
        raise CommandFailed("--schema needs --schema-id: the id the records are framed with")
    if given_format is not None:
        raise CommandFailed(
            "--schema-id sends Avro records; it does not go with -f (the files are JSON records)"
        )
    if not paths:
        raise CommandFailed(
            "--schema-id sends files, one JSON record each; records cannot be read from "
            "standard input"
        )
    schema = _schema(schema_id, schema_path)
    loaded: list[tuple[str, MessageModel]] = []
    problems: list[str] = []
    for path in paths:
        try:
            with open(path, "rb") as file:
                record = json.loads(file.read())
            message = AvroRecord(record, schema=schema, schema_id=schema_id)
            message.serialize()  # the record must fit the schema: checked before sending
            loaded.append((path, message))
        except OSError as exc:
            problems.append(f"cannot read {path}: {exc.strerror or exc}")
        except (DecodeError, ValueError, TypeError, RecursionError) as exc:
            problems.append(f"{path} is not a record of schema id {schema_id}: {exc}")
    if problems:
        raise CommandFailed("; ".join(problems) + " (nothing was published)")
    return loaded
