"""The escalate dialog (`e`) and the reader's 申し送り/escalation banner: Pilot against a real
Dovecot and aiosmtpd, plus an SVG snapshot of the dialog."""

from __future__ import annotations

import dataclasses

from escalation.helpers import agent, conversation
from mailtriage.triage.departments import Department
from mailtriage.tui.app import make_app
from mailtriage.tui.conversation_list import ConversationList
from mailtriage.tui.escalate_screen import EscalateScreen
from mailtriage.tui.reader import ReaderScreen, TimelineView
from support.mailfactory import make_message
from triage.helpers import sync


async def test_escalate_key_forwards_holds_and_the_reader_shows_it(
    tmp_path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    alice = agent(tmp_path, imap_account, smtp_server.port, pki.ca_cert, "alice")
    imap_account.append(
        "INBOX",
        make_message(
            message_id="<tui-esc@example.jp>", subject="返金について", body="返金はいつですか\n"
        ),
    )
    await sync(alice)
    app = make_app(alice, background_sync=False)
    async with app.run_test(size=(120, 35)) as pilot:
        key = app.main.query_one(ConversationList).current_key
        await pilot.press("e")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, EscalateScreen)
        # carol (supervisor), billing (has an address), dev (members only)
        assert [o.id for o in screen.options._options] == ["carol", "billing", "dev"]
        assert screen.forward.disabled  # carol: nothing to forward to
        await pilot.press("down")
        assert not screen.forward.disabled
        await pilot.press("enter")  # choose billing: focus moves to the reason
        assert screen.reason.has_focus
        await pilot.press("ctrl+s")  # no reason yet: refused in the dialog
        assert app.screen is screen and "Write why" in str(screen.error.render())
        for ch in "返金額の確認":
            await pilot.press(ch)
        screen.forward.value = True
        screen.hold.value = True
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not isinstance(app.screen, EscalateScreen)
        assert any("escalated to 経理部" in n.message for n in app._notifications)
        # The forward and the holding reply leave through the outbox (undo window 0 here).
        for _ in range(100):
            if len(smtp_server.received) == 2:
                break
            await pilot.pause(0.05)
        assert sorted(m.rcpt_tos[0] for m in smtp_server.received) == [
            "billing@example.co.jp",
            "taro@example.jp",
        ]
        await pilot.press("E")  # the Escalated view
        assert app.view == "escalated" and app.main.query_one(ConversationList).keys == [key]
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen)
        banner = app.screen.query(TimelineView).first()
        assert banner.has_class("banner")
        text = str(banner.render())
        assert "エスカレーション中" in text and "経理部" in text and "返金額の確認" in text
    # Another agent's cache sees the escalation.
    bob = agent(tmp_path, imap_account, smtp_server.port, pki.ca_cert, "bob")
    await sync(bob)
    seen = conversation(bob, key)
    assert "escalated" in seen["tags"]
    assert {"noted", "tagged", "forwarded", "escalated"} <= {e["kind"] for e in seen["timeline"]}


def test_escalate_dialog_snapshot(snap, tui_config) -> None:  # type: ignore[no-untyped-def]
    departments = {
        "billing": Department("billing", "経理部", "billing@example.co.jp", ("carol",)),
        "dev": Department("dev", "開発チーム", None, ("bob",)),
    }
    config = dataclasses.replace(tui_config, departments=departments)
    assert snap(["e", "down", "_"], (120, 35), config=config)
