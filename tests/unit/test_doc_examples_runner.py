"""The runner of the docs' ```python examples checks what it claims to check."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.doc_examples import python_blocks, run_page

PAGE = """# A page

```python
x = [1, 2]
len(x)        # 2
x[0] == 1     # True (a comment may go on)
"ab".upper()  # 'AB'
print(x)      # the list
```

<!-- not-run: needs a real service -->
```python
raise RuntimeError("never run")
```

```python
y = x + [3]   # uses the block above
y             # [1, 2, 3]
```
"""


def test_blocks_are_found_with_their_not_run_reasons() -> None:
    blocks = python_blocks(PAGE)
    assert [b.not_run for b in blocks] == [None, "needs a real service", None]
    assert blocks[0].line == 3 and blocks[0].code.startswith("x = [1, 2]\n")


def test_a_page_runs_in_one_namespace_and_literals_are_checked(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    assert run_page(page, {}) == (2, 4, ["needs a real service"])


def test_a_wrong_literal_fails_naming_the_line(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE.replace("len(x)        # 2", "len(x)        # 3"))
    with pytest.raises(AssertionError, match=r"page.md:5: len\(x\) is 2, the page says 3"):
        run_page(page, {})


def test_placeholders_are_replaced_as_text(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text('```python\nurl = "kafka://example.org/t"\nurl  # "kafka://h:1/p-t"\n```\n')
    assert run_page(page, {"kafka://example.org/": "kafka://h:1/p-"}) == (1, 1, [])
