"""asyncio streams: hop's API for event loops (dashboards, TOM systems, notebooks).

```python
from hop import aio

async with aio.stream.open("kafka://hostname:9092/topic", "w") as producer:
    delivered = await producer.write({"alert": "GRB 261126A"})
    await delivered

async with aio.stream.open("kafka://hostname:9092/topic", "r") as consumer:
    async for message in consumer:
        print(message)
```

Same models, URLs, credentials, options and errors as ``hop.io``; see docs/asyncio.md.
"""

from __future__ import annotations

from ._consumer import Consumer
from ._producer import Producer
from ._robust import RobustProducer
from ._stream import Opening, Stream, list_topics, stream

__all__ = [
    "Consumer",
    "Opening",
    "Producer",
    "RobustProducer",
    "Stream",
    "list_topics",
    "stream",
]

# Documented, and shown by help() and in reprs, as hop.aio's own.
for _public in (Consumer, Opening, Producer, RobustProducer, Stream):
    _public.__module__ = __name__
del _public
