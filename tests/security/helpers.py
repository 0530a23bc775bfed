"""Attack tools for the security tests: a STARTTLS-stripping man in the middle, a CLI runner
that keeps every byte the product prints, and a grep over files for a secret."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path


class StrippingProxy:
    """A TCP proxy on 127.0.0.1 that removes STARTTLS from everything the server says, as an
    attacker on the path would, and records everything the client sends."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.from_client = bytearray()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = [self._listener]
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        try:
            while data := source.recv(65536):
                if from_server:
                    # Renamed, not cut: line lengths and SMTP multi-line framing stay valid.
                    data = data.replace(b"STARTTLS", b"XSTRIPPD")
                else:
                    with self._lock:
                        self.from_client += data
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            s.close()


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m mailtriage ARGS` in a child process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "mailtriage", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


def files_containing(needle: str, roots: Iterable[Path]) -> list[Path]:
    """Every file under roots whose bytes contain needle (UTF-8), SQLite sidecars included."""
    raw = needle.encode("utf-8")
    found = []
    for root in roots:
        paths = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        found += [p for p in paths if raw in p.read_bytes()]
    return found
