"""``python -m hop``: the hop command line."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
