"""`mailtriage forget CUSTOMER`: after it, no byte of the customer is left in the cache file
(FTS tables, free pages and WAL included), the outbox or the log, the rest of the cache still
works, and the server's mail is counted per folder and left alone (real Dovecot)."""

from __future__ import annotations

import base64
import json
import os
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from mailtriage.config import load_config
from mailtriage.store.outbox import outbox_path
from security.helpers import files_containing, run_cli
from support.configs import write_config
from support.mailfactory import BASE_TIME, SUPPORT, make_message

TARO = "taro.forget@example.jp"
PHRASE = "ZEBRA-3141 返金のお願い"
NOTE = "NOTE-KESTREL called taro back"
ATTACHMENT = b"%PDF-1.4 OKAPI-2718 invoice"


def _with_attachment(message_id: str) -> bytes:
    msg = EmailMessage()
    msg["Subject"] = "請求書の件"
    msg["From"] = f"山田 太郎 <{TARO}>"
    msg["To"] = SUPPORT
    msg["Date"] = format_datetime(BASE_TIME)
    msg["Message-ID"] = message_id
    msg.set_content(f"{PHRASE}\n添付をご確認ください。\n")
    msg.add_attachment(ATTACHMENT, maintype="application", subtype="pdf", filename="請求書.pdf")
    return msg.as_bytes()


def _traces(paths: list[Path]) -> dict[str, list[Path]]:
    needles = {
        "address": TARO,
        "phrase": "ZEBRA-3141",
        "japanese": "返金のお願い",
        "name": "山田 太郎",
        "note": "NOTE-KESTREL",
        # Kept in the cached raw message, base64 as it was sent.
        "attachment": base64.b64encode(ATTACHMENT).decode(),
    }
    return {what: files_containing(text, paths) for what, text in needles.items()}


def test_forget_leaves_no_trace_locally_and_reports_the_server(
    tmp_path: Path, imap_account
) -> None:  # type: ignore[no-untyped-def]
    imap_account.append("INBOX", _with_attachment("<f1@example.jp>"))
    imap_account.append(
        "INBOX",
        make_message(message_id="<f2@example.jp>", in_reply_to="<f1@example.jp>",
                     references=["<f1@example.jp>"], sender=("山田 太郎", TARO),
                     subject="Re: 請求書の件", body=f"{PHRASE} (2)\n", minutes=5),
    )  # fmt: skip
    # Another customer's conversation with taro in Cc: it holds taro's address too.
    imap_account.append(
        "INBOX",
        make_message(message_id="<f3@example.jp>", sender=("Sato", "sato@example.jp"),
                     to=[("", SUPPORT), ("山田 太郎", TARO)], subject="CC case", minutes=9),
    )  # fmt: skip
    imap_account.append(
        "INBOX",
        make_message(message_id="<f4@example.jp>", sender=("Hanako", "hanako@example.jp"),
                     subject="Unrelated PELICAN-99", body="PELICAN-99 body\n", minutes=12),
    )  # fmt: skip
    path = write_config(tmp_path, imap_account)
    # SMTP down: the reply to taro stays queued in the outbox, never sent.
    path.write_text(
        path.read_text() + '\n[accounts.support.smtp]\nhost = "127.0.0.1"\nport = 1\n'
        'security = "starttls"\nusername = "agent"\npassword_command = "echo x"\ntimeout = 2\n'
    )
    config = load_config(path)
    run = lambda *a: run_cli("--config", str(path), *a)  # noqa: E731
    assert run("sync", "-q").returncode == 0
    ids = {c["subject"]: c["id"] for c in json.loads(run("ls", "--json", "--view", "all").stdout)}
    taro_id = ids["請求書の件"] if "請求書の件" in ids else ids["Re: 請求書の件"]
    assert run("show", taro_id).returncode == 0  # bodies and attachment into the cache
    assert run("claim", taro_id).returncode == 0
    assert run("note", taro_id, *NOTE.split()).returncode == 0
    assert run("sync", "-q").returncode == 0  # the note and events into the cache
    assert run("reply", taro_id, "-t", "ja/acknowledge", "--send").returncode == 5

    cache = config.accounts["support"].cache_path
    outbox = outbox_path(config.compose.outbox_dir, "support")
    log = Path(os.environ["XDG_STATE_HOME"]) / "mailtriage" / "mailtriage.log"
    log.write_text(f"2026-11-24 INFO mailtriage.sync: new mail from {TARO}\nother line\n")
    local = [cache.parent, outbox.parent]
    before = _traces(local)
    assert all(before.values()), before  # the test can see every kind of trace
    server_before = _count_server(imap_account)

    done = run("forget", TARO.upper(), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["removed"] == {
        "conversations": 2,
        "messages": 3,
        "events_and_notes": report["removed"]["events_and_notes"],
        "outbox": 1,
        "log_lines": 1,
    }
    assert report["removed"]["events_and_notes"] >= 2  # claimed + noted
    assert report["server"]["folders"]["INBOX"] == 3
    assert report["server"]["folders"]["Sent"] == 0
    assert report["server"]["app_folder_items"] >= 2

    assert _traces(local) == {k: [] for k in before}
    assert log.read_text() == "other line\n"
    # The rest of the cache works, search index included; the server's mail is untouched.
    assert run("search", "--json", "PELICAN").stdout.count('"Unrelated PELICAN-99"') == 1
    assert json.loads(run("search", "--json", "ZEBRA").stdout) == []
    assert run("show", taro_id).returncode == 1
    assert _count_server(imap_account) == server_before

    human = run("forget", TARO)
    assert human.returncode == 0
    assert "forgot taro.forget@example.jp locally: 0 conversations" in human.stdout
    assert "still on the server (not deleted): INBOX: 3" in human.stdout
    assert "delete it on the server to erase it there" in human.stdout


def test_forget_rejects_what_is_not_an_address(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    path = write_config(tmp_path, imap_account)
    done = run_cli("--config", str(path), "forget", "taro")
    assert (done.returncode, done.stderr.strip()) == (
        2,
        "mailtriage: 'taro' is not an email address",
    )


def _count_server(imap_account) -> dict[str, int]:  # type: ignore[no-untyped-def]
    imap = imap_account.client()
    counts = {}
    for _, _, folder in imap.list_folders():
        counts[folder] = imap.folder_status(folder, ["MESSAGES"])[b"MESSAGES"]
    return counts
