"""What the manual's API reference must show, checked on the sources and on the built site.

Every public module has a stub page under docs/reference/ holding its ``::: module``
directive (mkdocstrings), listed in mkdocs.yml's navigation. The reference shows a module's
``__all__``: mkdocs.yml's mkdocstrings options select the public names (``filters: public``,
which follows ``__all__``) and show them with or without a docstring, and no stub narrows that
with options of its own. ``make docs`` then runs this module on the built site
(``python -m tests.support.docs_site site``): every name of every ``__all__`` must have its
anchor on its module's page.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
MKDOCS_YML = ROOT / "mkdocs.yml"

#: The public modules, in the reference's order. A module that does not exist yet (hop.aio
#: before it lands) is left out by public_modules().
PUBLIC_MODULES = (
    "hop",
    "hop.io",
    "hop.aio",
    "hop.models",
    "hop.auth",
    "hop.configure",
    "hop.robust_publisher",
    "hop.plugins",
    "hop.errors",
    "hop.cli",
    "hop.version",
)

#: mkdocstrings options that decide which members a page shows: set once, in mkdocs.yml.
MEMBER_OPTIONS = ("members", "filters", "show_if_no_docstring", "show_submodules")

#: What mkdocs.yml's mkdocstrings options must say for the reference to show every __all__.
REQUIRED_GLOBAL_OPTIONS = {
    "filters": "public",
    "show_if_no_docstring": "true",
    "show_submodules": "false",
}

_DIRECTIVE = re.compile(r"^:::\s+(?P<name>[\w.]+)\s*$")
_NAV_PAGE = re.compile(r"^\s*-\s+(?:[^:\n]+:\s+)?(?P<page>[\w./-]+\.md)\s*$")


def public_modules() -> list[str]:
    """The public modules that exist in this checkout."""
    return [name for name in PUBLIC_MODULES if importlib.util.find_spec(name) is not None]


def public_names(module: str) -> list[str]:
    """The module's ``__all__``."""
    return list(importlib.import_module(module).__all__)


def directives(text: str) -> dict[str, list[str]]:
    """``::: name`` directive -> its option lines (the indented lines right below it)."""
    found: dict[str, list[str]] = {}
    lines = text.splitlines()
    for number, line in enumerate(lines):
        match = _DIRECTIVE.match(line)
        if match is None:
            continue
        options: list[str] = []
        for following in lines[number + 1 :]:
            if not following.startswith((" ", "\t")):
                break
            options.append(following.strip())
        found[match.group("name")] = options
    return found


def reference_stubs(docs: Path = DOCS) -> dict[str, Path]:
    """Module -> the reference page (under ``docs``) whose directive documents it."""
    stubs: dict[str, Path] = {}
    for page in sorted((docs / "reference").glob("*.md")):
        for name in directives(page.read_text(encoding="utf-8")):
            stubs[name] = page
    return stubs


def nav_pages(mkdocs_yml: str) -> list[str]:
    """The pages mkdocs.yml's navigation lists, relative to docs/."""
    nav = mkdocs_yml.split("\nnav:\n", 1)[1]
    return [m.group("page") for line in nav.splitlines() if (m := _NAV_PAGE.match(line))]


def global_option(mkdocs_yml: str, name: str) -> str | None:
    """The value of an option in mkdocs.yml's mkdocstrings handler options, as written."""
    options = mkdocs_yml.split("          options:\n", 1)[1]
    for line in options.splitlines():
        if line.strip() and not line.startswith("            "):
            break
        key, _, value = line.strip().partition(":")
        if key == name:
            return value.strip()
    return None


def anchors(html: str) -> set[str]:
    """The ``id`` attributes of an HTML page."""
    return set(re.findall(r'\sid="([^"]+)"', html))


def missing_from_site(site: Path, docs: Path = DOCS) -> list[str]:
    """Every public name with no anchor on its module's page of the built site ``site``.

    A submodule listed in a package's ``__all__`` (``hop.io`` in ``hop``) counts as shown
    when its own page shows it.
    """
    stubs = reference_stubs(docs)
    pages: dict[str, set[str]] = {}
    for module in public_modules():
        stub = stubs.get(module)
        page = site / "reference" / f"{stub.stem}.html" if stub else None
        pages[module] = (
            anchors(page.read_text(encoding="utf-8")) if page and page.is_file() else set()
        )
    missing: list[str] = []
    for module in public_modules():
        if module not in pages[module]:
            missing.append(module)
        for name in public_names(module):
            value = getattr(importlib.import_module(module), name)
            full = f"{module}.{name}"
            if isinstance(value, types.ModuleType):
                shown = value.__name__ in pages.get(value.__name__, set())
            else:
                shown = full in pages[module]
            if not shown:
                missing.append(full)
    return missing


def main(argv: list[str]) -> int:
    """``python -m tests.support.docs_site SITE``: exit 1 naming what the site lacks."""
    site = Path(argv[0] if argv else "site")
    missing = missing_from_site(site)
    for name in missing:
        print(f"{site}: the API reference does not show {name}", file=sys.stderr)
    if not missing:
        print(
            f"{site}: the API reference shows every public name of {len(public_modules())} modules"
        )
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
