"""An aiosmtpd submission server for tests and the demo: STARTTLS + AUTH, optional LMTP relay."""

from __future__ import annotations

import asyncio
import hmac
import smtplib
import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

__all__ = ["ReceivedMail", "SmtpServer"]


@dataclass
class ReceivedMail:
    """One accepted message, exactly as the client sent it (after SMTP dot-unstuffing)."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _local_part(address: str) -> str:
    return address.rpartition("@")[0] or address


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        owner = self._server
        with owner._lock:
            if owner.fail_next > 0:
                owner.fail_next -= 1
                return "451 4.3.0 Temporary failure (SmtpServer.fail_next)"
        raw = envelope.original_content or envelope.content or b""
        assert isinstance(raw, bytes), "decode_data=False keeps bytes"
        mail = ReceivedMail(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            data=bytes(raw),
        )
        if owner.lmtp is not None:
            loop = asyncio.get_running_loop()
            try:
                # smtplib blocks; keep the SMTP event loop serving other sessions meanwhile.
                await loop.run_in_executor(None, owner._deliver_lmtp, mail)
            except (OSError, smtplib.SMTPException) as exc:
                return f"451 4.3.0 LMTP delivery failed: {exc}"
        with owner._lock:
            owner.received.append(mail)
        return "250 2.0.0 OK queued"


class SmtpServer:
    """aiosmtpd on 127.0.0.1: STARTTLS, AUTH PLAIN/LOGIN against ``users``, raw bytes kept.

    With ``lmtp=(host, port)`` every accepted message is also delivered over LMTP, one
    transaction per recipient, to the recipient's local part (the Dovecot user name).
    """

    host: str = "127.0.0.1"

    def __init__(
        self,
        *,
        tls_cert: Path,
        tls_key: Path,
        users: dict[str, str],
        lmtp: tuple[str, int] | None = None,
        require_starttls: bool = True,
    ) -> None:
        self.tls_cert = Path(tls_cert)
        self.tls_key = Path(tls_key)
        self.users = dict(users)
        self.lmtp = lmtp
        self.require_starttls = require_starttls
        self.port = 0
        self.received: list[ReceivedMail] = []
        self.fail_next = 0
        self.logins = 0  # successful AUTHs: how many connections a client opened to send
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def _authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            expected = self.users.get(auth_data.login.decode("utf-8", "replace"))
            if expected is not None and hmac.compare_digest(
                expected.encode("utf-8"), auth_data.password
            ):
                with self._lock:
                    self.logins += 1
                return AuthResult(success=True)
        # handled=False makes aiosmtpd answer 535; the default handled=True answers nothing and
        # the client hangs until its timeout.
        return AuthResult(success=False, handled=False)

    def _deliver_lmtp(self, mail: ReceivedMail) -> None:
        assert self.lmtp is not None
        host, port = self.lmtp
        with smtplib.LMTP(host, port, timeout=30) as lmtp:
            lmtp.ehlo("mailtriage-test-smtp")
            options = []
            if not mail.data.isascii() and lmtp.has_extn("8bitmime"):
                options.append("BODY=8BITMIME")
            for rcpt in mail.rcpt_tos:
                # One recipient per transaction: LMTP answers DATA once per recipient and
                # smtplib reads only one reply.
                lmtp.sendmail(mail.mail_from, [_local_part(rcpt)], mail.data, mail_options=options)

    def start(self) -> None:
        if self._controller is not None:
            raise RuntimeError("SMTP server already running")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.tls_cert, self.tls_key)
        self.port = _free_port(self.host)
        controller = Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            # Without it aiosmtpd calls socket.getfqdn(), which can stall on DNS.
            server_hostname="localhost",
            tls_context=context,
            require_starttls=self.require_starttls,
            authenticator=self._authenticate,
            auth_required=True,
            auth_require_tls=True,
            decode_data=False,
            enable_SMTPUTF8=True,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SmtpServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
