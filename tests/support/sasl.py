"""Stand-ins for the two servers a bearer-token login talks to, for tests.

``BearerCapture`` is a Kafka listener that speaks just enough of the protocol
(ApiVersions, SaslHandshake) for librdkafka to send its SASL/OAUTHBEARER login, and records
the bearer token in it: the test broker (Tansu) takes no SASL, so this is how a test sees
which token a client really used. ``TokenEndpoint`` is an OIDC token endpoint that hands
out unsigned JWTs and records each request (its Authorization header and body).
"""

from __future__ import annotations

import base64
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Kafka API keys and the versions this listener answers to (non-flexible SASL requests).
_SASL_HANDSHAKE = 17
_API_VERSIONS = 18
_SASL_AUTHENTICATE = 36
_SUPPORTED = ((_SASL_HANDSHAKE, 0, 1), (_API_VERSIONS, 0, 3), (_SASL_AUTHENTICATE, 0, 1))
_BEARER = re.compile(rb"auth=Bearer ([A-Za-z0-9_\-.]+)\x01")


def unsigned_jwt(subject: str, lifetime: float) -> str:
    """An unsigned JWT (``alg: none``) for ``subject``, expiring ``lifetime`` s from now."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    claims = {"sub": subject, "iat": now, "exp": now + int(lifetime)}
    return f"{part({'alg': 'none'})}.{part(claims)}."


def _read_exact(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _frame(correlation_id: int, body: bytes) -> bytes:
    payload = struct.pack(">i", correlation_id) + body
    return struct.pack(">i", len(payload)) + payload


class BearerCapture:
    """A listener on 127.0.0.1 that records the bearer tokens clients log in with.

    Attributes:
        port: the port it listens on.
        tokens: the tokens received, in order.
    """

    def __init__(self) -> None:
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self.port: int = self._server.getsockname()[1]
        self.tokens: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    (size,) = struct.unpack(">i", _read_exact(conn, 4))
                    request = _read_exact(conn, size)
                except (EOFError, OSError):
                    return
                api_key, _version, correlation_id = struct.unpack(">hhi", request[:8])
                if api_key == _API_VERSIONS:  # answered in v3's layout (compact array)
                    body = struct.pack(">h", 0) + bytes([len(_SUPPORTED) + 1])
                    for versions in _SUPPORTED:
                        body += struct.pack(">hhh", *versions) + b"\x00"
                    body += struct.pack(">i", 0) + b"\x00"
                    conn.sendall(_frame(correlation_id, body))
                elif api_key == _SASL_HANDSHAKE:
                    mechanism = b"OAUTHBEARER"
                    body = struct.pack(">hih", 0, 1, len(mechanism)) + mechanism
                    conn.sendall(_frame(correlation_id, body))
                elif api_key == _SASL_AUTHENTICATE:
                    found = _BEARER.search(request)
                    if found:
                        self.tokens.append(found.group(1).decode())
                    return  # no answer: the login is what the test wanted to see
                else:
                    return

    def wait_for_token(self, timeout: float, serve: Any = None) -> str:
        """The first token received, waiting up to ``timeout`` s (calling ``serve()``)."""
        deadline = time.monotonic() + timeout
        while not self.tokens and time.monotonic() < deadline:
            if serve is not None:
                serve()
            else:
                time.sleep(0.05)
        assert self.tokens, "no client logged in with a bearer token"
        return self.tokens[0]

    def close(self) -> None:
        """Stop listening."""
        self._stop.set()
        self._server.close()
        self._thread.join(5)


class _TokenHandler(BaseHTTPRequestHandler):
    server: TokenEndpoint

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        token = unsigned_jwt("client", self.server.lifetime)
        self.server.requests.append((self.headers.get("Authorization"), body))
        self.server.issued.append(token)
        answer = json.dumps(
            {"access_token": token, "token_type": "bearer", "expires_in": self.server.lifetime}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class TokenEndpoint(ThreadingHTTPServer):
    """An OIDC token endpoint on 127.0.0.1 that hands out unsigned JWTs.

    Attributes:
        requests: ``(Authorization header, body)`` of each request.
        issued: the tokens handed out, in order.
        lifetime: the tokens' lifetime in seconds.
    """

    def __init__(self, lifetime: float = 600) -> None:
        super().__init__(("127.0.0.1", 0), _TokenHandler)
        self.requests: list[tuple[str | None, bytes]] = []
        self.issued: list[str] = []
        self.lifetime = lifetime

    @property
    def url(self) -> str:
        """The endpoint's URL."""
        return f"http://127.0.0.1:{self.server_port}/oauth2/token"


@contextmanager
def token_endpoint(lifetime: float = 600) -> Iterator[TokenEndpoint]:
    """A running :class:`TokenEndpoint`, shut down afterwards."""
    server = TokenEndpoint(lifetime)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def bearer_capture() -> Iterator[BearerCapture]:
    """A running :class:`BearerCapture`, closed afterwards."""
    capture = BearerCapture()
    try:
        yield capture
    finally:
        capture.close()
