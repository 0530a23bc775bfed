"""Open an authenticated IMAP connection, mapping every failure to one actionable line."""

from __future__ import annotations

import ssl

import imapclient
from imapclient.exceptions import LoginError

from mailtriage.config import ServerConfig
from mailtriage.errors import AuthError, NetworkError, TlsError


def tls_context(server: ServerConfig) -> ssl.SSLContext:
    """Verified TLS always; ca_file adds a private CA instead of turning checks off."""
    context = ssl.create_default_context()
    if server.ca_file:
        context.load_verify_locations(cafile=str(server.ca_file))
    return context


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
                client.starttls(tls_context(server))
    except ssl.SSLCertVerificationError as exc:
        raise TlsError(
            f"IMAP {where}: certificate not trusted ({exc.verify_message}); if the server uses a"
            f" private CA, set {server.key_prefix}.ca_file"
        ) from exc
    except ssl.SSLError as exc:
        raise TlsError(f"IMAP {where}: TLS handshake failed ({exc.reason or exc})") from exc
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
