"""The TLS reverse proxy of deploy/nginx/valmius.conf, run for real in front of the service: its syntax
(`nginx -t`), HSTS, the live overview passed on unbuffered, the client address the failed-token throttle
counts (never one the client wrote), and the body limit answered as the service answers it. Only what cannot
be the same on a test machine is changed: its ports, the upstream's port and the certificate's paths."""

from __future__ import annotations

import datetime
import ipaddress
import re
import shutil
import ssl
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import settings_for
from tests.live import ROOT, LiveServer, free_port, running_service, wait_until

CONFIG = ROOT / "deploy" / "nginx" / "valmius.conf"
HSTS = "max-age=63072000; includeSubDomains"
PER_MINUTE = 3


@dataclass
class Proxy:
    https: httpx.Client
    http_port: int
    service: LiveServer


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert, private = directory / "fullchain.pem", directory / "privkey.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    return cert, private


def adapted(config: str, upstream: str, http_port: int, https_port: int, cert: Path, key: Path) -> str:
    """deploy/nginx/valmius.conf on this machine's ports and certificate; everything else as shipped."""
    replacements = [
        ("server 127.0.0.1:8000;", f"server {upstream};"),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("/etc/ssl/valmius/fullchain.pem", str(cert)),
        ("/etc/ssl/valmius/privkey.pem", str(key)),
    ]
    for shipped, here in replacements:
        assert config.count(shipped) == 1, f"{shipped!r} is no longer in {CONFIG.name}: adapt this test"
        config = config.replace(shipped, here)
    return re.sub(r"\n\s*listen \[::\]:\d+[^\n]*;", "", config)  # no IPv6 on every test machine


def nginx_conf(directory: Path, temp: Path, site: Path) -> Path:
    """A main nginx.conf of the test's own around the site (as /etc/nginx/nginx.conf includes conf.d/)."""
    conf = directory / "nginx.conf"
    conf.write_text(
        f"worker_processes 1;\npid {directory}/nginx.pid;\nerror_log {directory}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n" + "".join(
            f"  {kind}_temp_path {temp}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        ) + f"  include {site};\n}}\n"
    )
    return conf


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Proxy]:
    # The workers run as nobody when the test runs as root: what they write goes where nobody may write.
    spool = Path(tempfile.mkdtemp(prefix="valmius-nginx-"))
    spool.chmod(0o777)
    try:
        yield from _proxy(tmp_path, spool)
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def _proxy(tmp_path: Path, spool: Path) -> Iterator[Proxy]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx is not installed: apt-get install nginx-light", pytrace=False)
    settings = settings_for("sqlite", tmp_path, failed_authentications_per_minute=PER_MINUTE)
    with running_service(settings) as service:
        cert, key = self_signed(tmp_path)
        http_port, https_port = free_port(), free_port()
        site = tmp_path / "valmius.conf"
        site.write_text(adapted(CONFIG.read_text(), service.base_url.removeprefix("http://"), http_port, https_port,
                                cert, key))
        conf = nginx_conf(tmp_path, spool, site)
        checked = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        process = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"])
        try:
            with httpx.Client(base_url=f"https://127.0.0.1:{https_port}", verify=ssl.create_default_context(cafile=str(cert)), timeout=30) as https:
                wait_until(lambda: _answers(https) or process.poll() is not None, 30, "nginx")
                assert process.poll() is None, (tmp_path / "error.log").read_text()
                yield Proxy(https, http_port, service)
        finally:
            process.terminate()
            process.wait(timeout=30)


def _answers(client: httpx.Client) -> bool:
    try:
        return client.get("/health/live").status_code == 200
    except httpx.TransportError:
        return False


def test_the_proxy_serves_https_only_with_hsts_and_the_service_headers(proxy: Proxy) -> None:
    """Given the service behind the proxy, when it is asked over HTTP, then it is sent to HTTPS; over HTTPS the
    answer carries HSTS beside the service's own security headers."""
    plain = httpx.get(f"http://127.0.0.1:{proxy.http_port}/health/live", follow_redirects=False)
    assert (plain.status_code, plain.headers["location"]) == (308, "https://127.0.0.1/health/live")
    answer = proxy.https.get("/health/live")
    assert answer.status_code == 200
    assert answer.headers["strict-transport-security"] == HSTS
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_the_throttle_counts_the_address_the_proxy_saw_not_one_the_client_wrote(proxy: Proxy) -> None:
    """Given a limit of 3 bad tokens a minute per client address, when one client sends bad tokens through
    the proxy each claiming another address in X-Forwarded-For, then the fourth is refused with 429: every
    one was counted against the address the proxy saw."""
    answers = [
        proxy.https.get("/situation-overview", headers={
            "Authorization": f"Bearer vlm_{uuid.uuid4().hex}", "X-Forwarded-For": f"203.0.113.{number}",
        }).status_code
        for number in range(PER_MINUTE + 1)
    ]
    assert answers == [401] * PER_MINUTE + [429]


def test_a_body_over_the_limit_is_refused_by_the_proxy_as_the_service_refuses_it(proxy: Proxy) -> None:
    """Given the service's limit of 65536 bytes, when a larger body is sent through the proxy, then the proxy
    answers 413 with the problem detail the service itself answers to that body (its request id aside); a body
    within the limit reaches the service."""
    token = proxy.service.token("duty-officer-1", "duty_officer")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    limit = proxy.service.settings.max_request_bytes
    too_large = b'{"title": "' + b"x" * limit + b'"}'
    through = proxy.https.post("/crises", content=too_large, headers=headers)
    direct = proxy.service.http.post("/crises", content=too_large, headers=headers)
    assert (through.status_code, through.headers["content-type"]) == (413, "application/problem+json")
    assert through.headers["x-request-id"] == through.json()["request_id"]
    expected = {k: v for k, v in direct.json().items() if k not in ("request_id", "instance")}
    assert {k: v for k, v in through.json().items() if k != "request_id"} == expected
    within = proxy.https.post("/crises", content=b'{"title": "' + b"x" * (limit - 100) + b'"}', headers=headers)
    assert within.status_code == 422, within.text  # the service's own answer: the body is not a crisis


def test_the_live_overview_passes_the_proxy_frame_by_frame(proxy: Proxy) -> None:
    """Given leadership's live overview opened through the proxy, when a crisis is declared, then its change
    frame arrives through the proxy while the stream stays open. (A buffering proxy would hold it back: the
    service asks nginx not to, X-Accel-Buffering: no, and the location says so too.)"""
    reader = {"Authorization": f"Bearer {proxy.service.token('leader-1', 'leadership')}"}
    officer = {"Authorization": f"Bearer {proxy.service.token('duty-officer-1', 'duty_officer')}"}
    with proxy.https.stream("GET", "/situation-overview/stream", headers=reader) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(line for line in lines if line.startswith("event:")) == "event: overview"
        declared = proxy.https.post("/crises", headers={**officer, "Idempotency-Key": uuid.uuid4().hex}, json={
            "crisis_id": "C-1", "title": "Storm", "category": "SEVERE_WEATHER", "severity": 2,
        })
        assert declared.status_code == 201, declared.text
        event = None
        for line in lines:
            if line.startswith("event:"):
                event = line
            elif line.startswith("data:") and "C-1" in line:
                break
        else:
            pytest.fail("the stream ended without the change")
        assert event == "event: patch"
