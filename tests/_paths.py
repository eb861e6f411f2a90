"""Where the tests find the real alert messages of ``shared/data``.

The project's checkout sits beside ``shared/`` (locally and in CI), so the data is found
relative to this file, whatever folder the checkout is in.
"""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"

if not DATA.is_dir():  # a missing folder is a set-up error, never a reason to skip
    raise RuntimeError(f"the shared alert data is missing: expected it at {DATA}")
