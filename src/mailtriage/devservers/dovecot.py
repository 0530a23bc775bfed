"""A private Dovecot 2.3 (IMAP + LMTP) on loopback ports, configured from scratch in one dir."""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from types import TracebackType

from mailtriage.devservers.pki import make_test_pki

__all__ = ["DovecotServer", "find_dovecot"]

_SBIN_DOVECOT = "/usr/sbin/dovecot"
_DH_PARAMS = Path("/usr/share/dovecot/dh.pem")
SPECIAL_USE = {
    "Drafts": r"\Drafts",
    "Sent": r"\Sent",
    "Trash": r"\Trash",
    "Junk": r"\Junk",
    "Archive": r"\Archive",
}


def find_dovecot() -> str | None:
    """The dovecot binary on PATH, else Debian's /usr/sbin/dovecot (sbin is often off PATH)."""
    found = shutil.which("dovecot")
    if found:
        return found
    if os.access(_SBIN_DOVECOT, os.X_OK):
        return _SBIN_DOVECOT
    return None


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _read_line(sock: socket.socket, deadline: float) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


class DovecotServer:
    """Dovecot on 127.0.0.1 with plain IMAP (+STARTTLS), IMAPS and LMTP, users in a passwd-file.

    All state (config, certificates, mail homes, logs, sockets) lives under ``root``; when no
    root is given a temp dir is made on start and removed on stop.
    """

    host: str = "127.0.0.1"

    def __init__(
        self,
        root: Path | None = None,
        *,
        capabilities: str | None = None,
        extra_config: str = "",
    ) -> None:
        """extra_config: dovecot.conf lines appended last (a later setting wins)."""
        self._given_root = Path(root) if root is not None else None
        self.root: Path | None = self._given_root
        self.capabilities = capabilities
        self.extra_config = extra_config
        self.imap_port = 0
        self.imaps_port = 0
        self.lmtp_port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._users_lock = threading.Lock()

    # Paths inside root -----------------------------------------------------------------------

    def _dir(self) -> Path:
        if self.root is None:
            raise RuntimeError("DovecotServer has no directory yet: call start() first")
        return self.root

    @property
    def config_file(self) -> Path:
        return self._dir() / "dovecot.conf"

    @property
    def log_file(self) -> Path:
        return self._dir() / "dovecot.log"

    @property
    def passwd_dir(self) -> Path:
        return self._dir() / "passwd.d"

    @property
    def home_dir(self) -> Path:
        return self._dir() / "home"

    @property
    def ca_file(self) -> Path:
        return self._dir() / "pki" / "ca.pem"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # Lifecycle -------------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Start ``dovecot -F`` and return once IMAP and LMTP greet; RuntimeError otherwise."""
        if self.running:
            raise RuntimeError("Dovecot is already running")
        binary = find_dovecot()
        if binary is None:
            raise RuntimeError(
                "Dovecot is not installed; run: "
                "sudo apt-get update && sudo apt-get install -y dovecot-imapd dovecot-lmtpd"
            )
        self._prepare_dir()
        # Ports picked here may be grabbed by someone else before Dovecot binds them; then pick
        # again. Ports already set (restart, or chosen by the caller) are kept, never swapped.
        choose_ports = not (self.imap_port and self.imaps_port and self.lmtp_port)
        for attempt in range(3):
            if choose_ports:
                ports: set[int] = set()
                while len(ports) < 3:
                    ports.add(_free_port(self.host))
                self.imap_port, self.imaps_port, self.lmtp_port = sorted(ports)
            try:
                self._spawn(binary, timeout)
                return
            except RuntimeError as exc:
                if not (choose_ports and attempt < 2 and "Address already in use" in str(exc)):
                    raise

    def _spawn(self, binary: str, timeout: float) -> None:
        self.config_file.write_text(self._config())
        stderr = (self._dir() / "dovecot.stderr").open("wb")
        with stderr:
            self._proc = subprocess.Popen(
                [binary, "-F", "-c", str(self.config_file)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                # Own process group, so stop() can signal every Dovecot process at once.
                start_new_session=True,
            )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self._terminate()
            raise

    def stop(self) -> None:
        """Stop Dovecot and, if this object made its directory, delete that directory."""
        self._terminate()
        if self._given_root is None and self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
            self.imap_port = self.imaps_port = self.lmtp_port = 0

    def restart(self) -> None:
        """Stop and start again on the same ports with the same users and mail."""
        self._terminate()
        self.start()

    def __enter__(self) -> DovecotServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # Users -----------------------------------------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        """Add (or re-password) a login, usable at once without a reload."""
        for value, what in ((name, "user name"), (password, "password")):
            if not value or any(c in value for c in ":\r\n\0"):
                raise ValueError(f"{what} must be non-empty without ':' or line breaks")
        if "@" in name or "/" in name or name.startswith("."):
            raise ValueError("user name must be a bare local part (it names a home directory)")
        self._prepare_dir()
        entry = self.passwd_dir / name
        tmp = entry.with_name(f".{name}.tmp")
        with self._users_lock:
            tmp.write_text(f"{name}:{{PLAIN}}{password}\n")
            # The auth process runs as the internal (non-root) user and must read it.
            tmp.chmod(0o644)
            tmp.replace(entry)

    # Internals -------------------------------------------------------------------------------

    def _mail_owner(self) -> tuple[str, str]:
        if os.geteuid() == 0:
            # Dovecot refuses uid 0 for mail processes.
            return "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
        return pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name

    def _prepare_dir(self) -> None:
        if self.root is None:
            # Not under pytest's 0700 tmp dirs: unprivileged Dovecot processes must traverse it.
            self.root = Path(tempfile.mkdtemp(prefix="mt-dovecot-", dir="/tmp"))
        root = self.root
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o755)
        for sub in ("run", "state"):
            (root / sub).mkdir(exist_ok=True)
        if not self.home_dir.exists():
            self.home_dir.mkdir()
            if os.geteuid() == 0:
                user, group = self._mail_owner()
                shutil.chown(self.home_dir, user, group)
        self.passwd_dir.mkdir(exist_ok=True)
        if not self.ca_file.exists():
            make_test_pki(root / "pki")

    def _config(self) -> str:
        root = self._dir()
        mail_user, mail_group = self._mail_owner()
        pki = root / "pki"
        lines = [
            "# Written by mailtriage.devservers.dovecot: self-contained, no /etc/dovecot.",
            f"base_dir = {root / 'run'}",
            f"state_dir = {root / 'state'}",
            f"instance_name = mailtriage-{uuid.uuid4().hex[:12]}",
            f"log_path = {self.log_file}",
            "protocols = imap lmtp",
            f"listen = {self.host}",
            "first_valid_uid = 1",
            "last_valid_uid = 0",
            "auth_mechanisms = plain login",
            "disable_plaintext_auth = no",
            "auth_verbose = yes",
            # Refused logins answer at once instead of after 2 s: tests of error paths stay fast.
            "auth_failure_delay = 0",
            "ssl = yes",
            f"ssl_cert = <{pki / 'server.pem'}",
            f"ssl_key = <{pki / 'server.key'}",
            f"ssl_ca = <{pki / 'ca.pem'}",
            f"ssl_dh = <{_DH_PARAMS}" if _DH_PARAMS.exists() else "",
            "mail_location = maildir:~/Maildir",
            "mail_plugins =",
            # Tests only: fsync buys durability nobody needs here and costs a lot of time.
            "mail_fsync = never",
            "mail_max_keyword_length = 100",
            "passdb {",
            "  driver = passwd-file",
            # One file per user: Dovecot checks a passwd-file for changes at most once a
            # second, so a user appended to a shared file could be refused for up to 1 s.
            f"  args = scheme=PLAIN username_format=%n {self.passwd_dir}/%n",
            "}",
            "userdb {",
            "  driver = static",
            f"  args = uid={mail_user} gid={mail_group} home={self.home_dir}/%n",
            "}",
            "namespace inbox {",
            "  inbox = yes",
            "  separator = /",
        ]
        for name, flag in SPECIAL_USE.items():
            lines += [
                f"  mailbox {name} {{",
                f"    special_use = {flag}",
                "    auto = subscribe",
                "  }",
            ]
        lines += [
            "}",
            "service imap-login {",
            "  inet_listener imap {",
            f"    address = {self.host}",
            f"    port = {self.imap_port}",
            "  }",
            "  inet_listener imaps {",
            f"    address = {self.host}",
            f"    port = {self.imaps_port}",
            "    ssl = yes",
            "  }",
            "}",
            # Dovecot's per-IP auth penalty (2 s doubling to 15 s after a failed login) would hit
            # every later login from 127.0.0.1; an unconnectable socket turns it off.
            "service anvil {",
            "  unix_listener anvil-auth-penalty {",
            "    mode = 0",
            "  }",
            "}",
            "service lmtp {",
            "  inet_listener lmtp {",
            f"    address = {self.host}",
            f"    port = {self.lmtp_port}",
            "  }",
            "}",
        ]
        if self.capabilities is not None:
            lines.append(f"imap_capability = {self.capabilities}")
        if os.geteuid() != 0:
            # Unprivileged: every service runs as us and none can chroot.
            user, group = self._mail_owner()
            lines += [
                f"default_login_user = {user}",
                f"default_internal_user = {user}",
                f"default_internal_group = {group}",
            ]
            for service in ("imap-login", "anvil", "ipc", "old-stats"):
                lines += [f"service {service} {{", "  chroot =", "}"]
        if self.extra_config:
            lines.append(self.extra_config.strip())
        return "\n".join(line for line in lines if line) + "\n"

    def _log_tail(self, lines: int = 30) -> str:
        parts = []
        for path in (self._dir() / "dovecot.stderr", self.log_file):
            with contextlib.suppress(OSError):
                text = path.read_text(errors="replace").strip()
                if text:
                    parts.append(f"--- {path.name} ---\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(parts) or "(no log output)"

    def _greets(self, port: int, expected: bytes, deadline: float) -> bool:
        # A short cap per attempt: whatever else holds the port may accept and stay silent, and
        # the caller must get back to noticing that Dovecot itself has exited.
        attempt_deadline = min(deadline, time.monotonic() + 0.5)
        try:
            with socket.create_connection((self.host, port), timeout=0.5) as sock:
                return _read_line(sock, attempt_deadline).startswith(expected)
        except OSError:
            return False

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        proc = self._proc
        assert proc is not None
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"dovecot exited with status {proc.returncode} during start-up\n"
                    + self._log_tail()
                )
            if self._greets(self.imap_port, b"* OK", deadline) and self._greets(
                self.lmtp_port, b"220 ", deadline
            ):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"dovecot did not greet on ports {self.imap_port}/{self.lmtp_port} "
                    f"within {timeout:.1f} s\n" + self._log_tail()
                )
            time.sleep(0.01)

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        # The whole group, not just the master: a master alone SIGQUITs its log process and
        # then sleeps a hard-coded second; signalled together, an idle server is gone in ms.
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
