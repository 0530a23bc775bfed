"""The demo's fallback IMAP server: pymap (pure Python), for machines without Dovecot.

Reduced by design (TESTING-NOTES.md): no CONDSTORE/QRESYNC/SPECIAL-USE, so it only serves the
demo; every test of real behaviour runs against Dovecot.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mailtriage.devservers.pki import make_test_pki


def pymap_available() -> bool:
    try:
        import pymap  # noqa: F401
    except ImportError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedImapServer:
    """pymap's in-memory backend on 127.0.0.1 with STARTTLS from a throwaway CA."""

    host = "127.0.0.1"
    name = "embedded pymap"

    def __init__(self, user: str, password: str):
        self.user, self.password = user, password
        self.port = 0
        self.root: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def ca_file(self) -> Path:
        assert self.root is not None
        return self.root / "ca.pem"

    def start(self, timeout: float = 15.0) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mailtriage-pymap-"))
        pki = make_test_pki(self.root)
        self.port = _free_port()
        log = (self.root / "pymap.log").open("wb")
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from pymap.main import main; sys.exit(main())",
                "--host",
                self.host,
                "--port",
                str(self.port),
                "--cert",
                str(pki.cert),
                "--key",
                str(pki.key),
                "dict",
                "--demo-user",
                self.user,
                "--demo-password",
                self.password,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                break
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as sock:
                    if sock.recv(64).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        tail = (self.root / "pymap.log").read_text(errors="replace")[-500:]
        self.stop()
        raise RuntimeError(f"the embedded IMAP server did not start: {tail}")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
