"""Message models: the Python objects that travel over Kafka, one class per format.

Every message has a format label (the ``_format`` header) and a body. A model class knows
how to turn itself into a body (``serialize``) and back (``deserialize``), and how to read
itself from a file (``load`` / ``load_file``); it is sent under its ``format_name``.
:func:`encode` and :func:`decode`, what the producer and consumer call per message, and the
format registry are re-exported from ``_codec``; :func:`decode` never raises, so a bad
message can never break a subscriber's loop.

The package holds one module per format family: ``_base`` (``MessageModel``, what ``load``
reads), ``_blob`` (``Blob``, ``JSONBlob``, ``ExternalMessage``), ``_voevent`` (with the safe
XML reader ``_xml``), ``_gcn`` (circulars and text notices), ``_avro`` (``AvroBlob``, with the
container reader ``_avro_io`` and its memory bounds ``_avro_bounds``), and ``_codec`` (the
registry, encoding and decoding, which knows every format). Nothing here imports
``hop.io``: the models are below the streams.
"""

from __future__ import annotations

from ._avro import AvroBlob
from ._avro_record import AvroRecord
from ._base import LoadInput as LoadInput
from ._base import MessageModel, format_name
from ._blob import Blob, ExternalMessage, JSONBlob
from ._codec import _BUILTIN_NAMES as _BUILTIN_NAMES
from ._codec import _LABELS as _LABELS
from ._codec import MAX_LABEL_BYTES as MAX_LABEL_BYTES
from ._codec import _label_text as _label_text
from ._codec import _registry as _registry
from ._codec import decode, encode, register_model, registered_models, unregister_model
from ._gcn import GCNCircular, GCNTextNotice
from ._voevent import VOEvent

__all__ = [
    "AvroBlob",
    "AvroRecord",
    "Blob",
    "ExternalMessage",
    "GCNCircular",
    "GCNTextNotice",
    "JSONBlob",
    "MessageModel",
    "VOEvent",
    "decode",
    "encode",
    "format_name",
    "register_model",
    "registered_models",
    "unregister_model",
]
