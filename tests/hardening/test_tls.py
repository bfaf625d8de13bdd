"""TLS: certificates are verified by default; a private CA works once the connection names it (``ca_bundle``).

A CA and a server certificate for 127.0.0.1 are generated for this module with ``cryptography`` (in a
temporary folder: no key is ever committed), and the simulator serves HTTPS with them. Without
``ca_bundle`` every path fails at once with a message that says the certificate was not trusted and
names the ``ca_bundle`` extra; with it (or with Airflow's habit of a CA path in ``verify``) every path
works.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from airflow_provider_vidjobs.exceptions import TransientAPIError, VideoAPIError
from airflow_provider_vidjobs.testing.simulator import SimulatorHandle, start_simulator

from ._harness import CANARY_KEY, DONE, PROVIDERS, QUICK, contract, files_in, job_stats, new_job


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_pki(folder: Path, hosts: list[str]) -> dict[str, Path]:
    """A CA, and a server certificate signed by it for ``hosts`` (IPs or DNS names)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("vidjobs hardening test CA"))
        .issuer_name(_name("vidjobs hardening test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    paths = {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server.key"}
    paths["ca"].write_bytes(ca.public_bytes(pem))
    paths["cert"].write_bytes(cert.public_bytes(pem) + ca.public_bytes(pem))  # the chain, as servers send it
    paths["key"].write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_pki(tmp_path_factory.mktemp("pki"), ["127.0.0.1", "localhost"])


@pytest.fixture(scope="module")
def https_sim_server(pki: dict[str, Path]) -> Iterator[SimulatorHandle]:
    with start_simulator(
        ssl_certfile=str(pki["cert"]),
        ssl_keyfile=str(pki["key"]),
        keys={provider: [CANARY_KEY] for provider in PROVIDERS},
    ) as handle:
        yield handle


@pytest.fixture
def https_sim(https_sim_server: SimulatorHandle) -> SimulatorHandle:
    https_sim_server.reset()
    return https_sim_server


@pytest.fixture
def connect(monkeypatch: pytest.MonkeyPatch, https_sim: SimulatorHandle) -> Any:
    """Point ``<provider>_default`` at the HTTPS simulator with the given extras."""

    def define(provider: str, **extra: Any) -> None:
        conn = {"conn_type": provider, "host": https_sim.url, "password": CANARY_KEY, "extra": extra}
        monkeypatch.setenv(f"AIRFLOW_CONN_{provider.upper()}_DEFAULT", json.dumps(conn))

    return define


def test_the_simulator_serves_https(https_sim: SimulatorHandle, pki: dict[str, Path]) -> None:
    assert https_sim.url.startswith("https://127.0.0.1:")
    assert https_sim.control.health()  # the control client trusts the server's own certificate file
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{https_sim.url}/_sim/health", trust_env=False)
    job_id = new_job(https_sim, "tensorpix", DONE)
    storage_url = https_sim.control.job(job_id)["vendor"]["generated_video"]["file"]
    assert storage_url.startswith(https_sim.url + "/_storage/")  # signed URLs follow the scheme


@pytest.mark.parametrize("path", ["trigger", "poke", "download"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_untrusted_certificate_is_refused_clearly(
    https_sim: SimulatorHandle, connect: Any, run: Any, tmp_path: Path, path: str, provider: str
) -> None:
    connect(provider)  # verification on by default: certifi's bundle does not hold our test CA
    job_id = new_job(https_sim, provider, DONE)
    outcome = run(path, provider, job_id, **({"timeout": 5} if path == "poke" else {}))
    error = outcome.error
    assert isinstance(error, VideoAPIError)
    assert not isinstance(error, TransientAPIError)  # not retried for minutes: it will not fix itself
    text = outcome.message
    assert f"{provider} job {job_id}" in text
    assert f"TLS certificate of {https_sim.url} was not trusted" in text
    assert "'ca_bundle'" in text
    assert "self-signed certificate in certificate chain" in text  # OpenSSL's reason
    if path == "trigger":
        assert outcome.elapsed < 3  # one attempt, not the 600 s failure budget
    assert job_stats(https_sim, job_id)["requests"] == 0  # no request was ever sent
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("path", ["trigger", "poke", "download"])
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("extra_name", ["ca_bundle", "verify"])
def test_naming_the_ca_bundle_makes_it_work(
    https_sim: SimulatorHandle, connect: Any, run: Any, pki: dict[str, Path], path: str, provider: str, extra_name: str
) -> None:
    connect(provider, **{extra_name: str(pki["ca"])})
    job_id = new_job(https_sim, provider, DONE if path == "download" else QUICK)
    outcome = run(path, provider, job_id)
    assert outcome.ok, outcome.message
    assert outcome.value["job_id"] == job_id
    assert https_sim.control.stats()["storage_auth_leaks"] == 0


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_certificate_for_another_name_is_refused_even_with_the_ca(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Any, provider: str
) -> None:
    pki = make_pki(tmp_path, ["api.example.com"])
    with start_simulator(
        ssl_certfile=str(pki["cert"]), ssl_keyfile=str(pki["key"]), keys={provider: [CANARY_KEY]}
    ) as sim:
        conn = {
            "conn_type": provider,
            "host": sim.url,
            "password": CANARY_KEY,
            "extra": {"ca_bundle": str(pki["ca"])},
        }
        monkeypatch.setenv(f"AIRFLOW_CONN_{contract(provider).conn_id.upper()}", json.dumps(conn))
        outcome = run("poke", provider, contract(provider).facts.sample_id, timeout=5)
    assert isinstance(outcome.error, VideoAPIError)
    assert "was not trusted" in outcome.message
    assert "mismatch, certificate is not valid for '127.0.0.1'" in outcome.message


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_ca_bundle_that_cannot_be_read_is_refused_clearly(
    connect: Any, run: Any, tmp_path: Path, provider: str
) -> None:
    connect(provider, ca_bundle=str(tmp_path / "missing.pem"))
    outcome = run("poke", provider, contract(provider).facts.sample_id)
    assert isinstance(outcome.error, ValueError)
    assert "Cannot load the CA bundle" in outcome.message
    assert "missing.pem" in outcome.message


@pytest.mark.parametrize("provider", PROVIDERS)
def test_verify_false_is_honoured(https_sim: SimulatorHandle, connect: Any, run: Any, provider: str) -> None:
    """Documented for test setups only: verification off trusts any certificate."""
    connect(provider, verify=False)
    job_id = new_job(https_sim, provider, QUICK)
    assert run("trigger", provider, job_id).ok


def test_the_cli_serves_https(pki: dict[str, Path]) -> None:
    """``vidjobs-simulator --ssl-certfile ... --ssl-keyfile ...`` in its own process."""
    from airflow_provider_vidjobs.testing.simulator import SimulatorConfig, start_simulator_process

    config = SimulatorConfig(ssl_certfile=str(pki["cert"]), ssl_keyfile=str(pki["key"]))
    with start_simulator_process(config) as sim:
        assert sim.url.startswith("https://127.0.0.1:")
        assert sim.control.health()
        reply = httpx.get(f"{sim.url}/v1/videos/x", verify=ssl.create_default_context(cafile=str(pki["ca"])))
        assert reply.status_code == 401  # a real HTTPS answer from the simulated API


def test_the_cli_wants_both_tls_files(pki: dict[str, Path]) -> None:
    from airflow_provider_vidjobs.testing.simulator.cli import main

    assert main(["--ssl-certfile", str(pki["cert"])]) == 2


@pytest.mark.parametrize("path", ["trigger", "poke", "download"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_https_to_a_plain_http_server_says_so(
    sim: SimulatorHandle, define_connection: Any, run: Any, leak_watch: Any, path: str, provider: str
) -> None:
    """A host typed with https:// for a server that speaks plain HTTP: a TLS protocol error, which is
    treated as a transport failure (sat out within the failure budget, poked until the timeout)."""
    define_connection("wrong_scheme", provider, sim.url.replace("http://", "https://"), extra={"max_attempts": 2})
    options = {"trigger": {"policy": {"failure_budget": 0.3}}, "poke": {"timeout": 0.3}, "download": {}}[path]
    outcome = run(path, provider, contract(provider).facts.sample_id, conn_id="wrong_scheme", **options)
    assert outcome.error is not None
    shown = outcome.message if path != "poke" else leak_watch.read_output()
    assert f"could not reach {sim.url.replace('http://', 'https://')}: [SSL: WRONG_VERSION_NUMBER]" in shown
