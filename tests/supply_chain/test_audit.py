"""make audit fails, loudly, when pip-audit cannot ask its service (as from CI).

On this project's machines PyPI answers 404 to the per-release JSON pip-audit asks
for. The test recreates exactly that on loopback: a proxy that accepts
``CONNECT pypi.org:443``, ends TLS with a certificate from a throw-away CA, and
answers 404 to every request, so the real pip-audit runs unchanged, as a
subprocess, and reaches nothing but 127.0.0.1.
"""

from __future__ import annotations

import datetime
import os
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from scripts.supply_chain.audit import FAILED, PIP_AUDIT_ARGS, pip_audit
from scripts.supply_chain.lockfile import LOCK

SMALL_LOCK = """\
idna==3.21 \\
    --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000
certifi==2026.10.19.post1 \\
    --hash=sha256:0000000000000000000000000000000000000000000000000000000000000000
"""


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a pypi.org server certificate signed by it (PEM files)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "audit test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pypi.org")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("pypi.org")]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def _read_head(stream: socket.socket | ssl.SSLSocket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = stream.recv(4096)
        if not chunk:
            break
        head += chunk
    return head


class Pypi404Proxy(socketserver.ThreadingTCPServer):
    """CONNECT proxy to a fake pypi.org that answers 404 to everything."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.context = context
        self.tunnels: list[str] = []
        self.requests: list[str] = []


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: Pypi404Proxy = self.server  # type: ignore[assignment]
        line = _read_head(self.request).split(b"\r\n", 1)[0].decode()
        server.tunnels.append(line)
        self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        with server.context.wrap_socket(self.request, server_side=True) as tls:
            while head := _read_head(tls):
                server.requests.append(head.split(b"\r\n", 1)[0].decode())
                body = b'{"message": "Not Found"}'
                tls.sendall(
                    b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )


@pytest.fixture
def pypi_404(tmp_path):
    """Start the proxy; yield (proxy, environment for pip-audit)."""
    ca, cert, key = _certificates(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    proxy = Pypi404Proxy(context)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{proxy.server_address[1]}"
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env |= {"HTTPS_PROXY": url, "https_proxy": url, "NO_PROXY": "", "no_proxy": ""}
    env |= {"REQUESTS_CA_BUNDLE": str(ca), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    yield proxy, env
    proxy.shutdown()
    proxy.server_close()
    thread.join(timeout=10)


def _require_pip_audit():
    found = subprocess.run(
        [sys.executable, "-m", "pip_audit", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 0, "pip-audit is missing: run make install (dev extra)"


def test_make_audit_fails_when_pypi_cannot_answer(pypi_404, tmp_path, capfd):
    """The real lock, the real pip-audit: the first 404 ends the audit with status 1."""
    _require_pip_audit()
    proxy, env = pypi_404
    cache = ("--cache-dir", str(tmp_path / "cache"))
    assert pip_audit(LOCK, cache, env) == 1
    err = capfd.readouterr().err
    assert "Dependency not found on PyPI and could not be audited" in err
    assert FAILED in err
    assert proxy.tunnels[0].startswith("CONNECT pypi.org:443 ")
    assert proxy.requests[0].startswith("GET /pypi/")
    assert proxy.requests[0].endswith("/json HTTP/1.1")


def test_without_strict_pip_audit_would_pass_unchecked(pypi_404, tmp_path):
    """Why --strict is in PIP_AUDIT_ARGS: without it the same 404s pass silently."""
    _require_pip_audit()
    assert "--strict" in PIP_AUDIT_ARGS
    proxy, env = pypi_404
    lock = tmp_path / "lock.txt"
    lock.write_text(SMALL_LOCK)
    args = [a for a in PIP_AUDIT_ARGS if a != "--strict"]
    cache = ("--cache-dir", str(tmp_path / "cache"))
    loose = subprocess.run(  # noqa: S603 - pip-audit on a test lock
        [sys.executable, "-m", "pip_audit", *args, "-r", str(lock), *cache],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert loose.returncode == 0
    assert "No known vulnerabilities found" in loose.stdout + loose.stderr
    assert sorted(proxy.requests) == [
        "GET /pypi/certifi/2026.10.19.post1/json HTTP/1.1",
        "GET /pypi/idna/3.21/json HTTP/1.1",
    ]
