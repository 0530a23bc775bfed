"""SMTP submission with aiosmtplib, reporting how far it got.

The stage callback runs before DATA, so the outbox records "the server may now have it"
before that becomes true: after a crash, an attempt that never reached DATA is safe to
repeat, and only one that did needs the Sent check.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable

import aiosmtplib

from mailtriage.config import ServerConfig
from mailtriage.tls import describe_tls_failure, starttls_missing, tls_context


class SubmitError(Exception):
    """permanent: the server refused (5xx, bad login, TLS): retrying unchanged will not help.
    certain: the server surely did not accept the message (False only after DATA was sent
    and no answer came back)."""

    def __init__(self, message: str, *, permanent: bool, certain: bool = True):
        super().__init__(message)
        self.permanent, self.certain = permanent, certain


async def submit(
    server: ServerConfig,
    password: str,
    mail_from: str,
    recipients: list[str],
    raw: bytes,
    on_stage: Callable[[str], Awaitable[None]],
) -> str:
    """Send raw to recipients; returns the server's answer to DATA."""
    where = f"SMTP {server.host}:{server.port}"
    client = aiosmtplib.SMTP(
        hostname=server.host,
        port=server.port,
        use_tls=server.security == "tls",
        # STARTTLS by hand below: refusing a server that does not offer it is ours to say.
        start_tls=False,
        tls_context=tls_context(server) if server.security != "insecure-plaintext" else None,
        timeout=server.timeout,
    )
    stage = "connect"
    try:
        await on_stage("connect")
        await client.connect()
        if server.security == "starttls":
            await _starttls(client, server, where)
        await client.login(server.username, password)
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
        raise SubmitError(f"{where}: {exc.code} {exc.message}", permanent=exc.code >= 500) from exc
    except (ssl.SSLError, aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        tls_problem = describe_tls_failure(exc, where, server)
        if tls_problem is not None:
            raise SubmitError(tls_problem, permanent=True) from exc
        raise SubmitError(
            f"{where}: {type(exc).__name__}: {exc}", permanent=False, certain=stage != "data"
        ) from exc
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()
    return f"{response.code} {response.message}"


async def _starttls(client: aiosmtplib.SMTP, server: ServerConfig, where: str) -> None:
    """Upgrade or refuse: a server (or an attacker on the path) that does not offer STARTTLS
    never gets the password in the clear."""
    await client.ehlo()
    if not client.supports_extension("starttls"):
        raise SubmitError(starttls_missing(where, server), permanent=True)
    await client.starttls()
