"""Reading what a received message holds, typed."""

from __future__ import annotations

from typing import Any

from hop.models import AvroBlob, Blob, JSONBlob


def content(message: object) -> Any:
    """The ``content`` of a received JSONBlob, Blob or AvroBlob.

    Raises:
        AssertionError: the message is another model (so it was not received as expected).
    """
    assert isinstance(message, (JSONBlob, Blob, AvroBlob)), message
    return message.content
