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


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    for name, (raw, expected) in CASES.items():
        (CORPUS / f"{name}.eml").write_bytes(raw)
        text = json.dumps(expected, ensure_ascii=False, indent=2) + "\n"
        (CORPUS / f"{name}.json").write_text(text, encoding="utf-8")
    print(f"wrote {len(CASES)} cases to {CORPUS}")


if __name__ == "__main__":
    main()
