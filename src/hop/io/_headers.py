"""hop's headers on the wire: packing a message (its body, hop's headers ``_id``,
``_sender``, ``_test``, ``_format`` after the caller's, fresh message ids) and reading them
back from a fetched message."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping

import confluent_kafka

from hop.errors import ConfigurationError, InvalidMessageError
from hop.models import _LABELS, _label_text, encode

from . import _rdkafka_config
from ._types import Headers, HeadersArg, Metadata

# UUID4 bytes (``uuid.uuid4().bytes``), drawn from the OS's randomness in batches: a
# fresh id per message is on the hot path. The batch is large because os.urandom lets go
# of the GIL, and a busy thread may keep it a while before the refill gets it back.
_ID_BATCH = 4096
_id_pool: list[bytes] = []
_id_lock = threading.Lock()


def _fresh_id() -> bytes:
    try:
        return _id_pool.pop()  # atomic under the GIL
    except IndexError:
        return _refill_ids()


def _refill_ids() -> bytes:
    with _id_lock:
        if not _id_pool:
            pool = bytearray(os.urandom(16 * _ID_BATCH))
            for start in range(0, len(pool), 16):
                pool[start + 6] = (pool[start + 6] & 0x0F) | 0x40  # version 4
                pool[start + 8] = (pool[start + 8] & 0x3F) | 0x80  # RFC 4122 variant
            _id_pool.extend(bytes(pool[i : i + 16]) for i in range(0, len(pool), 16))
        return _id_pool.pop()


def _check_header_key(key: str) -> None:
    # confluent-kafka 2.16 crashes the process (not an exception) on a header key that
    # cannot be encoded as UTF-8, such as a lone surrogate: refuse it first. librdkafka
    # keeps keys as C strings, so a NUL would silently cut the key short on the wire.
    if not key.isascii():
        try:
            key.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidMessageError(f"header key {key!r} is not valid UTF-8 text") from exc
    if "\x00" in key:
        raise InvalidMessageError(
            f"header key {key!r} holds a NUL character, which Kafka clients would cut it at"
        )


def _user_headers(headers: HeadersArg) -> Headers:
    if not headers:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: Headers = []
    for item in items:
        try:
            key, value = item
        except (TypeError, ValueError):
            raise TypeError(
                f"headers must be a mapping or a sequence of (key, value) pairs, got {item!r}"
            ) from None
        if not isinstance(key, str):
            raise TypeError(f"header keys must be str, not {type(key).__name__}")
        _check_header_key(key)
        if key.startswith("_"):
            raise ConfigurationError(
                f"header key {key!r} is reserved: keys starting with '_' belong to hop "
                "(use Producer.write_raw to forward headers that hop already packed)"
            )
        if isinstance(value, str):
            try:
                out.append((key, value.encode("utf-8")))
            except UnicodeEncodeError as exc:
                raise InvalidMessageError(
                    f"header {key!r}: its value is not valid UTF-8 text"
                ) from exc
        elif isinstance(value, bytes | bytearray | memoryview):
            out.append((key, bytes(value)))
        else:
            raise TypeError(f"header {key!r} must be str or bytes, not {type(value).__name__}")
    return out


_TEST_HEADER = ("_test", b"true")
_FORMAT_HEADERS: dict[str, tuple[str, bytes]] = {}


def _format_header(label: str) -> tuple[str, bytes]:
    header = _FORMAT_HEADERS.get(label)
    if header is None:
        header = ("_format", label.encode("utf-8"))
        if len(_FORMAT_HEADERS) < 1000:  # bounded: labels come from models, not data
            _FORMAT_HEADERS[label] = header
    return header


def _sender_header(auth: _rdkafka_config.AuthLike | None) -> tuple[str, bytes] | None:
    return ("_sender", auth.username.encode("utf-8")) if auth is not None else None


def _pack(
    message: object, headers: HeadersArg, test: bool, sender: tuple[str, bytes] | None
) -> tuple[bytes, Headers]:
    label, body = encode(message)
    out = _user_headers(headers) if headers else []
    out.append(("_id", _fresh_id()))
    if sender is not None:
        out.append(sender)
    if test:
        out.append(_TEST_HEADER)
    out.append(_FORMAT_HEADERS.get(label) or _format_header(label))
    return body, out


_logger = logging.getLogger("hop.io")


def _unpack(
    raw: confluent_kafka.Message, source: object
) -> tuple[Headers, str | None, bytes | None, bool]:
    """A fetched message's headers, and hop's among them: ``(headers, format label, _id,
    is a test message)``. Headers another client wrote that Python cannot read (a key that
    is not UTF-8) are dropped with a warning naming ``source``: the message is still
    delivered, never a crash."""
    try:
        headers: Headers = raw.headers() or []  # type: ignore[assignment]
    except (UnicodeDecodeError, ValueError, TypeError) as exc:
        _logger.warning("unreadable headers on a message from %s: %s", source, exc)
        headers = []
    label: str | None = None
    message_id: bytes | None = None
    is_test = False
    for key, value in headers:
        if key == "_format":
            label = _LABELS.get(value) if value else None
            if label is None and value:
                label = _label_text(value)
        elif key == "_id":
            message_id = value
        elif key == "_test":
            is_test = True
    return headers, label, message_id, is_test


def _is_test(message: object) -> bool:
    """Whether a ``Metadata``, a ``(model, Metadata)`` pair or a raw message has a ``_test``
    header (``Consumer.is_test``)."""
    if isinstance(message, tuple) and len(message) == 2:
        message = message[1]
    if isinstance(message, Metadata):
        headers: Headers | None = message.headers
    else:
        read_headers = getattr(message, "headers", None)
        if not callable(read_headers):
            raise TypeError(f"cannot tell whether {type(message).__name__} is a test message")
        headers = read_headers()
    return any(key == "_test" for key, _ in headers or ())
