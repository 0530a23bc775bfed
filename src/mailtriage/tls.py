"""TLS for IMAP and SMTP alike: one verifying context, one wording for every failure."""

from __future__ import annotations

import os
import re
import ssl

from mailtriage.config import ServerConfig

# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH.
_NAME_MISMATCH = {62, 64}
_HASHED = re.compile(r"^[0-9a-f]{8}\.\d+$")
# What OpenSSL says when the other end answers in clear text (a plaintext or STARTTLS port).
_NOT_TLS = {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"}


def tls_context(server: ServerConfig) -> ssl.SSLContext:
    """Verified TLS 1.2 or newer, always; ca_file adds a private CA instead of turning checks
    off. There is deliberately no switch to skip verification."""
    # What ssl.create_default_context() makes (hostname check, CERT_REQUIRED), with the
    # system's roots from its hashed directory when it has one: read one certificate when
    # needed, where parsing the whole bundle cost 40-90 ms of every command's start.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    paths = ssl.get_default_verify_paths()
    bundle = os.environ.get(paths.openssl_cafile_env)
    # A bundle named by SSL_CERT_FILE elsewhere than the hashed directory may hold other
    # roots: then it is read (Debian's ca-certificates.crt sits in, and mirrors, the dir).
    same_store = bundle is None or os.path.dirname(bundle) == paths.capath
    if paths.capath and same_store and _hashed_dir(paths.capath):
        context.load_verify_locations(capath=paths.capath)
    else:
        context.load_default_certs()
    if server.ca_file:
        context.load_verify_locations(cafile=str(server.ca_file))
    return context


def _hashed_dir(path: str) -> bool:
    """Whether OpenSSL can look roots up in path (c_rehash links such as 002c0b4f.0)."""
    try:
        with os.scandir(path) as entries:
            return any(_HASHED.match(entry.name) for entry in entries)
    except OSError:
        return False


def describe_tls_failure(exc: BaseException, where: str, server: ServerConfig) -> str | None:
    """One line for a TLS failure found in exc or its causes, or None when it is not one."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 5:
        if isinstance(current, ssl.SSLCertVerificationError):
            reason = current.verify_message or current.reason or "verification failed"
            if current.verify_code in _NAME_MISMATCH:
                return (
                    f"{where}: certificate is for another host ({reason}); check"
                    f" {server.key_prefix}.host is the name on the server's certificate"
                )
            return (
                f"{where}: certificate not trusted ({reason}); if the server uses a private CA,"
                f" set {server.key_prefix}.ca_file"
            )
        if isinstance(current, ssl.SSLError):
            if current.reason in _NOT_TLS:
                return (
                    f"{where}: TLS handshake failed ({current.reason}): the server did not"
                    " answer in TLS; is this its STARTTLS or plaintext port? check"
                    f" {server.key_prefix}.port and .security"
                )
            return f"{where}: TLS handshake failed ({current.reason or current})"
        current = current.__cause__ or current.__context__
        seen += 1
    return None


def starttls_missing(where: str, server: ServerConfig) -> str:
    """The server (or something between us and it) did not offer STARTTLS."""
    return (
        f"{where}: the server does not offer STARTTLS, so the connection would not be"
        " encrypted; refusing to send the password (an attacker on the path can strip"
        f' STARTTLS; if the server really has none, use security = "tls" on its TLS port in'
        f" {server.key_prefix})"
    )
