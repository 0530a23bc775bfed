"""A TCP proxy between the client and a real Dovecot that can misbehave on cue.

It records what the client sent (to prove which commands were used), cuts the stream after N
bytes from the server, stalls (a timeout), injects a BYE, or drops every connection.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType


class FaultProxy:
    def __init__(self, target_port: int, host: str = "127.0.0.1"):
        self.target = (host, target_port)
        self.listener = socket.create_server((host, 0))
        self.port = self.listener.getsockname()[1]
        self.sent = bytearray()  # everything clients sent, all connections
        self.cut_after: int | None = None  # close after this many server bytes
        self.stalled = threading.Event()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._server_bytes = 0
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while self.stalled.is_set() and not self._closed:
                    time.sleep(0.05)
                if from_client:
                    with self._lock:
                        self.sent += data
                else:
                    with self._lock:
                        if self.cut_after is not None:
                            room = self.cut_after - self._server_bytes
                            if room <= 0:
                                break
                            data = data[:room]
                        self._server_bytes += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def inject_bye(self) -> None:
        """The server's side says BYE and hangs up, on every open connection."""
        with self._lock:
            pairs = list(self._pairs)
        for client, upstream in pairs:
            with contextlib.suppress(OSError):
                client.sendall(b"* BYE proxy says the server is shutting down\r\n")
            for s in (client, upstream):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def drop_all(self) -> None:
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            for s in pair:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._closed = True
        self.stalled.clear()
        self.listener.close()
        self.drop_all()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
