"""A TCP proxy on 127.0.0.1 that can break SMTP connections on purpose."""

from __future__ import annotations

import contextlib
import socket
import threading


class FlakyProxy:
    """Forwards to 127.0.0.1:target. `close_after` = number of client writes to let through
    before cutting both sides (0: close right after accepting, before the greeting);
    None: forward everything. Applies to the next `failures` connections only."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.close_after: int | None = None
        self.failures = 0
        self.connections = 0
        self._open: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            cut = self.close_after if self.failures > 0 else None
            if cut is not None:
                self.failures -= 1
            if cut == 0:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self._open += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, cut), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, None), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, cut: int | None) -> None:
        writes = 0
        try:
            while data := src.recv(65536):
                dst.sendall(data)
                writes += 1
                if cut is not None and writes >= cut:
                    break
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def drop_all(self) -> None:
        """Cut every open connection now, as a server does to a client idle too long."""
        for s in self._open:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        self._open.clear()

    def close(self) -> None:
        self._listener.close()
