"""Attachment names from strangers cannot traverse, hide, overwrite or spoof."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from mailtriage.mime import parse_message
from mailtriage.mime.attachments import safe_filename, save_attachment


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("請求書.pdf", "請求書.pdf"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("..\\..\\boot.ini", "_.._boot.ini"),
        ("/abs/path.txt", "_abs_path.txt"),
        (".bashrc", "bashrc"),
        ("invoice\u202egpj.exe", "invoice_gpj.exe"),
        ("a\x1b[2Jb.txt", "a_[2Jb.txt"),
        ("", "attachment"),
        ("...", "attachment"),
        ("CON.txt", "attachment_CON.txt"),
        ("ﾊﾝｶｸ.csv", "ﾊﾝｶｸ.csv"),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


def test_long_names_are_cut_keeping_the_extension() -> None:
    name = safe_filename("長" * 300 + ".pdf")
    assert name.endswith(".pdf") and len(name.encode()) <= 200


def message_with_attachment() -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = "files"
    msg.set_content("see attached")
    msg.add_attachment(
        b"%PDF-1.4 data", maintype="application", subtype="pdf", filename="../請求書.pdf"
    )
    return msg.as_bytes()


def test_save_never_overwrites_and_stays_in_directory(tmp_path: Path) -> None:
    raw = message_with_attachment()
    (attachment,) = parse_message(raw).attachments
    first = save_attachment(raw, attachment.part_index, attachment.filename, tmp_path)
    second = save_attachment(raw, attachment.part_index, attachment.filename, tmp_path)
    assert first.parent == tmp_path and second.parent == tmp_path
    assert first.name == "_請求書.pdf" and second.name == "_請求書 (2).pdf"
    assert first.read_bytes() == second.read_bytes() == b"%PDF-1.4 data"
    assert (first.stat().st_mode & 0o777) == 0o600
