"""The Japanese charset routes, checked on the exact bytes real mailers send."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mailtriage.mime import extract_attachment, parse_message
from mailtriage.mime.charsets import decode_iso2022jp, decode_text, detect, jis_to_sjis
from mailtriage.mime.headers import parse_ids

# "①㈱髙～" as Windows encodes it in ISO-2022-JP: CP932 rows 13 and 89-92 after ESC $ B.
WINDOWS_JIS = b"\x1b$B-!-j|b!A\x1b(B"


def test_strict_codecs_reject_windows_iso2022jp() -> None:
    for codec in ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2004"):
        with pytest.raises(UnicodeDecodeError):
            WINDOWS_JIS.decode(codec)


def test_iso2022jp_keeps_nec_and_ibm_extensions() -> None:
    assert decode_iso2022jp(WINDOWS_JIS) == ("①㈱髙～", [])


def test_iso2022jp_strict_route_keeps_wave_dash() -> None:
    assert decode_iso2022jp("〜".encode("iso2022_jp")) == ("〜", [])


def test_iso2022jp_halfwidth_katakana() -> None:
    assert decode_text(b"\x1b(I6@6E\x1b(B", "iso-2022-jp") == ("ｶﾀｶﾅ", [])
    assert decode_text(b"\x0e6@6E\x0f", "iso-2022-jp") == ("ｶﾀｶﾅ", [])


def test_jis_to_sjis_flags_unsupported_sets() -> None:
    # JIS X 0212 has no CP932 equivalent; Python's iso2022_jp_2004 route decodes it instead.
    _, ok = jis_to_sjis(b"\x1b$(D0!\x1b(B")
    assert not ok
    assert decode_iso2022jp(b"\x1b$(D0!\x1b(B")[1] == []
    assert decode_iso2022jp(b"\x1b$B-!\x1b$(D0!\x1b(B")[1] != []


@pytest.mark.parametrize("label", ["shift_jis", "x-sjis", "sjis", "Shift-JIS", "windows-31j"])
def test_shift_jis_labels_decode_as_cp932(label: str) -> None:
    text = "①～髙ｶﾀｶﾅ∥－"
    assert decode_text(text.encode("cp932"), label) == (text, [])


def test_euc_jp_falls_back_to_jis2004() -> None:
    text = "俱剝𠮟"  # JIS X 0213 only: not in EUC-JP, present in EUC-JIS-2004
    assert decode_text(text.encode("euc_jis_2004"), "euc-jp") == (text, [])


def test_detect_prefers_real_japanese() -> None:
    text = "ご確認のほど、よろしくお願い申し上げます。"
    assert detect(text.encode("cp932")) == (text, "cp932")
    assert detect(text.encode("euc_jp")) == (text, "euc-jp")
    assert detect(text.encode("utf-8")) == (text, "utf-8")
    assert detect(text.encode("iso2022_jp")) == (text, "iso-2022-jp")


def test_unknown_and_dangerous_labels_are_not_trusted() -> None:
    text, warnings = decode_text(b"\\x41", "unicode_escape")
    assert text == "\\x41"
    assert warnings == ["charset 'unicode_escape' unknown; decoded as utf-8"]


def test_last_resort_replaces_with_warning() -> None:
    text, warnings = decode_text(b"\x81\x8d\x8f\x90\x9d\xff", None)
    assert "\ufffd" in text
    assert warnings and "replacement" in warnings[0]


def test_latin1_label_with_windows_punctuation() -> None:
    assert decode_text(b"\x93quoted\x94 \xe9", "iso-8859-1") == ("“quoted” é", [])


def test_message_ids_tolerate_garbage() -> None:
    assert parse_ids(b"no-brackets@example.com") == ["<no-brackets@example.com>"]
    assert parse_ids(b"<a@b> junk <c@d>\r\n <a@b> <>") == ["<a@b>", "<c@d>"]
    assert parse_ids(b"(comment) plain words") == []


def test_extract_attachment_round_trip() -> None:
    from pathlib import Path

    raw = (Path(__file__).parent / "corpus" / "rfc2231_filenames.eml").read_bytes()
    parsed = parse_message(raw)
    pdf = extract_attachment(raw, parsed.attachments[0].part_index)
    assert pdf.startswith(b"%PDF-1.4") and len(pdf) == parsed.attachments[0].size
    with pytest.raises(IndexError):
        extract_attachment(raw, 99)


def test_attached_message_is_one_attachment() -> None:
    inner = b"From: x@example.com\r\nSubject: inner\r\n\r\ninner body\r\n"
    raw = (
        b'Content-Type: multipart/mixed; boundary="M"\r\nSubject: outer\r\n\r\n'
        b"--M\r\nContent-Type: text/plain\r\n\r\nouter body\r\n"
        b"--M\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"--M--\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.text == "outer body"
    assert [a.content_type for a in parsed.attachments] == ["message/rfc822"]
    assert b"inner body" in extract_attachment(raw, parsed.attachments[0].part_index)


def test_mime_layer_never_imports_textual() -> None:
    code = "import sys, mailtriage.mime; sys.exit('textual' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
