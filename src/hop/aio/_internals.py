"""The one place where ``hop.aio`` reaches into the blocking classes' private parts.

``hop.aio`` shares the blocking API's logic rather than copying it: the consumer's
per-message steps (``Consumer._read_steps``: test and duplicate filtering, decoding,
metadata, offsets) and its fetch (``Consumer._next_batch``); the producer's packing,
topic checks, error translation, delivery tally and broker-reachability checks. When those
modules move, only these imports change.
"""

from __future__ import annotations

from .._consumer import _FINISHED as FINISHED
from .._consumer import _SKIPPED as SKIPPED
from .._consumer import _ReadSteps as ReadSteps
from .._producer import _describe_delivery_error as describe_delivery_error
from .._producer import _SafeCallback as SafeCallback

__all__ = ["FINISHED", "SKIPPED", "ReadSteps", "SafeCallback", "describe_delivery_error"]
