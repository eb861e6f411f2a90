"""A TCP proxy that tests cut and restore, to stage a broker outage while the broker behind
it keeps its data.

``ProxiedBroker`` runs a Tansu broker on a private port that advertises the proxy's port, so
every connection a client makes (bootstrap and the partition leaders it learns from the
metadata) goes through the proxy. ``cut()`` closes every relayed connection and stops
listening (new connections are refused, as when a broker is down); ``stall()`` stops
relaying but keeps the connections open (packets dropped on the way); ``restore()`` relays
and listens again on the same port. The broker itself never stops, so every message it
acknowledged can be read back and counted afterwards.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from collections.abc import Callable
from types import TracebackType

from hop._local_broker import LocalBroker, free_port

_CHUNK = 64 * 1024
# A relayed connection: the client's socket and the one to the target.
_Pair = tuple[socket.socket, socket.socket]


class TcpProxy:
    """Relays TCP connections from ``127.0.0.1:port`` to ``127.0.0.1:target_port``.

    Args:
        target_port: where connections are relayed to.
        port: the port to listen on; a free one when None.
    """

    def __init__(self, target_port: int, port: int | None = None) -> None:
        self.target_port = target_port
        self.port = port if port is not None else free_port()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._pairs: set[_Pair] = set()
        self._selector = selectors.DefaultSelector()
        self._wakeup_r, self._wakeup_w = socket.socketpair()
        self._selector.register(self._wakeup_r, selectors.EVENT_READ, None)
        self._running = True
        self._stalled = False
        # Control calls (cut, restore) run on the relay thread, which owns the selector.
        self._pending: list[tuple[threading.Event, Callable[[], None]]] = []
        self._thread = threading.Thread(target=self._loop, name="tcp-proxy", daemon=True)
        #: How many connections were accepted and relayed, all told.
        self.connections = 0
        #: How many times ``cut`` was called.
        self.cuts = 0

    # -- control -----------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._thread.start()
        self.restore()
        return self

    @property
    def up(self) -> bool:
        """Whether the proxy accepts and relays connections."""
        return self._listener is not None

    def stall(self) -> None:
        """Stop relaying, keeping every connection open (a network that drops packets):
        nothing is answered until ``restore`` or ``cut``."""
        self._call(self._do_stall)

    def cut(self) -> None:
        """Close every relayed connection and refuse new ones, at once."""
        self._call(self._do_cut)

    def restore(self) -> None:
        """Listen again on the same port; harmless when already up."""
        self._call(self._do_restore)

    def stop(self) -> None:
        self._call(self._do_cut)
        self._running = False
        self._wakeup_w.send(b"x")
        self._thread.join(5)
        self._wakeup_r.close()
        self._wakeup_w.close()
        self._selector.close()

    def _call(self, action: Callable[[], None]) -> None:
        done = threading.Event()
        with self._lock:
            self._pending.append((done, action))
        self._wakeup_w.send(b"x")
        if not done.wait(10):
            raise RuntimeError("the TCP proxy's thread did not answer")

    def _do_stall(self) -> None:
        if self._stalled:
            return
        self._stalled = True
        for sock in [self._listener, *(sock for pair in self._pairs for sock in pair)]:
            if sock is not None:
                self._selector.unregister(sock)

    def _resume(self) -> None:
        if not self._stalled:
            return
        self._stalled = False
        if self._listener is not None:
            self._selector.register(self._listener, selectors.EVENT_READ, "accept")
        for client, upstream in self._pairs:
            pair = (client, upstream)
            self._selector.register(client, selectors.EVENT_READ, (pair, upstream))
            self._selector.register(upstream, selectors.EVENT_READ, (pair, client))

    def _do_cut(self) -> None:
        self._resume()
        if self._listener is not None:
            self._selector.unregister(self._listener)
            self._listener.close()
            self._listener = None
            self.cuts += 1
        for pair in list(self._pairs):
            self._close_pair(pair)

    def _do_restore(self) -> None:
        self._resume()
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.setblocking(False)
        self._listener = listener
        self._selector.register(listener, selectors.EVENT_READ, "accept")

    # -- the relay thread ----------------------------------------------------------------

    def _loop(self) -> None:
        while self._running:
            for key, _ in self._selector.select(timeout=0.5):
                if key.fileobj is self._wakeup_r:
                    self._wakeup_r.recv(4096)
                    self._run_pending()
                elif key.data == "accept":
                    self._accept()
                else:
                    self._relay(key.fileobj, key.data)  # type: ignore[arg-type]

    def _run_pending(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for done, action in pending:
            try:
                action()
            finally:
                done.set()

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
        except OSError:
            client.close()
            return
        client.setblocking(False)
        upstream.setblocking(False)
        pair = (client, upstream)
        self._pairs.add(pair)
        self.connections += 1
        self._selector.register(client, selectors.EVENT_READ, (pair, upstream))
        self._selector.register(upstream, selectors.EVENT_READ, (pair, client))

    def _relay(self, source: socket.socket, data: tuple[_Pair, socket.socket]) -> None:
        pair, destination = data
        try:
            chunk = source.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._close_pair(pair)
            return
        try:
            destination.setblocking(True)
            destination.settimeout(5)
            destination.sendall(chunk)
            destination.setblocking(False)
        except OSError:
            self._close_pair(pair)

    def _close_pair(self, pair: _Pair) -> None:
        if pair not in self._pairs:
            return
        self._pairs.discard(pair)
        for sock in pair:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(sock)
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ProxiedBroker:
    """A broker reached only through a ``TcpProxy``: ``bootstrap`` is the proxy's address,
    which the broker advertises, so cutting the proxy cuts every connection to the broker."""

    def __init__(self) -> None:
        proxy_port = free_port()
        self.broker = LocalBroker(port=free_port(), advertised_port=proxy_port)
        self.proxy = TcpProxy(self.broker.port, proxy_port)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.proxy.port}"

    @property
    def url(self) -> str:
        """``kafka://127.0.0.1:PROXY_PORT`` (no trailing slash, no topic)."""
        return f"kafka://{self.bootstrap}"

    def __enter__(self) -> ProxiedBroker:
        self.broker.start()
        try:
            self.proxy.start()
        except BaseException:
            self.broker.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.proxy.stop()
        finally:
            self.broker.stop()
