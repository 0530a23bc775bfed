"""A TCP proxy between the client and a real Dovecot that can misbehave on cue.

It records what the client sent (to prove which commands were used), cuts the stream after N
bytes from the server or right after the client sends a given command (the server got it, the
client never hears back), stalls (a timeout), delays every chunk, injects a BYE or garbage,
or drops every connection. `port` lets a test bring a proxy up where a refused one was.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType


class FaultProxy:
    def __init__(self, target_port: int, host: str = "127.0.0.1", port: int = 0):
        self.target = (host, target_port)
        self.listener = socket.create_server((host, port))
        self.port = self.listener.getsockname()[1]
        self.sent = bytearray()  # everything clients sent, all connections
        self.cut_after: int | None = None  # close after this many server bytes
        self.stalled = threading.Event()
        # Once: forward the client's chunk holding these bytes, then cut that connection.
        self.cut_after_client_sends: bytes | None = None
        self.delay = 0.0  # seconds added before each chunk from the server
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
            if self._closed:
                client.close()
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
                cut_now = False
                if from_client:
                    with self._lock:
                        self.sent += data
                        marker = self.cut_after_client_sends
                        if marker is not None and marker in data:
                            self.cut_after_client_sends, cut_now = None, True
                else:
                    if self.delay:
                        time.sleep(self.delay)
                    with self._lock:
                        if self.cut_after is not None:
                            room = self.cut_after - self._server_bytes
                            if room <= 0:
                                break
                            data = data[:room]
                        self._server_bytes += len(data)
                dst.sendall(data)
                if cut_now:
                    break
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

    def inject(self, data: bytes) -> None:
        """Bytes the server never sent arrive at every client (garbage on the line)."""
        with self._lock:
            pairs = list(self._pairs)
        for client, _ in pairs:
            with contextlib.suppress(OSError):
                client.sendall(data)

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
        # close() alone does not wake a thread blocked in accept(): the port would go on
        # accepting. shutdown() does, and then the port really refuses.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
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
