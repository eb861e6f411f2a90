"""hop: publish and subscribe to astronomical alerts over Kafka.

from hop import stream

with stream.open("kafka://kafka.scimma.org/gcn.circular", "r") as consumer:
    for message in consumer:
        print(message)
"""

from __future__ import annotations

from . import auth, models, plugins
from . import io as io
from .errors import HopError
from .io import StartPosition, Stream, list_topics, stream
from .version import __version__

__all__ = [
    "HopError",
    "StartPosition",
    "Stream",
    "__version__",
    "auth",
    "io",
    "list_topics",
    "models",
    "plugins",
    "stream",
]
