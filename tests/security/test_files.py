"""Files on a shared server: cache, WAL sidecars, outbox, log and editor drafts are 0600 in
0700 directories; writable configs are refused; planted symlinks and other users' directories
are not used."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from mailtriage.config import ConfigError, load_config
from mailtriage.files import UnsafePathError, private_temp_file
from mailtriage.mime.attachments import save_attachment
from mailtriage.smtp.outbox import Outbox
from mailtriage.store import Store
from mailtriage.store.outbox import OutboxStore
from security.helpers import run_cli
from support.configs import write_config
from support.mailfactory import make_message


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_cache_and_its_sqlite_sidecars_are_private(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    imap_account.append("INBOX", make_message(message_id="<files1@example.jp>"))
    config = write_config(tmp_path, imap_account)
    done = run_cli("--config", str(config), "sync", "-q")
    assert done.returncode == 0, done.stderr
    cache = load_config(config).accounts["support"].cache_path
    assert _mode(cache.parent) == 0o700 and _mode(cache) == 0o600
    # While a writer has it open, SQLite's -wal and -shm exist: same mode as the cache.
    store = Store(cache)
    try:
        store.conn.execute("INSERT OR REPLACE INTO settings VALUES ('probe', '1')")
        sidecars = [Path(f"{cache}{s}") for s in ("-wal", "-shm")]
        assert all(p.exists() for p in sidecars)
        assert [_mode(p) for p in sidecars] == [0o600, 0o600]
    finally:
        store.close()


def test_lax_modes_left_by_older_versions_are_tightened(tmp_path: Path) -> None:
    cache_dir = tmp_path / "old-cache"
    cache_dir.mkdir(mode=0o755)
    cache_dir.chmod(0o755)
    cache = cache_dir / "support.sqlite3"
    Store(cache).close()
    cache.chmod(0o644)
    Path(f"{cache}-wal").write_bytes(b"")
    Path(f"{cache}-wal").chmod(0o644)
    Store(cache).close()
    assert (_mode(cache_dir), _mode(cache)) == (0o700, 0o600)
    assert not Path(f"{cache}-wal").exists() or _mode(Path(f"{cache}-wal")) == 0o600


def test_outbox_and_log_are_private(tmp_path: Path) -> None:
    from mailtriage.tui.app import setup_logging

    state = Path(os.environ["XDG_STATE_HOME"]) / "mailtriage"
    state.mkdir(mode=0o755)
    state.chmod(0o755)  # as the log directory used to be made
    outbox = OutboxStore(state / "support.outbox.sqlite3")
    outbox.close()
    assert _mode(state / "support.outbox.sqlite3") == 0o600
    assert _mode(state) == 0o700
    log_path = setup_logging()
    try:
        logging.getLogger("mailtriage.test").warning("probe")
        assert log_path.parent == state and _mode(log_path) == 0o600
        assert "probe" in log_path.read_text()
    finally:
        for handler in list(logging.getLogger("mailtriage").handlers):
            if getattr(handler, "baseFilename", None) == str(log_path):
                logging.getLogger("mailtriage").removeHandler(handler)
                handler.close()
    assert Outbox  # the outbox class opens the same OutboxStore (smtp/outbox.py)


def test_saved_attachments_are_private(tmp_path: Path) -> None:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["Subject"] = "x"
    msg.set_content("body")
    msg.add_attachment(b"%PDF secret invoice", maintype="application", subtype="pdf",
                       filename="請求書.pdf")  # fmt: skip
    downloads = tmp_path / "Downloads"
    saved = save_attachment(msg.as_bytes(), 2, "請求書.pdf", downloads)
    assert saved.read_bytes() == b"%PDF secret invoice" and _mode(saved) == 0o600


def test_editor_draft_is_not_in_tmp(tmp_path: Path) -> None:
    drafts = Path(os.environ["XDG_STATE_HOME"]) / "mailtriage" / "edit"
    first = private_temp_file(drafts, "お世話になっております。")
    second = private_temp_file(drafts, "x")
    assert first.parent == drafts and _mode(drafts) == 0o700 and _mode(first) == 0o600
    assert first.name != second.name and len(first.stem) > len("reply-") + 6  # unguessable
    assert first.read_text(encoding="utf-8") == "お世話になっております。"


@pytest.mark.parametrize(("mode", "who"), [(0o620, "its group"), (0o602, "every user")])
def test_writable_config_with_a_password_is_refused(
    tmp_path: Path, imap_account, mode: int, who: str
) -> None:  # type: ignore[no-untyped-def]
    path = write_config(tmp_path, imap_account)
    path.chmod(mode)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (
        f"{path}: is writable by {who} (mode {mode:04o}) and says how to get your password;"
        f" anyone who can edit it can redirect or run commands as you (fix: chmod 600 {path})"
    )
    done = run_cli("--config", str(path), "ls")
    assert done.returncode == 2
    assert done.stderr.strip().endswith(f"(fix: chmod 600 {path})")
    path.chmod(0o600)
    assert load_config(path).accounts["support"].imap.password_command


def test_readable_config_with_plain_password_warns(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    path = write_config(tmp_path, imap_account)
    path.write_text(
        path.read_text().replace(
            f"password_command = \"printf %s '{imap_account.password}'\"",
            f'password = "{imap_account.password}"',
        )
    )
    path.chmod(0o644)
    warnings = load_config(path).warnings
    assert f"{path} holds a password and is readable by others: chmod 600 {path}" in warnings
    assert "accounts.support.imap.password is stored in plain text; prefer password_command" in (
        warnings
    )
    path.chmod(0o600)
    assert not any("readable by others" in w for w in load_config(path).warnings)


def test_cache_in_another_users_directory_is_refused(tmp_path: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to make a directory owned by someone else")
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chown(shared, 65534, 65534)  # nobody: like /tmp or a colleague's directory
    shared.chmod(0o1777)
    with pytest.raises(UnsafePathError, match=r"belongs to another user \(uid 65534\)"):
        Store(shared / "support.sqlite3")
    assert not (shared / "support.sqlite3").exists()


def test_planted_symlink_is_not_followed(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("someone else's file\n")
    (cache_dir / "support.sqlite3").symlink_to(victim)
    with pytest.raises(UnsafePathError, match="is a symlink; remove it"):
        Store(cache_dir / "support.sqlite3")
    assert victim.read_text() == "someone else's file\n"
