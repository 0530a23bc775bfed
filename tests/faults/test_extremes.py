"""Absurd sizes a stranger can send: 10,000-deep MIME nesting, 10,000 recipients, a thread of
thousands of messages. Each must stay bounded in time and keep the app usable. (Very large
messages: tests/faults/test_large_message.py, and bench/large_message.py at 200 MB.)"""

from __future__ import annotations

import time

from faults.test_hostile_screen import screen_text
from mailtriage.imap.commands import Fetched
from mailtriage.imap.sync import row_from_parsed
from mailtriage.mime import parse_headers, parse_message
from mailtriage.mime.parse import MAX_MULTIPARTS
from mailtriage.store import Store
from mailtriage.tui import reader as reader_module
from mailtriage.tui.conversation_list import ConversationList
from mailtriage.tui.reader import MessageView, ReaderScreen
from support.cache import FIXED_NOW
from support.mailfactory import make_message


def nested(depth: int) -> bytes:
    out = bytearray(b"From: Mallory <m@evil.example>\r\nSubject: deep\r\nMIME-Version: 1.0\r\n")
    for i in range(depth):
        out += b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
    out += b"Content-Type: text/plain\r\n\r\nhello from the bottom\r\n"
    for i in reversed(range(depth)):
        out += b"--b%d--\r\n" % i
    return bytes(out)


def test_ten_thousand_deep_nesting_is_refused_fast_and_keeps_the_headers() -> None:
    started = time.perf_counter()
    parsed = parse_message(nested(10_000))
    # Before the limit: 10 s of parsing ending in RecursionError, subject and sender lost.
    assert time.perf_counter() - started < 2
    assert parsed.subject == "deep" and parsed.from_ is not None
    assert parsed.from_.email == "m@evil.example"
    assert parsed.warnings == [  # and no Date-missing warning: the fallback says it all
        f"message could not be parsed (more than {MAX_MULTIPARTS} nested MIME parts);"
        " shown as raw text"
    ]
    assert "hello from the bottom" in parsed.text


def test_nesting_below_the_limit_is_still_parsed() -> None:
    parsed = parse_message(nested(20))
    assert parsed.text.strip() == "hello from the bottom"
    assert not any("could not be parsed" in w for w in parsed.warnings)


def test_ten_thousand_recipients() -> None:
    to = ", ".join(f"User {i} <u{i}@example.jp>" for i in range(10_000)).encode()
    raw = b"From: a@example.jp\r\nTo: " + to + b"\r\nSubject: many\r\nMessage-ID: <m@x>\r\n\r\nhi"
    started = time.perf_counter()
    full, head = parse_message(raw), parse_headers(raw.split(b"\r\n\r\n")[0])
    assert time.perf_counter() - started < 10
    assert len(full.to) == len(head.to) == 10_000
    assert head.to[-1].email == "u9999@example.jp"


async def test_a_huge_thread_opens_with_the_newest_messages(
    build_app, tui_config, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A 500-message thread took 9 s to open (a widget per message); now only the newest
    READER_MESSAGES get one, and a line says how to see the rest."""
    monkeypatch.setattr(reader_module, "READER_MESSAGES", 5)
    account = tui_config.accounts["demo"]
    rows = []
    for i in range(12):
        raw = make_message(
            subject="Re: 長いスレッド",
            message_id=f"<t{i}@x.jp>",
            in_reply_to=f"<t{i - 1}@x.jp>" if i else None,
            references=[f"<t{i - 1}@x.jp>"] if i else [],
            body=f"message number {i}\n",
            date=FIXED_NOW.replace(day=19),
            minutes=i,
        )
        fetched = Fetched(
            uid=90_000 + i, flags=[], internaldate=None, size=len(raw), modseq=None, literal=None
        )
        rows.append(
            row_from_parsed(account, "INBOX", "inbox", 1, fetched, parse_message(raw), raw=raw)
        )
    store = Store(account.cache_path)
    with store.atomic():
        store.insert_messages(rows)
    store.close()
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("8")
        await pilot.pause()
        listing = app.main.query_one(ConversationList)
        listing.cursor = next(
            i for i in range(len(listing.keys)) if listing.row(i)["message_count"] == 12
        )
        await pilot.press("enter")
        await pilot.pause()
        reader = app.screen
        assert isinstance(reader, ReaderScreen)
        views = list(reader.query(MessageView))
        assert len(views) == 5
        assert "message number 11" in screen_text(app)  # opens at the newest
        await pilot.press("g")  # the top of what is shown
        await pilot.pause()
        top = screen_text(app)
        assert "7 earlier messages are not shown" in top and "mailtriage show" in top
        assert "message number 7" in top and "message number 6" not in top


async def test_a_commit_seen_while_the_screen_is_torn_down_is_ignored(  # type: ignore[no-untyped-def]
    build_app, tui_config
) -> None:
    """bench/soak.py: mail arriving every 0.1 s made the app crash at exit (NoMatches) when
    the change timer fired after the main screen's widgets were gone."""
    from mailtriage.tui.conversation_list import ConversationList

    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        await app.main.query_one(ConversationList).remove()
        writer = Store(tui_config.accounts["demo"].cache_path)
        with writer.atomic():
            writer.conn.execute("UPDATE conversations SET subject = subject || '!'")
        writer.close()
        app.check_for_changes()  # raised NoMatches before
        assert app.is_running
