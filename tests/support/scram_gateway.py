"""A SCRAM-SHA-512 front end for the test broker, so that SASL logins run end to end.

The test broker (Tansu, memory storage) keeps no SCRAM credentials (see BROKER.md), so this
gateway does the login itself. It listens on a loopback port and speaks just enough of the
Kafka protocol before authentication:

- ``ApiVersions`` is forwarded to the broker and its answer passed back;
- ``SaslHandshake`` v0/v1 is answered here (mechanism ``SCRAM-SHA-512`` only);
- ``SaslAuthenticate`` v0-v2 is answered here, per RFC 5802 and RFC 7677 with SHA-512,
  against salted stored keys (the plain password is never kept); a bad proof or an unknown
  user gets error 58 (SASL_AUTHENTICATION_FAILED) with a message, then the connection closes;
- after a ``SaslHandshake`` v0 the SCRAM messages come as bare length-prefixed tokens, as
  Kafka's v0 protocol has it;
- any other request before a successful login closes the connection.

After a successful login it relays bytes both ways to the broker, which listens on a private
port and advertises the gateway's address, so every connection a client makes comes through
here. With a certificate, the same port also takes TLS (a connection whose first byte is
0x16, a TLS ClientHello), which gives ``SASL_SSL``; plaintext connections give
``SASL_PLAINTEXT``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import socket
import ssl
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from hop._local_broker import LocalBroker, free_port

MECHANISM = "SCRAM-SHA-512"
SASL_HANDSHAKE = 17
SASL_AUTHENTICATE = 36
API_VERSIONS = 18
UNSUPPORTED_SASL_MECHANISM = 33
ILLEGAL_SASL_STATE = 34
SASL_AUTHENTICATION_FAILED = 58
ITERATIONS = 4096
#: The largest frame accepted before login: SCRAM messages are a few hundred bytes.
MAX_LOGIN_FRAME = 64 * 1024


class ScramError(Exception):
    """A SCRAM exchange failed; the message is safe to send back (it holds no secret)."""


@dataclass(frozen=True)
class StoredCredential:
    """What the server keeps of a password (RFC 5802 section 3): never the password."""

    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes

    @classmethod
    def derive(
        cls,
        password: str,
        salt: bytes | None = None,
        iterations: int = ITERATIONS,
        hash_name: str = "sha512",
    ) -> StoredCredential:
        """Salt and hash ``password`` into stored and server keys."""
        salt = os.urandom(16) if salt is None else salt
        salted = hashlib.pbkdf2_hmac(hash_name, password.encode("utf-8"), salt, iterations)
        client_key = hmac.digest(salted, b"Client Key", hash_name)
        return cls(
            salt=salt,
            iterations=iterations,
            stored_key=hashlib.new(hash_name, client_key).digest(),
            server_key=hmac.digest(salted, b"Server Key", hash_name),
        )


def _attributes(message: str) -> list[tuple[str, str]]:
    pairs = []
    for part in message.split(","):
        if len(part) < 2 or part[1] != "=":
            raise ScramError(f"malformed SCRAM attribute {part[:20]!r}")
        pairs.append((part[0], part[2:]))
    return pairs


def _sasl_name(value: str) -> str:
    # RFC 5802 5.1: ',' and '=' travel as '=2C' and '=3D'; any other '=' is malformed.
    out = value.replace("=2C", ",").replace("=3D", "=")
    if "=" in value.replace("=2C", "").replace("=3D", ""):
        raise ScramError("malformed SCRAM username")
    return out


class ScramServer:
    """The server side of one SCRAM exchange (two client messages, two answers).

    Args:
        credentials: stored credentials by username.
        hash_name: the ``hashlib`` name of the hash (``sha512`` for SCRAM-SHA-512; the
            RFCs' published examples use ``sha1`` and ``sha256``).
        nonce: the server's part of the nonce; random when None (tests fix it).
    """

    def __init__(
        self,
        credentials: dict[str, StoredCredential],
        hash_name: str = "sha512",
        nonce: str | None = None,
    ) -> None:
        self._credentials = credentials
        self._hash_name = hash_name
        self._server_nonce = nonce or base64.b64encode(os.urandom(18)).decode()
        self._step = 0
        self._first_bare = ""
        self._server_first = ""
        self._gs2_header = ""
        self._nonce = ""
        self.username: str | None = None
        self.done = False

    def respond(self, message: bytes) -> bytes:
        """The answer to the client's next message.

        Raises:
            ScramError: the message is malformed, out of turn, or the proof is wrong.
        """
        try:
            text = message.decode("utf-8")
        except UnicodeDecodeError:
            raise ScramError("a SCRAM message is not UTF-8") from None
        self._step += 1
        if self._step == 1:
            return self._client_first(text).encode()
        if self._step == 2:
            return self._client_final(text).encode()
        raise ScramError("the SCRAM exchange is already over")

    def _client_first(self, text: str) -> str:
        flag, _, rest = text.partition(",")
        authzid, _, bare = rest.partition(",")
        if flag not in ("n", "y"):
            raise ScramError("channel binding is not supported")
        if authzid and not authzid.startswith("a="):
            raise ScramError("malformed SCRAM authorization identity")
        attributes = _attributes(bare)
        if len(attributes) < 2 or attributes[0][0] != "n" or attributes[1][0] != "r":
            raise ScramError("the first SCRAM message needs n= and r=")
        user = _sasl_name(attributes[0][1])
        if not attributes[1][1]:
            raise ScramError("empty client nonce")
        credential = self._credentials.get(user)
        if credential is None:
            raise ScramError(f"authentication failed: unknown user {user!r}")
        self.username = user
        self._gs2_header = f"{flag},{authzid},"
        self._first_bare = bare
        self._nonce = attributes[1][1] + self._server_nonce
        salt = base64.b64encode(credential.salt).decode()
        self._server_first = f"r={self._nonce},s={salt},i={credential.iterations}"
        return self._server_first

    def _client_final(self, text: str) -> str:
        without_proof, separator, proof_text = text.rpartition(",p=")
        if not separator:
            raise ScramError("the final SCRAM message has no proof")
        attributes = dict(_attributes(without_proof))
        expected_binding = base64.b64encode(self._gs2_header.encode()).decode()
        if attributes.get("c") != expected_binding:
            raise ScramError("the SCRAM channel binding does not match")
        if attributes.get("r") != self._nonce:
            raise ScramError("the SCRAM nonce does not match")
        try:
            proof = base64.b64decode(proof_text, validate=True)
        except ValueError:
            raise ScramError("the SCRAM proof is not base64") from None
        assert self.username is not None
        credential = self._credentials[self.username]
        auth_message = f"{self._first_bare},{self._server_first},{without_proof}".encode()
        signature = hmac.digest(credential.stored_key, auth_message, self._hash_name)
        if len(proof) != len(signature):
            raise ScramError(f"authentication failed for user {self.username!r}: bad proof")
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        stored = hashlib.new(self._hash_name, client_key).digest()
        if not hmac.compare_digest(stored, credential.stored_key):
            raise ScramError(
                f"authentication failed for user {self.username!r}: invalid credentials"
            )
        self.done = True
        server_signature = hmac.digest(credential.server_key, auth_message, self._hash_name)
        return "v=" + base64.b64encode(server_signature).decode()


# --- Kafka framing ----------------------------------------------------------------------


def _read_uvarint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if position >= len(data):
            raise ValueError("truncated varint")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7


def _uvarint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _skip_tagged_fields(data: bytes, position: int) -> int:
    count, position = _read_uvarint(data, position)
    for _ in range(count):
        _, position = _read_uvarint(data, position)
        size, position = _read_uvarint(data, position)
        position += size
    return position


@dataclass
class Request:
    """A request's header fields and where its body starts."""

    api_key: int
    api_version: int
    correlation_id: int
    frame: bytes
    body_at: int


def parse_request(frame: bytes, flexible: bool) -> Request:
    """The header of a request frame (without its length prefix).

    Args:
        frame: the request's bytes.
        flexible: whether the header is version 2 (with tagged fields).
    """
    api_key, api_version, correlation_id, client_id_length = struct.unpack_from(">hhih", frame)
    position = 10 + max(client_id_length, 0)
    if flexible:
        position = _skip_tagged_fields(frame, position)
    return Request(api_key, api_version, correlation_id, frame, position)


def _frame(payload: bytes) -> bytes:
    return struct.pack(">i", len(payload)) + payload


def handshake_response(correlation_id: int, error_code: int) -> bytes:
    """A SaslHandshake v0/v1 response frame offering SCRAM-SHA-512."""
    mechanism = MECHANISM.encode()
    body = struct.pack(">ihi", correlation_id, error_code, 1)
    return _frame(body + struct.pack(">h", len(mechanism)) + mechanism)


def authenticate_response(
    correlation_id: int, version: int, error_code: int, message: str | None, token: bytes
) -> bytes:
    """A SaslAuthenticate v0-v2 response frame."""
    if version >= 2:  # flexible: header v1 and compact fields
        out = struct.pack(">i", correlation_id) + b"\x00" + struct.pack(">h", error_code)
        if message is None:
            out += b"\x00"
        else:
            encoded = message.encode()
            out += _uvarint(len(encoded) + 1) + encoded
        out += _uvarint(len(token) + 1) + token + struct.pack(">q", 0) + b"\x00"
        return _frame(out)
    out = struct.pack(">ih", correlation_id, error_code)
    if message is None:
        out += struct.pack(">h", -1)
    else:
        encoded = message.encode()
        out += struct.pack(">h", len(encoded)) + encoded
    out += struct.pack(">i", len(token)) + token
    if version >= 1:
        out += struct.pack(">q", 0)
    return _frame(out)


def authenticate_token(request: Request) -> bytes:
    """The SASL token a SaslAuthenticate request carries."""
    data, position = request.frame, request.body_at
    if request.api_version >= 2:
        size, position = _read_uvarint(data, position)
        return data[position : position + size - 1]
    (size,) = struct.unpack_from(">i", data, position)
    return data[position + 4 : position + 4 + size]


class _Closed(Exception):
    """The connection is to be closed (a refused login, a protocol violation, EOF)."""


@dataclass
class GatewayLog:
    """What the gateway saw, for tests to assert on (usernames only, never secrets)."""

    logins: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    tls_connections: int = 0
    plain_connections: int = 0


class ScramGateway:
    """The gateway, on its own event loop in a background thread.

    Use it as a context manager (or ``start()``/``stop()``)::

        with ScramGateway({"alice": "secret"}, upstream_port=broker.port) as gateway:
            ...  # clients use gateway.bootstrap with SCRAM-SHA-512

    Args:
        users: passwords by username; only their salted keys are kept.
        upstream_port: the broker's private port on 127.0.0.1.
        port: the port to listen on; a free one when None.
        certificate: PEM certificate and key files; when given, TLS is accepted too.
    """

    def __init__(
        self,
        users: dict[str, str],
        upstream_port: int,
        port: int | None = None,
        certificate: tuple[Path, Path] | None = None,
    ) -> None:
        self._credentials = {name: StoredCredential.derive(pw) for name, pw in users.items()}
        self.upstream = ("127.0.0.1", upstream_port)
        self.port = port if port is not None else free_port()
        self._tls: ssl.SSLContext | None = None
        if certificate is not None:
            self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._tls.load_cert_chain(str(certificate[0]), str(certificate[1]))
        self.log = GatewayLog()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> ScramGateway:
        """Start listening; returns once the port accepts connections."""
        self._thread = threading.Thread(target=self._run, name="scram-gateway", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the SCRAM gateway did not start in {timeout:g} s")
        if self._failure is not None:
            raise RuntimeError(f"the SCRAM gateway failed to start: {self._failure}")
        return self

    def stop(self) -> None:
        """Close the listener and every connection."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> ScramGateway:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start(); the thread must not die silently
            self._failure = exc
            self._ready.set()
        finally:
            loop.close()

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.setblocking(False)
        tasks: set[asyncio.Task[None]] = set()

        async def accept_forever() -> None:
            while True:
                client, _ = await loop.sock_accept(listener)
                task = loop.create_task(self._connection(client))
                tasks.add(task)
                task.add_done_callback(tasks.discard)

        acceptor = loop.create_task(accept_forever())
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            acceptor.cancel()
            listener.close()
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(acceptor, *tasks, return_exceptions=True)

    async def _connection(self, client: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        client.setblocking(False)
        opened: list[asyncio.StreamWriter] = []  # every stream of this connection, to close
        writer: asyncio.StreamWriter | None = None
        try:
            readable = loop.create_future()

            def mark_readable() -> None:
                if not readable.done():
                    readable.set_result(None)

            loop.add_reader(client.fileno(), mark_readable)
            try:
                await readable
            finally:
                loop.remove_reader(client.fileno())
            try:
                first = client.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                first = b""
            use_tls = first == b"\x16" and self._tls is not None
            if use_tls:
                self.log.tls_connections += 1
            else:
                self.log.plain_connections += 1
            reader = asyncio.StreamReader(limit=2**24)
            protocol = asyncio.StreamReaderProtocol(reader)
            transport, _ = await loop.connect_accepted_socket(
                lambda: protocol,
                client,
                ssl=self._tls if use_tls else None,
                ssl_handshake_timeout=10 if use_tls else None,
            )
            writer = asyncio.StreamWriter(transport, protocol, reader, loop)
            opened.append(writer)
            upstream_reader, upstream_writer = await self._login(reader, writer, opened)
            await self._relay(reader, writer, upstream_reader, upstream_writer)
        except (
            _Closed,
            OSError,  # ConnectionError, ssl.SSLError and the like: the peer went away
            asyncio.IncompleteReadError,
            asyncio.TimeoutError,  # a TLS handshake that never finished
            struct.error,  # a frame too short for what it claims to be
            ValueError,
        ):
            pass  # whatever went wrong, this connection is over; the gateway serves on
        finally:
            for each in opened:
                each.close()
            if writer is None:
                client.close()

    async def _login(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        opened: list[asyncio.StreamWriter],
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Run the pre-authentication protocol; return the broker connection on success."""
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        scram: ScramServer | None = None
        bare_tokens = False  # after SaslHandshake v0: tokens without Kafka request headers
        while True:
            frame = await _read_frame(reader)
            if bare_tokens:
                assert scram is not None
                try:
                    answer = scram.respond(frame)
                except ScramError as exc:
                    self._refused(scram, exc)
                    raise _Closed from None  # v0 has no way to say why: the socket closes
                writer.write(_frame(answer))
                await writer.drain()
                if scram.done:
                    return await self._logged_in(scram, upstream, opened)
                continue
            api_key, api_version = struct.unpack_from(">hh", frame)
            if api_key == API_VERSIONS:
                # Forwarded as it is: the broker's answer lists SaslHandshake/Authenticate.
                if upstream is None:
                    upstream = await self._open_upstream(opened)
                upstream[1].write(_frame(frame))
                await upstream[1].drain()
                writer.write(_frame(await _read_frame(upstream[0])))
                await writer.drain()
            elif api_key == SASL_HANDSHAKE and api_version in (0, 1) and scram is None:
                request = parse_request(frame, flexible=False)
                (size,) = struct.unpack_from(">h", frame, request.body_at)
                start = request.body_at + 2
                mechanism = frame[start : start + size].decode("utf-8", "replace")
                if mechanism != MECHANISM:
                    error = UNSUPPORTED_SASL_MECHANISM
                    writer.write(handshake_response(request.correlation_id, error))
                    await writer.drain()
                    raise _Closed
                writer.write(handshake_response(request.correlation_id, 0))
                await writer.drain()
                scram = ScramServer(self._credentials)
                bare_tokens = api_version == 0
            elif api_key == SASL_AUTHENTICATE and api_version in (0, 1, 2) and scram is not None:
                request = parse_request(frame, flexible=api_version >= 2)
                try:
                    answer = scram.respond(authenticate_token(request))
                except ScramError as exc:
                    self._refused(scram, exc)
                    writer.write(
                        authenticate_response(
                            request.correlation_id,
                            api_version,
                            SASL_AUTHENTICATION_FAILED,
                            f"Authentication failed during authentication due to invalid "
                            f"credentials with SASL mechanism {MECHANISM}: {exc}",
                            b"",
                        )
                    )
                    await writer.drain()
                    raise _Closed from None
                writer.write(
                    authenticate_response(request.correlation_id, api_version, 0, None, answer)
                )
                await writer.drain()
                if scram.done:
                    return await self._logged_in(scram, upstream, opened)
            else:
                # Anything else before a successful login: the connection closes.
                raise _Closed

    async def _logged_in(
        self,
        scram: ScramServer,
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None,
        opened: list[asyncio.StreamWriter],
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        assert scram.username is not None
        self.log.logins.append(scram.username)
        return upstream or await self._open_upstream(opened)

    def _refused(self, scram: ScramServer, error: ScramError) -> None:
        self.log.refusals.append(scram.username or str(error))

    async def _open_upstream(
        self, opened: list[asyncio.StreamWriter]
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(*self.upstream, limit=2**24)
        opened.append(writer)
        return reader, writer

    async def _relay(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        upstream_reader: asyncio.StreamReader,
        upstream_writer: asyncio.StreamWriter,
    ) -> None:
        # Logged in: from here on the gateway is a plain byte pipe both ways.
        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while chunk := await source.read(65536):
                    sink.write(chunk)
                    await sink.drain()
            finally:
                sink.close()

        await asyncio.gather(
            pipe(reader, upstream_writer), pipe(upstream_reader, writer), return_exceptions=True
        )


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    header = await reader.readexactly(4)
    (size,) = struct.unpack(">i", header)
    if not 0 < size <= MAX_LOGIN_FRAME:
        raise _Closed
    return await reader.readexactly(size)


@dataclass
class ScramBroker:
    """A broker reachable only through a SCRAM gateway (``bootstrap``)."""

    gateway: ScramGateway
    broker: LocalBroker
    #: The gateway's certificate (trust it for ``SASL_SSL``), when it has one.
    ca_file: Path | None

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:PORT`` of the gateway."""
        return self.gateway.bootstrap


class ScramBrokerRunner:
    """Tansu on a private port, advertising the gateway in front of it.

    Args:
        users: passwords by username.
        certificate: PEM certificate and key, for ``SASL_SSL`` on the same port.
    """

    def __init__(self, users: dict[str, str], certificate: tuple[Path, Path] | None = None) -> None:
        gateway_port = free_port()
        self.broker = LocalBroker(port=free_port(), advertised_port=gateway_port)
        self.gateway = ScramGateway(users, self.broker.port, gateway_port, certificate)
        self._ca_file = certificate[0] if certificate is not None else None

    def __enter__(self) -> ScramBroker:
        self.broker.start()
        try:
            self.gateway.start()
        except BaseException:
            self.broker.stop()
            raise
        return ScramBroker(self.gateway, self.broker, self._ca_file)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.gateway.stop()
        finally:
            self.broker.stop()
