"""Where the tests find their alert files.

``DATA`` is ``tests/data``: alerts written for this repository, so the suite runs from any
clone. ``shared_data()`` is the optional second check, the real-world alerts of
``HOP_SHARED_DATA`` (``make test-realdata`` sets it; by default ``../shared/data`` beside the
checkout), which only the ``tests/realdata`` tier reads.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"


def shared_data() -> Path:
    """The folder named by ``HOP_SHARED_DATA`` (relative paths from the current directory).

    Raises:
        RuntimeError: the variable is unset or names no folder; a missing folder is a
            set-up error, never a reason to skip.
    """
    name = os.environ.get("HOP_SHARED_DATA")
    if not name:
        raise RuntimeError(
            "HOP_SHARED_DATA is not set: point it at the folder of real-world alerts "
            "(make test-realdata sets it to ../shared/data by default)"
        )
    folder = Path(name)
    if not folder.is_dir():
        raise RuntimeError(
            f"HOP_SHARED_DATA={name!r} is not a folder: the real-world alerts are missing "
            "(set HOP_SHARED_DATA to the folder holding the .gcn3, .xml, .txt and .avro files)"
        )
    return folder
