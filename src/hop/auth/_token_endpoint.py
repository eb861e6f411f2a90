"""Access tokens for ``Auth.token``: from a token endpoint (OIDC client credentials) or a
token command.

librdkafka fetches and refreshes its own tokens for connections (see
:mod:`hop.io._rdkafka_config`); this is for programs that want the token itself, as
hop-client 0.13's ``Auth.token`` gave it.
"""

from __future__ import annotations

import base64
import json
import math
import ssl
import subprocess
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Any

import certifi

from hop.errors import CredentialError

__all__ = ["TOKEN_REQUEST_TIMEOUT", "TokenError", "fetch_endpoint_token", "run_token_command"]

#: How long one request to a token endpoint (or one token command) may take.
TOKEN_REQUEST_TIMEOUT = 30.0

# How much of an error reply's body a message repeats.
_BODY_SHOWN = 500


class TokenError(CredentialError, RuntimeError):
    """No access token could be had: the token endpoint or command failed, or its answer is
    not a bearer token. A ``RuntimeError`` too, as in hop-client 0.13."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # The request carries the client secret: never send it on to wherever a reply points.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    # confluent-kafka's OpenSSL and Python's may trust different stores: use certifi's bundle
    # unless a CA file is given, as for the broker connections.
    return ssl.create_default_context(cafile=ca_file or certifi.where())


def fetch_endpoint_token(
    endpoint: str,
    client_id: str,
    client_secret: str,
    ca_file: str | None = None,
    timeout: float = TOKEN_REQUEST_TIMEOUT,
) -> tuple[str, datetime | None]:
    """Ask a token endpoint for an access token (OAuth 2 client-credentials grant).

    The request is a POST of ``grant_type=client_credentials`` with the client id and secret
    as HTTP Basic credentials; TLS is verified against ``ca_file``, or certifi's bundle.

    Args:
        endpoint: the token endpoint URL.
        client_id: the credential's username.
        client_secret: the credential's password.
        ca_file: CA certificates to trust, or None for certifi's bundle.
        timeout: seconds the request may take.

    Returns:
        ``(token, expiry)``: the expiry (UTC) is the time just before the request plus the
        reply's ``expires_in``, or None when the reply gives none.

    Raises:
        TokenError: (a ``RuntimeError``) the request failed, the status is not 2xx (the
            message gives the status and the body), or the reply is not a JSON object with a
            string ``access_token``, a ``token_type`` of ``bearer`` (any case) and, if
            present, a numeric ``expires_in``.
    """
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
    request = urllib.request.Request(
        endpoint,
        data=b"grant_type=client_credentials",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "Authorization": f"Basic {basic}",
        },
        method="POST",
    )
    opener = urllib.request.build_opener(
        _NoRedirects(), urllib.request.HTTPSHandler(context=_tls_context(ca_file))
    )
    where = f"the token endpoint {endpoint}"
    started = datetime.now(timezone.utc)
    try:
        with opener.open(request, timeout=timeout) as reply:
            status, body = reply.status, reply.read()
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read() if exc.fp is not None else b""
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise TokenError(f"cannot reach {where}: {reason}") from None
    if not 200 <= status < 300:
        shown = body[:_BODY_SHOWN].decode("utf-8", "replace")
        raise TokenError(f"{where} answered with status {status}: {shown}")
    try:
        answer = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise TokenError(f"{where} did not answer with JSON") from None
    if not isinstance(answer, dict):
        raise TokenError(f"{where} did not answer with a JSON object")
    for key in ("access_token", "token_type"):
        if key not in answer:
            raise TokenError(f"the answer of {where} has no {key!r}")
        if not isinstance(answer[key], str):
            raise TokenError(f"the answer of {where}: {key!r} is not a string")
    if answer["token_type"].lower() != "bearer":
        raise TokenError(
            f"{where} gave a token of type {answer['token_type']!r}, not a bearer token"
        )
    expires_in = answer.get("expires_in")
    if expires_in is None:
        return answer["access_token"], None
    try:
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float | str):
            raise ValueError
        seconds = float(expires_in)
        if not math.isfinite(seconds):
            raise ValueError
    except ValueError:
        raise TokenError(f"the answer of {where}: 'expires_in' is not a number") from None
    return answer["access_token"], started + timedelta(seconds=seconds)


def run_token_command(command: str, username: str) -> str:
    """Run a credential's token command and return what it printed, stripped.

    Raises:
        TokenError: (a ``RuntimeError``) the command could not start, timed out or failed;
            the message gives its exit status, never its output.
    """
    what = f"the token command of credential {username!r}"
    try:
        done = subprocess.run(
            command,
            shell=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=TOKEN_REQUEST_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TokenError(f"{what} did not finish within {TOKEN_REQUEST_TIMEOUT:g} s") from None
    except OSError as exc:
        raise TokenError(f"{what} could not be started ({exc.strerror or 'error'})") from None
    if done.returncode != 0:
        raise TokenError(f"{what} failed (exit status {done.returncode})")
    return done.stdout.decode("utf-8", "replace").strip()
