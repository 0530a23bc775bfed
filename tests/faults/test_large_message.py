"""A message too large to fetch whole, against a real Dovecot and aiosmtpd: header sync,
prefetch (skips it), opening it in the app (its text only, with one line saying so), saving
its attachment (streamed from the server, byte for byte) and replying to it (a short quote).

The suite uses ~20 MB messages with LARGE_MESSAGE lowered to 1 MB where a test needs it
lower; `python -m bench.large_message` runs the same steps at 200 MB and measures memory.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
from pathlib import Path

import pytest

from compose.helpers import make_config
from mailtriage.devservers.largemail import huge_text, with_attachment
from mailtriage.imap import large
from mailtriage.imap.account import AccountSync
from mailtriage.imap.large import TEXT_LIMIT
from mailtriage.store import Store
from mailtriage.tui.app import make_app
from mailtriage.tui.pickers import Picker
from mailtriage.tui.reader import ReaderScreen
from support.mailfactory import make_message
from support.pilot import send_suggested_reply, wait_until

MB = 1024 * 1024


def cached(store: Store, message_id: str) -> dict[str, object]:
    row = store.conn.execute(
        "SELECT size, body_fetched, raw IS NULL AS no_raw, length(CAST(text AS BLOB)) AS text_len,"
        " attachments, warnings, conversation FROM messages WHERE message_id = ?",
        (message_id,),
    ).fetchone()
    return dict(
        zip(("size", "fetched", "no_raw", "text_len", "att", "warn", "key"), row, strict=True)
    )


async def test_large_attachment_is_opened_saved_and_answered(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    big = with_attachment(15 * MB)  # 20 MB on the wire
    imap_account.append("INBOX", big.raw)
    imap_account.append("INBOX", make_message(subject="小さい", message_id="<small@x.jp>"))
    config = make_config(
        tmp_path, imap_account, smtp_server.port, pki.ca_cert, compose="undo_seconds = 0"
    )
    account = config.accounts["support"]
    syncer = AccountSync(account, account.imap.resolve_password())
    report = await syncer.sync()
    await syncer.close()
    assert report.new == 2
    store = Store(account.cache_path)
    # Prefetch took the small body and left the large one for when it is opened.
    assert report.bodies == 1
    row = cached(store, "<big-attach@example.jp>")
    assert row["size"] == len(big.raw) and row["fetched"] == 0
    assert cached(store, "<small@x.jp>")["fetched"] == 1
    key = str(row["key"])

    app = make_app(config)  # background sync on: the download needs the body session
    async with app.run_test(size=(120, 35)) as pilot:
        await wait_until(pilot, lambda: app.syncer is not None)
        app.open_conversation(key)
        await wait_until(pilot, lambda: isinstance(app.screen, ReaderScreen))
        reader = app.screen
        await wait_until(pilot, lambda: cached(store, "<big-attach@example.jp>")["fetched"] == 1)
        await wait_until(
            pilot, lambda: "ログのアーカイブ" in (reader.conversation["messages"][0]["text"] or "")
        )
        message = reader.conversation["messages"][0]
        assert len(big.raw) // MB == 20
        assert message["warnings"] == [
            "body is 21 MB; its text is shown, attachments are fetched when saved"
        ]
        (attachment,) = message["attachments"]
        assert attachment["filename"] == "logs.zip" and attachment["section"] == "2"
        assert abs(attachment["size"] - big.attachment_size) < 64

        await pilot.press("o")
        await wait_until(pilot, lambda: isinstance(app.screen, Picker))
        await pilot.press("enter")
        downloads = config.ui.downloads
        saved = downloads / "logs.zip"
        await wait_until(pilot, lambda: any("Saved" in str(n.message) for n in app._notifications))
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == big.attachment_sha256

        await send_suggested_reply(pilot, app, smtp_server, timeout=20.0)
    (mail,) = smtp_server.received
    sent = email.message_from_bytes(mail.data, policy=email.policy.default)
    assert sent["In-Reply-To"] == "<big-attach@example.jp>"
    assert len(mail.data) < 64 * 1024  # the reply quotes the note, never the attachment
    # The cache holds the text and the list, not the 20 MB: nothing to lose, it is on the server.
    row = cached(store, "<big-attach@example.jp>")
    assert row["no_raw"] == 1
    assert account.cache_path.stat().st_size < 4 * MB
    client = imap_account.client()
    client.select_folder("INBOX", readonly=True)
    (uid,) = client.search(["HEADER", "Message-ID", "big-attach@example.jp"])
    assert client.fetch([uid], ["RFC822.SIZE"])[uid][b"RFC822.SIZE"] == len(big.raw)
    store.close()


async def test_huge_text_part_shows_its_first_256_kb(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    big = huge_text(20 * MB)
    imap_account.append("INBOX", big.raw)
    config = make_config(tmp_path, imap_account, smtp_server.port, pki.ca_cert)
    account = config.accounts["support"]
    syncer = AccountSync(account, account.imap.resolve_password())
    report = await syncer.sync()
    assert report.bodies == 0
    store = Store(account.cache_path)
    rowid = store.missing_bodies()[0][0]
    await syncer.fetch_body(rowid)
    await syncer.close()
    row = cached(store, "<big-text@example.jp>")
    assert row["fetched"] == 1 and row["no_raw"] == 1
    assert row["warn"] == '["body is 20 MB; showing the first 256 kB of text"]'
    assert TEXT_LIMIT - 200 < int(row["text_len"]) <= TEXT_LIMIT  # type: ignore[call-overload]
    (text,) = store.conn.execute("SELECT text FROM messages").fetchone()
    assert text.startswith("00000000 エラー") and text.endswith("s)\n")  # whole lines only
    store.close()


@pytest.mark.parametrize("encoding", ["base64", "quoted-printable", "8bit"])
def test_streamed_decoding_matches_decoding_at_once(encoding: str) -> None:
    import base64
    import binascii
    import io

    data = bytes(range(256)) * 300 + "日本語テキスト=\r\n".encode() * 500
    wire = {
        "base64": base64.encodebytes(data),
        "quoted-printable": binascii.b2a_qp(data, istext=False),
        "8bit": data,
    }[encoding]
    for step in (1, 3, 77, 4096):
        decoder = large._Decoder(encoding)
        out = io.BytesIO()
        for start in range(0, len(wire), step):
            out.write(decoder.feed(wire[start : start + step]))
        out.write(decoder.finish())
        assert out.getvalue() == data, step


def test_a_reply_quotes_at_most_the_quote_limit() -> None:
    from mailtriage.compose.message import QUOTE_LIMIT, quoted_head

    text = "".join(f"{i:06d} ログ行\n" for i in range(20_000))
    head = quoted_head(text)
    assert len(head) < QUOTE_LIMIT + 100 and head.startswith("000000 ログ行\n")
    quoted, marker = head.rsplit("\n", 1)
    assert text.startswith(quoted)
    rest = len(text[len(quoted) :].encode())
    assert marker == f"[… {rest:,} more bytes of the original not quoted]"
    assert quoted_head("short\n") == "short\n"


def test_a_download_cut_midway_leaves_no_file_and_works_next_time(tmp_path: Path, dovecot) -> None:  # type: ignore[no-untyped-def]
    from mailtriage.errors import NetworkError
    from mailtriage.imap.session import AccountSession
    from sync.conftest import new_account, via_proxy
    from sync.proxy import FaultProxy

    imap = new_account(dovecot)
    big = with_attachment(9 * MB)  # 12 MB on the wire: above LARGE_MESSAGE
    uid = imap.append("INBOX", big.raw)
    downloads = tmp_path / "downloads"
    with FaultProxy(dovecot.imap_port) as proxy:
        account = via_proxy(tmp_path, imap, proxy)
        session = AccountSession(account, account.imap.resolve_password())
        session.sync()
        assert len(session.cache().missing_bodies()) == 1  # not prefetched
        session.fetch_bodies(session.cache().missing_bodies())
        (attachments,) = session.cache().conn.execute("SELECT attachments FROM messages").fetchone()
        (attachment,) = json.loads(attachments)
        proxy.cut_after = proxy._server_bytes + 6 * MB  # two chunks in
        with pytest.raises(NetworkError) as lost:
            session.save_attachment("INBOX", uid, attachment, downloads)
        message = str(lost.value)
        assert "connection lost during attachment download" in message and "\n" not in message
        assert list(downloads.iterdir()) == []  # no half file to mistake for the whole
        proxy.cut_after = None
        path = session.save_attachment("INBOX", uid, attachment, downloads)
        session.close()
    assert path.name == "logs.zip"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == big.attachment_sha256
