"""SMTP submission with aiosmtplib, reporting how far it got.

The stage callback runs before DATA, so the outbox records "the server may now have it"
before that becomes true: after a crash, an attempt that never reached DATA is safe to
repeat, and only one that did needs the Sent check.

An SmtpSession keeps one authenticated connection for consecutive messages (a notice run
sends hundreds; connect + STARTTLS + AUTH cost ~30 ms each). Any failure closes it, so the
next message starts on a fresh connection; a connection the server dropped while it sat idle
(found out before DATA, so the server cannot have the message) is replaced at once.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiosmtplib

from mailtriage.config import ServerConfig
from mailtriage.tls import describe_tls_failure, starttls_missing, tls_context

# A connection idle longer than this is replaced rather than tried (servers drop idle
# clients after a few minutes; Postfix's smtpd_timeout is 300 s).
IDLE_SECONDS = 60.0


class SubmitError(Exception):
    """permanent: the server refused (5xx, bad login, TLS): retrying unchanged will not help.
    certain: the server surely did not accept the message (False only after DATA was sent
    and no answer came back). dropped: the connection was gone before DATA."""

    def __init__(
        self, message: str, *, permanent: bool, certain: bool = True, dropped: bool = False
    ):
        super().__init__(message)
        self.permanent, self.certain, self.dropped = permanent, certain, dropped


class SmtpSession:
    """One connection, logged in once, for messages sent one after another (not shared
    between tasks: the outbox sends under its lock)."""

    def __init__(self, server: ServerConfig, password: str):
        self.server = server
        self.password = password
        self.logins = 0  # how many connections this session opened (for tests and benches)
        self._client: aiosmtplib.SMTP | None = None
        self._used = 0.0

    async def send(
        self,
        mail_from: str,
        recipients: list[str],
        raw: bytes,
        on_stage: Callable[[str], Awaitable[None]],
    ) -> str:
        """Send raw to recipients; returns the server's answer to DATA."""
        if self._client is not None and time.monotonic() - self._used > IDLE_SECONDS:
            await self.close()
        # A kept connection may have died meanwhile: found out before DATA, the server
        # cannot have the message, so one fresh connection tries again at once.
        retry = self._client is not None
        while True:
            try:
                answer = await self._transaction(mail_from, recipients, raw, on_stage)
            except SubmitError as exc:
                await self.close()
                if not (retry and exc.dropped):
                    raise
                retry = False
                continue
            self._used = time.monotonic()
            return answer

    async def _transaction(
        self, mail_from: str, recipients: list[str], raw: bytes, on_stage: Any
    ) -> str:
        server = self.server
        where = f"SMTP {server.host}:{server.port}"
        stage = "connect"
        try:
            await on_stage("connect")
            client = self._client or await self._connect(where)
            stage = "mail"
            await client.mail(mail_from)
            for rcpt in recipients:
                await client.rcpt(rcpt)
            stage = "data"
            await on_stage("data")
            response = await client.data(raw)
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise SubmitError(
                f"{where}: login as {server.username!r} refused ({exc.code}); check"
                f" {server.key_prefix}.username and the password",
                permanent=True,
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise SubmitError(
                f"{where}: {exc.code} {exc.message}",
                permanent=exc.code >= 500,
                # 421: the server is closing the connection (an idle timeout, say)
                dropped=stage == "mail" and exc.code == 421,
            ) from exc
        except (ssl.SSLError, aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            tls_problem = describe_tls_failure(exc, where, server)
            if tls_problem is not None:
                raise SubmitError(tls_problem, permanent=True) from exc
            raise SubmitError(
                f"{where}: {type(exc).__name__}: {exc}",
                permanent=False,
                certain=stage != "data",
                dropped=stage == "mail"
                and isinstance(exc, aiosmtplib.SMTPServerDisconnected | ConnectionError),
            ) from exc
        return f"{response.code} {response.message}"

    async def _connect(self, where: str) -> aiosmtplib.SMTP:
        server = self.server
        client = aiosmtplib.SMTP(
            hostname=server.host,
            port=server.port,
            use_tls=server.security == "tls",
            # STARTTLS by hand below: refusing a server that does not offer it is ours to say.
            start_tls=False,
            tls_context=tls_context(server) if server.security != "insecure-plaintext" else None,
            timeout=server.timeout,
        )
        self._client = client  # closed by close() whatever happens next
        await client.connect()
        if server.security == "starttls":
            await _starttls(client, server, where)
        await client.login(server.username, self.password)
        self.logins += 1
        return client

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()


async def submit(
    server: ServerConfig,
    password: str,
    mail_from: str,
    recipients: list[str],
    raw: bytes,
    on_stage: Callable[[str], Awaitable[None]],
) -> str:
    """One message on a connection of its own; returns the server's answer to DATA."""
    session = SmtpSession(server, password)
    try:
        return await session.send(mail_from, recipients, raw, on_stage)
    finally:
        await session.close()


async def _starttls(client: aiosmtplib.SMTP, server: ServerConfig, where: str) -> None:
    """Upgrade or refuse: a server (or an attacker on the path) that does not offer STARTTLS
    never gets the password in the clear."""
    await client.ehlo()
    if not client.supports_extension("starttls"):
        raise SubmitError(starttls_missing(where, server), permanent=True)
    await client.starttls()
