"""The body connection keeps the mailbox it reads selected, against a real Dovecot.

On a 100k maildir the first FETCH of a message after an EXAMINE costs Dovecot 100-500 ms and
later ones about 1 ms (bench/sync_bench.py "body on demand"), so opening a body must not
EXAMINE again; whatever else happens on the connection or the server meanwhile, the next body
is still the right one.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mailtriage.imap.session import AccountSession
from support.mailfactory import make_message
from sync.conftest import account_config
from sync.test_quiet_checks import commands_sent
from sync.test_watch import cached


def _location(session: AccountSession, message_id: str) -> tuple[int, str, int, int]:
    row = (
        session.cache()
        .conn.execute(
            "SELECT id, mailbox, uidvalidity, uid FROM messages WHERE message_id=?", (message_id,)
        )
        .fetchone()
    )
    return tuple(row)  # type: ignore[return-value]


def _text(account, message_id: str) -> str:  # type: ignore[no-untyped-def]
    ((text,),) = cached(account, "SELECT text FROM messages WHERE message_id=?", message_id)
    return str(text)


def test_body_fetches_examine_once_and_follow_what_others_change(
    tmp_path: Path, imap_account
) -> None:  # type: ignore[no-untyped-def]
    for n in range(1, 5):
        imap_account.append("INBOX", make_message(message_id=f"<b{n}@x.jp>", body=f"body {n}"))
    imap_account.append("Sent", make_message(message_id="<s1@x.jp>", body="sent body"))
    account = account_config(tmp_path, imap_account)
    syncer = AccountSession(account, account.imap.resolve_password())
    bodies = AccountSession(account, account.imap.resolve_password())
    try:
        syncer.sync(prefetch_limit=0)
        bodies.warm_bodies()  # what the app does when it starts
        with commands_sent(bodies) as sent:
            assert bodies.fetch_bodies([_location(bodies, "<b1@x.jp>")]) == 1
            assert bodies.fetch_bodies([_location(bodies, "<b2@x.jp>")]) == 1
        assert "EXAMINE" not in sent and "SELECT" not in sent, sent
        assert "body 1" in _text(account, "<b1@x.jp>")
        assert "body 2" in _text(account, "<b2@x.jp>")

        # Another client expunges one message, flags another and delivers a new one while
        # the body connection keeps INBOX selected.
        other = imap_account.client()
        other.select_folder("INBOX")
        other.delete_messages([3])
        other.expunge()
        other.add_flags([4], [b"$label1"])
        imap_account.append("INBOX", make_message(message_id="<b5@x.jp>", body="body 5"))
        syncer.sync(prefetch_limit=0)
        with commands_sent(bodies) as sent:
            assert bodies.fetch_bodies([_location(bodies, "<b4@x.jp>")]) == 1
            assert bodies.fetch_bodies([_location(bodies, "<b5@x.jp>")]) == 1
        assert "EXAMINE" not in sent, sent
        assert "body 4" in _text(account, "<b4@x.jp>")
        assert "body 5" in _text(account, "<b5@x.jp>")

        # Another mailbox is EXAMINEd, and INBOX again after it.
        with commands_sent(bodies) as sent:
            assert bodies.fetch_bodies([_location(bodies, "<s1@x.jp>")]) == 1
            bodies.cache().conn.execute(
                "UPDATE messages SET body_fetched=0, text='' WHERE message_id='<b1@x.jp>'"
            )
            assert bodies.fetch_bodies([_location(bodies, "<b1@x.jp>")]) == 1
        assert sent.count("EXAMINE") == 2, sent
        assert "sent body" in _text(account, "<s1@x.jp>")

        # Anything else sent on the connection (here a sync) means EXAMINE again.
        bodies.sync(prefetch_limit=0)
        with commands_sent(bodies) as sent:
            assert bodies.fetch_bodies([_location(bodies, "<b2@x.jp>")]) == 1
        assert sent.count("EXAMINE") == 1, sent
    finally:
        syncer.close()
        bodies.close()


def test_a_mailbox_recreated_while_selected_never_gets_another_messages_body(
    tmp_path: Path, imap_account
) -> None:  # type: ignore[no-untyped-def]
    imap_account.append("Sent", make_message(message_id="<old1@x.jp>", body="old one"))
    imap_account.append("Sent", make_message(message_id="<old2@x.jp>", body="old two"))
    account = account_config(tmp_path, imap_account)
    bodies = AccountSession(account, account.imap.resolve_password())
    try:
        bodies.sync(prefetch_limit=0)
        old2 = _location(bodies, "<old2@x.jp>")
        assert bodies.fetch_bodies([_location(bodies, "<old1@x.jp>")]) == 1

        # Same name, new UIDVALIDITY, and a different message at UID 2.
        other = imap_account.client()
        other.delete_folder("Sent")
        other.create_folder("Sent")
        imap_account.append("Sent", make_message(message_id="<new1@x.jp>", body="new one"))
        imap_account.append("Sent", make_message(message_id="<new2@x.jp>", body="new two"))

        # Dovecot ends the session that had it selected; the fetch reconnects, sees the new
        # UIDVALIDITY and leaves the message for the next sync to drop.
        stored = bodies.fetch_bodies([old2])
        assert stored == 0
        assert "new two" not in _text(account, "<old2@x.jp>")
    finally:
        bodies.close()


@pytest.mark.parametrize(
    ("days", "prefetched"), [(None, {"<new@x.jp>", "<old@x.jp>"}), (30, {"<new@x.jp>"}), (0, set())]
)
def test_prefetch_days_bounds_the_background_bodies(
    tmp_path: Path, imap_account, days: int | None, prefetched: set[str]
) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    imap_account.append("INBOX", make_message(message_id="<old@x.jp>", date=now - timedelta(100)))
    imap_account.append("INBOX", make_message(message_id="<new@x.jp>", date=now - timedelta(1)))
    account = dataclasses.replace(account_config(tmp_path, imap_account), prefetch_days=days)
    session = AccountSession(account, account.imap.resolve_password())
    try:
        report = session.sync()
        # What a long-running watch does next: fill in whatever is still missing.
        report.bodies += session.sync(backfill=True).bodies
        fetched = session.cache().conn.execute(
            "SELECT message_id FROM messages WHERE body_fetched = 1"
        )
        assert {message_id for (message_id,) in fetched} == prefetched
        assert report.bodies == len(prefetched)
        # Opening one is always possible.
        if "<old@x.jp>" not in prefetched:
            assert session.fetch_bodies([_location(session, "<old@x.jp>")]) == 1
    finally:
        session.close()


def _multipart_base64(lines: int) -> bytes:
    """A text part in base64 (76-column lines) and an attachment after it."""
    from email.message import EmailMessage
    from email.policy import SMTP

    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = "b64"
    msg["From"] = "taro@example.jp"
    msg["To"] = "support@example.co.jp"
    msg["Message-ID"] = "<p-b64@x.jp>"
    text = "".join(f"{n:06d} 返金のお問い合わせ line {n}\n" for n in range(lines))
    msg.set_content(text, charset="utf-8", cte="base64")
    msg.add_attachment(b"\x00" * 50_000, maintype="application", subtype="zip", filename="a.zip")
    return msg.as_bytes()


@pytest.mark.parametrize("shape", ["utf-8", "iso-2022-jp", "cp932", "html", "multipart-base64"])
def test_a_preview_is_the_beginning_of_the_whole_text(
    tmp_path: Path, imap_account, shape: str
) -> None:  # type: ignore[no-untyped-def]
    """The preview shown while a large body is fetched (fetch_preview: its first bytes,
    cut at a line break, parsed) is the start of what the whole message shows, whatever
    its charset or transfer encoding, and the kept selection still serves the next body."""
    from mailtriage.devservers.largemail import huge_text

    if shape == "multipart-base64":
        raw = _multipart_base64(8_000)
    else:
        raw = huge_text(
            300 * 1024,
            subject=shape,
            message_id=f"<p-{shape}@x.jp>",
            charset="utf-8" if shape == "html" else shape,
            html=shape == "html",
        ).raw
    imap_account.append("INBOX", raw)
    imap_account.append("INBOX", make_message(message_id="<after@x.jp>", body="next body"))
    account = account_config(tmp_path, imap_account)
    syncer = AccountSession(account, account.imap.resolve_password())
    bodies = AccountSession(account, account.imap.resolve_password())
    try:
        syncer.sync(prefetch_limit=0)
        bodies.warm_bodies()
        ((message_id,),) = cached(
            account, "SELECT message_id FROM messages WHERE message_id != ?", "<after@x.jp>"
        )
        where = _location(bodies, message_id)
        with commands_sent(bodies) as sent:
            preview = bodies.fetch_preview(where, 64 * 1024)
            assert bodies.fetch_bodies([where]) == 1
            assert bodies.fetch_bodies([_location(bodies, "<after@x.jp>")]) == 1
        assert "EXAMINE" not in sent and "SELECT" not in sent, sent
        whole = _text(account, message_id)
        assert 1_000 < len(preview) <= 64 * 1024  # characters: each took a byte or more
        assert len(preview) < len(whole)
        assert whole.startswith(preview.rstrip()), (preview[-200:], whole[: len(preview)][-200:])
        assert "next body" in _text(account, "<after@x.jp>")
    finally:
        syncer.close()
        bodies.close()
