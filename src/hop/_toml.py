"""TOML files: the one reader that turns parse errors into hop's, and the one atomic writer.

Both ``auth.toml`` (:mod:`hop.auth`) and ``config.toml`` (:mod:`hop.configure`) go through
here, so a bad file is reported the same way whichever is read, and no file is ever seen
half-written.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomli_w

from .errors import HopError

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10 has no tomllib: its backport is a dependency there
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

__all__ = ["dumps", "parse_toml", "read_toml", "write_atomically"]


def parse_toml(
    source: str | bytes, where: str, error: type[HopError], *, chain: bool = False
) -> dict[str, Any]:
    """The document in ``source``.

    Args:
        source: TOML text, or its UTF-8 bytes.
        where: names the source in messages (a path, usually).
        error: the class of error to raise.
        chain: keep the parser's error as the cause (its message gives a line and column;
            the error itself holds the document, so files that may hold a password do not
            keep it).

    Raises:
        HopError: (of class ``error``) ``source`` is not UTF-8 or not valid TOML. The
            message gives a position, never the text there (a password may be in it).
    """
    try:
        text = source.decode("utf-8") if isinstance(source, bytes) else source
        data: dict[str, Any] = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise error(f"{where} is not valid TOML: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        # tomllib's messages give a line and column, never the text there.
        raise error(f"{where} is not valid TOML: {exc}") from (exc if chain else None)
    return data


def read_toml(
    path: Path,
    error: type[HopError],
    check: Callable[[Path, int], None] | None = None,
) -> tuple[dict[str, Any], int] | None:
    """The document in the file ``path`` and the file's mode bits.

    Args:
        path: the file.
        error: the class of error to raise.
        check: called with the path and ``st_mode`` of the open file before it is parsed,
            so that the file checked is the file read (it may raise).

    Returns:
        ``(document, st_mode)``, or None when the file does not exist.

    Raises:
        HopError: (of class ``error``) the file cannot be read or is not valid TOML.
    """
    try:
        file = path.open("rb")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror or exc}") from None
    with file:
        mode = os.fstat(file.fileno()).st_mode
        if check is not None:
            check(path, mode)
        try:
            content = file.read()
        except OSError as exc:
            raise error(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_toml(content, str(path), error), mode


def dumps(document: dict[str, Any]) -> bytes:
    """``document`` as TOML, encoded for a file."""
    return tomli_w.dumps(document).encode("utf-8")


def _make_private_dirs(directory: Path) -> None:
    """Create ``directory`` and any missing parents with mode 0700 (whatever the umask)."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # created meanwhile by someone else
            os.mkdir(path, 0o700)
            os.chmod(path, 0o700)  # mkdir's mode is filtered through the umask


def write_atomically(
    path: Path, content: bytes, mode: int = 0o600, *, private_dirs: bool = True
) -> None:
    """Replace ``path`` with ``content`` in one rename; a crash leaves the old or the new file.

    The temporary file is created with mode 0600 before a byte is written, so the data is
    never readable by others, even when ``mode`` ends up wider.

    Args:
        path: the file.
        content: its new content.
        mode: its mode bits once written.
        private_dirs: create missing directories with mode 0700 (whatever the umask);
            when False, as ``mkdir`` does under the umask.
    """
    if private_dirs:
        _make_private_dirs(path.parent)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        if mode != 0o600:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable, where possible
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
