"""The SCRAM server of the test gateway (tests/support/scram_gateway.py), without a network.

The published exchanges of RFC 5802 (SHA-1) and RFC 7677 (SHA-256) are replayed byte for
byte; the SHA-512 exchange that Kafka's SCRAM-SHA-512 uses is the RFC 5802 one with the
expected values computed here, independently, with hashlib and hmac.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct

import pytest

from tests.support.scram_gateway import (
    SASL_AUTHENTICATE,
    SASL_AUTHENTICATION_FAILED,
    ScramError,
    ScramServer,
    StoredCredential,
    authenticate_response,
    authenticate_token,
    handshake_response,
    parse_request,
)

# RFC 5802, section 5.
RFC5802_SALT = "QSXCR+Q6sek8bf92"
RFC5802_CLIENT_NONCE = "fyko+d2lbbFgONRv9qkxdawL"
RFC5802_SERVER_NONCE = "3rfcNHYJY1ZVvWVs7j"


def _server(password: str, salt_b64: str, hash_name: str, nonce: str) -> ScramServer:
    stored = StoredCredential.derive(password, base64.b64decode(salt_b64), 4096, hash_name)
    return ScramServer({"user": stored}, hash_name, nonce)


def test_rfc5802_published_exchange_sha1() -> None:
    server = _server("pencil", RFC5802_SALT, "sha1", RFC5802_SERVER_NONCE)
    nonce = RFC5802_CLIENT_NONCE + RFC5802_SERVER_NONCE
    assert server.respond(f"n,,n=user,r={RFC5802_CLIENT_NONCE}".encode()) == (
        f"r={nonce},s={RFC5802_SALT},i=4096".encode()
    )
    final = f"c=biws,r={nonce},p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
    assert server.respond(final.encode()) == b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="
    assert server.done and server.username == "user"


def test_rfc7677_published_exchange_sha256() -> None:
    server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    server = _server("pencil", "W22ZaJ0SNY7soEsUEjb6gQ==", "sha256", server_nonce)
    nonce = "rOprNGfwEbeRWgbNEkqO" + server_nonce
    assert server.respond(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO") == (
        f"r={nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".encode()
    )
    proof = "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    answer = server.respond(f"c=biws,r={nonce},p={proof}".encode())
    assert answer == b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def _client_proof_and_server_signature(password: str, auth_message: bytes) -> tuple[str, str]:
    """RFC 5802 section 3, client side, written out again here for SHA-512."""
    salted = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(RFC5802_SALT), 4096)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha512).digest()
    stored_key = hashlib.sha512(client_key).digest()
    client_signature = hmac.new(stored_key, auth_message, hashlib.sha512).digest()
    proof = bytes(k ^ s for k, s in zip(client_key, client_signature, strict=True))
    server_key = hmac.new(salted, b"Server Key", hashlib.sha512).digest()
    server_signature = hmac.new(server_key, auth_message, hashlib.sha512).digest()
    return base64.b64encode(proof).decode(), base64.b64encode(server_signature).decode()


def _sha512_exchange(password_used_by_client: str) -> tuple[ScramServer, str, str]:
    server = _server("pencil", RFC5802_SALT, "sha512", RFC5802_SERVER_NONCE)
    nonce = RFC5802_CLIENT_NONCE + RFC5802_SERVER_NONCE
    first_bare = f"n=user,r={RFC5802_CLIENT_NONCE}"
    server_first = server.respond(f"n,,{first_bare}".encode()).decode()
    assert server_first == f"r={nonce},s={RFC5802_SALT},i=4096"
    without_proof = f"c=biws,r={nonce}"
    auth_message = f"{first_bare},{server_first},{without_proof}".encode()
    proof, signature = _client_proof_and_server_signature(password_used_by_client, auth_message)
    return server, f"{without_proof},p={proof}", signature


def test_rfc5802_exchange_adapted_to_sha512() -> None:
    server, client_final, expected_signature = _sha512_exchange("pencil")
    assert server.respond(client_final.encode()) == f"v={expected_signature}".encode()
    assert server.done


def test_wrong_password_is_refused_with_a_message_naming_no_secret() -> None:
    server, client_final, _ = _sha512_exchange("crayon")
    with pytest.raises(ScramError, match="invalid credentials") as info:
        server.respond(client_final.encode())
    assert "crayon" not in str(info.value) and "pencil" not in str(info.value)
    assert not server.done


def test_the_stored_credential_holds_no_password() -> None:
    stored = StoredCredential.derive("pencil", base64.b64decode(RFC5802_SALT))
    assert b"pencil" not in repr(stored).encode()
    assert len(stored.stored_key) == len(stored.server_key) == 64  # SHA-512 digests
    assert StoredCredential.derive("pencil").salt != StoredCredential.derive("pencil").salt


@pytest.mark.parametrize(
    ("first", "final", "message"),
    [
        (b"n,,n=nobody,r=abc", None, "unknown user"),
        (b"p=tls-unique,,n=user,r=abc", None, "channel binding"),
        (b"n,,r=abc", None, "n= and r="),
        (b"n,,n=user", None, "n= and r="),
        (b"n,,garbage", None, "malformed"),
        (b"n,,n=us=er,r=abc", None, "malformed SCRAM username"),
        (b"\xff", None, "not UTF-8"),
        (b"n,,n=user,r=abc", b"c=biws,r=abc" + RFC5802_SERVER_NONCE.encode(), "no proof"),
        (b"n,,n=user,r=abc", b"c=biws,r=other,p=AAAA", "nonce"),
        (b"n,,n=user,r=abc", b"c=eSws,r=abc" + RFC5802_SERVER_NONCE.encode() + b",p=AA", "bind"),
        (b"n,,n=user,r=abc", b"c=biws,r=abc" + RFC5802_SERVER_NONCE.encode() + b",p=!!", "base64"),
        (b"n,,n=user,r=abc", b"c=biws,r=abc" + RFC5802_SERVER_NONCE.encode() + b",p=AAAA", "bad"),
    ],
)
def test_malformed_or_wrong_messages_are_refused(
    first: bytes, final: bytes | None, message: str
) -> None:
    server = _server("pencil", RFC5802_SALT, "sha512", RFC5802_SERVER_NONCE)
    with pytest.raises(ScramError, match=message):
        server.respond(first)
        if final is not None:
            server.respond(final)
    assert not server.done


def test_a_third_message_is_refused() -> None:
    server, client_final, _ = _sha512_exchange("pencil")
    server.respond(client_final.encode())
    with pytest.raises(ScramError, match="already over"):
        server.respond(b"c=biws")


def test_escaped_usernames_are_unescaped() -> None:
    stored = StoredCredential.derive("pw")
    server = ScramServer({"a,b=c": stored}, nonce="N")
    assert server.respond(b"n,,n=a=2Cb=3Dc,r=x").startswith(b"r=xN,s=")
    assert server.username == "a,b=c"


# --- Kafka framing ------------------------------------------------------------------------


def _request(api_version: int, token: bytes, correlation_id: int = 7) -> bytes:
    client = b"rdkafka"
    header = struct.pack(">hhih", SASL_AUTHENTICATE, api_version, correlation_id, len(client))
    if api_version >= 2:  # header v2 and a compact bytes field, both with tagged fields
        return header + client + b"\x00" + bytes([len(token) + 1]) + token + b"\x00"
    return header + client + struct.pack(">i", len(token)) + token


@pytest.mark.parametrize("version", [0, 1, 2])
def test_sasl_authenticate_token_is_read_from_every_version(version: int) -> None:
    request = parse_request(_request(version, b"n,,n=user,r=abc"), flexible=version >= 2)
    assert (request.api_key, request.api_version, request.correlation_id) == (36, version, 7)
    assert authenticate_token(request) == b"n,,n=user,r=abc"


@pytest.mark.parametrize("version", [0, 1, 2])
def test_sasl_authenticate_failure_response_carries_code_58_and_the_message(version: int) -> None:
    frame = authenticate_response(9, version, SASL_AUTHENTICATION_FAILED, "no entry", b"")
    (size,) = struct.unpack_from(">i", frame)
    assert size == len(frame) - 4
    (correlation_id,) = struct.unpack_from(">i", frame, 4)
    position = 9 if version >= 2 else 8  # header v1 has an empty tagged-field list
    (error_code,) = struct.unpack_from(">h", frame, position)
    assert (correlation_id, error_code) == (9, 58)
    assert b"no entry" in frame


def test_handshake_response_offers_scram_sha_512() -> None:
    frame = handshake_response(3, 0)
    assert frame == struct.pack(">iihih", 25, 3, 0, 1, 13) + b"SCRAM-SHA-512"
