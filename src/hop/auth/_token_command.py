"""Bearer tokens from a credential's ``token_command``, for librdkafka's ``oauth_cb``."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import subprocess
import time

from hop.errors import AuthenticationError

__all__ = ["token_callback"]

# The messages are those of hop.auth, where this code began.
logger = logging.getLogger("hop.auth")

#: How long a token command may run before hop gives up on it.
_TOKEN_COMMAND_TIMEOUT = 60.0


def _b64url_json(part: str) -> object:
    padded = part + "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def _jwt_expiry(token: str) -> tuple[float, str | None] | None:
    """``(exp, sub)`` of a JWT, or None when ``token`` is not one with an ``exp`` claim."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        return None
    try:
        header, claims = _b64url_json(parts[0]), _b64url_json(parts[1])
    except (ValueError, UnicodeError, binascii.Error):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    sub = claims.get("sub")
    return float(exp), sub if isinstance(sub, str) and sub else None


class _TokenCommand:
    """librdkafka's ``oauth_cb`` for a credential with a ``token_command``.

    Each call runs the command through the shell and hands its output, a JWT, to
    librdkafka with the expiry from the token's ``exp`` claim; librdkafka calls again
    before that time. The command's output and error output are never shown or logged:
    they are, or may contain, the secret.
    """

    def __init__(self, command: str, username: str) -> None:
        self._command = command
        self._username = username
        self._ready: tuple[str, float, str, dict[str, str]] | None = None

    def prime(self) -> None:
        """Run the command now, for the token librdkafka asks for as the client starts.

        librdkafka asks for the first token while the client is being created and, when
        the callback fails then, waits ten seconds and reports only that no token was set.
        Running the command beforehand makes a failing command an immediate error that
        says what failed.

        Raises:
            AuthenticationError: as for a call.
        """
        self._ready = self._run()

    def _fail(self, why: str) -> AuthenticationError:
        return AuthenticationError(f"the token command of credential {self._username!r} {why}")

    def __call__(self, config: str | None = None) -> tuple[str, float, str, dict[str, str]]:
        """Run the command and return ``(token, expiry, principal, extensions)``.

        Args:
            config: librdkafka's ``sasl.oauthbearer.config`` (unused).

        Raises:
            AuthenticationError: the command failed, timed out, or did not print a JWT
                with an ``exp`` claim; the message gives the exit status, never the output.
        """
        ready, self._ready = self._ready, None
        if ready is not None and ready[1] > time.time():
            return ready
        try:
            return self._run()
        except AuthenticationError as exc:
            # librdkafka swallows a callback's exception on a refresh: say it here.
            logger.warning("%s", exc)
            raise

    def _run(self) -> tuple[str, float, str, dict[str, str]]:
        try:
            done = subprocess.run(
                self._command,
                shell=True,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=_TOKEN_COMMAND_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise self._fail(f"did not finish within {_TOKEN_COMMAND_TIMEOUT:g} s") from None
        except OSError as exc:
            raise self._fail(f"could not be started ({exc.strerror or 'error'})") from None
        if done.returncode != 0:
            raise self._fail(f"failed (exit status {done.returncode})")
        try:
            token = done.stdout.decode("ascii").strip()
        except UnicodeDecodeError:
            token = ""
        parsed = _jwt_expiry(token)
        if parsed is None:
            raise self._fail(
                f"did not print a JWT with an 'exp' claim (exit status {done.returncode})"
            )
        expiry, subject = parsed
        logger.debug("token command of credential %r gave a token", self._username)
        return token, expiry, subject or self._username, {}


def token_callback(auth: object) -> _TokenCommand | None:
    """The ``oauth_cb`` for ``auth``, or None when it has no token command.

    The command runs once here (see :meth:`_TokenCommand.prime`).

    Raises:
        AuthenticationError: the command failed or did not print a JWT.
    """
    command = getattr(auth, "token_command", None)
    if not command:
        return None
    callback = _TokenCommand(str(command), str(getattr(auth, "username", "")))
    callback.prime()
    return callback
