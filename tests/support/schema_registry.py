"""A small schema registry for the tests: ``GET /schemas/ids/{id}`` over plain HTTP.

It answers as Confluent's registry does (``{"schema": "<schema JSON as a string>"}``, and
404 with ``{"error_code": 40403, ...}`` for an unknown id), or, per id, misbehaves: an
HTTP 500, a body that is not JSON, or an answer that comes only after ``slow_seconds``.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


class SchemaRegistry:
    """Serves schemas by id on 127.0.0.1 (a free port) while in a ``with`` block.

    Attributes:
        schemas: id -> schema (JSON form) to answer with.
        broken: id -> "500", "garbage" or "slow": how to misbehave for that id.
        requests: every path asked for, in order.
        authorizations: the ``Authorization`` header of every request (None when absent).
        slow_seconds: how long a "slow" answer takes.
    """

    def __init__(self, schemas: dict[int, Any] | None = None) -> None:
        self.schemas: dict[int, Any] = dict(schemas or {})
        self.broken: dict[int, str] = {}
        self.requests: list[str] = []
        self.authorizations: list[str | None] = []
        self.slow_seconds = 30.0
        self._release = threading.Event()
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                registry.requests.append(self.path)
                registry.authorizations.append(self.headers.get("Authorization"))
                prefix = "/schemas/ids/"
                if not self.path.startswith(prefix) or not self.path[len(prefix) :].isdigit():
                    self._answer(404, {"error_code": 404, "message": "HTTP 404 Not Found"})
                    return
                schema_id = int(self.path[len(prefix) :])
                trouble = registry.broken.get(schema_id)
                if trouble == "500":
                    self._answer(500, {"error_code": 50001, "message": "Error in the backend"})
                elif trouble == "garbage":
                    self._raw(200, b"<html>this is not a schema registry</html>")
                elif trouble == "slow":
                    registry._release.wait(registry.slow_seconds)
                    self._answer(404, {"error_code": 40403, "message": "Schema not found"})
                elif schema_id in registry.schemas:
                    schema = json.dumps(registry.schemas[schema_id])
                    self._answer(200, {"schema": schema})
                else:
                    self._answer(404, {"error_code": 40403, "message": "Schema not found"})

            def _answer(self, status: int, body: Any) -> None:
                self._raw(status, json.dumps(body).encode())

            def _raw(self, status: int, data: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (the slow case)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url_with(self, user: str, password: str) -> str:
        """The URL with credentials in it."""
        return f"http://{user}:{password}@127.0.0.1:{self._server.server_address[1]}"

    def id_requests(self, schema_id: int) -> int:
        """How many times this id was asked for."""
        return self.requests.count(f"/schemas/ids/{schema_id}")

    def __enter__(self) -> SchemaRegistry:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def wait_until(condition: Any, timeout: float = 10.0) -> bool:
    """Whether ``condition()`` became true within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())
