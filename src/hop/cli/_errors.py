"""A command's failure as one line: ``CommandFailed`` and ``error_line``."""

from __future__ import annotations

from hop.errors import AuthenticationError, HopError, NoCredentialsError


class CommandFailed(Exception):
    """A command cannot do what was asked; the message is the one line to print."""


def error_line(exc: BaseException) -> str:
    """What to print for an error: one line (the credentials message keeps its lines).

    Args:
        exc: the error.

    Returns:
        The text, without a trailing newline.
    """
    # An error about credentials for a broker on this machine says first: --no-auth.
    cli_text = getattr(exc, "cli_text", None)
    if isinstance(cli_text, str):
        if isinstance(exc, NoCredentialsError):
            return cli_text.strip()
        hinted = " ".join(cli_text.split())
        if isinstance(exc, AuthenticationError):
            hinted = f"authentication failed: {hinted}"
        return hinted
    if isinstance(exc, NoCredentialsError):
        return str(exc).strip()
    if isinstance(exc, OSError) and not isinstance(exc, HopError) and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}" if exc.filename is not None else exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    if isinstance(exc, AuthenticationError) and "authenticat" not in text.lower():
        # librdkafka describes a refused credential by the step that failed (a SASL
        # handshake, say); say plainly what it means.
        text = f"authentication failed: {text}"
    return " ".join(text.split())
