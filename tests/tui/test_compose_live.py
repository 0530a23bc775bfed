"""Reply from the TUI against real servers: template picker → editor → outbox → aiosmtpd
(delivering into Dovecot) → Sent, threaded; and undo within the window."""

from __future__ import annotations

import email
import email.policy
import time
from pathlib import Path

from compose.helpers import make_config
from mailtriage.config import Config
from mailtriage.imap.account import AccountSync
from mailtriage.tui.app import make_app
from mailtriage.tui.compose_screen import ComposeScreen
from mailtriage.tui.pickers import Picker
from support.mailfactory import make_message
from support.pilot import wait_until


async def synced_config(tmp_path: Path, imap_account, smtp_server, pki, undo: int) -> Config:  # type: ignore[no-untyped-def]
    imap_account.append(
        "INBOX",
        make_message(
            subject="返金について",
            body="お世話になっております。返金をお願いします。",
            message_id="<refund1@example.jp>",
        ),
    )
    config = make_config(
        tmp_path, imap_account, smtp_server.port, pki.ca_cert, compose=f"undo_seconds = {undo}"
    )
    account = config.accounts["support"]
    syncer = AccountSync(account, account.imap.resolve_password())
    await syncer.sync()
    await syncer.close()
    return config


async def test_reply_from_template_is_sent_threaded(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    config = await synced_config(tmp_path, imap_account, smtp_server, pki, undo=0)
    app = make_app(config, background_sync=False)
    async with app.run_test(size=(120, 35)) as pilot:
        key = app.main.query_one("#conversations").current_key
        await pilot.press("r")
        await pilot.pause()
        picker = app.screen
        assert isinstance(picker, Picker)
        # the refund template is suggested first for a refund request
        assert picker.current == "ja/refund"
        await pilot.press("enter")
        await pilot.pause()
        compose = app.screen
        assert isinstance(compose, ComposeScreen)
        body = compose.query_one("TextArea").text
        assert "山田" in body and "{{" not in body
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: len(smtp_server.received) == 1)
        await wait_until(pilot, lambda: not app._outbox.pending())
        replied = [e for e in app.store.timeline(key) if e["kind"] == "replied"]
        assert [e["agent"] for e in replied] == ["alice"]
    (mail,) = smtp_server.received
    sent = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert sent["In-Reply-To"] == "<refund1@example.jp>"
    assert "<refund1@example.jp>" in sent["References"]
    assert mail.rcpt_tos == ["taro@example.jp"]
    client = imap_account.client()
    sent_folder = client.find_special_folder(b"\\Sent")
    client.select_folder(sent_folder, readonly=True)
    assert len(client.search(["HEADER", "Message-ID", sent["Message-ID"].strip("<>")])) == 1


async def test_undo_cancels_within_the_window(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    config = await synced_config(tmp_path, imap_account, smtp_server, pki, undo=5)
    app = make_app(config, background_sync=False)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("home", "enter")  # no template: write it yourself
        await pilot.pause()
        compose = app.screen
        assert isinstance(compose, ComposeScreen)
        compose.query_one("TextArea").load_text("山田様\n\n承知いたしました。\n")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.last_queued is not None)
        await pilot.press("ctrl+z")
        await pilot.pause()
        assert any("Cancelled" in n.message for n in app._notifications)
        await pilot.pause(6)  # past the window
        assert smtp_server.received == []
        assert app._outbox.pending() == []


async def test_attach_a_file_and_discard_needs_confirmation(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    config = await synced_config(tmp_path, imap_account, smtp_server, pki, undo=0)
    report = tmp_path / "ログ.txt"
    report.write_text("error 42", encoding="utf-8")
    app = make_app(config, background_sync=False)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        compose = app.screen
        assert isinstance(compose, ComposeScreen)
        await pilot.press("ctrl+t")
        await pilot.pause()
        app.screen.query_one("Input").value = str(report)
        await pilot.press("enter")
        await pilot.pause()
        assert [a.filename for a in compose.message.attachments] == ["ログ.txt"]
        compose.query_one("TextArea").insert("追記")
        await pilot.press("escape")
        assert app.screen is compose  # the first Esc only warns
        await pilot.press("escape")
        assert app.screen is not compose
        assert smtp_server.received == []


async def test_submit_for_review_from_compose(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    from mailtriage.compose import review
    from mailtriage.tui.reader import ReaderScreen

    config = await synced_config(tmp_path, imap_account, smtp_server, pki, undo=0)
    app = make_app(config, background_sync=False)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)
        await pilot.press("ctrl+r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen)
        app.screen.load(keep_scroll=True)
        await pilot.pause()
        assert "awaiting review" in str(app.screen.query_one("#reader-title").render())
    pending = await review.pending_reviews(config, "support")
    assert [(p.author, p.state) for p in pending] == [("alice", "pending")]
    assert smtp_server.received == []  # nothing goes out before a supervisor approves


async def test_supervisor_approves_in_the_review_screen(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    from compose.helpers import make_config as make_agent_config
    from mailtriage.compose import review
    from mailtriage.compose.reply import prepare_reply
    from mailtriage.store import Store
    from mailtriage.tui.review_screen import ReviewScreen

    config = await synced_config(tmp_path, imap_account, smtp_server, pki, undo=0)
    store = Store(config.accounts["support"].cache_path, readonly=True)
    (item,) = store.list_conversations("all")
    conversation = store.get_conversation(item["key"])
    store.close()
    prepared = prepare_reply(config, "support", conversation, None, body="山田様\n\n承知しました。")
    await review.submit_for_review(
        config, "support", prepared.message, "", snapshot=prepared.snapshot
    )

    carol = make_agent_config(
        tmp_path,
        imap_account,
        smtp_server.port,
        pki.ca_cert,
        agent="carol",
        compose="undo_seconds = 0",
    )
    account = carol.accounts["support"]
    syncer = AccountSync(account, account.imap.resolve_password())
    await syncer.sync()
    await syncer.close()
    app = make_app(carol, background_sync=False)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("v")
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        await wait_until(pilot, lambda: len(screen.items) == 1)
        await pilot.pause()
        assert "承知しました" in str(screen.query_one("#diff").render())
        await pilot.press("a")
        await wait_until(pilot, lambda: len(smtp_server.received) == 1)
        await wait_until(pilot, lambda: screen.items == [])
    assert (await review.pending_reviews(config, "support")) == []


async def test_send_later_is_scheduled_not_sent(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    config = await synced_config(tmp_path, imap_account, smtp_server, pki, undo=0)
    app = make_app(config, background_sync=False)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)
        await pilot.press("ctrl+l")
        await pilot.pause()
        app.screen.query_one("Input").value = "2099-01-01 09:00"
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.last_queued is not None)
        await pilot.pause(1.5)
        (item,) = app._outbox.pending()
        assert item.state == "queued" and item.send_at > time.time() + 3600
        assert any("Scheduled for 2099-01-01 09:00" in n.message for n in app._notifications)
        assert smtp_server.received == []
