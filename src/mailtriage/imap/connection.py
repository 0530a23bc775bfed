"""Open an authenticated IMAP connection, mapping every failure to one actionable line."""

from __future__ import annotations

import ssl

import imapclient
from imapclient.exceptions import CapabilityError, LoginError

from mailtriage.config import ServerConfig
from mailtriage.errors import AuthError, NetworkError, TlsError
from mailtriage.tls import describe_tls_failure, starttls_missing, tls_context

__all__ = ["connect", "tls_context"]


def connect(server: ServerConfig, password: str) -> imapclient.IMAPClient:
    where = f"{server.host}:{server.port}"
    try:
        if server.security == "tls":
            client = imapclient.IMAPClient(
                server.host,
                server.port,
                ssl=True,
                ssl_context=tls_context(server),
                timeout=server.timeout,
            )
        else:
            client = imapclient.IMAPClient(
                server.host, server.port, ssl=False, timeout=server.timeout
            )
            if server.security == "starttls":
                _starttls(client, server, where)
    except ssl.SSLError as exc:
        raise TlsError(
            describe_tls_failure(exc, f"IMAP {where}", server) or f"IMAP {where}: TLS failed"
        ) from exc
    except imapclient.exceptions.IMAPClientError as exc:
        raise NetworkError(f"IMAP {where}: {exc}") from exc
    except TimeoutError as exc:
        raise NetworkError(f"IMAP {where}: timed out after {server.timeout:g} s") from exc
    except ConnectionRefusedError as exc:
        raise NetworkError(f"IMAP {where}: connection refused (is the server running?)") from exc
    except OSError as exc:
        raise NetworkError(f"IMAP {where}: {exc.strerror or exc}") from exc
    # IMAPClient's own timestamps: keep the server's offsets instead of local naive times.
    client.normalise_times = False
    try:
        client.login(server.username, password)
    except LoginError as exc:
        client.shutdown()
        raise AuthError(
            f"IMAP {where}: login as {server.username!r} refused; check"
            f" {server.key_prefix}.username and the password"
        ) from exc
    except (OSError, imapclient.exceptions.IMAPClientError) as exc:
        raise NetworkError(f"IMAP {where}: connection lost during login ({exc})") from exc
    return client


def _starttls(client: imapclient.IMAPClient, server: ServerConfig, where: str) -> None:
    """Upgrade or refuse: never log in over the plain connection (STARTTLS stripping)."""
    try:
        client.starttls(tls_context(server))
    except CapabilityError as exc:
        client.shutdown()
        raise TlsError(starttls_missing(f"IMAP {where}", server)) from exc
    except imapclient.exceptions.IMAPClientError as exc:
        client.shutdown()
        raise TlsError(f"IMAP {where}: STARTTLS refused by the server ({exc})") from exc
