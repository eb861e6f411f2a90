"""NASA GCN Kafka credentials and bearer-token logins, seen from outside.

``hop auth add --gcn`` runs as the installed ``hop`` (from a CSV file, and on a real
pseudo-terminal, where the secret must not be echoed), and the stored entry is read back.
The logins are watched on the wire: librdkafka is pointed at a listener that records the
bearer token it sends (``tests.support.sasl``), since the test broker takes no SASL. For a
GCN credential the token comes from a token endpoint served by the test (the client id and
secret must reach it); for a ``token_command`` credential, from the command.
"""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import confluent_kafka
import pytest

from hop.auth import Auth, gcn_credential, load_auth
from hop.errors import AuthenticationError
from hop.io._rdkafka_config import producer_settings
from hop.io._url import parse_url
from tests.support.sasl import bearer_capture, token_endpoint, unsigned_jwt
from tests.support.terminal import answer_prompts

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

HOP = str(Path(sys.executable).with_name("hop"))
CLIENT_ID = "4d1f2c3b5a6e7f80"
SECRET = "gcn-S3cret/client+secret"

pytestmark = pytest.mark.usefixtures("config_home")


def hop_env(config_home: Path, tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOP_")}
    return dict(clean, XDG_CONFIG_HOME=str(config_home), HOME=str(tmp_path / "home"))


def run_hop(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [HOP, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def stored_entry(config_home: Path) -> list[dict[str, str]]:
    data = tomllib.loads((config_home / "hop" / "auth.toml").read_text())
    entries: list[dict[str, str]] = data["auth"]
    return entries


@pytest.mark.parametrize(
    ("domain_args", "domain"),
    [([], "gcn.nasa.gov"), (["--domain", "test.gcn.nasa.gov"], "test.gcn.nasa.gov")],
)
def test_add_gcn_from_a_csv_file(
    config_home: Path, tmp_path: Path, domain_args: list[str], domain: str
) -> None:
    csv = tmp_path / "gcn.csv"
    csv.write_text(f"client_id,client_secret\n{CLIENT_ID},{SECRET}\n")
    env = hop_env(config_home, tmp_path)
    done = run_hop(env, "auth", "add", "--gcn", *domain_args, str(csv), "-v")
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert stored_entry(config_home) == [
        {
            "username": CLIENT_ID,
            "password": SECRET,
            "protocol": "SASL_SSL",
            "mechanism": "OAUTHBEARER",
            "hostname": f"kafka.{domain}",
            "token_endpoint": f"https://auth.{domain}/oauth2/token",
        }
    ]
    listed = run_hop(env, "auth", "list")
    assert listed.returncode == 0
    assert f"kafka.{domain}" in listed.stdout and "OAUTHBEARER" in listed.stdout
    # The credential is picked for the GCN broker like any other.
    assert load_auth() == [gcn_credential(CLIENT_ID, SECRET, domain)]


def test_add_gcn_csv_without_the_columns_names_them(config_home: Path, tmp_path: Path) -> None:
    csv = tmp_path / "gcn.csv"
    csv.write_text(f"{CLIENT_ID},{SECRET}\n")  # no header row
    done = run_hop(hop_env(config_home, tmp_path), "auth", "add", "--gcn", str(csv), "-v")
    assert done.returncode == 1
    assert "'client_id'" in done.stderr
    assert SECRET not in done.stdout + done.stderr
    assert not (config_home / "hop" / "auth.toml").exists()


def test_add_gcn_on_a_real_terminal(config_home: Path, tmp_path: Path) -> None:
    answers = [(b"client ID: ", CLIENT_ID.encode()), (b"client secret: ", SECRET.encode())]
    argv = ["auth", "add", "--gcn", "--domain", "dev.gcn.nasa.gov"]
    seen = answer_prompts(argv, answers, hop_env(config_home, tmp_path))
    assert CLIENT_ID.encode() in seen  # typed input is echoed...
    assert SECRET.encode() not in seen  # ...except the secret
    [entry] = stored_entry(config_home)
    assert entry["hostname"] == "kafka.dev.gcn.nasa.gov"
    assert entry["token_endpoint"] == "https://auth.dev.gcn.nasa.gov/oauth2/token"
    assert entry["mechanism"] == "OAUTHBEARER" and entry["protocol"] == "SASL_SSL"
    assert (entry["username"], entry["password"]) == (CLIENT_ID, SECRET)


def producer_for(cred: Auth, bootstrap: str, **overrides: str) -> confluent_kafka.Producer:
    settings = producer_settings(
        parse_url(f"kafka://{bootstrap}/t"),
        cred,
        produce_timeout=timedelta(seconds=5),
        overrides=overrides,
    )
    settings["logger"] = logging.getLogger("test_auth_gcn.librdkafka")
    return confluent_kafka.Producer(settings)


def test_gcn_credential_runs_the_oidc_flow_and_logs_in_with_its_token() -> None:
    cred = gcn_credential(CLIENT_ID, SECRET, domain="test.gcn.nasa.gov")
    with token_endpoint() as endpoint, bearer_capture() as broker:
        # Only the endpoint's address is swapped for the local one; the settings are
        # otherwise those hop builds for the credential. TLS is left out: the stand-in
        # broker speaks plaintext.
        producer = producer_for(
            cred,
            broker.bootstrap,
            **{
                "sasl.oauthbearer.token.endpoint.url": endpoint.url,
                "security.protocol": "SASL_PLAINTEXT",
            },
        )
        token = broker.wait_for_token(20, serve=lambda: producer.poll(0.1))
        producer.flush(0)
    assert endpoint.requests, "the token endpoint was never asked"
    basic = "Basic " + base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    for authorization, body in endpoint.requests:
        assert authorization == basic  # client id and secret sent
        assert b"grant_type=client_credentials" in body
    assert token in endpoint.issued  # ...and the token it handed out is the one used


def test_token_command_token_is_the_one_logged_in_with(tmp_path: Path) -> None:
    token = unsigned_jwt("alice", 600)
    calls = tmp_path / "calls"
    command = f"echo run >> {calls}; printf '%s\\n' '{token}'"
    cred = Auth("alice", "", ssl=False, token_command=command)
    with bearer_capture() as broker:
        producer = producer_for(cred, broker.bootstrap)
        assert broker.wait_for_token(20, serve=lambda: producer.poll(0.1)) == token
        producer.flush(0)
    assert calls.read_text().count("run") >= 1


@pytest.mark.parametrize(
    ("command", "status"),
    [
        (f"echo {SECRET}; echo {SECRET} >&2; exit 3", "exit status 3"),
        (f"echo not-a-jwt-{SECRET}", "exit status 0"),
        (f"printf '%s' '{unsigned_jwt('x', 60).rsplit('.', 2)[0]}'", "exit status 0"),
    ],
)
def test_failing_token_command_is_an_authentication_error_without_its_output(
    command: str, status: str, caplog: pytest.LogCaptureFixture
) -> None:
    cred = Auth("alice", "", ssl=False, token_command=command)
    started = time.monotonic()
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as caught:
        producer_for(cred, "127.0.0.1:9")
    assert time.monotonic() - started < 20  # at once, not after librdkafka's own wait
    assert status in str(caught.value)
    assert "'alice'" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert SECRET not in caplog.text


def test_stored_0_13_token_command_entry_is_used_by_stream(config_home: Path) -> None:
    from hop import Stream

    token = unsigned_jwt("alice", 600)
    path = config_home / "hop" / "auth.toml"
    path.parent.mkdir(parents=True)
    # As hop-client 0.13 writes it: an empty password beside the command.
    path.write_text(
        '[[auth]]\nusername = "alice"\npassword = ""\nprotocol = "SASL_PLAINTEXT"\n'
        f'mechanism = "OAUTHBEARER"\ntoken_command = "printf %s {token}"\n'
    )
    path.chmod(0o600)
    with bearer_capture() as broker:
        producer = Stream(auth=True).open(f"kafka://{broker.bootstrap}/t", "w")
        try:
            assert broker.wait_for_token(20) == token
        finally:
            producer.close()


def test_failing_token_command_is_one_line_from_the_command_line(
    config_home: Path, tmp_path: Path
) -> None:
    path = config_home / "hop" / "auth.toml"
    path.parent.mkdir(parents=True)
    path.write_text(
        f'[[auth]]\nusername = "alice"\npassword = ""\ntoken_command = "echo {SECRET}; exit 4"\n'
    )
    path.chmod(0o600)
    started = time.monotonic()
    done = run_hop(hop_env(config_home, tmp_path), "list-topics", "kafka://127.0.0.1:9/")
    assert time.monotonic() - started < 20
    assert done.returncode == 1
    [error] = [line for line in done.stderr.splitlines() if ": error: " in line]
    assert error.startswith("hop list-topics: error:") and "exit status 4" in error
    assert "Traceback" not in done.stderr
    assert SECRET not in done.stdout + done.stderr
