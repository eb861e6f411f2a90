"""The one place where ``hop.aio`` reaches into the blocking classes' private parts.

``hop.aio`` shares the blocking API's logic rather than copying it: the consumer's
per-message steps (``Consumer._read_steps``: test and duplicate filtering, decoding,
metadata, offsets) and its fetch (``Consumer._next_batch``); the producer's packing (``_pack``),
topic checks, error translation, delivery tally and broker-reachability checks. When those
modules move, only these imports change.
"""

from __future__ import annotations

from hop.io._headers import _pack as pack
from hop.io._producer import _describe_delivery_error as describe_delivery_error
from hop.io._producer import _TrustedCallback as TrustedCallback
from hop.io._read_state import _FINISHED as FINISHED
from hop.io._read_state import _SKIPPED as SKIPPED
from hop.io._read_state import _ReadSteps as ReadSteps

__all__ = [
    "FINISHED",
    "SKIPPED",
    "ReadSteps",
    "TrustedCallback",
    "describe_delivery_error",
    "pack",
]
