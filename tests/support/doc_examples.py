"""Run the ```python examples of a Markdown page, as a reader would, one page in one namespace.

A page's blocks run in order in one namespace (a later block may use what an earlier one
defined, as the reader would). A block preceded by the line ``<!-- not-run: REASON -->``
is left out. A top-level line that is a bare expression followed by a comment that is, or
starts with, a Python literal (``event.ivorn  # 'ivo://...'``, ``blob.single_record  # False
(...)``) is checked: the expression must equal that literal.
Before running, each placeholder host in the text is replaced by a real URL prefix
(:func:`substitute`), nothing else.
"""

from __future__ import annotations

import ast
import io
import re
import sys
import tokenize
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_CONSTANTS = ("True", "False", "None")
_NOT_RUN = re.compile(r"<!--\s*not-run:\s*(?P<reason>\S.*?)\s*-->")


@dataclass
class Block:
    """One ```python block: where it starts, its code, and why it is not run (or None)."""

    line: int
    code: str
    not_run: str | None


def python_blocks(text: str) -> list[Block]:
    """The ```python blocks of a Markdown text, in order."""
    blocks: list[Block] = []
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        if lines[number].strip() == "```python":
            start = number
            body: list[str] = []
            number += 1
            while lines[number].strip() != "```":
                body.append(lines[number])
                number += 1
            previous = next((ln for ln in reversed(lines[:start]) if ln.strip()), "")
            marker = _NOT_RUN.search(previous)
            reason = marker.group("reason") if marker else None
            blocks.append(Block(start + 1, "\n".join(body) + "\n", reason))
        number += 1
    return blocks


def substitute(code: str, replacements: dict[str, str]) -> str:
    """``code`` with each placeholder (a key) replaced by its value, as plain text."""
    for placeholder, real in replacements.items():
        code = code.replace(placeholder, real)
    return code


def _literal_comments(code: str) -> dict[int, Any]:
    """Line number -> the literal a comment on that line starts with (when it does)."""
    found: dict[int, Any] = {}
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type != tokenize.COMMENT:
            continue
        text = token.string[1:].strip()
        try:  # the whole comment is a literal: "# [{'a': 1}]"
            found[token.start[0]] = ast.literal_eval(text)
            continue
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
        try:  # it starts with one: "# '12.7' (values stay strings)", "# False (...)"
            first = next(tokenize.generate_tokens(io.StringIO(text).readline))
        except (tokenize.TokenError, StopIteration, SyntaxError):
            continue
        if first.type in (tokenize.STRING, tokenize.NUMBER) or first.string in _CONSTANTS:
            try:
                found[token.start[0]] = ast.literal_eval(first.string)
            except (ValueError, SyntaxError):
                continue
    return found


def run_block(block: Block, code: str, namespace: dict[str, Any], page: str) -> int:
    """Run ``code`` (the block's text after substitution) in ``namespace``.

    Returns:
        How many ``expression  # literal`` lines were checked.

    Raises:
        AssertionError: a checked expression differs from its literal (naming the line).
        Exception: whatever the example raises.
    """
    where = f"{page}, block at line {block.line}"
    tree = ast.parse(code, filename=where)
    expected = _literal_comments(code)
    checked = 0
    for statement in tree.body:
        if isinstance(statement, ast.Expr) and statement.end_lineno in expected:
            value = eval(compile(ast.Expression(statement.value), where, "eval"), namespace)
            wanted = expected[statement.end_lineno]
            line = block.line + statement.lineno
            shown = ast.get_source_segment(code, statement)
            assert value == wanted, f"{page}:{line}: {shown} is {value!r}, the page says {wanted!r}"
            checked += 1
        else:
            exec(compile(ast.Module([statement], type_ignores=[]), where, "exec"), namespace)
    return checked


def run_page(path: Path, replacements: dict[str, str]) -> tuple[int, int, list[str]]:
    """Run every block of the page at ``path`` not marked not-run.

    Returns:
        ``(blocks run, expressions checked, reasons of the blocks not run)``.
    """
    # A module of its own (in sys.modules while it runs), as dataclasses look classes up there.
    module = types.ModuleType(f"docs_example_{path.stem}")
    sys.modules[module.__name__] = module
    ran = checked = 0
    skipped: list[str] = []
    try:
        for block in python_blocks(path.read_text()):
            if block.not_run is not None:
                skipped.append(block.not_run)
                continue
            code = substitute(block.code, replacements)
            checked += run_block(block, code, module.__dict__, path.name)
            ran += 1
    finally:
        del sys.modules[module.__name__]
    return ran, checked, skipped
