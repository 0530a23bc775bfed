"""TLS attacks against the real product: untrusted and mismatched certificates, STARTTLS
stripped by a man in the middle, a server stuck at TLS 1.1, and plaintext only on request.

Real Dovecot (a second instance with a wrong-name certificate) and a real aiosmtpd."""

from __future__ import annotations

import dataclasses
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailtriage.config import ServerConfig, load_config, parse_config
from mailtriage.devservers.dovecot import DovecotServer
from mailtriage.devservers.pki import TestPKI, make_test_pki
from mailtriage.devservers.smtp import SmtpServer
from mailtriage.errors import TlsError
from mailtriage.imap.connection import connect
from mailtriage.smtp.submit import SubmitError, submit
from mailtriage.tls import tls_context
from security.helpers import StrippingProxy, run_cli
from support.configs import write_config

SMTP_USER, SMTP_PASSWORD = "agent", "agentpw-Secret-77"


@pytest.fixture(scope="module")
def wrong_name_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return make_test_pki(tmp_path_factory.mktemp("wrongpki"), san="DNS:mail.example.net")


@pytest.fixture(scope="module")
def wrong_name_dovecot(wrong_name_pki: TestPKI) -> Iterator[DovecotServer]:
    """Dovecot whose certificate (signed by a CA we trust) names another host."""
    server = DovecotServer(
        extra_config=f"ssl_cert = <{wrong_name_pki.cert}\nssl_key = <{wrong_name_pki.key}\n"
    )
    server.start()
    yield server
    server.stop()


def _server(**kw: object) -> ServerConfig:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": 1,
        "security": "tls",
        "username": "u",
        "timeout": 5.0,
        "key_prefix": "accounts.support.imap",
    }
    values.update(kw)
    return ServerConfig(**values)  # type: ignore[arg-type]


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def test_context_verifies_and_refuses_below_tls12() -> None:
    context = tls_context(_server())
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize("bundle", ["unset", "in the directory", "elsewhere"])
def test_system_roots_come_from_the_hashed_directory(
    tmp_path: Path, imap_account, monkeypatch: pytest.MonkeyPatch, bundle: str
) -> None:  # type: ignore[no-untyped-def]
    """The system's roots are looked up in its hashed directory (parsing the whole bundle
    cost 40-90 ms of every start), unless SSL_CERT_FILE names a bundle kept elsewhere,
    which is then read: a root only there is still trusted."""
    import subprocess

    ca = imap_account.ca_file.read_bytes()
    roots = tmp_path / "certs"
    roots.mkdir()
    (roots / "00000000.0").write_text("")  # a hashed directory, without our CA yet
    monkeypatch.setenv("SSL_CERT_DIR", str(roots))
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    if bundle == "elsewhere":
        other = tmp_path / "other"
        other.mkdir()
        (other / "bundle.pem").write_bytes(ca)
        monkeypatch.setenv("SSL_CERT_FILE", str(other / "bundle.pem"))
    else:
        name = subprocess.run(
            ["openssl", "x509", "-hash", "-noout", "-in", str(imap_account.ca_file)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        (roots / f"{name}.0").write_bytes(ca)
        if bundle == "in the directory":
            (roots / "ca-certificates.crt").write_text("")
            monkeypatch.setenv("SSL_CERT_FILE", str(roots / "ca-certificates.crt"))
    server = _server(port=imap_account.tls_port, ca_file=None, username=imap_account.username)
    client = connect(server, imap_account.password)  # verified against the system roots
    client.logout()
    parsed = tls_context(server).cert_store_stats()["x509"]
    assert parsed == (1 if bundle == "elsewhere" else 0)


def test_imap_untrusted_certificate_is_one_precise_line(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    # No ca_file: Dovecot's certificate comes from a private CA the system does not trust.
    config = write_config(tmp_path, imap_account, ca_file=None)
    done = run_cli("--config", str(config), "sync", "-q")
    assert done.returncode == 4, done.stderr
    line = _one_line(done.stderr)
    assert "certificate not trusted (unable to get local issuer certificate)" in line
    assert "accounts.support.imap.ca_file" in line


def test_imap_certificate_for_another_host(
    tmp_path: Path, wrong_name_dovecot: DovecotServer, wrong_name_pki: TestPKI
) -> None:
    wrong_name_dovecot.add_user("mallory", "pw-mallory-1")
    server = _server(port=wrong_name_dovecot.imaps_port, ca_file=wrong_name_pki.ca_cert)
    with pytest.raises(TlsError) as caught:
        connect(server, "pw-mallory-1")
    message = str(caught.value)
    assert message.startswith(f"IMAP 127.0.0.1:{wrong_name_dovecot.imaps_port}: certificate is")
    assert "for another host" in message and "IP address mismatch" in message
    assert "accounts.support.imap.host" in message and "\n" not in message
    # STARTTLS on the plain port meets the same certificate and the same refusal.
    with pytest.raises(TlsError, match="for another host"):
        connect(
            dataclasses.replace(server, port=wrong_name_dovecot.imap_port, security="starttls"), "x"
        )
    # Control: the same server is fine once the name matches (the CA is trusted).
    context = ssl.create_default_context(cafile=str(wrong_name_pki.ca_cert))
    context.check_hostname = False
    port = wrong_name_dovecot.imaps_port
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw) as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_imap_starttls_upgrades_against_dovecot(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, imap_account, security="starttls")
    done = run_cli("--config", str(config), "sync", "-q")
    assert done.returncode == 0, done.stderr


def test_imap_starttls_stripping_is_refused_before_login(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    proxy = StrippingProxy((imap_account.host, imap_account.port))
    try:
        config = write_config(tmp_path, imap_account, security="starttls", port=proxy.port)
        done = run_cli("--config", str(config), "sync", "-q")
    finally:
        proxy.close()
    assert done.returncode == 4, done.stderr
    line = _one_line(done.stderr)
    assert "does not offer STARTTLS" in line and "refusing to send the password" in line
    # Not downgraded: neither the password nor a LOGIN/AUTHENTICATE ever crossed the wire.
    sent = bytes(proxy.from_client)
    assert imap_account.password.encode() not in sent
    assert b"LOGIN" not in sent.upper() and b"AUTHENTICATE" not in sent.upper()


@pytest.fixture
def smtp_stripped(pki: TestPKI) -> Iterator[tuple[SmtpServer, StrippingProxy]]:
    with SmtpServer(tls_cert=pki.cert, tls_key=pki.key, users={SMTP_USER: SMTP_PASSWORD}) as real:
        proxy = StrippingProxy((real.host, real.port))
        try:
            yield real, proxy
        finally:
            proxy.close()


async def _stage(_: str) -> None:
    return None


async def test_smtp_starttls_stripping_is_refused_before_auth(
    smtp_stripped: tuple[SmtpServer, StrippingProxy], pki: TestPKI
) -> None:
    real, proxy = smtp_stripped
    server = _server(
        port=proxy.port, security="starttls", ca_file=pki.ca_cert, key_prefix="accounts.s.smtp",
        username=SMTP_USER,
    )  # fmt: skip
    with pytest.raises(SubmitError) as caught:
        await submit(server, SMTP_PASSWORD, "a@x", ["b@y"], b"Subject: x\r\n\r\nx\r\n", _stage)
    assert caught.value.permanent and caught.value.certain
    assert "does not offer STARTTLS" in str(caught.value)
    sent = bytes(proxy.from_client).upper()
    assert b"AUTH" not in sent and b"MAIL FROM" not in sent
    assert real.received == []
    # Control: straight to the same server, STARTTLS is offered and the mail goes through.
    direct = dataclasses.replace(server, port=real.port)
    answer = await submit(direct, SMTP_PASSWORD, "a@x", ["b@y"], b"Subject: x\r\n\r\nx\r\n", _stage)
    assert answer.startswith("250") and len(real.received) == 1


async def test_smtp_certificate_for_another_host(wrong_name_pki: TestPKI) -> None:
    with SmtpServer(
        tls_cert=wrong_name_pki.cert, tls_key=wrong_name_pki.key, users={SMTP_USER: SMTP_PASSWORD}
    ) as real:
        server = _server(
            port=real.port, security="starttls", ca_file=wrong_name_pki.ca_cert,
            key_prefix="accounts.s.smtp", username=SMTP_USER,
        )  # fmt: skip
        with pytest.raises(SubmitError) as caught:
            await submit(server, SMTP_PASSWORD, "a@x", ["b@y"], b"x\r\n", _stage)
        assert caught.value.permanent
        assert "certificate is for another host" in str(caught.value)
        assert "accounts.s.smtp.host" in str(caught.value)
        assert real.received == []


def _tls11_server(pki: TestPKI) -> tuple[socket.socket, threading.Thread]:
    """A TLS server that speaks at most TLS 1.1 (an old appliance) and greets like IMAP."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    context.load_cert_chain(pki.cert, pki.key)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        for _ in range(2):
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(b"* OK [CAPABILITY IMAP4rev1] old server\r\n")
                    tls.recv(100)
            except (OSError, ssl.SSLError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


def test_tls_below_12_is_refused(pki: TestPKI) -> None:
    listener, _ = _tls11_server(pki)
    port = listener.getsockname()[1]
    try:
        # Control: a client that allows TLS 1.1 does get through, so the server is real.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            lax = ssl.create_default_context(cafile=str(pki.ca_cert))
            lax.minimum_version = ssl.TLSVersion.TLSv1
        lax.set_ciphers("DEFAULT:@SECLEVEL=0")
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            lax.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            assert tls.version() == "TLSv1.1"
        with pytest.raises(TlsError, match=r"^IMAP 127\.0\.0\.1:\d+: TLS handshake failed \("):
            connect(_server(port=port, ca_file=pki.ca_cert), "pw")
    finally:
        listener.close()


def test_insecure_plaintext_warns_on_every_cli_start(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path, imap_account, security="insecure-plaintext", ca_file=None)
    for argv in (["sync", "-q"], ["ls"], ["ls", "--json"]):
        done = run_cli("--config", str(config), *argv)
        assert done.returncode == 0, done.stderr
        assert (
            "mailtriage: warning: accounts.support.imap: security = insecure-plaintext sends"
            " your password unencrypted" in done.stderr
        )
    # The warning is on stderr only: --json output stays parseable.
    assert done.stdout.lstrip().startswith("[")


def test_insecure_plaintext_must_be_spelled_out(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    """Nothing but the literal mode turns TLS off: no default, no alias, no boolean."""
    for value in ('"plain"', '"none"', "false", '"insecure"'):
        path = write_config(tmp_path, imap_account, security="tls")
        path.write_text(
            path.read_text().replace('security = "tls"', f"security = {value}"), encoding="utf-8"
        )
        done = run_cli("--config", str(path), "ls")
        assert done.returncode == 2, value
        assert "accounts.support.imap.security" in done.stderr
    # Without a security key an account uses verified TLS.
    path.write_text(path.read_text().replace(f"security = {value}\n", ""), encoding="utf-8")
    assert load_config(path).accounts["support"].imap.security == "tls"


async def test_insecure_plaintext_warns_on_every_app_start(tui_config) -> None:  # type: ignore[no-untyped-def]
    from mailtriage.tui.app import make_app

    plain = parse_config(
        {
            "agent": {"name": "alice"},
            "accounts": {
                "demo": {
                    "address": "support@example.co.jp",
                    "imap": {"host": "h", "username": "u", "password_command": "echo x",
                             "security": "insecure-plaintext"},
                }
            },
        }
    )  # fmt: skip
    config = dataclasses.replace(tui_config, warnings=plain.warnings)
    app = make_app(config, background_sync=False)
    async with app.run_test() as pilot:
        await pilot.pause()
        shown = [str(n.message) for n in app._notifications]
    assert any("insecure-plaintext sends your password unencrypted" in m for m in shown)
