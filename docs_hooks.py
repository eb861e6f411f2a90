"""MkDocs hooks of the manual (``mkdocs.yml``): pages that appear once what they describe exists.

``docs/asyncio.md`` (the asyncio chapter) and ``docs/reference/aio.md`` (the ``hop.aio``
reference) are in the navigation already; while the page's file, or the module it documents,
does not exist yet, the page is left out of the site, so that the strict build passes. Once
both exist the page is built like any other: nothing else to change.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent

#: Page (relative to docs/) -> the module it documents (or None for a guide page).
OPTIONAL_PAGES: dict[str, str | None] = {
    "asyncio.md": None,
    "reference/aio.md": "hop.aio",
}


def module_exists(name: str) -> bool:
    """Whether ``name`` can be imported from this checkout's src/ (without importing it)."""
    src = str(ROOT / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def missing_pages(docs_dir: Path) -> set[str]:
    """The optional pages that are left out: no file, or no module to document."""
    return {
        page
        for page, module in OPTIONAL_PAGES.items()
        if not (docs_dir / page).is_file() or (module is not None and not module_exists(module))
    }


def _prune(nav: list[Any], missing: set[str]) -> list[Any]:
    """``nav`` without the entries pointing at a missing page."""
    kept: list[Any] = []
    for entry in nav:
        if isinstance(entry, str):
            if entry not in missing:
                kept.append(entry)
            continue
        ((title, target),) = entry.items()
        if isinstance(target, list):
            kept.append({title: _prune(target, missing)})
        elif target not in missing:
            kept.append(entry)
    return kept


def on_config(config: Any) -> Any:
    """Drop the navigation entries of the optional pages that are missing."""
    missing = missing_pages(Path(config["docs_dir"]))
    config["nav"] = _prune(config["nav"], missing)
    return config


def on_files(files: Any, config: Any) -> Any:
    """Leave the missing optional pages' files (a stub without its module) out of the build."""
    for page in missing_pages(Path(config["docs_dir"])):
        found = files.get_file_from_path(page)
        if found is not None:
            files.remove(found)
    return files
