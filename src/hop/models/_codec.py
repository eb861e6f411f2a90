"""The format registry and the per-message codec: labels to models, and back.

:func:`encode` and :func:`decode` are what the producer and consumer call per message;
:func:`decode` never raises, so a bad message can never break a subscriber's loop. The
formats themselves are in the format modules beside it; :mod:`hop.models` re-exports every
public name here.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hop._ratelimit import ONCE, RateLimiter

from ._avro import AvroBlob
from ._avro_record import AvroRecord
from ._base import MessageModel, format_name
from ._blob import Blob, ExternalMessage, JSONBlob
from ._gcn import GCNCircular, GCNTextNotice, _notice_fields
from ._voevent import VOEvent

if TYPE_CHECKING:
    from ._schema_registry import SchemaSources

logger = logging.getLogger("hop.models")


# --- the registry -------------------------------------------------------------------------

#: The longest format label, in UTF-8 bytes. A ``_format`` header longer than this is
#: simply an unknown label: it is neither cached nor echoed whole in a warning.
MAX_LABEL_BYTES = 64

_registry: dict[str, type[MessageModel]] = {}
_BUILTIN_NAMES: set[str] = set()


def register_model(name: str, cls: type[MessageModel]) -> None:
    """Make a model known to :func:`decode` under a format label.

    Args:
        name: the format label (stored in lower case).
        cls: the model class.

    Raises:
        TypeError: ``cls`` is not a :class:`MessageModel` subclass.
        ValueError: the label is empty, longer than :data:`MAX_LABEL_BYTES` bytes, or
            already taken by another class.
    """
    if not (isinstance(cls, type) and issubclass(cls, MessageModel)):
        raise TypeError(f"a message model must subclass hop.models.MessageModel, not {cls!r}")
    key = name.lower()
    if not key:
        raise ValueError("a format name must not be empty")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_LABEL_BYTES:
        raise ValueError(f"a format name must be at most {MAX_LABEL_BYTES} bytes long")
    existing = _registry.get(key)
    if existing is not None and existing is not cls:
        raise ValueError(
            f"format {key!r} is already registered to {existing.__module__}.{existing.__qualname__}"
        )
    _registry[key] = cls


def unregister_model(name: str) -> None:
    """Forget a plugin's format label (built-in formats cannot be removed).

    Args:
        name: the format label.

    Raises:
        ValueError: the label belongs to a built-in model.
    """
    key = name.lower()
    if key in _BUILTIN_NAMES:
        raise ValueError(f"format {key!r} is built in and cannot be unregistered")
    _registry.pop(key, None)


def registered_models() -> dict[str, type[MessageModel]]:
    """Every known model, built-in and from plugins.

    Returns:
        A new dict of format label to model class.
    """
    return dict(_registry)


def _register_builtin(cls: type[MessageModel]) -> None:
    name = format_name(cls)
    register_model(name, cls)
    _BUILTIN_NAMES.add(name)


# --- format labels ------------------------------------------------------------------------

# At most this many labels are remembered (decoded header values and unknown labels warned
# about, together), each at most MAX_LABEL_BYTES long: a stream of junk labels costs at
# most a few hundred kilobytes, held for the life of the process.
_MAX_LABELS = 1000
#: ``_format`` header values seen, decoded once each. hop.io's read loop looks labels up
#: here directly; this and :data:`_warned_labels` are the one label cache of the process.
_LABELS: dict[bytes, str] = {}
#: Unknown labels already warned about (once each).
_warned_labels: RateLimiter[str] = RateLimiter(ONCE, max_keys=_MAX_LABELS, when_full="refuse")


def _label_text(value: bytes) -> str:
    """The text of a ``_format`` header value, cached when short enough to be a label.

    A value longer than :data:`MAX_LABEL_BYTES` cannot be any model's label: it is not
    cached, and only its start is kept (with ``...``), so that the label is unknown and a
    warning about it stays short.
    """
    if len(value) > MAX_LABEL_BYTES:
        return value[:MAX_LABEL_BYTES].decode("utf-8", "replace") + "..."
    label = value.decode("utf-8", "replace")
    if len(_LABELS) + len(_warned_labels) < _MAX_LABELS:
        _LABELS[value] = label
    return label


def _shown_label(label: str) -> str:
    """``label`` cut to :data:`MAX_LABEL_BYTES` characters, for caching and messages."""
    return label if len(label) <= MAX_LABEL_BYTES else label[:MAX_LABEL_BYTES] + "..."


def _warn_unknown_label(label: str) -> None:
    shown = _shown_label(label)
    # Warn once per label; past the cache's bound, no more warnings (a junk stream).
    if len(_LABELS) + len(_warned_labels) < _MAX_LABELS and _warned_labels.hit(shown) is not None:
        logger.warning(
            "no model for format %r (is a plugin missing?); delivering it as a Blob", shown
        )


# --- per-message encoding and decoding ----------------------------------------------------

_dumps: Callable[..., str] = json.dumps
_loads: Callable[..., Any] = json.loads
_JSON_TYPES = frozenset({dict, list, str, int, float, bool, type(None)})


def encode(message: object) -> tuple[str, bytes]:
    """Turn whatever a user writes into a format label and a body.

    Args:
        message: a :class:`MessageModel`, ``bytes`` (sent as a blob), or any
            JSON-serializable value (sent as json).

    Returns:
        ``(format label, body bytes)``.

    Raises:
        TypeError: the object is none of those, or is nested too deeply to encode.
    """
    # The common case goes straight to json.dumps: this runs once per message sent.
    if type(message) in _JSON_TYPES:
        try:
            return "json", _dumps(message).encode()
        except (TypeError, ValueError) as exc:
            raise TypeError(f"cannot send {type(message).__name__}: {exc}") from exc
        except RecursionError:
            raise TypeError(
                f"cannot send {type(message).__name__}: it is nested too deeply to encode"
            ) from None
    if isinstance(message, MessageModel):
        try:
            serialized = message.serialize()
        except RecursionError:
            raise TypeError(
                f"cannot send {type(message).__name__}: it is nested too deeply to encode"
            ) from None
        return serialized["format"], serialized["content"]
    if isinstance(message, (bytes, bytearray, memoryview)):
        return "blob", bytes(message)
    try:
        return "json", _dumps(message).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        raise TypeError(
            f"cannot send a {type(message).__name__}: give a hop.models.MessageModel, "
            "bytes, or a JSON-serializable value"
        ) from exc


def _as_blob(body: bytes, reason: str, label: str | None, what: str | None = None) -> Blob:
    if what is None:
        what = repr(_shown_label(label)) if label is not None else "a legacy message"
    logger.warning(
        "delivering a %d-byte message as a Blob: it does not decode as %s (%s)",
        len(body),
        what,
        reason,
    )
    return Blob(bytes(body))


# First bytes (after whitespace) that can start a JSON document (NaN and Infinity too, as
# Python reads them), or a byte-order mark / UTF-16 or UTF-32 JSON, which json.loads reads.
_JSON_START = frozenset(b'{["-0123456789tfnNI\x00\xef\xfe\xff')
# A body starting with one of these goes straight to the JSON rules (the common case).
_JSON_FIRST = _JSON_START - {0xEF}
_UTF8_BOM = b"\xef\xbb\xbf"
# How far to look for the first non-blank byte, and for a VOEvent root element (after
# the XML declaration, comments and processing instructions).
_SNIFF_BYTES = 256
_VOEVENT_SNIFF_BYTES = 4096
_VOEVENT_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?VOEvent[\s/>]")


def _decode_headerless(body: bytes) -> MessageModel:
    """The rules for messages without ``_format``.

    Older clients' JSON envelope and plain JSON; GCN Kafka's JSON circulars, VOEvent XML and
    text notices; anything else is a Blob. Recognition looks at the first bytes only; a
    document that looks like a VOEvent or a text notice but does not parse is a Blob with
    one warning.
    """
    head = body[:_SNIFF_BYTES].lstrip()
    if head.startswith(_UTF8_BOM):
        head = head[3:].lstrip()
        if head[:1] == b"<":
            return _decode_xml_headerless(body)
    if not head:
        return Blob(bytes(body))
    first = head[0]
    if first in _JSON_START:
        return _decode_json_headerless(body)
    if first == 0x3C:  # "<"
        return _decode_xml_headerless(body)
    if head.startswith(b"TITLE:"):
        try:
            raw = bytes(body)
            return GCNTextNotice(raw=raw, fields=_notice_fields(raw.decode(), _NOTICE_KEY_LINE))
        except Exception as exc:
            return _as_blob(body, f"{type(exc).__name__}: {exc}", None, "a GCN text notice")
    return Blob(bytes(body))


# A line of a GCN text notice that is neither blank nor indented (a continuation): an
# upper-case KEY, a colon. (GCNTextNotice.load is more lenient, for notices a user loads on
# purpose; recognising one by its looks is strict.) Checked in the same single pass that
# reads the fields, so recognition takes time in proportion to the size too.
_NOTICE_KEY_LINE = re.compile(r"[A-Z0-9][A-Z0-9_ ./()-]*:")


def _decode_xml_headerless(body: bytes) -> MessageModel:
    if _VOEVENT_ROOT.search(body, 0, _VOEVENT_SNIFF_BYTES) is None:
        return Blob(bytes(body))
    try:
        return VOEvent._from_xml(bytes(body))
    except Exception as exc:
        return _as_blob(body, f"{type(exc).__name__}: {exc}", None, "a VOEvent")


def _decode_json_headerless(body: bytes) -> MessageModel:
    try:
        value = _loads(body)
    except RecursionError:
        return _as_blob(body, "JSON nested too deeply", None, "JSON")
    except (ValueError, TypeError):
        return Blob(bytes(body))
    if isinstance(value, dict):
        if "format" in value and "content" in value:
            label = value["format"]
            content = value["content"]
            if label == "blob":
                # Older clients called JSON content "blob".
                return JSONBlob(content)
            cls = _registry.get(label.lower()) if isinstance(label, str) else None
            if cls is not None:
                try:
                    return cls._from_fields(content)
                except Exception as exc:
                    return _as_blob(body, f"{type(exc).__name__}: {exc}", None)
        elif "circularId" in value and _is_gcn_circular(value):
            return GCNCircular._from_gcn_json(value)
    return JSONBlob(value)


def _is_gcn_binary(body: bytes) -> bool:
    """A GCN classic binary packet: 160 bytes, starting with its type as a big-endian int
    (1 to 255). Never taken for a Confluent-framed record, nor warned about."""
    return len(body) == 160 and body[:3] == b"\x00\x00\x00" and body[3] != 0


def _is_gcn_circular(value: dict[str, Any]) -> bool:
    number = value.get("circularId")
    return (
        isinstance(number, (int, float))
        and not isinstance(number, bool)
        and isinstance(value.get("subject"), str)
        and isinstance(value.get("body"), str)
    )


def decode(
    body: bytes | None, format_label: str | None, schemas: SchemaSources | None = None
) -> MessageModel:
    """Turn a received body and its ``_format`` label into a model. Never raises.

    Implements every rule of ``WIRE.md``: a known label decodes with its model; an unknown
    label gives a :class:`Blob`; no label means the header-less rules (the older clients'
    JSON envelope, plain JSON, GCN Kafka's VOEvents, text notices and JSON circulars, else
    raw bytes). A body that does not decode as its label says is logged (logger
    ``hop.models``) and delivered as a :class:`Blob` of its bytes.

    Args:
        body: the message value (``None`` for an empty message).
        format_label: the ``_format`` header as text, or ``None`` when absent.
        schemas: where to find the schemas of Confluent-framed Avro records (a reader's
            own); None for the configured registry and lsst-alert-packet.

    Returns:
        The model.
    """
    # The common case first: this runs once per message received.
    if format_label == "json":
        try:
            return JSONBlob(_loads(body))
        except Exception as exc:
            if body is None:
                return Blob(b"")
            return _as_blob(body, f"{type(exc).__name__}: {exc}", format_label)
    if body is None:
        return Blob(b"")
    try:
        if format_label is None:
            if body[:1] == b"\x00" and len(body) >= 5 and not _is_gcn_binary(body):
                # Confluent-framed Avro (Rubin): a record when a schema for its id is found.
                framed = AvroRecord._from_framed(body, schemas)
                if framed is not None:
                    return framed
                model = _decode_headerless(body)
                if type(model) is Blob:
                    AvroRecord._missed(body, schemas)
                return model
            if body and body[0] in _JSON_FIRST:
                return _decode_json_headerless(body)
            return _decode_headerless(body)
        cls = _registry.get(format_label)
        if cls is None:
            cls = _registry.get(format_label.lower())
        if cls is None:
            _warn_unknown_label(format_label)
            return Blob(bytes(body))
        if cls is AvroRecord:
            return AvroRecord.deserialize(body, schemas)
        return cls.deserialize(body)
    except Exception as exc:
        return _as_blob(body, f"{type(exc).__name__}: {exc}", format_label)


for _builtin in (
    Blob,
    JSONBlob,
    VOEvent,
    GCNCircular,
    GCNTextNotice,
    AvroBlob,
    ExternalMessage,
    AvroRecord,
):
    _register_builtin(_builtin)
