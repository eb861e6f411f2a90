"""Where the tests find the real alert messages of ``shared/data``.

The project's checkout normally sits beside ``shared/`` (in the workplace and in CI). A
clone made elsewhere (``git clone . /tmp/x``) finds it through ``HOP_SHARED_DATA`` or the
workplace's own ``shared/`` folder.
"""

from __future__ import annotations

import os
from pathlib import Path

_CANDIDATES = [
    *([Path(os.environ["HOP_SHARED_DATA"])] if os.environ.get("HOP_SHARED_DATA") else []),
    Path(__file__).resolve().parents[3] / "shared" / "data",
    Path("/work/shared/data"),
]

for _candidate in _CANDIDATES:
    if _candidate.is_dir():
        DATA = _candidate
        break
else:  # a missing folder is a set-up error, never a reason to skip
    raise RuntimeError(
        "the shared alert data is missing: looked in "
        + ", ".join(str(c) for c in _CANDIDATES)
        + " (set HOP_SHARED_DATA to the folder holding example.gcn3 and the others)"
    )
