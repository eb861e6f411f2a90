"""Issue 23 item 5: every relative link and every file of the repository that README.md and
docs/*.md name exists (a link's #anchor is not checked, only its file)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

#: [text](target) links; the target up to a space or the closing parenthesis.
_LINK = re.compile(r"\]\(([^)\s]+)\)")
#: `code` spans.
_CODE = re.compile(r"`([^`\n]+)`")
#: A path inside the repository as the pages write one.
_REPO_PATH = re.compile(r"^(?:src|tests|docs|examples|benchmarks)/[\w./-]*[\w/]$")
#: A file of the repository named anywhere in the text (in prose, a comment, a code block).
_FILE_IN_TEXT = re.compile(
    r"(?<![\w/.~-])(?:src|tests|docs|examples|benchmarks)/[\w/.-]*\w\.(?:py|md|toml|gcn3|json|xml|avro|txt)\b"
)
#: A Markdown page named on its own (``WIRE.md``).
_PAGE_NAME = re.compile(r"^[\w-]+\.md$")


def _links(page: Path) -> list[str]:
    found = []
    for target in _LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a URL (https:, mailto:) or an anchor in the same page
        found.append(target.split("#", 1)[0])
    return found


def _named_paths(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    names = _FILE_IN_TEXT.findall(text)
    for span in _CODE.findall(text):
        for word in span.split():
            word = word.strip("(),;:'\"")
            if _REPO_PATH.match(word) or _PAGE_NAME.match(word):
                names.append(word)
    return names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_exists(page: Path) -> None:
    missing = [t for t in _links(page) if not (page.parent / t).exists()]
    assert missing == [], f"{page.relative_to(ROOT)} links to missing files: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_file_named_exists(page: Path) -> None:
    missing = [
        name
        for name in _named_paths(page)
        if not (ROOT / name).exists() and not (page.parent / name).exists()
    ]
    assert missing == [], f"{page.relative_to(ROOT)} names missing files: {missing}"


def test_the_checks_see_links_and_paths() -> None:
    # The checks would pass vacuously if the patterns found nothing.
    assert sum(len(_links(page)) for page in PAGES) > 10
    assert sum(len(_named_paths(page)) for page in PAGES) > 10
