"""One sync leader per cache: an flock on a lock file beside it.

An agent with two terminals (or the TUI plus `mailtriage sync --watch`) would otherwise run
two syncs into one cache: twice the IMAP traffic and writers queueing on SQLite's lock. The
kernel drops an flock when its process dies, so a killed leader never leaves a stale lock.
Readers need no lock: SQLite WAL readers see each commit (Store.data_version tells them when).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path


class SyncLeader:
    def __init__(self, cache_path: Path, role: str):
        self.path = cache_path.with_name(cache_path.name + ".lock")
        self.role = role
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Become the leader now, or return False at once if someone else leads."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {self.role}\n".encode())
        self._fd = fd
        return True

    def holder(self) -> str:
        """Who leads, in words: "pid 4242 (sync --watch)"."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return "another mailtriage"
        pid, _, role = text.partition(" ")
        return f"pid {pid} ({role})" if pid.isdigit() else "another mailtriage"

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
