"""Passwords never leave: run the product the ways a user does (success, refused logins,
refused and failed sends, a crash) against real Dovecot and aiosmtpd, then grep every byte it
printed, logged or stored for the passwords. Also: the keyring source and its failures."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.console import Console
from rich.traceback import Traceback

from mailtriage import passwords
from mailtriage.config import ConfigError, load_config
from mailtriage.devservers.pki import TestPKI
from mailtriage.devservers.smtp import SmtpServer
from mailtriage.files import private_log_handler
from security.helpers import files_containing, run_cli
from support.configs import write_config
from support.mailfactory import make_message

SMTP_SECRET = "smtp-Pw-9d41c7e2"
WRONG_IMAP = "wrong-imap-Pw-5be0"
WRONG_SMTP = "wrong-smtp-Pw-77aa"


def _smtp_table(port: int, ca: Path, secret: str) -> str:
    return f"""
[accounts.support.smtp]
host = "127.0.0.1"
port = {port}
security = "starttls"
username = "agent"
password_command = "printf %s '{secret}'"
ca_file = "{ca}"
timeout = 5
"""


@pytest.fixture
def smtp_secret_server(pki: TestPKI) -> Iterator[SmtpServer]:
    with SmtpServer(tls_cert=pki.cert, tls_key=pki.key, users={"agent": SMTP_SECRET}) as server:
        yield server


def test_no_password_in_any_output_log_or_file(
    tmp_path: Path, imap_account, smtp_secret_server: SmtpServer, pki: TestPKI
) -> None:  # type: ignore[no-untyped-def]
    imap_secret = imap_account.password
    for n in (1, 2):
        imap_account.append(
            "INBOX",
            make_message(
                message_id=f"<leak{n}@example.jp>",
                subject=f"Case {n}",
                sender=("Taro", f"taro{n}@example.jp"),
            ),
        )
    good = write_config(tmp_path, imap_account)
    base = good.read_text()
    good.write_text(base + _smtp_table(smtp_secret_server.port, pki.ca_cert, SMTP_SECRET))
    outputs: list[str] = []

    def run(*argv: str, config: Path = good, env: dict[str, str] | None = None) -> int:
        done = run_cli("--config", str(config), *argv, env=env)
        outputs.extend([done.stdout, done.stderr])
        return done.returncode

    assert run("sync", "--json") == 0
    assert run("ls", "--json", "--view", "all") == 0
    ids = {c["subject"]: c["id"] for c in json.loads(outputs[-2])}
    first, second = ids["Case 1"], ids["Case 2"]
    assert run("show", "--json", first) == 0
    assert run("search", "--json", "Case") == 0
    assert run("claim", "--json", first) == 0
    assert run("note", first, "called", "the", "customer") == 0
    assert run("reply", first, "-t", "ja/acknowledge", "--send", "--json") == 0
    assert len(smtp_secret_server.received) == 1

    # A refused SMTP login: the reply stays in the outbox, nothing is sent.
    bad_smtp = tmp_path / "bad-smtp.toml"
    bad_smtp.write_text(base + _smtp_table(smtp_secret_server.port, pki.ca_cert, WRONG_SMTP))
    assert run("reply", second, "-t", "ja/acknowledge", "--send", "--json", config=bad_smtp) == 6
    # The SMTP server gone: a network failure, queued for retry.
    down = tmp_path / "down.toml"
    down.write_text(base + _smtp_table(1, pki.ca_cert, SMTP_SECRET))
    assert run("outbox", "--retry", "--json", config=down) == 5
    assert run("outbox", "--json", "--all") == 0

    # A refused IMAP login.
    bad_imap = tmp_path / "bad-imap.toml"
    bad_imap.write_text(base.replace(imap_secret, WRONG_IMAP))
    assert run("sync", "--json", config=bad_imap) == 3
    assert run("claim", second, config=bad_imap) == 3

    # A crash: a library that quotes the password in its own exception message.
    crash = (
        "import imapclient, sys\n"
        "def login(self, user, password):\n"
        "    raise RuntimeError(f'server rejected {user}/{password}')\n"
        "imapclient.IMAPClient.login = login\n"
        "from mailtriage.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", crash, "--config", str(good), "sync"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    outputs += [done.stdout, done.stderr]
    assert done.returncode == 1 and "Traceback" in done.stderr
    assert f"server rejected {imap_account.username}/********" in done.stderr

    state = Path(os.environ["XDG_STATE_HOME"])
    stored = [tmp_path / "cache", state]
    assert any(p.suffix == ".sqlite3" for p in (tmp_path / "cache").iterdir())
    assert any(p.name.endswith(".outbox.sqlite3") for p in (state / "mailtriage").iterdir())
    for secret in (imap_secret, SMTP_SECRET, WRONG_IMAP, WRONG_SMTP):
        leaked = [text for text in outputs if secret in text]
        assert leaked == [], f"{secret} printed"
        # The config files hold the commands (with the literal secret, as a test shortcut);
        # everything the product itself wrote must not.
        assert files_containing(secret, stored) == []
    joined = "\n".join(outputs)
    assert "login as 'agent' refused" in joined and "Connect call failed" in joined


def test_log_records_are_scrubbed(tmp_path: Path) -> None:
    secret = passwords.remember("log-Pw-30f1b8")
    log_file = tmp_path / "state" / "mailtriage.log"
    handler = private_log_handler(log_file)
    logger = logging.getLogger("mailtriage.test-secrets")
    logger.addHandler(handler)
    try:
        logger.error("login with %s failed", secret)
        logger.warning(f"raw f-string {secret}")
        try:
            raise ValueError(f"bad password {secret}")
        except ValueError:
            logger.exception("worker failed")
    finally:
        logger.removeHandler(handler)
        handler.close()
    text = log_file.read_text()
    assert "log-Pw-30f1b8" not in text
    assert text.count(passwords.MASK) == 3 and "ValueError: bad password ********" in text


def test_crash_screen_locals_never_show_a_password(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    """Textual's crash report is a Rich traceback with show_locals=True: every local of every
    frame is printed by its repr. A resolved password must show masked there."""
    path = write_config(tmp_path, imap_account)
    # The password in a file of its own, as `pass` would keep it: not in the config's text.
    secret_file = tmp_path / "imap.pw"
    secret_file.write_text(imap_account.password)
    path.write_text(
        path.read_text().replace(f"printf %s '{imap_account.password}'", f"cat {secret_file}")
    )
    config = load_config(path)

    def frame_holding_the_password() -> None:
        password = config.accounts["support"].imap.resolve_password()
        long_one = passwords.remember("L" * 120 + "-tail")  # longer than Rich's cut-off
        raise RuntimeError(f"crashed after {len(password) + len(long_one)} characters")

    # It is the real password (checked here: the frame below must not see the fixture).
    assert config.accounts["support"].imap.resolve_password() == imap_account.password
    text = _crash_report(frame_holding_the_password)
    assert "password = '********'" in text
    assert imap_account.password not in text and "LLLLLLLLLL" not in text


def _crash_report(crashing: Callable[[], None]) -> str:
    """What Textual prints for a crash: a Rich traceback with locals (no test fixture in
    the frames, so only the product's own values can show)."""
    try:
        crashing()
    except RuntimeError as exc:
        out = io.StringIO()
        Console(file=out, width=200).print(
            Traceback.from_exception(type(exc), exc, exc.__traceback__, show_locals=True)
        )
        return out.getvalue()
    raise AssertionError("did not crash")


def test_password_command_failures_are_precise_and_quiet(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    path = write_config(tmp_path, imap_account)
    text = path.read_text()
    # A failing helper that prints the secret on stderr and stdout before failing.
    failing = text.replace(
        f"printf %s '{imap_account.password}'",
        f"echo {imap_account.password}; echo {imap_account.password} >&2; exit 3",
    )
    path.write_text(failing)
    done = run_cli("--config", str(path), "sync")
    assert done.returncode == 2
    assert done.stderr.strip().endswith(
        "accounts.support.imap.password_command: exited with status 3 (fix: run the command by"
        " hand and check it prints the password)"
    )
    assert imap_account.password not in done.stderr + done.stdout
    # A helper waiting for input on stdin gets EOF instead of hanging the app.
    path.write_text(text.replace(f"printf %s '{imap_account.password}'", "read x; echo $x"))
    done = run_cli("--config", str(path), "sync")
    assert done.returncode == 2 and "printed nothing" in done.stderr


def _keyring_env(tmp_path: Path, backend: str) -> dict[str, str]:
    tests_dir = str(Path(__file__).resolve().parents[1])
    return {
        "PYTHON_KEYRING_BACKEND": backend,
        "MEMKEYRING_FILE": str(tmp_path / "keyring.json"),
        "PYTHONPATH": os.pathsep.join([tests_dir, os.environ.get("PYTHONPATH", "")]),
    }


def test_keyring_source_and_its_failures(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("keyring")
    path = write_config(tmp_path, imap_account)
    path.write_text(
        path.read_text().replace(
            f"password_command = \"printf %s '{imap_account.password}'\"",
            "password_keyring = true",
        )
    )
    env = _keyring_env(tmp_path, "security.memkeyring.FileKeyring")
    done = run_cli("--config", str(path), "sync", "-q", env=env)
    assert done.returncode == 2
    assert (
        "accounts.support.imap.password_keyring: no password stored for service 'mailtriage',"
        f" user '{imap_account.username}' (fix: store it with: keyring set mailtriage"
        f" {imap_account.username})" in done.stderr
    )
    (tmp_path / "keyring.json").write_text(
        json.dumps({f"mailtriage\0{imap_account.username}": imap_account.password})
    )
    done = run_cli("--config", str(path), "sync", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["ok"] is True
    assert imap_account.password not in done.stdout + done.stderr

    # No usable backend at all (a headless server): a clear way out, not a traceback.
    done = run_cli(
        "--config", str(path), "sync", env=_keyring_env(tmp_path, "keyring.backends.fail.Keyring")
    )
    assert done.returncode == 2
    assert "no system keyring is available" in done.stderr and "password_command" in done.stderr
    assert "Traceback" not in done.stderr


def test_keyring_package_missing_is_explained(
    tmp_path: Path, imap_account, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    path = write_config(tmp_path, imap_account)
    path.write_text(
        path.read_text().replace(
            f"password_command = \"printf %s '{imap_account.password}'\"",
            'password_keyring = "team-mail"',
        )
    )
    config = load_config(path)
    monkeypatch.setitem(sys.modules, "keyring", None)  # import keyring -> ImportError
    with pytest.raises(ConfigError) as caught:
        config.accounts["support"].imap.resolve_password()
    assert str(caught.value) == (
        "configuration: accounts.support.imap.password_keyring: the Python package 'keyring' is"
        " not installed (fix: pip install keyring (into mailtriage's environment), or use"
        " password_command)"
    )


def test_only_one_password_source(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    path = write_config(tmp_path, imap_account)
    path.write_text(path.read_text().replace("timeout = 5", "timeout = 5\npassword_keyring = true"))
    with pytest.raises(ConfigError, match="both password_command and password_keyring are set"):
        load_config(path)


def test_child_processes_get_no_password_in_argv_or_env(
    tmp_path: Path, imap_account, smtp_secret_server: SmtpServer, pki: TestPKI
) -> None:  # type: ignore[no-untyped-def]
    """Each password_command sees only its own command line and the user's environment:
    no password resolved earlier (IMAP before SMTP) is passed on to the next child."""
    imap_account.append("INBOX", make_message(message_id="<child1@example.jp>"))
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    helper = tmp_path / "pw.sh"
    # Records argv and environment, then prints the password kept in the file named by $1.
    helper.write_text(
        '#!/bin/sh\n{ echo "argv: $0 $*"; env; } > "$(mktemp ' + f"{dumps}" + '/dump.XXXXXX)"\n'
        'cat "$1"\n'
    )
    helper.chmod(0o700)
    (tmp_path / "imap.pw").write_text(imap_account.password)
    (tmp_path / "smtp.pw").write_text(SMTP_SECRET)
    path = write_config(tmp_path, imap_account)
    text = path.read_text().replace(
        f"printf %s '{imap_account.password}'", f"{helper} {tmp_path / 'imap.pw'}"
    )
    smtp = _smtp_table(smtp_secret_server.port, pki.ca_cert, SMTP_SECRET).replace(
        f"printf %s '{SMTP_SECRET}'", f"{helper} {tmp_path / 'smtp.pw'}"
    )
    path.write_text(text + smtp)
    assert run_cli("--config", str(path), "sync", "-q").returncode == 0
    (cid,) = [c["id"] for c in json.loads(run_cli("--config", str(path), "ls", "--json").stdout)]
    done = run_cli("--config", str(path), "reply", cid, "-t", "ja/acknowledge", "--send")
    assert done.returncode == 0, done.stderr
    assert len(smtp_secret_server.received) == 1
    recorded = [p.read_text() for p in dumps.iterdir()]
    assert len(recorded) >= 3  # sync's IMAP, reply's IMAP and SMTP lookups at least
    assert any("smtp.pw" in r for r in recorded) and any("imap.pw" in r for r in recorded)
    for secret in (imap_account.password, SMTP_SECRET):
        assert [r for r in recorded if secret in r] == []
