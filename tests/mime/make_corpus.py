"""Regenerate tests/mime/corpus/*.eml and their expected *.json.

Run by hand (``python tests/mime/make_corpus.py``) after changing a case; the test suite only
reads the files. Expected values are written here by hand, never computed by the parser, so a
parser change that alters a result shows up as a failing golden test.

Japanese bytes are produced the way real mailers produce them: CP932 text converted to
ISO-2022-JP by Windows (so NEC/IBM extensions sit after ESC $ B), "Shift_JIS" that is CP932.
"""

from __future__ import annotations

import base64
import json
import quopri
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).parent / "corpus"


def sjis_pair_to_jis(s1: int, s2: int) -> bytes:
    if s1 >= 0xE0:
        s1 -= 0x40
    row = (s1 - 0x81) * 2 + 0x21
    if s2 >= 0x9F:
        return bytes((row + 1, s2 - 0x7E))
    return bytes((row, s2 - 0x1F - (1 if s2 > 0x7F else 0)))


def cp50220(text: str) -> bytes:
    """ISO-2022-JP as Windows writes it: CP932 characters in JIS X 0208 escape mode."""
    out = bytearray()
    kanji = False
    for ch in text:
        if ch.isascii():
            if kanji:
                out += b"\x1b(B"
                kanji = False
            out += ch.encode("ascii")
        else:
            sj = ch.encode("cp932")
            if not kanji:
                out += b"\x1b$B"
                kanji = True
            out += sjis_pair_to_jis(sj[0], sj[1])
    if kanji:
        out += b"\x1b(B"
    return bytes(out)


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def ew(charset: str, data: bytes) -> bytes:
    return b"=?" + charset.encode() + b"?B?" + b64(data) + b"?="


def wrap76(data: bytes) -> bytes:
    return b"\r\n".join(data[i : i + 76] for i in range(0, len(data), 76))


def msg(headers: list[bytes], body: bytes = b"") -> bytes:
    return b"\r\n".join(headers) + b"\r\n\r\n" + body


DATE = b"Date: Mon, 03 Feb 2025 10:15:00 +0900"
DATE_ISO = "2025-02-03T10:15:00+09:00"
CASES: dict[str, tuple[bytes, dict[str, Any]]] = {}


def case(name: str, raw: bytes, **expected: Any) -> None:
    CASES[name] = (raw, expected)


def addr(name: str, email: str) -> dict[str, str]:
    return {"name": name, "email": email}


# --- UTF-8 ---------------------------------------------------------------------------------
body = "こんにちは。請求書について質問があります。\n金額は¥12,000です。\n"
case(
    "utf8_base64",
    msg(
        [
            b"From: =?UTF-8?B?" + b64("山田 太郎".encode()) + b"?= <taro@Example.CO.JP>",
            b"To: support@example.co.jp",
            b"Subject: =?UTF-8?B?" + b64("請求書の件".encode()) + b"?=",
            DATE,
            b"Message-ID: <abc123@mail.example.co.jp>",
            b"MIME-Version: 1.0",
            b"Content-Type: text/plain; charset=UTF-8",
            b"Content-Transfer-Encoding: base64",
        ],
        wrap76(b64(body.encode())) + b"\r\n",
    ),
    message_id="<abc123@mail.example.co.jp>",
    subject="請求書の件",
    from_=addr("山田 太郎", "taro@example.co.jp"),
    to=[addr("", "support@example.co.jp")],
    date=DATE_ISO,
    text=body,
    text_from_html=False,
    attachments=[],
    warnings=[],
)

qp_body = (
    "Grüße aus München — naïve café.\n"
    "Zeile zwei mit einem sehr langen Text, der umbrochen werden muss, damit QP greift.\n"
)
case(
    "utf8_qp_and_references",
    msg(
        [
            b'From: "Mueller, Jorg" <jorg@example.DE>',
            b"To: Support <support@example.co.jp>, =?utf-8?q?B=C3=A4r?= <baer@example.de>",
            b"Cc: undisclosed-recipients:;",
            b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= aus =?utf-8?q?M=C3=BCnchen?=",
            DATE,
            b"Message-ID:  < part1 @ example.de >",
            b"In-Reply-To: Your message of Monday <orig@example.co.jp> (Support)",
            b"References: <orig@example.co.jp> garbage-token\r\n <second@example.co.jp>"
            b" <orig@example.co.jp>\r\n bare@example.org <>",
            b"Content-Type: text/plain; charset=utf-8",
            b"Content-Transfer-Encoding: quoted-printable",
        ],
        quopri.encodestring(qp_body.encode().replace(b"\n", b"\r\n")),
    ),
    message_id="<part1@example.de>",
    in_reply_to=["<orig@example.co.jp>"],
    references=["<orig@example.co.jp>", "<second@example.co.jp>"],
    subject="Grüße aus München",
    from_=addr("Mueller, Jorg", "jorg@example.de"),
    to=[addr("Support", "support@example.co.jp"), addr("Bär", "baer@example.de")],
    cc=[],
    date=DATE_ISO,
    text=qp_body,
    warnings=[],
)

# --- Japanese charsets ---------------------------------------------------------------------
jp_subject = "①㈱髙橋商事のご注文"
jp_body = "髙橋様\n\n㈱テストです。①～③の件、承知しました。\n"
case(
    "iso2022jp_nec_extensions",
    msg(
        [
            b"From: " + ew("ISO-2022-JP", cp50220("髙橋 一郎")) + b" <takahashi@example.jp>",
            b"To: support@example.co.jp",
            b"Subject: " + ew("ISO-2022-JP", cp50220(jp_subject)),
            DATE,
            b"Message-ID: <jis1@example.jp>",
            b"Content-Type: text/plain; charset=ISO-2022-JP",
            b"Content-Transfer-Encoding: 7bit",
        ],
        cp50220(jp_body).replace(b"\n", b"\r\n"),
    ),
    subject=jp_subject,
    from_=addr("髙橋 一郎", "takahashi@example.jp"),
    # the CP932 route gives U+FF5E for JIS 0x2141, as the Windows sender typed it
    text=jp_body,
    warnings=[],
)

plain_jis = "お問い合わせありがとうございます。\n～ 波ダッシュ\n"
case(
    "iso2022jp_plain",
    msg(
        [
            b"From: support@example.co.jp",
            b"Subject: " + ew("ISO-2022-JP", "お問い合わせ".encode("iso2022_jp")),
            DATE,
            b"Content-Type: text/plain; charset=iso-2022-jp",
        ],
        "お問い合わせありがとうございます。\n〜 波ダッシュ\n".encode("iso2022_jp"),
    ),
    subject="お問い合わせ",
    # strict iso2022_jp decodes JIS 0x2141 as U+301C: kept, not "fixed"
    text="お問い合わせありがとうございます。\n〜 波ダッシュ\n",
    warnings=[],
)
assert plain_jis  # documents the FF5E variant of the same sentence

sjis_body = "ご注文ありがとうございます。\n納期：３日～５日\n①確認済み ｶﾀｶﾅ ソフト表示\n"
case(
    "shift_jis_mislabelled_cp932",
    msg(
        [
            b"From: =?Shift_JIS?B?" + b64("販売部".encode("cp932")) + b"?= <sales@example.jp>",
            b"Subject: =?SHIFT_JIS?B?" + b64("納期～のご案内".encode("cp932")) + b"?=",
            DATE,
            b"Content-Type: text/plain; charset=Shift_JIS",
            b"Content-Transfer-Encoding: 8bit",
        ],
        sjis_body.encode("cp932").replace(b"\n", b"\r\n"),
    ),
    subject="納期～のご案内",
    from_=addr("販売部", "sales@example.jp"),
    text=sjis_body,
    warnings=[],
)

euc_body = "東京都千代田区の住所変更をお願いします。\n"
case(
    "euc_jp",
    msg(
        [
            b"From: =?EUC-JP?B?" + b64("総務".encode("euc_jp")) + b"?= <soumu@example.jp>",
            b"Subject: =?euc-jp?B?" + b64("住所変更".encode("euc_jp")) + b"?=",
            DATE,
            b"Content-Type: text/plain; charset=euc-jp",
            b"Content-Transfer-Encoding: 8bit",
        ],
        euc_body.encode("euc_jp"),
    ),
    subject="住所変更",
    from_=addr("総務", "soumu@example.jp"),
    text=euc_body,
    warnings=[],
)

missing_body = "返品の手続きについて教えてください。よろしくお願いします。\n"
case(
    "missing_charset_cp932",
    msg(
        [b"From: someone@example.jp", b"Subject: no charset", DATE, b"Content-Type: text/plain"],
        missing_body.encode("cp932"),
    ),
    text=missing_body,
    warnings=["part 0: charset missing; decoded as cp932"],
)
case(
    "missing_charset_eucjp",
    msg(
        [b"From: someone@example.jp", b"Subject: no charset", DATE],
        missing_body.encode("euc_jp"),
    ),
    text=missing_body,
    warnings=["part 0: charset missing; decoded as euc-jp"],
)

case(
    "unknown_charset",
    msg(
        [
            b"From: someone@example.jp",
            b"Subject: =?x-unknown?B?" + b64("見積もり".encode("cp932")) + b"?=",
            DATE,
            b"Content-Type: text/plain; charset=x-unknown",
            b"Content-Transfer-Encoding: 8bit",
        ],
        "見積もりをお願いします。\n".encode("cp932"),
    ),
    subject="見積もり",
    text="見積もりをお願いします。\n",
    warnings=[
        "Subject: charset 'x-unknown' unknown; decoded as cp932",
        "part 0: charset 'x-unknown' unknown; decoded as cp932",
    ],
)

split_utf8 = "日本語の件名です".encode()
split_jis = cp50220("①お知らせ")
case(
    "split_encoded_words",
    msg(
        [
            b"From: =?UTF-8?B?"
            + b64("鈴木".encode()[:4])
            + b"?=\r\n =?UTF-8?B?"
            + b64("鈴木".encode()[4:])
            + b"?= <suzuki@example.jp>",
            b"Subject: [#123] =?UTF-8?B?"
            + b64(split_utf8[:7])
            + b"?=\r\n =?UTF-8?B?"
            + b64(split_utf8[7:16])
            + b"?=\r\n\t=?utf-8?B?"
            + b64(split_utf8[16:])
            + b"?= "
            + ew("ISO-2022-JP", split_jis[:6])
            + b"\r\n "
            + ew("ISO-2022-JP", split_jis[6:]),
            DATE,
            b"Content-Type: text/plain; charset=us-ascii",
        ],
        b"body\r\n",
    ),
    subject="[#123] 日本語の件名です①お知らせ",
    from_=addr("鈴木", "suzuki@example.jp"),
    text="body\n",
    warnings=[],
)

case(
    "raw8bit_utf8_headers",
    msg(
        [
            "From: 佐藤 花子 <hanako@example.jp>".encode(),
            "Subject: 至急：ログインできません".encode(),
            'To: "サポート" <support@example.co.jp>'.encode(),
            DATE,
            b"Content-Type: text/plain; charset=utf-8",
        ],
        "本文\n".encode(),
    ),
    subject="至急：ログインできません",
    from_=addr("佐藤 花子", "hanako@example.jp"),
    to=[addr("サポート", "support@example.co.jp")],
    text="本文\n",
    warnings=[],
)

case(
    "raw8bit_sjis_headers",
    msg(
        [
            b'From: "' + "ソフト表示 担当".encode("cp932") + b'" <soft@example.jp>',
            b"Subject: " + "予定表の表示について".encode("cp932"),
            DATE,
            b"Content-Type: text/plain; charset=shift_jis",
        ],
        "能力\n".encode("cp932"),
    ),
    subject="予定表の表示について",
    from_=addr("ソフト表示 担当", "soft@example.jp"),
    text="能力\n",
    warnings=[
        "Subject: raw 8-bit header decoded as cp932",
        "From: raw 8-bit header decoded as cp932",
    ],
)

# --- attachments ---------------------------------------------------------------------------
pdf = b"%PDF-1.4\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"
fname = "請求書_2025年1月分.pdf"
pct = "".join(f"%{b:02X}" for b in fname.encode())
jis_name = "①見積書.xlsx"
jis_pct = "".join(f"%{b:02X}" for b in cp50220(jis_name))
case(
    "rfc2231_filenames",
    msg(
        [
            b"From: billing@example.jp",
            b"Subject: invoice",
            DATE,
            b"MIME-Version: 1.0",
            b'Content-Type: multipart/mixed; boundary="==b1"',
        ],
        b"--==b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + "添付します。\r\n".encode()
        + b"--==b1\r\nContent-Type: application/pdf\r\n"
        + b"Content-Disposition: attachment;\r\n filename*0*=UTF-8''"
        + pct[:30].encode()
        + b";\r\n filename*1*="
        + pct[30:].encode()
        + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + wrap76(b64(pdf))
        + b"\r\n--==b1\r\nContent-Type: application/vnd.ms-excel\r\n"
        + b"Content-Disposition: attachment; filename*=iso-2022-jp'ja'"
        + jis_pct.encode()
        + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + b64(b"xlsx-bytes")
        + b"\r\n--==b1--\r\n",
    ),
    text="添付します。",
    attachments=[
        {
            "filename": fname,
            "content_type": "application/pdf",
            "size": len(pdf),
            "inline": False,
            "content_id": None,
            "part_index": 2,
        },
        {
            "filename": jis_name,
            "content_type": "application/vnd.ms-excel",
            "size": 10,
            "inline": False,
            "content_id": None,
            "part_index": 3,
        },
    ],
    warnings=[],
)

case(
    "encoded_word_filename",
    msg(
        [
            b"From: billing@example.jp",
            b"Subject: quote",
            DATE,
            b'Content-Type: multipart/mixed; boundary="XX"',
        ],
        b"--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--XX\r\n"
        b'Content-Type: application/octet-stream; name="'
        + ew("ISO-2022-JP", cp50220("髙橋様見積.zip"))
        + b'"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + b64(b"PK\x03\x04zipdata")
        + b'\r\n--XX\r\nContent-Type: text/csv; name="=?UTF-8?Q?=E4=B8=80=E8=A6=A7.csv?="\r\n'
        b"Content-Disposition: attachment\r\n\r\na,b\r\n1,2\r\n--XX--\r\n",
    ),
    text="see attached",
    attachments=[
        {
            "filename": "髙橋様見積.zip",
            "content_type": "application/octet-stream",
            "size": 11,
            "inline": False,
            "content_id": None,
            "part_index": 2,
        },
        {
            "filename": "一覧.csv",
            "content_type": "text/csv",
            "size": 8,
            "inline": False,
            "content_id": None,
            "part_index": 3,
        },
    ],
    warnings=[],
)

# --- HTML ----------------------------------------------------------------------------------
html = """<!DOCTYPE html><html><head><title>ignored</title>
<style>td { color: red }</style><script>fetch('https://tracker.example/x')</script></head>
<body><h1>Order &amp; shipping</h1>
<p>Dear customer,<br>your order <b>#4411</b> has shipped.
Track it <a href="https://track.example.com/4411">here</a> or read the
<a href='https://example.com/faq'>FAQ</a>.</p>
<table><tr><th>Item</th><th>Qty</th></tr>
<tr><td>Cable&nbsp;2m</td><td>3</td></tr><tr><td>商品</td><td>1</td></tr></table>
<ul><li>first</li><li>second <a href="https://track.example.com/4411">again</a></li></ul>
<img src="https://tracker.example/pixel.gif" alt=""><p>&copy; Example&#8482;</p></body></html>"""
html_text = (
    "Order & shipping\n\n"
    "Dear customer,\nyour order #4411 has shipped. Track it here[1] or read the FAQ[2].\n\n"
    "Item | Qty\nCable 2m | 3\n商品 | 1\n\n"
    "- first\n- second again[1]\n\n"
    "© Example™\n\n"
    "[1] https://track.example.com/4411\n[2] https://example.com/faq"
)
case(
    "html_only",
    msg(
        [
            b"From: shop@example.com",
            b"Subject: Your order",
            DATE,
            b"Content-Type: text/html; charset=utf-8",
            b"Content-Transfer-Encoding: quoted-printable",
        ],
        quopri.encodestring(html.encode()),
    ),
    text=html_text,
    text_from_html=True,
    attachments=[],
    warnings=[],
)

case(
    "alternative_empty_text",
    msg(
        [
            b"From: news@example.com",
            b"Subject: alt",
            DATE,
            b'Content-Type: multipart/alternative; boundary="alt"',
        ],
        b"--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n \r\n\r\n"
        b"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p>Real <i>content</i></p><p>here</p>\r\n--alt--\r\n",
    ),
    text="Real content\n\nhere",
    text_from_html=True,
    attachments=[],
    warnings=[],
)
case(
    "alternative_stub_text",
    msg(
        [
            b"From: news@example.com",
            b"Subject: alt",
            DATE,
            b'Content-Type: multipart/alternative; boundary="alt"',
        ],
        b"--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"This is an HTML message. Please use an HTML capable mail client to view it.\r\n"
        b"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<div>Hello</div>\r\n--alt--\r\n",
    ),
    text="Hello",
    text_from_html=True,
)
case(
    "alternative_prefers_plain",
    msg(
        [
            b"From: a@example.com",
            b"Subject: alt",
            DATE,
            b'Content-Type: multipart/alternative; boundary="alt"',
        ],
        b"--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlain version\r\n"
        b"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p>HTML version</p>\r\n--alt--\r\n",
    ),
    text="Plain version",
    text_from_html=False,
)

png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
case(
    "related_inline_image",
    msg(
        [
            b"From: a@example.com",
            b"Subject: logo",
            DATE,
            b'Content-Type: multipart/alternative; boundary="A"',
        ],
        b"--A\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee our logo.\r\n--A\r\n"
        b'Content-Type: multipart/related; boundary="R"\r\n\r\n'
        b"--R\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b'<p>See our logo <img src="cid:logo@example.com" alt="logo"></p>\r\n'
        b"--R\r\nContent-Type: image/png\r\nContent-ID: <logo@example.com>\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(png) + b"\r\n--R--\r\n--A--\r\n",
    ),
    text="See our logo.",
    text_from_html=False,
    attachments=[
        {
            "filename": "",
            "content_type": "image/png",
            "size": len(png),
            "inline": True,
            "content_id": "logo@example.com",
            "part_index": 4,
        }
    ],
    warnings=[],
)

# --- damaged -------------------------------------------------------------------------------
case(
    "broken_boundary",
    msg(
        [
            b"From: a@example.com",
            b"Subject: broken",
            DATE,
            b'Content-Type: multipart/mixed; boundary="declared-but-unused"',
        ],
        b"--actual\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + "壊れた境界でも本文は読める。\r\n".encode()
        + b"--actual\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="a.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + b64(b"%PDF-1.4 tiny")
        + b"\r\n--actual--\r\n",
    ),
    text="壊れた境界でも本文は読める。",
    attachments=[
        {
            "filename": "a.pdf",
            "content_type": "application/pdf",
            "size": 13,
            "inline": False,
            "content_id": None,
            "part_index": 2,
        }
    ],
    warnings=["multipart boundary not found; split at the boundary found in the body"],
)

truncated_text = "この本文は途中で切れています。".encode()
case(
    "truncated_base64",
    msg(
        [
            b"From: a@example.com",
            b"Subject: cut",
            DATE,
            b'Content-Type: multipart/mixed; boundary="T"',
        ],
        b"--T\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + b64(truncated_text)[:-6]
        + b"\r\n--T\r\nContent-Type: image/jpeg; name=photo.jpg\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + b64(b"\xff\xd8\xff\xe0JFIF" * 10)[:-5],
    ),
    text="この本文は途中で切れていま\ufffd",
    warnings=[
        "part 1: charset 'utf-8' data ends mid-character",
        "multipart closing boundary missing",
        "part 1: base64 data truncated",
        "part 2: base64 data truncated",
    ],
    attachments=[
        {
            "filename": "photo.jpg",
            "content_type": "image/jpeg",
            "size": 77,
            "inline": False,
            "content_id": None,
            "part_index": 2,
        }
    ],
)

attack_from = "Admin \u202eusr\u202c"
attack_subject_ew = "\u202egnp.exe \x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\"
case(
    "terminal_attack",
    msg(
        [
            b"From: =?UTF-8?B?" + b64(attack_from.encode()) + b"?= <admin@evil.example>",
            b"Subject: Invoice \x1b[2J\x1b]52;c;ZWNobyBwd25lZA==\x07paid =?UTF-8?B?"
            + b64(attack_subject_ew.encode())
            + b"?=",
            DATE,
            b"Content-Type: text/plain; charset=utf-8",
        ],
        b"Hello\x1b[31m red\x1b[0m\r\nsafe text\roverwritten\r\n\x00nul\x07bell\r\n",
    ),
    subject="Invoice \x1b[2J\x1b]52;c;ZWNobyBwd25lZA==\x07paid " + attack_subject_ew,
    from_=addr(attack_from, "admin@evil.example"),
    text="Hello\x1b[31m red\x1b[0m\nsafe text\roverwritten\n\x00nul\x07bell\n",
    sanitized={
        "subject": "Invoice paid \ufffdgnp.exe click",
        "from_name": "Admin \ufffdusr\ufffd",
        "text": "Hello red\nsafe text\noverwritten\nnulbell\n",
    },
    warnings=[],
)

case(
    "empty",
    b"",
    message_id=None,
    subject="",
    from_=None,
    date=None,
    text="",
    attachments=[],
    warnings=["empty message"],
)

blob = bytes((i * 37 + 11) % 256 for i in range(600)) + b"\x00\xff\xfe" * 20
case(
    "binary_blob",
    blob,
    message_id=None,
    subject="",
    from_=None,
    date=None,
    warnings_include=["Date header missing"],
)

# --- structure and machine-written mail (RFC 2046, 2387, 3464, 3834, 5545) ------------------
# mixed > alternative > related, the plain part a Japanese "see the HTML" stub: the body comes
# from the related root, the inline logo and the PDF are both listed.
nested_png = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
nested_pdf = b"%PDF-1.4\n" + b"0" * 300 + b"\n%%EOF\n"
case(
    "nested_mixed_alternative_related",
    msg(
        [
            b"From: =?ISO-2022-JP?B?"
            + b64(cp50220("株式会社ミナト 経理部"))
            + b"?= <keiri@minato.example.jp>",
            b"To: support@example.co.jp",
            b"Subject: =?UTF-8?B?" + b64("【請求書】2025年1月分のご案内".encode()) + b"?=",
            DATE,
            b"Message-ID: <nested.1@minato.example.jp>",
            b"MIME-Version: 1.0",
            b'Content-Type: multipart/mixed; boundary="=_mixed"',
        ],
        b"This is a multi-part message in MIME format.\r\n\r\n"
        b'--=_mixed\r\nContent-Type: multipart/alternative; boundary="=_alt"\r\n\r\n'
        b"--=_alt\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n"
        b"Content-Transfer-Encoding: 7bit\r\n\r\n"
        + cp50220("このメールはHTML形式です。HTML表示に対応したメールソフトでご覧ください。")
        + b"\r\n--=_alt\r\n"
        b'Content-Type: multipart/related; boundary="=_rel"; type="text/html"\r\n\r\n'
        b"--=_rel\r\nContent-Type: text/html; charset=UTF-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + wrap76(
            b64(
                "<html><body><p>いつもお世話になっております。</p>"
                '<p><img src="cid:logo.1@minato" alt="ミナトロゴ">'
                "1月分の請求書を添付いたします。</p>"
                "<table><tr><th>品目</th><th>金額</th></tr>"
                "<tr><td>保守費用</td><td>¥55,000</td></tr></table>"
                "</body></html>".encode()
            )
        )
        + b"\r\n--=_rel\r\nContent-Type: image/png; name=logo.png\r\n"
        b"Content-Transfer-Encoding: base64\r\nContent-ID: <logo.1@minato>\r\n\r\n"
        + b64(nested_png)
        + b"\r\n--=_rel--\r\n\r\n--=_alt--\r\n\r\n--=_mixed\r\n"
        b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment;\r\n"
        b" filename*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8_2025-01.pdf\r\n\r\n"
        + wrap76(b64(nested_pdf))
        + b"\r\n--=_mixed--\r\n",
    ),
    message_id="<nested.1@minato.example.jp>",
    subject="【請求書】2025年1月分のご案内",
    from_=addr("株式会社ミナト 経理部", "keiri@minato.example.jp"),
    date=DATE_ISO,
    text="いつもお世話になっております。\n\n[image: ミナトロゴ]1月分の請求書を添付いたします。\n\n"
    "品目 | 金額\n保守費用 | ¥55,000",
    text_from_html=True,
    attachments=[
        {
            "filename": "logo.png",
            "content_type": "image/png",
            "size": len(nested_png),
            "inline": True,
            "content_id": "logo.1@minato",
            "part_index": 5,
        },
        {
            "filename": "請求書_2025-01.pdf",
            "content_type": "application/pdf",
            "size": len(nested_pdf),
            "inline": False,
            "content_id": None,
            "part_index": 6,
        },
    ],
    warnings=[],
)

# 3,000 ids of References, folded one per line (~200 KB), with repeats that must collapse,
# and one unfolded 120 KB tracking header: neither may slow or break the header block.
huge_ids = [f"<{i:05d}.{'x' * 48}@thread.example.co.jp>" for i in range(3000)]
case(
    "huge_headers",
    msg(
        [
            b"From: loop@example.com",
            b"To: support@example.co.jp",
            b"Subject: Re: Re: Re: long thread",
            DATE,
            b"Message-ID: <huge@example.com>",
            b"In-Reply-To: " + huge_ids[-1].encode(),
            b"References: " + b"\r\n ".join(i.encode() for i in huge_ids + huge_ids[:10]),
            b"X-Tracking: " + b"t" * 120_000,
            b"Content-Type: text/plain; charset=us-ascii",
        ],
        b"still readable\r\n",
    ),
    message_id="<huge@example.com>",
    in_reply_to=[huge_ids[-1]],
    references=huge_ids,
    subject="Re: Re: Re: long thread",
    date=DATE_ISO,
    text="still readable\n",
    # physical lines: 6 before References, which spans 3,010, so X-Tracking is line 3017
    warnings=["header line 3017 longer than 998 bytes"],
)

ics = (
    "BEGIN:VCALENDAR\r\nPRODID:-//Example//Calendar//EN\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\n"
    "BEGIN:VEVENT\r\nUID:evt-20250210@example.co.jp\r\nDTSTART;TZID=Asia/Tokyo:20250210T140000\r\n"
    "DTEND;TZID=Asia/Tokyo:20250210T150000\r\nSUMMARY:打ち合わせ（請求書の件）\r\n"
    "ORGANIZER;CN=山田 太郎:mailto:taro@example.jp\r\n"
    "ATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:mailto:support@example.co.jp\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
).encode()
case(
    "calendar_invite",
    msg(
        [
            b"From: =?UTF-8?B?" + b64("山田 太郎".encode()) + b"?= <taro@example.jp>",
            b"To: support@example.co.jp",
            b"Subject: =?UTF-8?B?"
            + b64("招待: 打ち合わせ（請求書の件） @ 2025/02/10 (月) 14:00～15:00".encode())
            + b"?=",
            DATE,
            b"Message-ID: <invite.20250210@example.jp>",
            b"MIME-Version: 1.0",
            b'Content-Type: multipart/mixed; boundary="cal-mixed"',
        ],
        b'--cal-mixed\r\nContent-Type: multipart/alternative; boundary="cal-alt"\r\n\r\n'
        b"--cal-alt\r\nContent-Type: text/plain; charset=UTF-8\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n"
        + "打ち合わせ（請求書の件）\n2025/02/10 (月) 14:00～15:00\n".encode().replace(
            b"\n", b"\r\n"
        )
        + b"--cal-alt\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n"
        + "<p>打ち合わせ（請求書の件）</p>".encode()
        + b"\r\n--cal-alt\r\nContent-Type: text/calendar; charset=UTF-8; method=REQUEST\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + ics + b"--cal-alt--\r\n--cal-mixed\r\n"
        b'Content-Type: application/ics; name="invite.ics"\r\n'
        b'Content-Disposition: attachment; filename="invite.ics"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + wrap76(b64(ics)) + b"\r\n--cal-mixed--\r\n",
    ),
    subject="招待: 打ち合わせ（請求書の件） @ 2025/02/10 (月) 14:00～15:00",
    from_=addr("山田 太郎", "taro@example.jp"),
    # the CRLF before a boundary belongs to the boundary (RFC 2046 5.1.1)
    text="打ち合わせ（請求書の件）\n2025/02/10 (月) 14:00～15:00",
    text_from_html=False,
    attachments=[
        {
            "filename": "",
            "content_type": "text/calendar",
            "size": len(ics) - 2,
            "inline": False,
            "content_id": None,
            "part_index": 4,
        },
        {
            "filename": "invite.ics",
            "content_type": "application/ics",
            "size": len(ics),
            "inline": False,
            "content_id": None,
            "part_index": 5,
        },
    ],
    warnings=[],
)

# RFC 3464 bounce: human part, machine part, then the returned headers (RFC 6522) of the
# reply we sent, whose ISO-2022-JP subject must not leak into this message's fields.
dsn_status = (
    b"Reporting-MTA: dns; mx.example.co.jp\r\nArrival-Date: Mon, 03 Feb 2025 10:14:58 +0900\r\n"
    b"\r\nFinal-Recipient: rfc822; nobody@customer.example\r\nAction: failed\r\n"
    b"Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <nobody@customer.example>: "
    b"Recipient address rejected: User unknown\r\n"
)
dsn_headers = (
    b"From: support@example.co.jp\r\nTo: nobody@customer.example\r\n"
    b"Subject: =?ISO-2022-JP?B?" + b64(cp50220("Re: 返金について")) + b"?=\r\n"
    b"Message-ID: <reply.77@example.co.jp>\r\n"
)
case(
    "dsn_bounce",
    msg(
        [
            b"Return-Path: <>",
            b"From: MAILER-DAEMON@mx.example.co.jp (Mail Delivery System)",
            b"To: support@example.co.jp",
            b"Subject: Undelivered Mail Returned to Sender",
            DATE,
            b"Message-ID: <20250203011500.ABC@mx.example.co.jp>",
            b"Auto-Submitted: auto-replied",
            b"MIME-Version: 1.0",
            b"Content-Type: multipart/report; report-type=delivery-status;\r\n"
            b'\tboundary="DSN.42/mx.example.co.jp"',
        ],
        b"This is a MIME-encapsulated message.\r\n\r\n--DSN.42/mx.example.co.jp\r\n"
        b"Content-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        b"I'm sorry to have to inform you that your message could not\r\n"
        b"be delivered to one or more recipients.\r\n\r\n"
        b"<nobody@customer.example>: host mx.customer.example said: 550 5.1.1 User unknown\r\n"
        b"\r\n--DSN.42/mx.example.co.jp\r\nContent-Description: Delivery report\r\n"
        b"Content-Type: message/delivery-status\r\n\r\n"
        + dsn_status
        + b"\r\n--DSN.42/mx.example.co.jp\r\nContent-Description: Undelivered Message Headers\r\n"
        b"Content-Type: text/rfc822-headers\r\n\r\n"
        + dsn_headers
        + b"\r\n--DSN.42/mx.example.co.jp--\r\n",
    ),
    message_id="<20250203011500.ABC@mx.example.co.jp>",
    subject="Undelivered Mail Returned to Sender",
    from_=addr("Mail Delivery System", "MAILER-DAEMON@mx.example.co.jp"),
    text="I'm sorry to have to inform you that your message could not\n"
    "be delivered to one or more recipients.\n\n"
    "<nobody@customer.example>: host mx.customer.example said: 550 5.1.1 User unknown",
    text_from_html=False,
    attachments_of_type=["message/delivery-status", "text/rfc822-headers"],
    warnings=[],
)

# RFC 3834 auto-reply from a Japanese Outlook: CP50220 subject and body, NEC characters.
case(
    "auto_reply",
    msg(
        [
            b"From: =?ISO-2022-JP?B?"
            + b64(cp50220("髙橋 一郎"))
            + b"?= <takahashi@customer.example>",
            b"To: support@example.co.jp",
            b"Subject: =?ISO-2022-JP?B?" + b64(cp50220("自動応答: Re: 請求書の件")) + b"?=",
            DATE,
            b"Message-ID: <auto.1@customer.example>",
            b"In-Reply-To: <reply.76@example.co.jp>",
            b"Auto-Submitted: auto-replied",
            b"X-Auto-Response-Suppress: All",
            b"Precedence: auto_reply",
            b"Content-Type: text/plain; charset=ISO-2022-JP",
            b"Content-Transfer-Encoding: 7bit",
        ],
        cp50220(
            "ただいま不在にしております。\r\n"
            "①2月3日～2月7日は出張のため、返信が遅れます。\r\n㈱カスタマー 髙橋\r\n"
        ),
    ),
    message_id="<auto.1@customer.example>",
    in_reply_to=["<reply.76@example.co.jp>"],
    subject="自動応答: Re: 請求書の件",
    from_=addr("髙橋 一郎", "takahashi@customer.example"),
    text="ただいま不在にしております。\n"
    "①2月3日～2月7日は出張のため、返信が遅れます。\n㈱カスタマー 髙橋\n",
    warnings=[],
)

# Nothing but a To: no From, Date, Message-ID, Subject, MIME-Version or Content-Type.
case(
    "missing_headers",
    msg([b"To: support@example.co.jp"], "ヘッダーがほとんどないメール\n".encode()),
    message_id=None,
    subject="",
    from_=None,
    to=[addr("", "support@example.co.jp")],
    date=None,
    text="ヘッダーがほとんどないメール\n",
    attachments=[],
    # RFC 2045 says us-ascii when no Content-Type: 8-bit text is read as UTF-8, and said so
    warnings=["Date header missing", "part 0: charset missing; decoded as utf-8"],
)

# Raw 8-bit in three charsets at once: EUC-JP subject, UTF-8 display name, CP932 filename.
case(
    "raw8bit_mixed_headers",
    msg(
        [
            b"From: " + "鈴木 次郎".encode() + b" <jiro@example.jp>",
            b"To: support@example.co.jp",
            b"Subject: " + "見積書の送付について".encode("euc_jp"),
            DATE,
            b'Content-Type: multipart/mixed; boundary="b8"',
        ],
        b"--b8\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + "添付をご確認ください。\r\n".encode()
        + b"--b8\r\nContent-Type: application/octet-stream\r\n"
        + b'Content-Disposition: attachment; filename="'
        + "見積書.xlsx".encode("cp932")
        + b'"\r\n\r\nPK\r\n--b8--\r\n',
    ),
    subject="見積書の送付について",
    from_=addr("鈴木 次郎", "jiro@example.jp"),
    text="添付をご確認ください。",
    attachment_names=["見積書.xlsx"],
    warnings_include=[
        "Subject: raw 8-bit header decoded as euc-jp",
        "part 2: raw 8-bit header decoded as cp932",
    ],
)

# --- header lines a strict parser would turn into body text ---------------------------------
case(
    "malformed_header_name",
    msg(
        [
            b"From: a@example.com",
            b"X Mailer Version: 1.0",
            b"X-\xe6\x97\xa5\xe6\x9c\xac: 8-bit name",
            b"Subject: still a header",
            DATE,
            b"Content-Type: text/plain; charset=utf-8",
        ],
        b"body only\r\n",
    ),
    subject="still a header",
    date=DATE_ISO,
    text="body only\n",
    warnings=[
        "header line 2 dropped: illegal character in the field name",
        "header line 3 dropped: illegal character in the field name",
    ],
)
case(
    "malformed_header_bare_cr",
    msg(
        [
            b"From: a@example.com",
            b"Received: from relay\rby mx; Mon, 03 Feb 2025 10:15:00 +0900",
            b"Subject: after the CR",
            DATE,
            b"Content-Type: text/plain; charset=utf-8",
        ],
        b"body only\r\n",
    ),
    subject="after the CR",
    date=DATE_ISO,
    text="body only\n",
    warnings=["header line 2: bare CR read as a space"],
)
case(
    "malformed_header_lost_fold",
    msg(
        [
            b"From: a@example.com",
            b"To: one@example.com,",
            b"two@example.com",
            b"Subject : spaced name",
            DATE,
            b"Content-Type: text/plain; charset=utf-8",
        ],
        b"body only\r\n",
    ),
    subject="spaced name",
    to=[addr("", "one@example.com"), addr("", "two@example.com")],
    date=DATE_ISO,
    text="body only\n",
    warnings=[
        "header line 3 has no field name; joined to the one above",
        "header line 4: space before the colon removed",
    ],
)
case(
    "alternative_view_in_browser",
    msg(
        [
            b"From: news@example.com",
            b"Subject: newsletter",
            DATE,
            b'Content-Type: multipart/alternative; boundary="v"',
        ],
        b"--v\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"View this email in your browser: https://example.com/n/1\r\n"
        b"--v\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<h1>February news</h1>"
        + b"<p>"
        + b"Our new release brings faster search and calmer notifications. " * 4
        + b"</p>\r\n--v--\r\n",
    ),
    text="February news\n\n"
    + "Our new release brings faster search and calmer notifications. " * 3
    + "Our new release brings faster search and calmer notifications.",
    text_from_html=True,
)

# What Python's own generator writes for a display name full of specials: unquoted, so a
# strict address parser loses the address; the angle brackets still say where it is.
case(
    "unquoted_specials_display_name",
    msg(
        [
            b"From: [link=https://evil.example]Admin[/link] =?utf-8?b?4oGmwpszMW0=?=",
            b" <evil@Example.COM>",
            b"Subject: x",
            DATE,
        ],
        b"x\r\n",
    ),
    from_=addr("[link=https://evil.example]Admin[/link] \u2066\x9b31m", "evil@example.com"),
    # \x9b31m is a C1 CSI sequence: removed whole; the isolate becomes the marker
    sanitized={"from_name": "[link=https://evil.example]Admin[/link] \ufffd"},
    warnings=["From: display name has unquoted special characters"],
)


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    for name, (raw, expected) in CASES.items():
        (CORPUS / f"{name}.eml").write_bytes(raw)
        text = json.dumps(expected, ensure_ascii=False, indent=2) + "\n"
        (CORPUS / f"{name}.json").write_text(text, encoding="utf-8")
    print(f"wrote {len(CASES)} cases to {CORPUS}")


if __name__ == "__main__":
    main()
