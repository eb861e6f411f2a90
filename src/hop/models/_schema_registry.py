"""Where the writer schemas of Confluent-framed Avro records come from, by schema id.

A framed record (Rubin's alerts, any stream written with a schema registry) names its
schema by a 32-bit id. :class:`SchemaSources` finds the schema for an id in this order:

1. a schema registry (``GET {registry}/schemas/ids/{id}``): the one given to ``Stream``,
   else ``HOP_SCHEMA_REGISTRY``, else the ``schema_registry`` setting of ``config.toml``;
2. a directory of ``ID.avsc`` files (``--schemas DIR``, ``Stream(schema_dir=...)``);
3. Rubin's schemas shipped by ``lsst-alert-packet``, when it is installed (id
   ``major*100 + minor`` of the alert schema version).

Every schema is fetched once per process and kept (:data:`MAX_CACHED` of them); an id no
source has is asked for again after :data:`MISS_RETRY_AFTER` seconds. A registry that
cannot be reached, answers an error or garbage, or is too slow costs one warning; it is
left alone for :data:`RETRY_AFTER` seconds and then asked again, so a reader never hangs
on it for more than :data:`DEFAULT_TIMEOUT` seconds at a time. Credentials in a registry
URL (``https://user:password@host``) are sent as HTTP basic authentication and never
shown: messages name the registry without them (:func:`redact_url`).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import os
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import certifi
import fastavro
import fastavro.schema

# hop's private modules, in one place: the Avro bomb check and the walker's cost estimates.
from hop.configure import load_config
from hop.errors import ConfigurationError, DecodeError, SchemaRegistryError

from . import _avro_bounds, _avro_io

__all__ = ["SchemaSources", "WriterSchema", "default_sources", "redact_url", "sources_for"]

logger = logging.getLogger("hop.models")

#: Seconds one request to a registry may take in all (connecting, and reading the answer).
DEFAULT_TIMEOUT = 5.0
#: Seconds a failing registry is left alone before it is asked again.
RETRY_AFTER = 30.0
#: Seconds before an id that no source had is looked for again.
MISS_RETRY_AFTER = 600.0
#: The largest registry answer read (Rubin's alert schema is about 40 KB).
MAX_ANSWER_BYTES = 4 * 1024 * 1024
#: Schemas (and misses) kept per process.
MAX_CACHED = 1000
#: What to tell a user who has no schema for an id.
HOW_TO_SUPPLY = (
    "give a schema registry (hop subscribe --schema-registry URL, "
    "Stream(schema_registry=URL), HOP_SCHEMA_REGISTRY or the schema_registry setting), "
    "a directory of ID.avsc files (--schemas DIR, Stream(schema_dir=DIR)), or, for Rubin "
    "alerts, pip install 'hop-client[rubin]'"
)


@dataclass(frozen=True, eq=False)
class WriterSchema:
    """One writer schema, ready for decoding.

    Attributes:
        schema_id: its id.
        schema: the schema in its JSON form (a dict).
        text: its JSON text (the key under which the bounds walker is cached).
        parsed: what ``fastavro.parse_schema`` made of it.
        source: where it came from, for messages.
        ratio: estimated bytes of Python objects per byte of encoded data at most (see
            :func:`expansion_ratio`), or None when it has no bound (a recursive schema).
    """

    schema_id: int
    schema: Any
    text: bytes
    parsed: Any
    source: str
    ratio: float | None


def redact_url(url: str) -> str:
    """``url`` without its user name and password, for messages and logs."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None else f"{host}:{port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _writer_schema(schema_id: int, schema: Any, source: str) -> WriterSchema:
    """Check and parse a schema.

    Raises:
        DecodeError: not a valid Avro schema, or one under which a few bytes can claim
            unbounded memory.
    """
    _avro_io._check_not_a_bomb(schema)
    try:
        parsed = fastavro.parse_schema(schema)
    except Exception as exc:
        raise DecodeError(f"not a valid Avro schema: {type(exc).__name__}: {exc}") from exc
    text = json.dumps(schema, sort_keys=True).encode("utf-8")
    return WriterSchema(schema_id, schema, text, parsed, source, expansion_ratio(schema))


# --- how much decoding can build, per encoded byte ----------------------------------------

_INT, _FLOAT, _STR, _BYTES, _LIST, _DICT, _SLOT, _ENTRY = (
    _avro_bounds._INT,
    _avro_bounds._FLOAT,
    _avro_bounds._STR,
    _avro_bounds._BYTES,
    _avro_bounds._LIST,
    _avro_bounds._DICT,
    _avro_bounds._SLOT,
    _avro_bounds._ENTRY,
)
# A value with a logical type (a datetime, a Decimal, a UUID) costs at most this.
_LOGICAL = 160
_PRIMITIVE_COST = {"null": (0, 0), "boolean": (0, 1), "int": (_INT, 1), "long": (_INT, 1)}
_PRIMITIVE_COST.update({"float": (_FLOAT, 4), "double": (_FLOAT, 8)})
_PRIMITIVE_COST.update({"string": (_STR, 1), "bytes": (_BYTES, 1)})


class _Recursive(Exception):
    """A named type contains itself: its cost per byte has no static bound."""


def expansion_ratio(schema: Any) -> float | None:
    """The most bytes of Python objects one encoded byte can decode to under ``schema``.

    Decoded data is made of units: the record itself, each array item and each map entry.
    Each unit's own encoded bytes (excluding the items of arrays and maps inside it) are
    distinct parts of the message, and each takes at least its least encoded size (the
    bomb check makes that at least one byte); each costs at most its largest cost outside
    the items inside it. So ``max(cost / least size)`` over the schema's units bounds the
    cost of a message per byte, the data of strings and bytes (at most 4 bytes of Python
    text per byte) aside.

    Returns:
        The ratio, or None for a recursive schema (which is then always walked).
    """
    named: dict[str, Any] = {}
    worst = [0.0]

    def unit(cost: int, least: int) -> None:
        worst[0] = max(worst[0], cost / max(least, 1))

    def measure(node: Any, namespace: str, inside: frozenset[str]) -> tuple[int, int]:
        """``(largest cost outside items, least encoded size)`` of one value."""
        if isinstance(node, str):
            primitive = _PRIMITIVE_COST.get(node)
            if primitive is not None:
                return primitive
            full = f"{namespace}.{node}" if namespace and "." not in node else node
            target = named.get(full) or named.get(node)
            if target is None:
                raise DecodeError(f"not a valid Avro schema: unknown type {node!r:.80}")
            return measure(target, namespace, inside)
        if isinstance(node, list):
            costs = [measure(branch, namespace, inside) for branch in node]
            if not costs:
                raise DecodeError("not a valid Avro schema: an empty union")
            return max(c for c, _ in costs), 1 + min(size for _, size in costs)
        if not isinstance(node, dict):
            raise DecodeError("not a valid Avro schema")
        kind = node.get("type")
        logical = _LOGICAL if "logicalType" in node else 0
        if isinstance(kind, (dict, list)):
            cost, size = measure(kind, namespace, inside)
            return max(cost, logical), size
        if kind in ("record", "error", "enum", "fixed"):
            name = node.get("name")
            if not isinstance(name, str):
                raise DecodeError("not a valid Avro schema: a named type has no name")
            space = node.get("namespace", namespace) or ""
            full = name if "." in name or not space else f"{space}.{name}"
            if full in inside:
                raise _Recursive
            named[full] = node
            named.setdefault(name.rpartition(".")[2], node)
            namespace = full.rpartition(".")[0]
            inside = inside | {full}
        if kind in ("record", "error"):
            fields = node.get("fields")
            if not isinstance(fields, list):
                raise DecodeError("not a valid Avro schema: a record has no fields list")
            cost, size = _DICT, 0
            for field in fields:
                if not isinstance(field, dict):
                    raise DecodeError("not a valid Avro schema: a field is not an object")
                field_cost, field_size = measure(field.get("type"), namespace, inside)
                cost += _ENTRY + field_cost
                size += field_size
            return cost, size
        if kind == "enum":
            return 0, 1
        if kind == "fixed":
            size = int(node.get("size", 0))
            return max(_BYTES + size, logical), size
        if kind == "array":
            item_cost, item_size = measure(node.get("items"), namespace, inside)
            unit(_SLOT + item_cost, item_size)
            return _LIST, 1
        if kind == "map":
            value_cost, value_size = measure(node.get("values"), namespace, inside)
            unit(_ENTRY + _STR + value_cost, 1 + value_size)
            return _DICT, 1
        if isinstance(kind, str):
            cost, size = measure(kind, namespace, inside)
            return max(cost, logical), size
        raise DecodeError("not a valid Avro schema")

    try:
        cost, size = measure(schema, "", frozenset())
    except (_Recursive, RecursionError):
        return None
    unit(_SLOT + cost, size)
    return worst[0]


# --- the sources --------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are not followed: they would carry the credential to another place."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class RegistryClient:
    """Asks one schema registry for schemas by id.

    Args:
        url: ``http(s)://[user:password@]host[:port][/path]``; a user name and password are
            sent as HTTP basic authentication (percent-encoded characters decoded).
        timeout: seconds one request may take in all.

    Raises:
        ConfigurationError: ``url`` is not an http or https URL with a host.
    """

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        if not isinstance(url, str):
            raise ConfigurationError(f"a schema registry is a URL (str), not {type(url).__name__}")
        parts = urllib.parse.urlsplit(url.strip())
        try:
            host_ok = bool(parts.hostname)
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError:
            host_ok = False
        if parts.scheme not in ("http", "https") or not host_ok:
            # Not echoed when it may hold a credential (anything with an @).
            given = "" if "@" in url else f", not {url.strip()!r:.200}"
            raise ConfigurationError(
                f"a schema registry must be an http:// or https:// URL with a host{given}"
            )
        self.shown = redact_url(url.strip())
        self._base = self.shown.rstrip("/")
        self._headers = {"Accept": "application/vnd.schemaregistry.v1+json, application/json"}
        if parts.username is not None or parts.password is not None:
            user = urllib.parse.unquote(parts.username or "")
            password = urllib.parse.unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            self._headers["Authorization"] = f"Basic {token}"
        self.timeout = timeout
        handlers: list[Any] = [_NoRedirect()]
        if parts.scheme == "https":
            context = ssl.create_default_context(cafile=certifi.where())
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)

    def fetch(self, schema_id: int) -> Any | None:
        """The schema with this id, in its JSON form; None when the registry has none.

        Raises:
            SchemaRegistryError: the registry could not be reached in time, answered an
                error, or answered something that is not an Avro schema.
        """
        url = f"{self._base}/schemas/ids/{schema_id}"
        request = urllib.request.Request(url, headers=self._headers)
        deadline = time.monotonic() + self.timeout
        where = f"schema registry {self.shown}"
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                chunks: list[bytes] = []
                size = 0
                while True:
                    if time.monotonic() > deadline:
                        raise SchemaRegistryError(
                            f"{where} took more than {self.timeout:g} s to answer"
                        )
                    chunk = answer.read(65536)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > MAX_ANSWER_BYTES:
                        raise SchemaRegistryError(
                            f"{where} answered more than {MAX_ANSWER_BYTES:,} bytes for "
                            f"schema id {schema_id}"
                        )
                    chunks.append(chunk)
        except urllib.error.HTTPError as exc:
            exc.close()  # it holds the answer's connection: closed now, not when collected
            if exc.code == 404:
                return None
            reason = "the credential was refused" if exc.code in (401, 403) else exc.reason
            raise SchemaRegistryError(
                f"{where} answered HTTP {exc.code} ({reason}) for schema id {schema_id}"
            ) from None
        except urllib.error.URLError as exc:
            raise SchemaRegistryError(f"cannot reach {where}: {exc.reason}") from None
        except TimeoutError:
            raise SchemaRegistryError(
                f"{where} took more than {self.timeout:g} s to answer"
            ) from None
        except OSError as exc:
            raise SchemaRegistryError(f"cannot reach {where}: {exc}") from None
        try:
            answer_json = json.loads(b"".join(chunks))
            schema_type = answer_json.get("schemaType", "AVRO")
            if schema_type != "AVRO":
                raise SchemaRegistryError(
                    f"schema id {schema_id} at {where} is a {schema_type} schema, not Avro"
                )
            schema = json.loads(answer_json["schema"])
        except SchemaRegistryError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            raise SchemaRegistryError(
                f"{where} did not answer with a schema for id {schema_id} "
                '(expected {"schema": "<Avro schema JSON>"})'
            ) from None
        return schema


def _rubin_root() -> Path | None:
    """Where lsst-alert-packet keeps its schemas, when it is installed (not imported)."""
    try:
        spec = importlib.util.find_spec("lsst.alert.packet")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        root = Path(location) / "schema"
        if root.is_dir():
            return root
    return None


def _load_avsc(path: Path) -> Any:
    """A schema file, with the named types it uses from sibling ``NAME.avsc`` files."""
    return fastavro.schema.load_schema(str(path), _write_hint=False)


# The process's schemas and misses, by (source key, id); a failing registry, by URL, with
# when to ask it again. One lock: fetching is rare (once per id).
_lock = threading.Lock()
_schemas: dict[tuple[str, int], WriterSchema] = {}
_misses: dict[tuple[str, int], float] = {}
_failing: dict[str, float] = {}


def _remember(store: dict[tuple[str, int], Any], key: tuple[str, int], value: Any) -> None:
    if len(store) >= MAX_CACHED:
        store.pop(next(iter(store)))
    store[key] = value


class SchemaSources:
    """The schema sources of a reader, in order: registry, directory, lsst-alert-packet.

    Args:
        registry: a schema registry URL, or None for none.
        schema_dir: a directory of ``ID.avsc`` files, or None.
        rubin: look in lsst-alert-packet (when installed) last.
        timeout: seconds one registry request may take in all.

    Raises:
        ConfigurationError: ``registry`` is not an http(s) URL, or ``schema_dir`` is not a
            directory.
    """

    def __init__(
        self,
        registry: str | None = None,
        schema_dir: str | os.PathLike[str] | None = None,
        rubin: bool = True,
        timeout: float | None = None,
    ) -> None:
        self.registry = (
            RegistryClient(registry, DEFAULT_TIMEOUT if timeout is None else timeout)
            if registry
            else None
        )
        self._registry_key = f"registry {registry}" if registry else ""
        self.schema_dir = Path(schema_dir) if schema_dir is not None else None
        if self.schema_dir is not None and not self.schema_dir.is_dir():
            raise ConfigurationError(f"schema directory {self.schema_dir} is not a directory")
        self.rubin = rubin
        # Ids warned about (no schema anywhere), once each per reader.
        self._warned: set[int] = set()
        # Found schemas, by id, for this reader's fast path.
        self._found: dict[int, WriterSchema] = {}

    def describe(self) -> str:
        """The sources, in words, for messages."""
        tried = []
        if self.registry is not None:
            tried.append(f"schema registry {self.registry.shown}")
        if self.schema_dir is not None:
            tried.append(f"directory {self.schema_dir}")
        if self.rubin:
            tried.append(
                "lsst-alert-packet" if _rubin_root() else "lsst-alert-packet (not installed)"
            )
        return ", ".join(tried) or "no source"

    def lookup(self, schema_id: int) -> WriterSchema | None:
        """The writer schema with this id, or None when no source has it (now). Never raises.

        Problems are logged (logger ``hop.models``): a failing registry once per outage, a
        schema that does not parse once per id.
        """
        found = self._found.get(schema_id)
        if found is not None:
            return found
        with _lock:
            found = self._lookup(schema_id)
        if found is not None:
            if len(self._found) >= MAX_CACHED:
                self._found.clear()
            self._found[schema_id] = found
        return found

    def _lookup(self, schema_id: int) -> WriterSchema | None:
        now = time.monotonic()
        if self.registry is not None:
            found = self._from_registry(self.registry, schema_id, now)
            if found is not None:
                return found
        if self.schema_dir is not None:
            path = self.schema_dir / f"{schema_id}.avsc"
            found = self._from_file(f"dir {self.schema_dir.resolve()}", path, schema_id, now)
            if found is not None:
                return found
        if self.rubin:
            root = _rubin_root()
            if root is not None:
                major, minor = divmod(schema_id, 100)
                path = root / str(major) / str(minor) / f"lsst.v{major}_{minor}.alert.avsc"
                return self._from_file(f"rubin {root}", path, schema_id, now)
        return None

    def _from_registry(
        self, client: RegistryClient, schema_id: int, now: float
    ) -> WriterSchema | None:
        key = (self._registry_key, schema_id)
        known = _schemas.get(key)
        if known is not None:
            return known
        if _misses.get(key, 0.0) > now or _failing.get(self._registry_key, 0.0) > now:
            return None
        try:
            schema = client.fetch(schema_id)
        except SchemaRegistryError as exc:
            # One warning per outage; the retries that fail too are only logged at debug.
            level = logging.DEBUG if self._registry_key in _failing else logging.WARNING
            _failing[self._registry_key] = time.monotonic() + RETRY_AFTER
            logger.log(
                level,
                "%s; messages that need a schema from it are delivered as Blobs until it "
                "answers (asking again in %g s)",
                exc,
                RETRY_AFTER,
            )
            return None
        if self._registry_key in _failing:
            del _failing[self._registry_key]
            logger.warning("schema registry %s answers again", client.shown)
        if schema is None:
            _remember(_misses, key, now + MISS_RETRY_AFTER)
            return None
        return self._parsed(key, schema, f"schema registry {client.shown}", now)

    def _from_file(
        self, source: str, path: Path, schema_id: int, now: float
    ) -> WriterSchema | None:
        key = (source, schema_id)
        known = _schemas.get(key)
        if known is not None:
            return known
        if _misses.get(key, 0.0) > now:
            return None
        if not path.is_file():
            _remember(_misses, key, now + MISS_RETRY_AFTER)
            return None
        try:
            schema = _load_avsc(path)
        except Exception as exc:
            _remember(_misses, key, now + MISS_RETRY_AFTER)
            logger.warning(
                "cannot use %s as the schema of id %d: %s: %s",
                path,
                schema_id,
                type(exc).__name__,
                exc,
            )
            return None
        return self._parsed(key, schema, str(path), now)

    def _parsed(
        self, key: tuple[str, int], schema: Any, source: str, now: float
    ) -> WriterSchema | None:
        try:
            found = _writer_schema(key[1], schema, source)
        except DecodeError as exc:
            _remember(_misses, key, now + MISS_RETRY_AFTER)
            logger.warning("schema id %d from %s refused: %s", key[1], source, exc)
            return None
        _remember(_schemas, key, found)
        return found

    def missing(self, schema_id: int) -> None:
        """Say, once per id, that a framed message with this id was delivered as a Blob."""
        if schema_id in self._warned:
            return
        if len(self._warned) >= MAX_CACHED:
            return  # a stream of junk ids: enough has been said
        self._warned.add(schema_id)
        if self.registry is not None and _failing.get(self._registry_key, 0.0) > time.monotonic():
            return  # the registry's outage was the warning
        logger.warning(
            "no schema for Confluent-framed Avro messages with schema id %d (looked in: %s); "
            "delivering them as Blobs: %s",
            schema_id,
            self.describe(),
            HOW_TO_SUPPLY,
        )


_sources: dict[tuple[str | None, str | None], SchemaSources] = {}


def sources_for(
    registry: str | None = None, schema_dir: str | os.PathLike[str] | None = None
) -> SchemaSources:
    """The schema sources for a registry URL and a directory, one object per pair.

    Args:
        registry: a registry URL; None for the configured one (``HOP_SCHEMA_REGISTRY``, else
            the ``schema_registry`` setting), "" for none.
        schema_dir: a directory of ``ID.avsc`` files, or None.

    Raises:
        ConfigurationError: a bad URL or directory.
    """
    if registry is None:
        registry = _configured_registry()
    key = (registry or None, os.fspath(schema_dir) if schema_dir is not None else None)
    found = _sources.get(key)
    if found is None:
        found = SchemaSources(registry or None, schema_dir)
        if len(_sources) >= 64:
            _sources.clear()
        _sources[key] = found
    return found


def _configured_registry() -> str | None:
    value = load_config().get("schema_registry")
    return str(value) if value else None


_default: tuple[str | None, SchemaSources] | None = None


def default_sources() -> SchemaSources:
    """The sources used where a reader gave none (``hop.models.decode``,
    ``AvroRecord.deserialize``): the configured registry, then lsst-alert-packet.

    The setting is read once per process (again when ``HOP_SCHEMA_REGISTRY`` changes).
    """
    global _default
    variable = os.environ.get("HOP_SCHEMA_REGISTRY")
    if _default is not None and _default[0] == variable:
        return _default[1]
    try:
        found = sources_for(None, None)
    except Exception as exc:  # a bad setting must not break decoding
        logger.warning("ignoring the schema_registry setting: %s", exc)
        found = sources_for("", None)
    _default = (variable, found)
    return found


def _forget_everything() -> None:
    """Forget every schema, miss, failing registry and source set this process found (for
    tests, which must not see another test's registry)."""
    global _default
    with _lock:
        _schemas.clear()
        _misses.clear()
        _failing.clear()
    _sources.clear()
    _default = None
