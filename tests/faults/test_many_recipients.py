"""A message to 10,000 recipients through the real product: synced from Dovecot, opened in
the app with its headers shown, answered. (The decoder's own test is in test_extremes.py.)

Reply-all to it is refused in one line: a stranger who puts 10,000 addresses in To/Cc must
not be able to turn one keypress of an agent into mail to all of them from the company."""

from __future__ import annotations

import email
import email.policy
import time
from pathlib import Path

from compose.helpers import make_config
from faults.test_hostile_screen import screen_text
from mailtriage.compose.message import REPLY_ALL_LIMIT
from mailtriage.imap.account import AccountSync
from mailtriage.store import Store
from mailtriage.tui.app import make_app
from mailtriage.tui.compose_screen import ComposeScreen
from mailtriage.tui.pickers import Picker
from mailtriage.tui.reader import ReaderScreen
from security.helpers import run_cli
from support.mailfactory import SUPPORT
from support.pilot import send_suggested_reply, wait_until

RECIPIENTS = 10_000


def crowd_message(count: int = RECIPIENTS) -> bytes:
    to = ",\r\n ".join(f"User {i} <u{i}@example.jp>" for i in range(count))
    return (
        "From: 山田 太郎 <taro@example.jp>\r\n"
        f"To: {SUPPORT},\r\n {to}\r\n"
        "Subject: 全員に送信\r\n"
        "Message-ID: <crowd@example.jp>\r\n"
        "Date: Tue, 24 Nov 2026 09:00:00 +0900\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "ご確認ください。\r\n"
    ).encode()


async def test_ten_thousand_recipients_open_reply_and_no_reply_all(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    imap_account.append("INBOX", crowd_message())
    config = make_config(
        tmp_path, imap_account, smtp_server.port, pki.ca_cert, compose="undo_seconds = 0"
    )
    account = config.accounts["support"]
    syncer = AccountSync(account, account.imap.resolve_password())
    assert (await syncer.sync()).new == 1
    await syncer.close()
    store = Store(account.cache_path)
    (to_json,) = store.conn.execute("SELECT to_json FROM messages").fetchone()
    assert to_json.count("@example.") == RECIPIENTS + 1  # nothing dropped in the cache
    store.close()

    app = make_app(config, background_sync=False)
    async with app.run_test(size=(120, 35)) as pilot:
        started = time.monotonic()
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        await pilot.press("H")  # To and Cc shown: the first few, then how many more
        print(f"opened with headers in {time.monotonic() - started:.2f} s")
        await pilot.pause()
        shown = screen_text(app)
        assert "u0@example.jp" in shown and "and 9,981 more" in shown
        assert "u9999@example.jp" not in shown

        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, Picker))
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: any("reply-all" in str(n.message) for n in app._notifications)
        )
        (refusal,) = [str(n.message) for n in app._notifications if "reply-all" in str(n.message)]
        assert "\n" not in refusal
        assert f"would write to {RECIPIENTS + 1:,} people (more than {REPLY_ALL_LIMIT})" in refusal
        assert not isinstance(app.screen, ComposeScreen)

        await send_suggested_reply(pilot, app, smtp_server)  # `r`: to the sender only
    (mail,) = smtp_server.received
    assert mail.rcpt_tos == ["taro@example.jp"]
    sent = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert sent["Cc"] is None

    # The CLI refuses the same way, with its usage exit code and one line.
    store = Store(account.cache_path)
    (short,) = store.conn.execute("SELECT short_id FROM conversations").fetchone()
    store.close()
    path = str(tmp_path / "alice" / "config.toml")
    done = run_cli("--config", path, "reply", short, "--all", "-t", "ja/acknowledge")
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert f"would write to {RECIPIENTS + 1:,} people" in line
    done = run_cli("--config", path, "reply", short, "-t", "ja/acknowledge")
    assert done.returncode == 0, done.stderr
