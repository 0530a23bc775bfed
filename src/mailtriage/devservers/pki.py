"""A throwaway certificate authority and a localhost server certificate, made with openssl."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TestPKI", "make_test_pki"]

# Strict verifiers (Python 3.13's default context sets VERIFY_X509_STRICT) reject certificates
# without key usage and key identifiers, so both certificates carry them explicitly.
_CA_EXTENSIONS = """\
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""

_SERVER_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = {san}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""


@dataclass(frozen=True)
class TestPKI:
    """Paths of a test CA certificate and of the server certificate and key it signed."""

    # pytest would otherwise try to collect this class as a test case.
    __test__ = False

    ca_cert: Path
    cert: Path
    key: Path


def _openssl() -> str:
    found = shutil.which("openssl") or (
        "/usr/bin/openssl" if Path("/usr/bin/openssl").exists() else None
    )
    if found is None:
        raise RuntimeError(
            "openssl is needed to make test certificates; install the openssl package"
        )
    return found


def _run(*args: str | Path) -> None:
    proc = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=False, timeout=60
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed:\n{proc.stderr.strip()}")


def make_test_pki(directory: Path, san: str = "DNS:localhost, IP:127.0.0.1") -> TestPKI:
    """Create ``ca.pem``, ``server.pem`` and ``server.key`` in ``directory`` (made if missing).

    san: the server certificate's subjectAltName (another name makes a mismatch for tests)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    openssl = _openssl()
    ca_key, ca_cert = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    ca_ext, server_ext = directory / "ca.ext", directory / "server.ext"
    ca_ext.write_text(_CA_EXTENSIONS)
    server_ext.write_text(_SERVER_EXTENSIONS.format(san=san))
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")

    # A CSR signed with `x509 -req` instead of `req -x509`, so both certificates get exactly
    # the extensions above whatever the openssl version's defaults are.
    _run(openssl, "req", "-new", *ec, "-keyout", ca_key, "-out", directory / "ca.csr",
         "-subj", "/CN=mailtriage test CA")  # fmt: skip
    _run(openssl, "x509", "-req", "-in", directory / "ca.csr", "-signkey", ca_key, "-out", ca_cert,
         "-days", "3650", "-sha256", "-extfile", ca_ext,
         "-set_serial", str(secrets.randbits(63)))  # fmt: skip
    _run(openssl, "req", "-new", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    _run(openssl, "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-out", cert,
         "-days", "825", "-sha256", "-extfile", server_ext,
         "-set_serial", str(secrets.randbits(63)))  # fmt: skip
    key.chmod(0o600)
    ca_key.chmod(0o600)
    return TestPKI(ca_cert=ca_cert, cert=cert, key=key)
