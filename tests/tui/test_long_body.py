"""Long message bodies in the reader, against a real Dovecot: drawn row by row (BodyView),
every line reachable by paging and End, one line saying so, and still sanitized, including
the part wrapped in the background after the first paint."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from mailtriage.config import load_config
from mailtriage.devservers.largemail import huge_text
from mailtriage.tui.app import make_app
from mailtriage.tui.body_view import FIRST_ROWS, BodyView
from mailtriage.tui.conversation_list import ConversationList
from mailtriage.tui.reader import ReaderScreen
from support.configs import write_config
from support.pilot import screen_text, wait_until

HOSTILE = "\x1b[2J\x1b]52;c;cGF3bmVk\x07[bold]太字[/bold]\u202eevil\x9b31m"


def long_text(
    lines: int, *, hostile_at: tuple[int, ...] = (), quote_at: int | None = None, pad: str = ""
) -> str:
    out = []
    for n in range(lines):
        line = f"{n:06d} ログ: 接続がタイムアウトしました (timeout after 30 s) line {n}{pad}"
        if n in hostile_at:
            line += HOSTILE
        if quote_at is not None and quote_at <= n < quote_at + 40:
            line = "> " + line
        out.append(line)
    return "\n".join(out) + "\n"


def raw_message(subject: str, text: str) -> bytes:
    head = (
        f"From: 山田 太郎 <taro@example.jp>\r\nTo: support@example.co.jp\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject}@x.jp>\r\nDate: Tue, 24 Nov 2026 09:00:00 +0900\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return head.encode() + text.replace("\n", "\r\n").encode()


async def open_subject(pilot: Any, app: Any, subject: str) -> ReaderScreen:
    listing = app.main.query_one(ConversationList)
    await wait_until(pilot, lambda: len(listing.keys) >= 1, timeout=20)
    query = "SELECT conversation FROM messages WHERE subject = ? AND body_fetched = 1"
    await wait_until(
        pilot, lambda: app.store.conn.execute(query, (subject,)).fetchone(), timeout=30
    )
    (key,) = app.store.conn.execute(query, (subject,)).fetchone()
    app.open_conversation(key)
    await wait_until(pilot, lambda: bool(app.screen.query(BodyView)), timeout=20)
    await pilot.pause()
    return app.screen  # type: ignore[no-any-return]


def assert_clean(rows: list[str]) -> None:
    for row in rows:
        assert not any(c in row for c in "\x1b\x07\x9b\u202e"), row


async def test_a_long_message_opens_at_its_start_and_every_line_is_reachable(
    tmp_path: Path, imap_account: Any
) -> None:
    lines = 5_000  # ~420 kB: above FOLD_LIMIT, so nothing is folded
    text = long_text(lines, hostile_at=(3, lines - 2))
    imap_account.append("INBOX", raw_message("longlog", text))
    app = make_app(load_config(write_config(tmp_path, imap_account)))
    async with app.run_test(size=(120, 35)) as pilot:
        reader = await open_subject(pilot, app, "longlog")
        body = reader.query_one(BodyView)
        shown = screen_text(app)
        assert re.search(r"long text: \d+ kB, 5,000 lines, drawn as you scroll", shown)
        assert "quoted text is not folded" in shown and "above 256 kB" in shown
        assert body.row_count >= FIRST_ROWS
        # A reload looks at lengths first and reads the texts only when something changed.
        light = app.store.get_conversation(reader.key, texts=False)
        (message,) = light["messages"]
        assert message["text"] is None and message["body_fetched"]
        assert reader.conversation["messages"][0]["text"] == text
        assert "000000 ログ" in shown  # the beginning of the message, not its end
        # Hostile text in the first screen shows as text: no escape reaches the terminal,
        # markup is literal, the bidi override is a visible placeholder.
        assert "[bold]太字[/bold]" in shown and "\ufffdevil" in shown
        # Paging moves a screen at a time through the text.
        thread = reader.query_one("#thread")
        before = thread.scroll_y
        await pilot.press("space")
        await pilot.pause()
        assert thread.scroll_y > before
        # End reaches the last line, whether or not the background wrap had finished.
        await pilot.press("G")
        await wait_until(pilot, lambda: thread.scroll_y == thread.max_scroll_y)
        await pilot.pause()
        assert body.wrapped
        shown = screen_text(app)
        assert f"{lines - 1:06d} ログ" in shown
        assert "[bold]太字[/bold]" in shown  # the hostile line near the end, wrapped lazily
        assert "laying out the rest" not in shown
        rows = body.text_rows()
        assert_clean(rows)
        # Every line of the text is in the rows, in order (wrapping only splits lines).
        numbers = [row[:6] for row in rows if row[:6].isdigit() and row[6:7] == " "]
        assert numbers == [f"{n:06d}" for n in range(lines)]
        await pilot.press("g")
        await pilot.pause()
        assert thread.scroll_y == 0


async def test_the_rest_is_laid_out_after_the_first_paint_with_a_line_saying_so(
    tmp_path: Path, imap_account: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ~1 MB of lines of ~100 cells: two rows each at 80 columns, one at 120.
    text = long_text(10_000, pad=" " + "x" * 28)
    imap_account.append("INBOX", raw_message("bigger", text))
    # The background slices wait an hour: what the first paint leaves is what is seen.
    monkeypatch.setattr("mailtriage.tui.body_view.SLICE_PAUSE", 3600.0)
    app = make_app(load_config(write_config(tmp_path, imap_account)))
    async with app.run_test(size=(80, 24)) as pilot:
        reader = await open_subject(pilot, app, "bigger")
        body = reader.query_one(BodyView)
        assert not body.wrapped and FIRST_ROWS <= body.row_count < 2 * FIRST_ROWS
        assert "laying out the rest of this 1 MB text (" in body.render_line(body.row_count).text
        thread = reader.query_one("#thread")
        # Home right after End: End's scroll waits for the new layout and must not win.
        reader.action_bottom()
        reader.action_top()
        await pilot.pause()
        await pilot.pause()
        assert body.wrapped and thread.scroll_y == 0
        await pilot.press("G")  # goes to the end (already wrapped: at once)
        await pilot.pause()
        assert body.wrapped and body.row_count == 20_000
        assert thread.scroll_y == thread.max_scroll_y
        shown = screen_text(app)
        assert "009999 ログ" in shown and "laying out" not in shown
        await pilot.resize_terminal(120, 35)
        await pilot.press("h")  # the customer panel off: the text gets all 120 columns
        await pilot.pause()
        # A new width starts again from the top, a few screens before the paint.
        assert not body.wrapped and body.row_count < 2 * FIRST_ROWS
        await pilot.press("G")
        await pilot.pause()
        assert body.wrapped and body.row_count == 10_000


async def test_a_long_message_with_quotes_folds_them_and_z_unfolds(
    tmp_path: Path, imap_account: Any
) -> None:
    text = long_text(800, hostile_at=(100,), quote_at=200)  # ~60 kB: folded like a short one
    imap_account.append("INBOX", raw_message("quoted", text))
    app = make_app(load_config(write_config(tmp_path, imap_account)))
    async with app.run_test(size=(120, 35)) as pilot:
        reader = await open_subject(pilot, app, "quoted")
        rows = reader.query_one(BodyView).text_rows()
        assert "  [… 40 quoted lines, Z shows them]" in rows
        assert not any(row.startswith("> ") for row in rows)
        assert_clean(rows)
        thread = reader.query_one("#thread")
        await pilot.press("G")
        await pilot.pause()
        bottom = thread.scroll_y
        assert bottom > FIRST_ROWS + 35 * 2  # below what a new BodyView wraps before its paint
        await pilot.press("Z")
        await wait_until(pilot, lambda: len(reader.query(BodyView)) == 1)
        await pilot.pause()
        await pilot.pause()
        assert thread.scroll_y == bottom  # the rebuilt text is wrapped down to where we were
        rows = reader.query_one(BodyView).text_rows()
        assert sum(row.startswith("> ") for row in rows) == 40
        assert_clean(rows)


async def test_long_japanese_and_html_only_messages_are_decoded_and_drawn(
    tmp_path: Path, imap_account: Any
) -> None:
    kinds = [("jis", "iso-2022-jp", False), ("sjis", "cp932", False), ("html", "utf-8", True)]
    for subject, charset, html in kinds:
        raw = huge_text(100 * 1024, subject=subject, charset=charset, html=html).raw
        imap_account.append("INBOX", raw.replace(b"<big-text@", f"<{subject}@".encode()))
    app = make_app(load_config(write_config(tmp_path, imap_account)))
    async with app.run_test(size=(120, 35)) as pilot:
        for subject in ("jis", "sjis", "html"):
            reader = await open_subject(pilot, app, subject)
            rows = reader.query_one(BodyView).text_rows()
            assert "00000000 エラー: 接続がタイムアウトしました" in rows[0]
            assert not any("<p>" in row for row in rows)
            assert "\ufffd" not in "".join(rows)  # decoded, not replaced
            await pilot.press("q")
            await wait_until(pilot, lambda: not isinstance(app.screen, ReaderScreen))
