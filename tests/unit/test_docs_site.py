"""The manual's site: every public name in the API reference, every example page run.

No build here (tests/support/docs_site.py says how the reference is checked statically, and
``make docs`` checks the built site with the same module).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import docs_hooks
import pytest

from tests.integration.test_docs_examples import GUIDE_PAGES
from tests.support import docs_site
from tests.support.doc_examples import python_blocks

ROOT = docs_site.ROOT
MKDOCS = docs_site.MKDOCS_YML.read_text(encoding="utf-8")


def test_the_public_modules_are_the_manuals_and_hop_errors() -> None:
    modules = docs_site.public_modules()
    assert set(modules) >= {
        "hop",
        "hop.io",
        "hop.models",
        "hop.auth",
        "hop.errors",
        "hop.configure",
        "hop.plugins",
        "hop.robust_publisher",
        "hop.cli",
        "hop.version",
    }
    # hop.aio is listed, and documented as soon as the module exists.
    assert "hop.aio" in docs_site.PUBLIC_MODULES
    assert ("hop.aio" in modules) == docs_hooks.module_exists("hop.aio")


@pytest.mark.parametrize("module", docs_site.public_modules())
def test_every_public_module_has_a_reference_page_in_the_navigation(module: str) -> None:
    stubs = docs_site.reference_stubs()
    assert module in stubs, f"no page under docs/reference/ holds '::: {module}'"
    page = stubs[module].relative_to(docs_site.DOCS).as_posix()
    assert page in docs_site.nav_pages(MKDOCS), f"mkdocs.yml's nav does not list {page}"
    assert page not in docs_hooks.missing_pages(docs_site.DOCS)


@pytest.mark.parametrize("module", docs_site.public_modules())
def test_every_name_of_all_is_shown(module: str) -> None:
    # The reference shows __all__ (filters: public), documented or not, and no stub narrows it.
    for option, value in docs_site.REQUIRED_GLOBAL_OPTIONS.items():
        assert docs_site.global_option(MKDOCS, option) == value, option
    options = docs_site.directives(docs_site.reference_stubs()[module].read_text())[module]
    narrowing = [o for o in options if o.split(":")[0].strip() in docs_site.MEMBER_OPTIONS]
    assert narrowing == [], f"the reference page of {module} narrows its members: {narrowing}"
    imported = importlib.import_module(module)
    for name in docs_site.public_names(module):
        assert hasattr(imported, name), f"{module}.__all__ names {name}, which does not exist"


def fake_site(tmp_path: Path, leave_out: str | None = None) -> Path:
    """A site whose reference pages hold an anchor for every public name (but one)."""
    stubs = docs_site.reference_stubs()
    for module in docs_site.public_modules():
        ids = [module] + [f"{module}.{name}" for name in docs_site.public_names(module)]
        html = "".join(f'<h2 id="{i}">{i}</h2>' for i in ids if i != leave_out)
        page = tmp_path / "reference" / f"{stubs[module].stem}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(html)
    return tmp_path


def test_the_site_check_finds_a_name_missing_from_the_reference(tmp_path: Path) -> None:
    assert docs_site.missing_from_site(fake_site(tmp_path / "all")) == []
    assert docs_site.missing_from_site(fake_site(tmp_path / "one", "hop.io.Consumer")) == [
        "hop.io.Consumer"
    ]
    # A submodule in a package's __all__ is shown by its own page.
    assert docs_site.missing_from_site(fake_site(tmp_path / "mod", "hop.models")) == [
        "hop.models",
        "hop.models",
    ]


def test_the_reference_shows_the_exception_tree() -> None:
    # hop.errors' page shows its module docstring, which draws the tree.
    import hop.errors

    assert "HopError" in (hop.errors.__doc__ or "") and "└── KafkaError" in hop.errors.__doc__
    assert docs_site.directives(docs_site.reference_stubs()["hop.errors"].read_text()) == {
        "hop.errors": []
    }


def test_every_page_with_python_examples_is_run() -> None:
    pages = [ROOT / "README.md", *sorted(docs_site.DOCS.rglob("*.md"))]
    with_examples = {p.relative_to(ROOT).as_posix() for p in pages if python_blocks(p.read_text())}
    assert with_examples <= set(GUIDE_PAGES), with_examples - set(GUIDE_PAGES)


def test_every_guide_page_is_in_the_navigation() -> None:
    nav = docs_site.nav_pages(MKDOCS)
    for page in sorted(docs_site.DOCS.glob("*.md")):
        assert page.name in nav, f"mkdocs.yml's nav does not list {page.name}"


def test_optional_pages_leave_the_navigation_while_missing(tmp_path: Path) -> None:
    nav = [
        {"Guide": ["a.md", {"Asyncio": "asyncio.md"}]},
        {"API": [{"hop.aio": "reference/aio.md"}, {"hop.io": "reference/io.md"}]},
    ]
    (tmp_path / "reference").mkdir()
    missing = docs_hooks.missing_pages(tmp_path)
    assert "asyncio.md" in missing
    assert docs_hooks._prune(nav, missing) == [
        {"Guide": ["a.md"]},
        {"API": [{"hop.io": "reference/io.md"}]},
    ]
    (tmp_path / "asyncio.md").write_text("# Asyncio\n")
    assert "asyncio.md" not in docs_hooks.missing_pages(tmp_path)
