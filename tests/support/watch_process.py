"""`mailtriage sync --watch` as a real process, for tests of what it does on its own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from types import TracebackType

READY = "waiting for mail (IDLE)"


class SyncWatch:
    """Started on enter and returned once it IDLEs (`lines`: what it printed until then);
    interrupted on exit like ^C, leaving `out`, `err` and `returncode`."""

    def __init__(self, config_path: Path):
        self.config_path = config_path
        self.lines: list[str] = []
        self.out = self.err = ""
        self.returncode: int | None = None
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> SyncWatch:
        env = dict(os.environ, MAILTRIAGE_CONFIG=str(self.config_path))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mailtriage", "sync", "--watch"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        while not self.lines or READY not in self.lines[-1]:
            line = self.proc.stdout.readline()
            if not line:
                self.__exit__(None, None, None)
                raise AssertionError(f"sync --watch ended before it idled: {self.err}")
            self.lines.append(line)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        self.out, self.err = self.proc.communicate(timeout=15)
        self.returncode = self.proc.returncode
