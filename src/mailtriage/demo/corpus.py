"""A deterministic, realistic support mailbox for `make demo` (and for tests that want real mail).

The fictional vendor is 株式会社ミナト (Minato Inc.), whose product "Minato Drive" is a cloud
storage SaaS with a small gateway appliance ("Minato Box"). Its shared inbox is
support@example.co.jp; the team is alice, bob and carol (supervisor).

Every message is built byte by byte, the way the mailer it imitates would write it, because the
point of the demo is to exercise the parsing paths real Japanese mail needs:

* UTF-8 in base64, quoted-printable and 8bit; ISO-2022-JP 7bit; Shift_JIS 8bit and base64
  (with half-width katakana); EUC-JP 8bit; encoded-word headers in all of those charsets.
* Outlook-style ISO-2022-JP ("jis-cp932" bodies). Outlook and most Windows mailers write
  ISO-2022-JP by taking the CP932 bytes and mapping them to JIS row/column arithmetically, so
  NEC special characters (①②, ㈱, Ⅱ, row 13) and NEC-selected IBM extensions (髙, rows 89-92)
  land in JIS rows that JIS X 0208 leaves empty, and FULLWIDTH TILDE ～ becomes 0x2141. Python's
  iso2022_jp* codecs can neither write nor read those rows; decode such bodies by converting JIS
  back to Shift_JIS bytes (the inverse arithmetic) and decoding as cp932. With the stock codec
  and errors="replace" (what `email` does) they come out as U+FFFD, which is the bug the demo is
  meant to show. Headers never contain those characters, so every header decodes with the stock
  codecs.
* Threads with In-Reply-To/References, plus follow-ups that drop them (feature phones do) and
  keep only the subject; "Re:", "RE:", "AW:", "Fwd:", "FW:", 「転送:」 forms.
* multipart/alternative, HTML-only, multipart/related with an inline image, attachments named
  with RFC 2231 (including continuations) and with Outlook's encoded words, message/rfc822,
  a multipart/report bounce.

Triage state is carried by IMAP keywords exactly as the app writes them; see `build_demo_corpus`.
"""

from __future__ import annotations

import base64
import binascii
import random
import struct
import textwrap
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from html import escape
from urllib.parse import quote

SUPPORT_ADDRESS = "support@example.co.jp"
TEAM = ("alice", "bob", "carol")

STATUS_IN_PROGRESS = "mt:status/in-progress"
STATUS_DONE = "mt:status/done"
PRIO_URGENT = "mt:prio/urgent"
LATER = "mt:later"
NOREPLY = "mt:noreply"


def assignee_keyword(name: str) -> str:
    return f"mt:assignee/{name}"


@dataclass(frozen=True)
class DemoMessage:
    mailbox: str  # "INBOX" or "Sent"
    raw: bytes  # the complete RFC 5322 message, CRLF line endings
    flags: tuple[str, ...]  # e.g. ("\\Seen", "mt:status/in-progress", "mt:assignee/alice")
    internaldate: datetime  # timezone-aware


def build_demo_corpus(
    *, now: datetime | None = None, seed: int = 7, conversations: int = 240
) -> list[DemoMessage]:
    """Build the demo mailbox, oldest message first.

    The result depends only on `seed`, `now` and `conversations`. `now` defaults to the current
    time rounded down to the minute so a freshly seeded demo has mail from minutes ago; every
    date lies in the 21 days before `now`. Roughly 45% of conversations are unhandled (no status
    keyword), 30% in progress, 25% done; about 8% carry mt:prio/urgent. The conversation's
    keywords are on each of its messages, in INBOX and Sent.
    """
    if now is None:
        now = datetime.now(UTC).replace(second=0, microsecond=0)
    elif now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    builder = _Builder(random.Random(seed), now)
    for plan in builder.plan(conversations):
        builder.build(plan)
    builder.add_bounces()
    return sorted(builder.messages, key=lambda m: m.internaldate)


# --------------------------------------------------------------------------------------------
# Encodings


def _sjis_pair_to_jis(c1: int, c2: int) -> tuple[int, int]:
    if c1 >= 0xE0:
        c1 -= 0x40
    row = (c1 - 0x81) * 2 + 0x21
    if c2 >= 0x9F:
        return row + 1, c2 - 0x7E
    return row, c2 - 0x1F - (1 if c2 >= 0x80 else 0)


def cp932_to_iso2022jp(line: str) -> bytes:
    """One line of text as Outlook writes ISO-2022-JP: CP932 bytes mapped to JIS arithmetically.

    Unlike the stock iso2022_jp codec this keeps NEC special characters (①, ㈱, Ⅱ) and
    NEC-selected IBM extensions (髙); see the module docstring for how to read them back.
    """
    raw = line.encode("cp932")
    out = bytearray()
    kanji = False
    i = 0
    while i < len(raw):
        b = raw[i]
        if b < 0x80:
            if kanji:
                out += b"\x1b(B"
                kanji = False
            out.append(b)
            i += 1
            continue
        if 0xA1 <= b <= 0xDF or b >= 0xF0:
            # Half-width katakana and IBM/user-defined rows have no JIS position at all.
            raise ValueError(f"{line!r}: byte {b:#x} has no ISO-2022-JP form")
        if not kanji:
            out += b"\x1b$B"
            kanji = True
        out += bytes(_sjis_pair_to_jis(b, raw[i + 1]))
        i += 2
    if kanji:
        out += b"\x1b(B"
    return bytes(out)


# Mailers for the legacy charsets live in the JIS X 0208 repertoire; the Windows ones in CP932's.
_TO_JIS_REPERTOIRE = str.maketrans({"～": "〜", "－": "−"})
_TO_CP932_REPERTOIRE = str.maketrans({"〜": "～", "−": "－"})


def _charset_bytes(text: str, charset: str) -> bytes:
    """Header text in `charset`: one self-contained chunk (ISO-2022-JP ends in ASCII)."""
    if charset == "ISO-2022-JP":
        return cp932_to_iso2022jp(text.translate(_TO_CP932_REPERTOIRE))
    if charset == "Shift_JIS":
        return text.translate(_TO_JIS_REPERTOIRE).encode("shift_jis")
    if charset == "EUC-JP":
        return text.translate(_TO_JIS_REPERTOIRE).encode("euc_jp")
    return text.encode("utf-8")


def _encoded_words(text: str, charset: str) -> str:
    limit = 45 if charset == "UTF-8" else 36
    chunks: list[str] = []
    current = ""
    for ch in text:
        if current and len(_charset_bytes(current + ch, charset)) > limit:
            chunks.append(current)
            current = ch
        else:
            current += ch
    if current:
        chunks.append(current)
    words = [
        f"=?{charset}?B?{base64.b64encode(_charset_bytes(c, charset)).decode()}?=" for c in chunks
    ]
    return "\r\n ".join(words)


def _header_text(text: str, charset: str) -> str:
    """An unstructured header value: ASCII stays readable, the rest becomes encoded words."""
    if text.isascii():
        return _fold_ascii(text)
    try:
        _charset_bytes(text, charset)
    except (UnicodeError, ValueError):
        # Mailers switch to UTF-8 when the legacy charset cannot hold the text (emoji, say).
        charset = "UTF-8"
    first = next(i for i, ch in enumerate(text) if not ch.isascii())
    cut = text.rfind(" ", 0, first) + 1
    # Mailers leave a leading "Re: " or "[Ticket#123] " outside the encoded word.
    prefix = text[:cut] if cut and len(text[:cut]) < 30 else ""
    return prefix + _encoded_words(text[len(prefix) :], charset)


def _fold_ascii(text: str, width: int = 68) -> str:
    if len(text) <= width:
        return text
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    lines.append(current)
    return "\r\n ".join(lines)


_SPECIALS = set('()<>[]:;@\\,."')


def _address(name: str, email: str, charset: str = "UTF-8") -> str:
    if not name:
        return email
    if not name.isascii():
        return f"{_encoded_words(name, charset)} <{email}>"
    if any(ch in _SPECIALS for ch in name):
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{email}>'
    return f"{name} <{email}>"


def _b64_body(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def _qp_body(data: bytes) -> bytes:
    return binascii.b2a_qp(data, istext=True).replace(b"\n", b"\r\n")


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


# body kind -> (charset label, Content-Transfer-Encoding)
_BODY_KINDS: dict[str, tuple[str, str]] = {
    "utf8-b64": ("UTF-8", "base64"),
    "utf8-qp": ("UTF-8", "quoted-printable"),
    "utf8-8bit": ("utf-8", "8bit"),
    "jis-cp932": ("ISO-2022-JP", "7bit"),
    "jis": ("iso-2022-jp", "7bit"),
    "sjis-8bit": ("Shift_JIS", "8bit"),
    "sjis-b64": ("Shift_JIS", "base64"),
    "eucjp": ("EUC-JP", "8bit"),
    "ascii": ("us-ascii", "7bit"),
}


def _encode_text(text: str, kind: str) -> bytes:
    lines = text.replace("\r\n", "\n").split("\n")
    if kind == "jis-cp932":
        return b"\r\n".join(
            cp932_to_iso2022jp(line.translate(_TO_CP932_REPERTOIRE)) for line in lines
        )
    if kind == "jis":
        return b"\r\n".join(
            line.translate(_TO_JIS_REPERTOIRE).encode("iso2022_jp") for line in lines
        )
    joined = "\n".join(lines)
    if kind.startswith("sjis"):
        data = joined.translate(_TO_JIS_REPERTOIRE).encode("shift_jis")
    elif kind == "eucjp":
        data = joined.translate(_TO_JIS_REPERTOIRE).encode("euc_jp")
    elif kind == "ascii":
        data = joined.encode("ascii")
    else:
        data = joined.encode("utf-8")
    cte = _BODY_KINDS[kind][1]
    if cte == "base64":
        return _b64_body(data)
    if cte == "quoted-printable":
        return _qp_body(data)
    return data.replace(b"\n", b"\r\n")


def _text_part(text: str, kind: str, subtype: str = "plain", flowed: bool = False) -> bytes:
    if text.isascii() and kind in ("jis", "jis-cp932", "sjis-8bit", "eucjp", "utf8-8bit"):
        kind = "ascii"
    try:
        body = _encode_text(text, kind)
    except (UnicodeError, ValueError):
        # As above: a legacy charset that cannot hold the text gives way to UTF-8.
        kind = "utf8-b64"
        body = _encode_text(text, kind)
    charset, cte = _BODY_KINDS[kind]
    params = f'charset="{charset}"' if kind in ("sjis-8bit", "sjis-b64") else f"charset={charset}"
    if flowed and subtype == "plain":
        params += "; format=flowed"
    head = f"Content-Type: text/{subtype}; {params}\r\nContent-Transfer-Encoding: {cte}\r\n\r\n"
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return head.encode("ascii") + body


def _multipart(subtype: str, parts: Sequence[bytes], boundary: str, extra: str = "") -> bytes:
    out = [f'Content-Type: multipart/{subtype};{extra}\r\n\tboundary="{boundary}"\r\n\r\n'.encode()]
    if subtype == "mixed":
        out.append(b"This is a multi-part message in MIME format.\r\n")
    for part in parts:
        out.append(f"\r\n--{boundary}\r\n".encode())
        out.append(part.rstrip(b"\r\n") + b"\r\n")
    out.append(f"\r\n--{boundary}--\r\n".encode())
    return b"".join(out)


@dataclass(frozen=True)
class _Attachment:
    filename: str
    ctype: str
    data: bytes
    content_id: str | None = None  # inline, referenced from HTML
    rfc822: bool = False


def _filename_params(name: str, style: str, param: str) -> str:
    if name.isascii():
        return f'{param}="{name}"'
    if style == "ew-jis":
        return f'{param}="{_encoded_words(name, "ISO-2022-JP")}"'
    if style == "ew-utf8":
        return f'{param}="{_encoded_words(name, "UTF-8")}"'
    encoded = quote(name.encode("utf-8"), safe="")
    if style == "rfc2231-cont" and len(encoded) > 40:
        pieces = [encoded[i : i + 40] for i in range(0, len(encoded), 40)]
        # Continuations must not split a %XX escape.
        fixed: list[str] = []
        carry = ""
        for piece in pieces:
            piece = carry + piece
            cut = piece.rfind("%")
            if cut >= len(piece) - 2 and cut != -1:
                piece, carry = piece[:cut], piece[cut:]
            else:
                carry = ""
            fixed.append(piece)
        if carry:
            fixed.append(carry)
        first = f"{param}*0*=UTF-8''{fixed[0]}"
        rest = [f"{param}*{i}*={p}" for i, p in enumerate(fixed[1:], start=1)]
        return ";\r\n\t".join([first, *rest])
    return f"{param}*=UTF-8''{encoded}"


def _attachment_part(att: _Attachment, style: str) -> bytes:
    if att.rfc822:
        return (
            f"Content-Type: message/rfc822;\r\n\t{_filename_params(att.filename, style, 'name')}"
            f"\r\nContent-Disposition: attachment;\r\n\t"
            f"{_filename_params(att.filename, style, 'filename')}\r\n\r\n"
        ).encode() + att.data
    head = [f"Content-Type: {att.ctype};\r\n\t{_filename_params(att.filename, style, 'name')}"]
    head.append("Content-Transfer-Encoding: base64")
    disposition = "inline" if att.content_id else "attachment"
    head.append(
        f"Content-Disposition: {disposition};\r\n\t"
        f"{_filename_params(att.filename, style, 'filename')}"
    )
    if att.content_id:
        head.append(f"Content-ID: <{att.content_id}>")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + _b64_body(att.data)


# --------------------------------------------------------------------------------------------
# Fake attachment payloads (small, but real enough for a viewer to recognise)


def _png(rng: random.Random, width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    shade = rng.randrange(120, 250)
    rows = b"".join(
        b"\x00" + bytes((shade if (x // 4 + y // 4) % 2 else 255) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def _pdf(title: str, lines: Sequence[str]) -> bytes:
    text = " ".join(f"({line}) Tj T*" for line in lines)
    stream = f"BT /F1 11 Tf 14 TL 56 780 Td ({title}) Tj T* {text} ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


# --------------------------------------------------------------------------------------------
# People, companies, mailers


@dataclass(frozen=True)
class _Company:
    name: str
    short: str
    domain: str


_JA_COMPANIES = (
    _Company("株式会社アオバ商事", "アオバ商事", "aoba-shoji.example.jp"),
    _Company("合同会社ひまわりデザイン", "ひまわりデザイン", "himawari-design.example.jp"),
    _Company("株式会社北斗システムズ", "北斗システムズ", "hokuto-sys.example.jp"),
    _Company("有限会社たちばな印刷", "たちばな印刷", "tachibana-print.example.jp"),
    _Company("税理士法人みどり会計", "みどり会計", "midori-kaikei.example.jp"),
    _Company("株式会社サンライズ物流", "サンライズ物流", "sunrise-logi.example.jp"),
    _Company("一般社団法人はやぶさ教育振興会", "はやぶさ教育振興会", "hayabusa-edu.example.jp"),
    _Company("株式会社コハク建設", "コハク建設", "kohaku-kensetsu.example.jp"),
    _Company("合同会社ネクストリーフ", "ネクストリーフ", "nextleaf.example.jp"),
    _Company("株式会社つばめ不動産", "つばめ不動産", "tsubame-fudosan.example.jp"),
    _Company("医療法人社団さくら会", "さくら会", "sakurakai.example.jp"),
    _Company("株式会社やまびこ食品", "やまびこ食品", "yamabiko-foods.example.jp"),
    _Company("株式会社ルミナス出版", "ルミナス出版", "luminous-pub.example.jp"),
    _Company("合同会社かもめラボ", "かもめラボ", "kamome-lab.example.jp"),
    _Company("株式会社あさひ電機", "あさひ電機", "asahi-denki.example.jp"),
    _Company("株式会社しおさい観光", "しおさい観光", "shiosai-kanko.example.jp"),
)
_EN_COMPANIES = (
    _Company("Northwind Analytics Ltd.", "Northwind", "northwind-analytics.example.com"),
    _Company("Bluefin Logistics Pte. Ltd.", "Bluefin", "bluefin.example.net"),
    _Company("Harbor & Pine LLC", "Harbor & Pine", "harborpine.example.com"),
    _Company("Kestrel Robotik GmbH", "Kestrel", "kestrel-robotik.example.org"),
    _Company("Maple Leaf Dental Group", "Maple Leaf Dental", "mapleleaf-dental.example.com"),
    _Company("Orbit Games Inc.", "Orbit Games", "orbitgames.example.net"),
    _Company("Tidewater Legal LLP", "Tidewater Legal", "tidewater.example.org"),
    _Company("Copperline Studios", "Copperline", "copperline.example.com"),
    _Company("Greenfield Schools Trust", "Greenfield", "greenfield-schools.example.org"),
)
_JA_FAMILY = (
    ("山田", "yamada"), ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"),
    ("田中", "tanaka"), ("伊藤", "ito"), ("渡辺", "watanabe"), ("中村", "nakamura"),
    ("小林", "kobayashi"), ("加藤", "kato"), ("吉田", "yoshida"), ("山本", "yamamoto"),
    ("松本", "matsumoto"), ("井上", "inoue"), ("木村", "kimura"), ("清水", "shimizu"),
    ("山口", "yamaguchi"), ("森", "mori"), ("池田", "ikeda"), ("橋本", "hashimoto"),
    ("石川", "ishikawa"), ("前田", "maeda"), ("藤田", "fujita"), ("岡田", "okada"),
    ("長谷川", "hasegawa"), ("村上", "murakami"), ("近藤", "kondo"), ("坂本", "sakamoto"),
    ("斉藤", "saito"), ("西村", "nishimura"), ("大野", "ono"), ("桜井", "sakurai"),
)  # fmt: skip
_JA_GIVEN = (
    ("太郎", "taro"), ("花子", "hanako"), ("健太", "kenta"), ("美咲", "misaki"),
    ("翔太", "shota"), ("陽子", "yoko"), ("大輔", "daisuke"), ("由美", "yumi"),
    ("直樹", "naoki"), ("恵", "megumi"), ("拓也", "takuya"), ("彩", "aya"), ("誠", "makoto"),
    ("真由美", "mayumi"), ("浩二", "koji"), ("裕子", "yuko"), ("亮", "ryo"),
    ("さくら", "sakura"), ("智子", "tomoko"), ("和也", "kazuya"), ("優子", "yuko"),
    ("隆", "takashi"), ("千尋", "chihiro"), ("健一", "kenichi"),
)  # fmt: skip
_EN_FIRST = (
    "James", "Olivia", "Liam", "Emma", "Noah", "Sophia", "Lucas", "Mia", "Ethan", "Ava",
    "Daniel", "Grace", "Priya", "Wei", "Hannah", "Marcus", "Chloe", "Raj", "Fatima", "Tom",
    "Lena", "Jonas", "Aisha", "Sam",
)  # fmt: skip
_EN_LAST = (
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Martin", "Clarke", "Walker", "Nguyen",
    "Patel", "Müller", "Schmidt", "O'Brien", "Lee", "Garcia", "Hughes", "Khan", "Fischer",
    "Robinson", "Wright", "Chen", "Evans",
)  # fmt: skip
_JA_DEPTS = ("総務部", "経理部", "情報システム部", "営業部", "管理部", "業務推進課", "DX推進室")
_EN_TITLES = ("IT Manager", "Operations Lead", "Office Manager", "CTO", "Finance", "Developer")
_JA_FREE_DOMAINS = ("example.com", "mail.example.net", "webmail.example.org")
_KEITAI_DOMAINS = ("keitai.example.jp", "mobile.example.jp")
_EN_FREE_DOMAINS = ("example.com", "mail.example.net", "example.org")


@dataclass(frozen=True)
class _Profile:
    """How one mailer writes mail: this is what makes the corpus exercise real parsing paths."""

    key: str
    body: str  # a _BODY_KINDS key for Japanese text
    header_charset: str
    html: float  # chance a message is multipart/alternative
    re_prefix: str
    fwd_prefix: str
    quote: str  # "gmail" | "outlook" | "tb" | "none"
    mailer: str | None  # X-Mailer / User-Agent value
    filenames: str  # "rfc2231" | "rfc2231-cont" | "ew-jis" | "ew-utf8"
    msgid: str
    drops_references: bool = False
    nec: bool = False  # writes ①②, ㈱ (CP932 mailers)


_PROFILES = {
    "gmail": _Profile(
        "gmail", "utf8-b64", "UTF-8", 1.0, "Re: ", "Fwd: ", "gmail", None, "ew-utf8", "gmail"
    ),
    "outlook-ja": _Profile(
        "outlook-ja",
        "jis-cp932",
        "ISO-2022-JP",
        0.25,
        "RE: ",
        "FW: ",
        "outlook",
        "Microsoft Outlook 16.0",
        "ew-jis",
        "outlook-classic",
        nec=True,
    ),
    "thunderbird": _Profile(
        "thunderbird",
        "jis",
        "ISO-2022-JP",
        0.0,
        "Re: ",
        "Fwd: ",
        "tb",
        "Mozilla Thunderbird",
        "rfc2231-cont",
        "uuid",
    ),
    "thunderbird-utf8": _Profile(
        "thunderbird-utf8",
        "utf8-8bit",
        "UTF-8",
        0.0,
        "Re: ",
        "Fwd: ",
        "tb",
        "Mozilla Thunderbird",
        "rfc2231-cont",
        "uuid",
    ),
    "iphone": _Profile(
        "iphone",
        "utf8-qp",
        "UTF-8",
        0.0,
        "Re: ",
        "Fwd: ",
        "tb",
        "iPhone Mail (21F90)",
        "rfc2231",
        "apple",
    ),
    "keitai": _Profile(
        "keitai",
        "sjis-b64",
        "Shift_JIS",
        0.0,
        "Re:",
        "Fw:",
        "none",
        None,
        "rfc2231",
        "keitai",
        drops_references=True,
    ),
    "sjis-win": _Profile(
        "sjis-win",
        "sjis-8bit",
        "Shift_JIS",
        0.0,
        "Re: ",
        "転送: ",
        "tb",
        "Datula 1.51.09",
        "ew-utf8",
        "uuid",
    ),
    "mew": _Profile(
        "mew",
        "eucjp",
        "EUC-JP",
        0.0,
        "Re: ",
        "Fwd: ",
        "tb",
        "Mew version 6.8 on Emacs 29.1",
        "rfc2231",
        "mew",
    ),
    "outlook-en": _Profile(
        "outlook-en",
        "utf8-qp",
        "UTF-8",
        1.0,
        "RE: ",
        "FW: ",
        "outlook",
        "Microsoft Outlook 16.0",
        "ew-utf8",
        "outlook-365",
    ),
    "outlook-de": _Profile(
        "outlook-de",
        "utf8-qp",
        "UTF-8",
        1.0,
        "AW: ",
        "WG: ",
        "outlook",
        "Microsoft Outlook 16.0",
        "ew-utf8",
        "outlook-365",
    ),
}
_JA_PROFILE_MIX = (
    ("gmail", 28), ("outlook-ja", 26), ("thunderbird", 9), ("thunderbird-utf8", 5),
    ("iphone", 12), ("keitai", 9), ("sjis-win", 7), ("mew", 4),
)  # fmt: skip
_EN_PROFILE_MIX = (
    ("gmail", 38),
    ("outlook-en", 30),
    ("outlook-de", 7),
    ("iphone", 15),
    ("thunderbird-utf8", 10),
)
_HANKAKU = {
    "ログイン": "ﾛｸﾞｲﾝ",
    "パスワード": "ﾊﾟｽﾜｰﾄﾞ",
    "メール": "ﾒｰﾙ",
    "アカウント": "ｱｶｳﾝﾄ",
    "エラー": "ｴﾗｰ",
    "アプリ": "ｱﾌﾟﾘ",
    "ファイル": "ﾌｧｲﾙ",
}


@dataclass
class _Person:
    name: str
    family: str
    given: str
    email: str
    company: _Company | None
    lang: str
    profile: _Profile
    tz: timezone
    colleague: tuple[str, str] | None = None  # (name, email) for Cc
    title: str = ""
    phone: str = ""


_AGENTS = {
    "alice": ("有田", "Alice Arita"),
    "bob": ("坂東", "Bob Bando"),
    "carol": ("川村", "Carol Kawamura"),
}
_JST = timezone(timedelta(hours=9))
_EN_TZS = tuple(timezone(timedelta(hours=h)) for h in (-7, -5, 0, 1, 2, 8, 10))
_WEEKDAYS_JA = "月火水木金土日"
# strftime's %A/%B follow the process locale; mail headers and quotes must not.
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def _clock12(when: datetime) -> str:
    return f"{(when.hour - 1) % 12 + 1}:{when.minute:02d} {'AM' if when.hour < 12 else 'PM'}"


def _t(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


# --------------------------------------------------------------------------------------------
# Topics: what customers write about. Placeholders are filled from _Builder.params().


@dataclass(frozen=True)
class _Topic:
    key: str
    label_ja: str
    label_en: str
    subj_ja: tuple[str, ...]
    subj_en: tuple[str, ...]
    body_ja: tuple[str, ...]
    body_en: tuple[str, ...]
    short_ja: tuple[str, ...]
    short_en: tuple[str, ...]
    reply_ja: tuple[str, ...]
    reply_en: tuple[str, ...]
    more_ja: tuple[str, ...]
    more_en: tuple[str, ...]
    fix_ja: tuple[str, ...]
    fix_en: tuple[str, ...]
    attach: tuple[str, ...] = ()
    steps_ja: tuple[str, ...] = ()
    steps_en: tuple[str, ...] = ()
    table: str = ""  # "order" | "invoice" | "env"


_TOPICS: tuple[_Topic, ...] = (
    _Topic(
        "login",
        "ログインの件",
        "the login issue",
        ("ログインできません", "Minato Drive にログインできない", "管理画面へのログインについて"),
        ("Cannot log in to Minato Drive", "Login fails with {err}", "Unable to sign in"),
        (
            _t("""
            本日朝から Minato Drive にログインできなくなりました。
            IDとパスワードは間違っていないはずですが、
            「認証に失敗しました（{err}）」と表示されます。

            試したこと：
            {steps}

            利用環境：{os} / {browser}
            """),
            _t("""
            {date_ja}の午後から、社内の{count}名がログインできない状態です。
            他のメンバーは問題なく使えているため、アカウント側の問題かと思います。
            エラーコードは {err} です。
            """),
        ),
        (
            _t("""
            Since this morning none of our users can sign in. The login page just says
            "Authentication failed ({err})". Passwords have not changed.

            What we tried:
            {steps}

            Environment: {os}, {browser}
            """),
            _t("""
            {count} people on my team get error {err} when logging in since {date_en}.
            Everyone else in the company is fine.
            """),
        ),
        ("ログインできません。エラー{err}が出ます。", "ログインできない。なんとかしてください。"),
        ("Can't log in. Error {err}.", "login broken again ({err})"),
        (
            _t("""
            ログインできない件、ご不便をおかけしております。
            お調べしたところ、短時間に複数回ログインに失敗したため、
            アカウントが一時的にロックされておりました。
            ロックは解除いたしましたので、再度お試しいただけますでしょうか。
            """),
            _t("""
            恐れ入りますが、調査のため以下をお知らせいただけますでしょうか。
            ・ログインしようとしたおおよその時刻
            ・ご利用のメールアドレス
            ・表示された画面のスクリーンショット
            """),
        ),
        (
            _t("""
            Your account was temporarily locked after several failed attempts in a short
            time. I have unlocked it; could you please try again?
            """),
            _t("""
            To investigate, could you send us the approximate time of the failed attempts,
            the account e-mail address and a screenshot of the error?
            """),
        ),
        (
            _t("""
            ご連絡ありがとうございます。再度試しましたが、やはり同じエラーになります。
            スクリーンショットを添付しますのでご確認ください。
            """),
            "試してみましたが、まだログインできません。",
        ),
        (
            "Thanks. I tried again and it still fails with the same error. Screenshot attached.",
            "Still locked out.",
        ),
        (
            _t("""
            調査の結果、SSO 設定の変更によりログインが拒否されていたことが分かりました。
            設定を修正いたしましたので、現在はログインいただける状態です。
            """),
        ),
        (
            _t("""
            We found that a recent SSO policy change rejected the logins. It has been
            corrected and signing in works again.
            """),
        ),
        attach=("png",),
        steps_ja=("別のブラウザで試した", "キャッシュを削除した", "パスワードを再設定した"),
        steps_en=("another browser", "cleared the cache", "reset the password"),
        table="env",
    ),
    _Topic(
        "password",
        "パスワード再設定の件",
        "the password reset",
        ("パスワード再設定メールが届きません", "パスワードリセットについて"),
        ("Password reset email never arrives", "Password reset link expired"),
        (
            _t("""
            パスワードを忘れてしまったため、再設定の手続きをしましたが、
            30分以上待っても再設定用のメールが届きません。
            迷惑メールフォルダも確認しました。
            登録メールアドレスは {email} です。
            """),
            _t("""
            パスワード再設定のリンクをクリックすると
            「このリンクは無効です」と表示されます。
            メールを受信してから5分も経っていないのですが…。
            """),
        ),
        (
            _t("""
            I requested a password reset three times today and no email has arrived,
            not even in spam. The account is {email}.
            """),
            _t("""
            The reset link says "This link has expired" even though I clicked it
            within a couple of minutes.
            """),
        ),
        ("パスワード再設定のメールが来ません。", "ﾊﾟｽﾜｰﾄﾞ再設定できない"),
        ("Reset email not arriving.", "reset link expired, again"),
        (
            _t("""
            お調べしたところ、再設定メールが受信側サーバーで拒否されておりました。
            お手数ですが、support@example.co.jp および noreply@example.co.jp からの
            メールを受信できるよう設定をご確認いただけますでしょうか。
            """),
            _t("""
            再設定用のリンクを新たに発行いたしました。
            リンクの有効期限は発行から24時間です。
            """),
        ),
        (
            _t("""
            Our logs show your mail server rejected the reset email. Please allow mail from
            noreply@example.co.jp and request the reset again.
            """),
            "I have issued a new reset link; it is valid for 24 hours.",
        ),
        ("許可設定をしましたが、まだ届きません。",),
        ("Allowed the sender, still nothing.",),
        ("メール配信の再送を行いました。届いていることを確認いたしました。",),
        ("We re-sent the email and confirmed delivery to your server.",),
    ),
    _Topic(
        "invoice",
        "請求書の件",
        "your invoice",
        ("{month_ja}分の請求書について", "請求書の再発行のお願い", "請求書の宛名変更について"),
        (
            "Question about invoice {inv}",
            "Invoice re-issue request",
            "Wrong company name on invoice",
        ),
        (
            _t("""
            {month_ja}分の請求書（請求書番号：{inv}）について確認させてください。
            ご請求金額が {amount}円 となっておりますが、
            契約ユーザー数は{users}名のため、金額が合わないように思います。
            内訳をご教示いただけますでしょうか。
            """),
            _t("""
            弊社の社名変更に伴い、請求書の宛名を変更したく存じます。
            新しい宛名：{company}
            {month_ja}分の請求書（{inv}）についても再発行をお願いできますでしょうか。
            また、適格請求書（インボイス）の登録番号の記載もお願いいたします。
            """),
        ),
        (
            _t("""
            Invoice {inv} for {month_en} shows JPY {amount}, but we only have {users}
            seats. Could you send a breakdown?
            """),
            _t("""
            Our legal name changed to {company}. Could you re-issue invoice {inv}
            with the new name and our VAT number?
            """),
        ),
        ("請求書を再発行してください。番号は{inv}です。",),
        ("Please resend invoice {inv}.",),
        (
            _t("""
            ご指摘の請求書（{inv}）を確認いたしました。
            {month_ja}途中でユーザーを追加された分が日割りで加算されております。
            内訳を記載した明細を添付いたしますので、ご確認くださいませ。
            """),
            _t("""
            宛名を変更した請求書を再発行いたしました。
            添付のPDFをご確認ください。原本の郵送が必要な場合はお申し付けください。
            """),
        ),
        (
            _t("""
            The difference comes from seats added in the middle of {month_en}, which are
            charged pro rata. I have attached the detailed statement.
            """),
            "I have re-issued the invoice with the new company name; the PDF is attached.",
        ),
        ("ありがとうございます。ただ、登録番号の記載がないようです。",),
        ("Thanks, but the VAT number is still missing.",),
        ("登録番号を記載した請求書を再発行いたしました。",),
        ("Here is the corrected invoice including your VAT number.",),
        attach=("invoice-pdf",),
        table="invoice",
    ),
    _Topic(
        "refund",
        "返金の件",
        "your refund request",
        ("二重請求の返金について", "返金のお願い", "解約後も請求されています"),
        ("Refund request - charged twice", "Refund for cancelled subscription"),
        (
            _t("""
            クレジットカードの明細を確認したところ、
            {date_ja}に {amount}円 が2回引き落とされていました。
            二重請求と思われますので、1回分の返金をお願いいたします。
            """),
            _t("""
            {month_ja}末で解約手続きをしたのですが、
            今月も {amount}円 が請求されています。
            返金していただけますでしょうか。
            """),
        ),
        (
            _t("""
            We were charged JPY {amount} twice on {date_en} (see attached statement).
            Please refund the duplicate charge.
            """),
            _t("""
            I cancelled at the end of {month_en} but was billed JPY {amount} again.
            I expect a full refund.
            """),
        ),
        ("二重に請求されています。返金してください。",),
        ("You charged me twice. Refund please.",),
        (
            _t("""
            ご迷惑をおかけし申し訳ございません。二重決済を確認いたしました。
            {amount}円 の返金手続きを行いました。
            カード会社により、明細への反映まで1～2か月かかる場合がございます。
            """),
        ),
        (
            _t("""
            I am sorry for the trouble. I confirmed the duplicate charge and issued a refund
            of JPY {amount}; it can take 5-10 business days to appear on your statement.
            """),
        ),
        ("まだ返金されていないようですが、いつ頃になりますか。",),
        ("It has been two weeks and I still don't see the refund.",),
        ("カード会社にて返金処理が完了したことを確認いたしました。",),
        ("The card network confirms the refund was settled today.",),
        attach=("statement-csv",),
    ),
    _Topic(
        "bug",
        "不具合の件",
        "the error you reported",
        (
            "ファイルアップロード時にエラー（{err}）",
            "同期が途中で止まる不具合",
            "{err} エラーについて",
        ),
        (
            "Upload fails with error {err}",
            "Sync stuck at 99%",
            "Bug: {err} when opening shared folder",
        ),
        (
            _t("""
            {size}MB程度のファイルをアップロードすると、
            途中で「エラーが発生しました（{err}）」と表示され失敗します。
            再現手順：
            {steps}
            ログを添付しますので、ご確認をお願いいたします。
            """),
            _t("""
            デスクトップアプリ（バージョン {version}）で同期が99%から進まなくなりました。
            再起動しても状況は変わりません。
            エラーコード：{err}
            """),
        ),
        (
            _t("""
            Uploading files larger than about {size} MB fails with error {err}.
            Steps to reproduce:
            {steps}
            Log attached.
            """),
            _t("""
            Desktop client {version} is stuck at 99% syncing. Restarting does not help.
            The log shows {err}.
            """),
        ),
        ("アップロードで{err}が出ます。", "ｴﾗｰ{err}が出てファイルが開けない"),
        ("Upload fails: {err}", "sync broken, {err}"),
        (
            _t("""
            ご報告ありがとうございます。ログを拝見し、開発チームにて調査を開始いたしました。
            回避策として、ブラウザ版からのアップロードをお試しいただけますでしょうか。
            """),
            _t("""
            恐れ入りますが、デスクトップアプリのログ（ヘルプ → ログを書き出す）を
            お送りいただけますでしょうか。
            """),
        ),
        (
            _t("""
            Thank you for the report and the log. Engineering is looking into it; in the
            meantime uploading through the web app should work.
            """),
            "Could you export the desktop client log (Help > Export logs) and send it to us?",
        ),
        ("ログを添付します。ブラウザ版でも同じエラーでした。",),
        ("Log attached. The web app fails the same way.",),
        (
            _t("""
            本件の原因となっていた不具合を修正したバージョン {version2} を公開いたしました。
            お手数ですがアップデートをお願いいたします。
            """),
        ),
        ("Version {version2}, released today, fixes this bug. Please update.",),
        attach=("log", "png"),
        steps_ja=("フォルダを開く", "ファイルをドラッグ＆ドロップ", "90%付近でエラー"),
        steps_en=("open any folder", "drag a large file in", "it fails around 90%"),
        table="env",
    ),
    _Topic(
        "feature",
        "機能のご要望",
        "your feature request",
        ("機能追加の要望", "フォルダごとの容量制限機能について"),
        ("Feature request: folder-level quotas", "Suggestion: dark mode for the web app"),
        (
            _t("""
            日頃便利に使わせていただいております。
            部署ごとにフォルダの容量上限を設定できる機能があると大変助かります。
            現在は管理者が手作業で確認しており、負担になっています。
            ご検討いただけますと幸いです。
            """),
            _t("""
            共有リンクに有効期限とパスワードを両方設定できるようにしていただけないでしょうか。
            取引先とのファイル共有でセキュリティ上必要になっております。
            """),
        ),
        (
            _t("""
            It would help us a lot to set storage quotas per folder. Today an admin checks
            usage by hand every week.
            """),
            "Any plans for a dark mode in the web app? Half my team works at night.",
        ),
        ("容量制限の機能がほしいです。",),
        ("Please add folder quotas.",),
        (
            _t("""
            貴重なご意見をありがとうございます。
            いただいたご要望は製品チームに共有いたしました。
            現時点で実装時期はお約束できませんが、検討を進めてまいります。
            """),
        ),
        ("Thank you for the suggestion; I have passed it on to the product team.",),
        ("ありがとうございます。実装予定が決まったら教えてください。",),
        ("Thanks - please let me know if it gets on the roadmap.",),
        ("ご要望いただいた機能は次回リリース（{version2}）で提供予定です。",),
        ("Good news: this ships in {version2}.",),
    ),
    _Topic(
        "deletion",
        "退会の件",
        "your account deletion",
        ("退会とアカウント削除について", "アカウント削除の依頼"),
        ("Please delete my account", "Account deletion and data removal"),
        (
            _t("""
            サービスの利用を終了するため、アカウントを削除したいです。
            保存しているデータもすべて削除していただけますでしょうか。
            削除完了の証明書のようなものは発行いただけますか。
            """),
        ),
        (
            _t("""
            We are closing our office and would like our account and all stored data
            deleted. Can you confirm in writing once it is done?
            """),
        ),
        ("退会したいです。手続きを教えてください。",),
        ("Delete my account. Now.",),
        (
            _t("""
            退会のお手続きについてご案内いたします。
            管理画面の「契約情報」→「解約手続き」から申請いただけます。
            データは解約日から30日後に完全に削除され、削除完了後にご連絡いたします。
            """),
        ),
        (
            _t("""
            You can close the account under Settings > Billing > Cancel subscription. All
            data is erased 30 days after cancellation and we will confirm by email.
            """),
        ),
        ("手続きしました。削除完了の連絡をお待ちしています。",),
        ("Done. Waiting for the confirmation.",),
        ("データの削除が完了いたしました。これまでのご利用ありがとうございました。",),
        ("All your data has now been deleted. Thank you for using Minato Drive.",),
    ),
    _Topic(
        "export",
        "データエクスポートの件",
        "the data export",
        ("データのエクスポート方法", "CSVエクスポートが文字化けします"),
        ("How do I export all our data?", "CSV export is garbled in Excel"),
        (
            _t("""
            監査対応のため、全ユーザーのファイル一覧とアクセスログを
            エクスポートしたいのですが、手順を教えていただけますでしょうか。
            {steps}
            のどの画面から操作すればよいか分かりませんでした。
            """),
            _t("""
            管理画面からエクスポートしたCSVをExcelで開くと、日本語が文字化けします。
            ファイルを添付しますのでご確認ください。
            """),
        ),
        (
            _t("""
            For an audit we need a list of all files and the access log for every user.
            How do we export that?
            """),
            "The CSV export opens garbled in Excel. File attached.",
        ),
        ("CSVが文字化けします。",),
        ("How do I export everything?",),
        (
            _t("""
            管理画面の「レポート」→「エクスポート」から、期間を指定して出力いただけます。
            Excelで開く場合は、文字コードで「UTF-8 (BOM付き)」を選択してください。
            """),
        ),
        (
            _t("""
            Go to Admin > Reports > Export and pick the date range. For Excel choose
            "UTF-8 with BOM" as the encoding.
            """),
        ),
        ("BOM付きで出力したら正しく表示されました。",),
        ("That worked, thanks.",),
        ("エクスポートの既定の文字コードをBOM付きUTF-8に変更いたしました。",),
        ("We changed the default export encoding to UTF-8 with BOM.",),
        attach=("export-csv",),
        steps_ja=("管理画面", "レポート", "ユーザー設定"),
        steps_en=("admin console", "reports", "user settings"),
    ),
    _Topic(
        "outage",
        "障害の件",
        "the outage",
        ("サービスに接続できません", "障害発生中でしょうか？", "全社でファイルが開けない"),
        ("Service down?", "Is Minato Drive down? 503 errors", "Outage - whole company affected"),
        (
            _t("""
            {time_ja}頃から Minato Drive に接続できません。
            「503 Service Unavailable」と表示されます。
            全社で業務が止まっています。障害情報を教えてください。
            """),
            _t("""
            本日{time_ja}頃より、ファイルを開こうとすると非常に遅く、
            タイムアウトします。他社でも同様の事象が起きているのでしょうか。
            """),
        ),
        (
            _t("""
            Since {time_en} every request returns 503 Service Unavailable. Our whole company
            is blocked. Is there an outage? The status page shows all green.
            """),
            "Everything is extremely slow since {time_en} and uploads time out.",
        ),
        ("繋がりません。障害ですか？", "また落ちてる？"),
        ("Is it down?", "503 everywhere"),
        (
            _t("""
            ご迷惑をおかけしており誠に申し訳ございません。
            現在、一部のお客様環境で接続障害が発生しております。
            復旧作業を進めており、状況は https://status.minato.example.jp/ にて
            随時お知らせいたします。
            """),
        ),
        (
            _t("""
            We are sorry: we are experiencing an incident affecting some customers and are
            working on it. Updates are posted at https://status.minato.example.jp/.
            """),
        ),
        ("まだ復旧していません。いつ直るのですか。",),
        ("Still down here. ETA?",),
        (
            _t("""
            {time_ja}に復旧いたしました。原因はストレージ基盤の設定不備です。
            障害報告書は後日お送りいたします。
            """),
        ),
        ("Service was fully restored at {time_en}. A post-incident report will follow.",),
        attach=("png",),
    ),
    _Topic(
        "renewal",
        "契約更新の件",
        "your contract renewal",
        ("年間契約の更新について", "契約更新とプラン変更のご相談"),
        ("Annual contract renewal", "Renewal quote for next year"),
        (
            _t("""
            現在の年間契約（{plan_ja}プラン・{users}ユーザー）が{date_ja}で満了します。
            更新にあたり、ユーザー数を{users2}名に増やしたいと考えております。
            更新後の金額と手続きについてご教示ください。
            """),
        ),
        (
            _t("""
            Our annual {plan_en} contract ({users} seats) ends on {date_en}. We want to
            renew with {users2} seats. What is the price and what do you need from us?
            """),
        ),
        ("契約更新の手続きを教えてください。",),
        ("How do we renew?",),
        (
            _t("""
            更新のご意向をいただきありがとうございます。
            {users2}名での更新のお見積書を添付いたします。
            内容にご了承いただけましたら、本メールにご返信くださいませ。
            """),
        ),
        ("Thank you for renewing. The quote for {users2} seats is attached.",),
        ("見積内容で問題ありません。手続きをお願いいたします。",),
        ("The quote is fine, please go ahead.",),
        ("更新手続きが完了いたしました。新しい契約期間は{date_ja}からの1年間です。",),
        ("Your renewal is complete; the new term starts {date_en}.",),
        attach=("quote-pdf",),
    ),
    _Topic(
        "quote",
        "お見積りの件",
        "your quote request",
        ("見積依頼（{plan_ja}プラン {users}ユーザー）", "お見積りのお願い", "見積書送付のお願い"),
        ("Quote request: {users} seats, {plan_en}", "Pricing for {users} users"),
        (
            _t("""
            Minato Drive の導入を検討しております。
            {plan_ja}プラン・{users}ユーザー・年間契約でのお見積りをお願いできますでしょうか。
            宛名は「{company}」でお願いいたします。
            社内稟議のため、{date_ja}までにいただけますと助かります。
            """),
        ),
        (
            _t("""
            We are evaluating Minato Drive for {users} users on the {plan_en} plan, billed
            annually. Could you send a formal quote addressed to {company}?
            """),
        ),
        ("{users}名分の見積をください。",),
        ("Need a quote for {users} seats.",),
        (
            _t("""
            お見積りのご依頼ありがとうございます。
            {plan_ja}プラン・{users}ユーザーのお見積書を添付いたします。
            有効期限は発行日より30日間でございます。
            """),
        ),
        ("Thanks for your interest. The quote for {users} seats is attached.",),
        ("ボリュームディスカウントは可能でしょうか。",),
        ("Is there a volume discount?",),
        ("50ユーザー以上で10%の割引を適用したお見積書を再送いたします。",),
        ("I have applied our 10% volume discount; the revised quote is attached.",),
        attach=("quote-pdf",),
    ),
    _Topic(
        "shipping",
        "配送の件",
        "your shipment",
        ("Minato Box が届きません", "配送状況の確認（注文番号 {order}）", "配送遅延について"),
        ("Where is my Minato Box? Order {order}", "Shipping delay - order {order}"),
        (
            _t("""
            {date_ja}に注文した Minato Box（注文番号：{order}）がまだ届いておりません。
            配送予定日を過ぎております。現在の配送状況を教えていただけますでしょうか。
            """),
            _t("""
            注文番号 {order} の件です。
            配送業者の追跡番号を確認しても「情報なし」となっています。
            来週の拠点開設に間に合わないと困るのですが…。
            """),
        ),
        (
            _t("""
            Order {order} (Minato Box x{count}) was due on {date_en} and still hasn't
            arrived. The tracking number shows nothing.
            """),
        ),
        ("注文{order}がまだ届きません。",),
        ("Order {order} not delivered.",),
        (
            _t("""
            ご不便をおかけし申し訳ございません。
            物流センターの混雑により出荷が遅れております。
            {date_ja}に出荷予定で、追跡番号は出荷後にお知らせいたします。
            """),
        ),
        ("Sorry for the delay: the warehouse was backlogged. It ships on {date_en}.",),
        ("来週月曜までに届かないと困ります。早めていただけませんか。",),
        ("We need it by Monday. Can you expedite?",),
        ("本日、速達便にて出荷いたしました。追跡番号：{tracking}",),
        ("Shipped today by express, tracking number {tracking}.",),
        attach=("png",),
        table="order",
    ),
    _Topic(
        "api",
        "APIの件",
        "the API rate limit",
        ("APIのレート制限について", "API で 429 エラーが返ってきます"),
        ("API rate limit (429 Too Many Requests)", "Rate limit increase request"),
        (
            _t("""
            弊社システムから API 連携しておりますが、
            {time_ja}以降、429 Too Many Requests が頻発しています。
            現在の上限は1分あたり{limit}リクエストと認識していますが、
            上限を引き上げていただくことは可能でしょうか。
            リクエストID：{req}
            """),
        ),
        (
            _t("""
            Our integration started getting 429 Too Many Requests at {time_en}. We send
            about {limit} requests per minute. Can the limit be raised for our account?
            Example request id: {req}
            """),
        ),
        ("APIが429を返します。上限を上げてください。",),
        ("429s from the API. Raise our limit.",),
        (
            _t("""
            ご利用状況を確認いたしました。ピーク時に上限の3倍程度のリクエストが
            送信されておりました。Retry-After ヘッダーに従った再試行の実装をお願いいたします。
            あわせて上限を一時的に引き上げました。
            """),
        ),
        (
            _t("""
            Your peak traffic was about three times the limit. Please honour the
            Retry-After header; I have also raised your limit temporarily.
            """),
        ),
        ("再試行を実装しました。恒久的な引き上げは可能ですか。",),
        ("Retry logic is in. Can the higher limit be permanent?",),
        ("ビジネスプランの上限（1分あたり{limit2}リクエスト）を恒久的に適用いたしました。",),
        ("The higher limit ({limit2}/min) is now permanent on your account.",),
        attach=("log",),
    ),
    _Topic(
        "sso",
        "SSO設定の件",
        "the SSO setup",
        ("SAMLによるシングルサインオン設定について", "SSO設定でエラーになります"),
        ("SAML SSO setup fails", "SSO configuration question"),
        (
            _t("""
            社内のIdP（SAML 2.0）と Minato Drive のシングルサインオンを設定しています。
            手順：
            {steps}
            最後のテストで「SAML応答の署名が無効です」と表示されます。
            メタデータを添付いたします。
            """),
        ),
        (
            _t("""
            We are configuring SAML SSO with our IdP.
            {steps}
            The test fails with "invalid signature in SAML response". Metadata attached.
            """),
        ),
        ("SSOの設定がうまくいきません。",),
        ("SSO test fails, invalid signature.",),
        (
            _t("""
            メタデータを確認いたしました。IdP側の署名証明書が更新されており、
            Minato Drive に登録された証明書と一致しておりません。
            新しい証明書を管理画面から再登録いただけますでしょうか。
            """),
        ),
        (
            _t("""
            Your IdP rotated its signing certificate; the one registered with us is the old
            one. Please upload the new certificate in the admin console.
            """),
        ),
        ("証明書を更新しましたが、今度は属性のマッピングでエラーになります。",),
        ("Certificate updated, now the attribute mapping fails.",),
        ("メールアドレス属性の名前を修正し、SSO でのログインを確認いたしました。",),
        ("We fixed the email attribute name and verified an SSO login end to end.",),
        attach=("xml",),
        steps_ja=("IdPにアプリを登録", "メタデータをアップロード", "テストログインを実行"),
        steps_en=("registered the app in the IdP", "uploaded metadata", "ran the test"),
    ),
    _Topic(
        "plan",
        "プラン変更の件",
        "your plan change",
        ("プラン変更（ユーザー追加）について", "{plan_ja}プランへの変更"),
        ("Upgrade to {plan_en}", "Adding {count} seats"),
        (
            _t("""
            新入社員の入社に伴い、ユーザーを{count}名追加したいと考えています。
            月の途中で追加した場合の料金の計算方法を教えてください。
            あわせて{plan_ja}プランへの変更も検討しています。
            """),
        ),
        (
            _t("""
            We want to add {count} seats mid-month and maybe move to {plan_en}. How is the
            mid-month change billed?
            """),
        ),
        ("ユーザーを{count}人追加したい。",),
        ("Add {count} seats please.",),
        (
            _t("""
            月の途中での追加分は日割りで計算され、翌月のご請求に加算されます。
            プラン変更は管理画面の「契約情報」から即時反映されます。
            """),
        ),
        ("Mid-month seats are billed pro rata on the next invoice; upgrades apply at once.",),
        ("ありがとうございます。プラン変更しました。",),
        ("Thanks, upgraded.",),
        ("プラン変更の反映を確認いたしました。",),
        ("I can see the new plan is active.",),
    ),
    _Topic(
        "2fa",
        "二段階認証の件",
        "two-factor authentication",
        ("二段階認証の端末を紛失しました", "認証アプリの機種変更について"),
        ("Lost my 2FA device", "2FA codes not accepted"),
        (
            _t("""
            スマートフォンを紛失してしまい、二段階認証のコードが受け取れません。
            バックアップコードも保存しておりませんでした。
            本人確認の方法を教えていただけますでしょうか。
            """),
        ),
        (
            _t("""
            I lost my phone and with it my authenticator app. I don't have backup codes.
            How can I get back into my account?
            """),
        ),
        ("機種変更したら二段階認証が通らない。",),
        ("2FA lost, locked out.",),
        (
            _t("""
            本人確認のため、ご契約者様の管理者アカウントから
            二段階認証のリセットを実施いただくのが最も早い方法でございます。
            管理者が不在の場合は、身分証明書の写しをお送りください。
            """),
        ),
        ("An admin on your account can reset 2FA for you; otherwise we need ID verification.",),
        ("管理者にリセットしてもらいました。",),
        ("Our admin reset it, thanks.",),
        ("二段階認証のリセットが完了しております。",),
        ("2FA has been reset.",),
    ),
    _Topic(
        "payment",
        "お支払いの件",
        "the payment failure",
        ("クレジットカード決済エラーについて", "支払方法を銀行振込に変更したい"),
        ("Card payment declined", "Change payment method to bank transfer"),
        (
            _t("""
            「決済に失敗しました」というメールが届きました。
            カードの有効期限は問題ないはずです。このままだと利用停止になりますか。
            また、今後は銀行振込での支払いに変更したいです。
            """),
        ),
        (
            _t("""
            We received a "payment failed" email but the card is valid. Will the service be
            suspended? We would also prefer to pay by bank transfer from now on.
            """),
        ),
        ("決済エラーのメールが来ました。",),
        ("Payment failed email?",),
        (
            _t("""
            カード会社側で決済が承認されなかったため、エラーとなっておりました。
            お支払い期限から14日間は利用停止となりませんのでご安心ください。
            銀行振込への変更は、年間契約の場合に承っております。
            """),
        ),
        ("The card issuer declined the charge. Nothing is suspended for 14 days.",),
        ("カード会社に確認し、再決済をお願いします。",),
        ("Card issuer says it's fine now, please retry.",),
        ("再決済が正常に完了いたしました。",),
        ("The retry went through.",),
    ),
    _Topic(
        "security",
        "不審なログインの件",
        "the suspicious sign-in",
        ("不審なログイン通知が届きました", "身に覚えのないログインについて"),
        ("Suspicious login alert", "Unknown sign-in from {ip}"),
        (
            _t("""
            「新しい端末からのログイン」という通知が届きましたが、身に覚えがありません。
            IPアドレスは {ip} となっています。
            不正アクセスの可能性があるか調べていただけますか。
            """),
        ),
        (
            _t("""
            I got a new sign-in alert from {ip} that was not me. Please check whether the
            account was compromised.
            """),
        ),
        ("知らないログイン通知が来ました。{ip}です。",),
        ("Someone logged in from {ip}!",),
        (
            _t("""
            ログイン履歴を確認いたしました。念のため全セッションを無効化いたしましたので、
            パスワードの変更と二段階認証の有効化をお願いいたします。
            """),
        ),
        ("I have revoked all sessions. Please change your password and enable 2FA.",),
        ("パスワードを変更しました。他に必要な対応はありますか。",),
        ("Done. Anything else we should do?",),
        ("調査の結果、情報の持ち出し等は確認されませんでした。",),
        ("Our review found no data was accessed from that address.",),
    ),
)


# --------------------------------------------------------------------------------------------
# Conversation planning and building


@dataclass
class _Plan:
    index: int
    kind: str  # "normal", "forward", "webform", or a noise kind
    lang: str
    topic: _Topic
    status: str  # "unhandled" | "in-progress" | "done"
    assignee: str | None
    urgent: bool
    later: bool
    noreply: bool
    tone: str  # "polite" | "curt" | "angry"
    quirk: str | None
    customer: _Person
    roles: list[str] = field(default_factory=list)


@dataclass
class _Sent:
    """What later messages of a thread need to know about an earlier one."""

    msgid: str
    references: tuple[str, ...]
    subject: str
    text: str
    sender: tuple[str, str]
    date: datetime
    mailbox: str


_NOISE_KINDS = ("newsletter", "autoreply", "ooo", "monitor", "newsletter", "autoreply", "ooo")
_QUIRKS = (
    "long-subject-ja",
    "long-subject-en",
    "emoji-en",
    "emoji-ja",
    "no-subject",
    "no-date",
    "comma-name",
    "comma-name",
)


def _weighted_quota(rng: random.Random, mix: Sequence[tuple[str, int]], n: int) -> list[str]:
    total = sum(w for _, w in mix)
    out: list[str] = []
    for key, weight in mix:
        out += [key] * round(n * weight / total)
    while len(out) < n:
        out.append(mix[len(out) % len(mix)][0])
    out = out[:n]
    rng.shuffle(out)
    return out


class _Builder:
    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now.astimezone(UTC)
        self.messages: list[DemoMessage] = []
        self.msgids: set[str] = set()
        self.sent_log: list[tuple[_Sent, tuple[str, ...], str]] = []  # for bounces
        self.customers: list[_Person] = []
        self.flags: tuple[str, ...] = ()

    # -- planning -----------------------------------------------------------------------------

    def plan(self, n: int) -> list[_Plan]:
        rng = self.rng
        n_noise = max(1, round(n * 0.07))
        n_normal = n - n_noise
        n_unhandled = round(n * 0.45)
        n_progress = round(n * 0.30)
        noise_unhandled = n_noise // 2
        statuses = (
            ["unhandled"] * max(0, n_unhandled - noise_unhandled)
            + ["in-progress"] * n_progress
            + ["done"] * max(0, n - n_unhandled - n_progress - (n_noise - noise_unhandled))
        )
        statuses = (statuses + ["done"] * n_normal)[:n_normal]
        rng.shuffle(statuses)
        langs = ["ja"] * round(n_normal * 0.6) + ["en"] * (n_normal - round(n_normal * 0.6))
        rng.shuffle(langs)
        n_ja = langs.count("ja")
        ja_profiles = _weighted_quota(rng, _JA_PROFILE_MIX, n_ja)
        en_profiles = _weighted_quota(rng, _EN_PROFILE_MIX, n_normal - n_ja)
        topics = [_TOPICS[i % len(_TOPICS)] for i in range(n_normal)]
        rng.shuffle(topics)
        kinds = ["forward"] * round(n_normal * 0.06) + ["webform"] * max(3, round(n_normal * 0.04))
        kinds = (kinds + ["normal"] * n_normal)[:n_normal]
        rng.shuffle(kinds)
        urgent = set(rng.sample(range(n_normal), round(n * 0.08)))
        plans: list[_Plan] = []
        quirks = list(_QUIRKS)
        for i in range(n_normal):
            lang = langs[i]
            status = statuses[i]
            quirk = None
            for q in list(quirks):
                if (q.endswith("-ja") and lang != "ja") or (q.endswith("-en") and lang != "en"):
                    continue
                if q == "comma-name" and lang != "en":
                    continue
                if kinds[i] != "normal" or i in urgent:
                    break
                quirk = q
                quirks.remove(q)
                break
            profile_key = ja_profiles.pop() if lang == "ja" else en_profiles.pop()
            if quirk == "comma-name":
                profile_key = "outlook-en"
            elif quirk == "emoji-ja":
                profile_key = "iphone"
            elif quirk == "long-subject-ja":
                profile_key = "outlook-ja"
            customer = self.customer(lang, _PROFILES[profile_key], comma=quirk == "comma-name")
            if i in urgent:
                tone = rng.choices(("angry", "polite", "curt"), (5, 3, 2))[0]
            elif lang == "ja":
                tone = rng.choices(("polite", "curt", "angry"), (72, 17, 11))[0]
            else:
                tone = rng.choices(("polite", "curt", "angry"), (60, 25, 15))[0]
            if customer.profile.key == "keitai" and tone == "polite":
                tone = "curt"
            assignee = None
            if status != "unhandled":
                assignee = rng.choices(TEAM, (45, 42, 13))[0]
            later = status != "done" and rng.random() < 0.04
            plan = _Plan(
                i,
                kinds[i],
                lang,
                topics[i],
                status,
                assignee,
                i in urgent,
                later,
                False,
                tone,
                quirk,
                customer,
            )
            plan.roles = self.roles(plan)
            plans.append(plan)
        for j in range(n_noise):
            kind = _NOISE_KINDS[j % len(_NOISE_KINDS)]
            lang = "en" if kind == "monitor" else rng.choice(("ja", "ja", "en"))
            customer = self.customer(lang, _PROFILES["gmail"])
            status = "unhandled" if j < noise_unhandled else "done"
            plans.append(
                _Plan(
                    n_normal + j,
                    kind,
                    lang,
                    _TOPICS[0],
                    status,
                    "carol" if status == "done" and j % 3 == 0 else None,
                    False,
                    False,
                    True,
                    "polite",
                    None,
                    customer,
                    [kind],
                )
            )
        rng.shuffle(plans)
        return plans

    def roles(self, plan: _Plan) -> list[str]:
        r = self.rng.random()
        if plan.status == "unhandled":
            roles = ["C"] if r < 0.72 else ["C", "N"] if r < 0.88 else ["C", "S", "M"]
        elif plan.status == "in-progress":
            options = (["C"], ["C", "S"], ["C", "S", "M"], ["C", "S", "M", "S"])
            roles = list(
                self.rng.choices([*options, ["C", "S", "M", "S", "M"]], (15, 35, 30, 10, 10))[0]
            )
        else:
            options = (["C", "S"], ["C", "S", "T"], ["C", "S", "M", "F"], ["C", "S", "M", "F", "T"])
            long = ["C", "S", "M", "S", "M", "F"]
            roles = list(self.rng.choices([*options, long], (40, 25, 20, 10, 5))[0])
        if "S" in roles and self.rng.random() < 0.07:
            roles.insert(roles.index("S") + 1, "O")
        return roles

    def customer(self, lang: str, profile: _Profile, *, comma: bool = False) -> _Person:
        rng = self.rng
        if self.customers and not comma and rng.random() < 0.08:
            for old in self.customers:
                if old.lang == lang and old.profile.key == profile.key:
                    return old
        if lang == "ja":
            (fam, fam_r), (giv, giv_r) = rng.choice(_JA_FAMILY), rng.choice(_JA_GIVEN)
            name = f"{fam} {giv}"
            corporate = profile.key not in ("keitai",) and rng.random() < 0.7
            company = rng.choice(_JA_COMPANIES) if corporate else None
            if profile.key == "keitai":
                domain = rng.choice(_KEITAI_DOMAINS)
                local = f"{giv_r}.{fam_r}-{rng.randrange(100, 999)}"
            elif company:
                domain = company.domain
                local = rng.choice((f"{giv_r[0]}-{fam_r}", f"{fam_r}", f"{fam_r}.{giv_r}"))
            else:
                domain = rng.choice(_JA_FREE_DOMAINS)
                local = f"{fam_r}.{giv_r}{rng.randrange(1970, 2005)}"
            tz = _JST
        else:
            first, last = rng.choice(_EN_FIRST), rng.choice(_EN_LAST)
            fam, giv = last, first
            name = f"{last}, {first}" if comma else f"{first} {last}"
            company = rng.choice(_EN_COMPANIES) if rng.random() < 0.65 else None
            if profile.key == "outlook-de":
                company = _EN_COMPANIES[3]
            slug = last.lower().replace("'", "").replace("ü", "ue")
            if company:
                domain, local = company.domain, f"{first.lower()}.{slug}"
            else:
                domain = rng.choice(_EN_FREE_DOMAINS)
                local = f"{first.lower()}{slug}{rng.randrange(10, 99)}"
            tz = (
                timezone(timedelta(hours=2)) if profile.key == "outlook-de" else rng.choice(_EN_TZS)
            )
        person = _Person(name, fam, giv, f"{local}@{domain}", company, lang, profile, tz)
        if company and rng.random() < 0.3:
            if lang == "ja":
                (cf, cfr), (cg, _) = rng.choice(_JA_FAMILY), rng.choice(_JA_GIVEN)
                person.colleague = (f"{cf} {cg}", f"{cfr}@{domain}")
            else:
                cf, cl = rng.choice(_EN_FIRST), rng.choice(_EN_LAST)
                slug = cl.lower().replace("'", "").replace("ü", "ue")
                person.colleague = (f"{cf} {cl}", f"{cf.lower()}.{slug}@{domain}")
        person.title = rng.choice(_JA_DEPTS if lang == "ja" else _EN_TITLES)
        person.phone = f"03-{rng.randrange(3000, 6999)}-{rng.randrange(1000, 9999)}"
        self.customers.append(person)
        return person

    def params(self, plan: _Plan) -> dict[str, str]:
        rng = self.rng
        ref = self.now.astimezone(_JST) - timedelta(days=rng.randrange(1, 20))
        later = self.now.astimezone(_JST) + timedelta(days=rng.randrange(3, 40))
        month = (ref.replace(day=1) - timedelta(days=1)).month
        hour = rng.randrange(8, 19)
        users = rng.choice((5, 8, 12, 20, 25, 30, 45, 60, 120))
        c = plan.customer
        company = c.company.name if c.company else f"{c.name}（個人）"
        return {
            "err": rng.choice(
                ("E-1042", "E-2210", "E-3307", "SYNC-409", "AUTH-401", "MD-5012", "UPL-413")
            ),
            "order": f"MD-{ref.year}-{rng.randrange(1000, 99999):06d}",
            "inv": f"INV-{ref:%Y%m}-{rng.randrange(1, 9999):04d}",
            "tracking": "-".join(str(rng.randrange(1000, 9999)) for _ in range(3)),
            "amount": f"{users * rng.choice((1320, 1650, 2200)):,}",
            "users": str(users),
            "users2": str(users + rng.choice((5, 10, 20))),
            "count": str(rng.randrange(2, 15)),
            "plan_ja": rng.choice(("スタンダード", "ビジネス", "エンタープライズ")),
            "plan_en": rng.choice(("Standard", "Business", "Enterprise")),
            "date_ja": f"{ref.month}月{ref.day}日",
            "date_en": f"{_MONTHS[ref.month - 1]} {ref.day}",
            "month_ja": f"{month}月",
            "month_en": _MONTHS[month - 1],
            "time_ja": f"{hour}時{rng.choice(('', '30分', '15分'))}",
            "time_en": f"{hour}:{rng.choice(('00', '15', '30', '45'))} JST",
            "os": rng.choice(("Windows 11", "Windows 10", "macOS 14", "iOS 17", "Android 14")),
            "browser": rng.choice(("Chrome 125", "Edge 125", "Safari 17.5", "Firefox 126")),
            "version": f"4.{rng.randrange(2, 9)}.{rng.randrange(0, 12)}",
            "version2": f"4.{rng.randrange(9, 12)}.0",
            "size": str(rng.choice((50, 100, 200, 500))),
            "limit": str(rng.choice((300, 600, 1200))),
            "limit2": str(rng.choice((3000, 6000))),
            "req": f"req_{rng.getrandbits(48):012x}",
            "ip": f"203.0.113.{rng.randrange(2, 250)}",
            "email": c.email,
            "company": company,
            "renew": f"{later.month}月{later.day}日",
        }

    # -- ids, dates, flags --------------------------------------------------------------------

    def msgid(self, style: str, domain: str, when: datetime) -> str:
        rng = self.rng
        while True:
            if style == "gmail":
                token = base64.b64encode(rng.randbytes(30)).decode().replace("/", "_")
                mid = f"<CA{token}@mail.example.com>"
            elif style == "outlook-classic":
                a, b, c = rng.getrandbits(24), rng.getrandbits(32), rng.getrandbits(32)
                mid = f"<000001da{a:06x}${b:08x}${c:08x}@{domain}>"
            elif style == "outlook-365":
                box = f"PH0PR{rng.randrange(10, 19)}MB{rng.randrange(1000, 9999)}"
                mid = f"<{box}{rng.getrandbits(96):024X}@{box}.namprd.prod.mail.example.net>"
            elif style == "apple":
                u = uuid.UUID(int=rng.getrandbits(128), version=4)
                mid = f"<{str(u).upper()}@{domain}>"
            elif style == "keitai":
                mid = f"<{when:%Y%m%d%H%M%S}.{rng.getrandbits(32):08x}@{domain}>"
            elif style == "mew":
                user = domain.split(".")[0]
                mid = f"<{when:%Y%m%d.%H%M%S}.{rng.randrange(100000, 999999)}.{user}@{domain}>"
            elif style == "support":
                mid = f"<mt.{when:%Y%m%d%H%M%S}.{rng.getrandbits(40):010x}@example.co.jp>"
            else:
                mid = f"<{uuid.UUID(int=rng.getrandbits(128), version=4)}@{domain}>"
            if mid not in self.msgids:
                self.msgids.add(mid)
                return mid

    def keywords(self, plan: _Plan) -> tuple[str, ...]:
        out: list[str] = []
        if plan.status == "in-progress":
            out.append(STATUS_IN_PROGRESS)
        elif plan.status == "done":
            out.append(STATUS_DONE)
        if plan.assignee:
            out.append(assignee_keyword(plan.assignee))
        if plan.urgent:
            out.append(PRIO_URGENT)
        if plan.later:
            out.append(LATER)
        if plan.noreply:
            out.append(NOREPLY)
        return tuple(out)

    def timeline(self, plan: _Plan) -> list[datetime]:
        rng = self.rng
        minutes = {
            "unhandled": lambda: (
                rng.choice((rng.uniform(3, 240), rng.uniform(60, 1440), rng.uniform(1440, 5760)))
                if rng.random() < 0.9
                else rng.uniform(5760, 20000)
            ),
            "in-progress": lambda: rng.uniform(90, 7200),
            "done": lambda: rng.uniform(360, 28000),
        }[plan.status]()
        end = self.now - timedelta(minutes=minutes)
        gaps = []
        for role in plan.roles[1:]:
            if role == "O":
                gaps.append(rng.uniform(0.1, 2))
            elif role == "S" or role == "F":
                gaps.append(rng.choice((rng.uniform(15, 180), rng.uniform(120, 1500))))
            else:
                gaps.append(rng.uniform(10, 2880))
        span = sum(gaps)
        budget = (end - (self.now - timedelta(days=21))).total_seconds() / 60
        if span > budget:
            gaps = [g * budget / span * 0.95 for g in gaps]
        times = [end]
        for gap in reversed(gaps):
            times.insert(0, times[0] - timedelta(minutes=gap))
        return [t.replace(microsecond=0) for t in times]

    # -- text -----------------------------------------------------------------------------------

    def fill(self, template: str, params: dict[str, str], plan: _Plan) -> str:
        text = template
        if "{steps}" in text:
            steps = plan.topic.steps_ja if plan.lang == "ja" else plan.topic.steps_en
            marks = "①②③④" if plan.customer.profile.nec else None
            lines = [f"{marks[i]} {s}" if marks else f"{i + 1}. {s}" for i, s in enumerate(steps)]
            text = text.replace("{steps}", "\n".join(lines))
        return text.format(**params)

    def customer_text(self, plan: _Plan, role: str, params: dict[str, str]) -> str:
        rng, c, t = self.rng, plan.customer, plan.topic
        ja = plan.lang == "ja"
        tone = plan.tone
        if role == "C":
            pool = (
                (t.short_ja if ja else t.short_en)
                if tone == "curt"
                else (t.body_ja if ja else t.body_en)
            )
        elif role == "M":
            pool = t.more_ja if ja else t.more_en
        elif role == "N":
            pool = _NUDGE[(plan.lang, tone)]
        else:  # "T"
            pool = _THANKS[plan.lang]
        core = self.fill(rng.choice(pool), params, plan)
        text = self.ja_wrap(plan, role, core) if ja else self.en_wrap(plan, role, core)
        for full, half in _HANKAKU.items():
            if c.profile.key == "keitai":
                text = text.replace(full, half)
            elif not c.profile.body.startswith("sjis"):
                # Only Shift_JIS can carry half-width katakana; other mailers widen it on input.
                text = text.replace(half, full)
        return text

    def ja_wrap(self, plan: _Plan, role: str, core: str) -> str:
        rng, c = self.rng, plan.customer
        if plan.tone == "curt" or c.profile.key == "keitai":
            tail = rng.choice(
                ("確認お願いします。", "対応してください。", "至急対応してください！")
            )
            tail = tail if plan.urgent or role != "T" else ""
            return f"{core}\n{tail}\n\n{c.family}".replace("\n\n\n", "\n\n")
        company_sig = c.company.name if c.company else ""
        if c.profile.nec and company_sig.startswith("株式会社") and rng.random() < 0.6:
            company_sig = company_sig.replace("株式会社", "㈱")
        head = rng.choice(
            (
                "株式会社ミナト\nカスタマーサポート ご担当者様",
                "Minato Drive サポート窓口 御中",
                "ご担当者様",
            )
        )
        greeting = (
            "初めてご連絡いたします。"
            if role == "C" and rng.random() < 0.3
            else rng.choice(("お世話になっております。", "いつもお世話になっております。"))
        )
        intro = f"{c.company.short}の{c.family}です。" if c.company else f"{c.family}と申します。"
        if plan.tone == "angry":
            angry = rng.sample(_ANGRY_JA, 2)
            closing = "\n".join(angry)
        elif role == "T":
            closing = "今後ともよろしくお願いいたします。"
        else:
            closing = rng.choice(_POLITE_CLOSE_JA)
        sig = [f"{c.family} {c.given}"]
        if company_sig:
            sig = [company_sig, c.title, *sig]
        sig += [f"TEL: {c.phone}", f"Mail: {c.email}"]
        bar = rng.choice(("--", "━━━━━━━━━━━━━━━━━━", "**********************"))
        if plan.urgent and plan.tone != "angry":
            closing = (
                "大変恐縮ですが、業務に影響が出ておりますので至急ご対応をお願いいたします。\n"
                + closing
            )
        return f"{head}\n\n{greeting}\n{intro}\n\n{core}\n\n{closing}\n\n{bar}\n" + "\n".join(sig)

    def en_wrap(self, plan: _Plan, role: str, core: str) -> str:
        rng, c = self.rng, plan.customer
        first = c.given
        if plan.tone == "curt":
            tail = "\n\nSent from my iPhone" if c.profile.key == "iphone" else f"\n\n{first}"
            return f"{core}{tail}"
        if plan.tone == "angry":
            shout = "\n".join(rng.sample(_ANGRY_EN, 2))
            return f"{core}\n\n{shout}\n\n{first} {c.family}"
        greet = rng.choice(("Hello Minato Drive Support,", "Hi team,", "Hi,", "Dear Support,"))
        close = "Thanks again!" if role == "T" else rng.choice(_POLITE_CLOSE_EN)
        if plan.urgent:
            close = "This is urgent for us - please prioritise.\n" + close
        sig = f"{first} {c.family}"
        if c.company:
            sig += f"\n{c.title}, {c.company.name}"
        return f"{greet}\n\n{core}\n\n{close}\n\nBest regards,\n{sig}"

    def support_text(
        self, plan: _Plan, role: str, params: dict[str, str], agent: str, first: bool
    ) -> str:
        rng, c, t = self.rng, plan.customer, plan.topic
        ja = plan.lang == "ja"
        if role == "S" and first:
            pool = t.reply_ja if ja else t.reply_en
        elif role == "F":
            pool = t.fix_ja if ja else t.fix_en
        else:
            pool = _INTERIM_JA if ja else _INTERIM_EN
        core = self.fill(rng.choice(pool), params, plan)
        ja_name, en_name = _AGENTS[agent]
        if ja:
            addressee = f"{c.company.name}\n{c.name}様" if c.company else f"{c.name}様"
            sorry = "この度は大変ご迷惑をおかけしており、誠に申し訳ございません。\n\n"
            sorry = sorry if plan.tone == "angry" or plan.urgent else ""
            return _t(f"""
                {{addressee}}

                いつも Minato Drive をご利用いただき、誠にありがとうございます。
                株式会社ミナト カスタマーサポートの{ja_name}でございます。

                {{sorry}}{{core}}

                ご不明な点がございましたら、お気軽にお問い合わせください。
                今後とも Minato Drive をよろしくお願い申し上げます。

                ━━━━━━━━━━━━━━━━━━━━━━
                株式会社ミナト カスタマーサポート
                {ja_name}（{agent}）
                support@example.co.jp
                受付時間：平日 10:00～18:00
                https://help.minato.example.jp/
                ━━━━━━━━━━━━━━━━━━━━━━
                """).format(addressee=addressee, sorry=sorry, core=core)
        sorry = "I'm very sorry for the disruption this has caused.\n\n"
        sorry = sorry if plan.tone == "angry" or plan.urgent else ""
        return (
            f"Hi {c.given},\n\nThank you for contacting Minato Drive Support.\n\n{sorry}{core}\n\n"
            f"Best regards,\n{en_name}\nMinato Drive Support\nhttps://help.minato.example.jp/"
        )

    # -- quoting ------------------------------------------------------------------------------

    def quote(self, style: str, lang: str, parent: _Sent, parent_to: str, tz: timezone) -> str:
        name, email = parent.sender
        when = parent.date.astimezone(tz)
        if style == "none":
            return ""
        if style == "outlook":
            if lang == "ja":
                head = (
                    f"-----Original Message-----\n差出人: {name} <{email}>\n"
                    f"送信日時: {when.year}年{when.month}月{when.day}日"
                    f"({_WEEKDAYS_JA[when.weekday()]}) {when:%H:%M}\n"
                    f"宛先: {parent_to}\n件名: {parent.subject}"
                )
            else:
                head = (
                    f"-----Original Message-----\nFrom: {name} <{email}>\n"
                    f"Sent: {_DAYS[when.weekday()]}, {_MONTHS[when.month - 1]} {when.day},"
                    f" {when.year} {_clock12(when)}\n"
                    f"To: {parent_to}\nSubject: {parent.subject}"
                )
            return f"\n\n{head}\n\n{parent.text}"
        if style == "gmail" and lang == "ja":
            attribution = (
                f"{when.year}年{when.month}月{when.day}日({_WEEKDAYS_JA[when.weekday()]}) "
                f"{when:%H:%M} {name} <{email}>:"
            )
        elif style == "gmail":
            attribution = (
                f"On {_DAYS[when.weekday()][:3]}, {_MONTHS[when.month - 1][:3]} {when.day},"
                f" {when.year} at {_clock12(when)} {name} <{email}> wrote:"
            )
        else:
            attribution = f"On {when:%Y/%m/%d %H:%M}, {name} wrote:"
        quoted = "\n".join(f"> {line}" if line else ">" for line in parent.text.split("\n"))
        return f"\n\n{attribution}\n{quoted}"

    # -- building -----------------------------------------------------------------------------

    def build(self, plan: _Plan) -> None:
        if plan.kind in ("newsletter", "autoreply", "ooo", "monitor"):
            self.noise(plan)
            return
        rng = self.rng
        params = self.params(plan)
        times = self.timeline(plan)
        self.flags = self.keywords(plan)
        subject = self.subject(plan, params)
        thread: list[_Sent] = []
        answered: set[str] = set()
        auto: set[str] = set()  # out-of-office replies: nobody answers those
        staged: list[tuple[str, bytes, list[str], datetime, str]] = []
        for pos, role in enumerate(plan.roles):
            when = times[pos]
            if role in ("S", "F"):
                parent = next(
                    m for m in reversed(thread) if m.mailbox == "INBOX" and m.msgid not in auto
                )
                agent = plan.assignee or "alice"
                if plan.status == "done" and role == "F" and plan.urgent:
                    agent = "carol"
                first = "S" not in plan.roles[:pos]
                raw, info = self.support_message(plan, role, params, parent, when, agent, first)
                answered.add(parent.msgid)
                staged.append(("Sent", raw, ["\\Seen"], when, info.msgid))
            elif role == "O":
                parent = thread[-1]
                raw, info = self.ooo_reply(plan, parent, when)
                auto.add(info.msgid)
                staged.append(("INBOX", raw, [], when, info.msgid))
            else:
                if role == "C":
                    parent = None
                elif role == "N":
                    parent = thread[-1]
                else:
                    parent = next(m for m in reversed(thread) if m.mailbox == "Sent")
                raw, info = self.customer_message(plan, role, params, parent, when, subject)
                staged.append(("INBOX", raw, [], when, info.msgid))
            thread.append(info)
        last_inbox = max(i for i, s in enumerate(staged) if s[0] == "INBOX")
        for i, (mailbox, raw, flags, when, mid) in enumerate(staged):
            if mailbox == "INBOX":
                seen = plan.status != "unhandled" or (i != last_inbox and rng.random() < 0.8)
                seen = seen or rng.random() < 0.12
                if seen:
                    flags.append("\\Seen")
                if mid in answered:
                    flags.append("\\Answered")
                if plan.urgent and rng.random() < 0.4:
                    flags.append("\\Flagged")
                internal = when + timedelta(seconds=rng.randrange(1, 40))
            else:
                internal = when
            self.messages.append(
                DemoMessage(mailbox, raw, (*flags, *self.flags), internal.astimezone(_JST))
            )

    def subject(self, plan: _Plan, params: dict[str, str]) -> str:
        rng, t = self.rng, plan.topic
        pool = t.subj_ja if plan.lang == "ja" else t.subj_en
        subject = self.fill(rng.choice(pool), params, plan)
        if plan.quirk == "long-subject-ja":
            subject = (
                "【ご相談】弊社における Minato Drive ビジネスプランの年間契約更新に伴う"
                "請求書の宛名変更、支払方法の変更（クレジットカードから銀行振込へ）、"
                f"および追加ユーザー{params['users']}名分の見積書発行についてのお願い"
            )
        elif plan.quirk == "long-subject-en":
            subject = (
                f"Follow-up on our conversation regarding {subject} and also the"
                " renewal, the invoice address change, the SSO rollout for the new office and"
                " whether the API limits apply per key or per account (please read all)"
            )
        elif plan.quirk == "emoji-en":
            subject = f"🔥 {subject}!!! 😡"
        elif plan.quirk == "emoji-ja":
            subject = f"{subject}🙏"
        if plan.urgent:
            prefixes = (
                ("【至急】", "【緊急】", "【至急】")
                if plan.lang == "ja"
                else ("URGENT: ", "[URGENT] ")
            )
            subject = rng.choice(prefixes) + subject
            if plan.lang == "en" and plan.tone == "angry":
                subject = subject.upper()
        if plan.kind == "forward":
            prefix = plan.customer.profile.fwd_prefix
            if plan.lang == "ja" and rng.random() < 0.5:
                prefix = "転送: "
            subject = prefix + subject
        return subject

    def headers(
        self,
        *,
        sender: str,
        to: str,
        cc: str | None,
        subject: str | None,
        when: datetime | None,
        msgid: str,
        parent: _Sent | None,
        drop_refs: bool,
        extra: Sequence[tuple[str, str]] = (),
    ) -> list[str]:
        lines = []
        if when is not None:
            lines.append(f"Date: {format_datetime(when)}")
        lines.append(f"From: {sender}")
        lines.append(f"To: {to}")
        if cc:
            lines.append(f"Cc: {cc}")
        if subject is not None:
            lines.append(f"Subject: {subject}")
        lines.append(f"Message-ID: {msgid}")
        if parent is not None and not drop_refs:
            refs = (*parent.references, parent.msgid)
            lines.append(f"In-Reply-To: {parent.msgid}")
            lines.append("References: " + "\r\n ".join(refs[-8:] if len(refs) > 8 else refs))
        lines += [f"{k}: {v}" for k, v in extra]
        lines.append("MIME-Version: 1.0")
        return lines

    def customer_message(
        self,
        plan: _Plan,
        role: str,
        params: dict[str, str],
        parent: _Sent | None,
        when: datetime,
        base_subject: str,
    ) -> tuple[bytes, _Sent]:
        rng, c = self.rng, plan.customer
        p = c.profile
        local = when.astimezone(c.tz)
        domain = c.email.split("@")[1]
        msgid = self.msgid(p.msgid, domain, when)
        text = self.customer_text(plan, role, params)
        if plan.kind == "forward" and role == "C":
            text = self.forward_body(plan, text, when, _strip_re(base_subject))
        if parent is not None:
            text += self.quote(p.quote, plan.lang, parent, SUPPORT_ADDRESS, c.tz)
        if parent is None:
            subject: str | None = base_subject
        else:
            prefix = p.re_prefix
            stripped = _strip_re(parent.subject)
            if rng.random() < 0.05:
                prefix = "Re: Re: "
            subject = prefix + stripped
        if plan.quirk == "no-subject" and parent is None:
            subject = None
        hcs = p.header_charset if plan.lang == "ja" else "UTF-8"
        sender_addr = _address(c.name, c.email, hcs)
        to = _address(
            "Minato Drive サポート" if plan.lang == "ja" else "Minato Drive Support",
            SUPPORT_ADDRESS,
            hcs,
        )
        if rng.random() < 0.35:
            to = SUPPORT_ADDRESS
        cc = _address(*c.colleague, hcs) if c.colleague else None
        extra: list[tuple[str, str]] = []
        if p.mailer:
            extra.append(
                ("User-Agent" if p.key.startswith("thunderbird") else "X-Mailer", p.mailer)
            )
        if p.key == "outlook-ja":
            extra.append(("Content-Language", "ja"))
        if plan.urgent and p.key.startswith("outlook"):
            extra += [("X-Priority", "1"), ("Importance", "high")]
        drop = p.drops_references or (parent is not None and rng.random() < 0.05)
        date: datetime | None = local
        if plan.quirk == "no-date" and parent is None:
            date = None
        if plan.kind == "webform" and role == "C":
            return self.webform(plan, params, text, when, msgid)
        attachments = self.attachments(plan, role, params, when)
        table = self.table(plan, params) if role == "C" else []
        body = self.body(plan, text, attachments, p, table)
        subject_h = _header_text(subject, hcs) if subject is not None else None
        lines = self.headers(
            sender=sender_addr,
            to=to,
            cc=cc,
            subject=subject_h,
            when=date,
            msgid=msgid,
            parent=parent,
            drop_refs=drop,
            extra=extra,
        )
        raw = ("\r\n".join(lines) + "\r\n").encode("ascii") + body
        refs = () if parent is None or drop else (*parent.references, parent.msgid)
        info = _Sent(msgid, refs, subject or "", text, (c.name, c.email), when, "INBOX")
        return raw, info

    def body(
        self,
        plan: _Plan,
        text: str,
        attachments: list[_Attachment],
        p: _Profile,
        table: list[tuple[str, str]],
    ) -> bytes:
        rng = self.rng
        kind = p.body if plan.lang == "ja" else ("utf8-qp" if p.body != "utf8-8bit" else p.body)
        if plan.lang == "en" and p.key == "gmail":
            kind = "utf8-qp"
        html_wanted = rng.random() < p.html
        inline = [a for a in attachments if a.content_id]
        files = [a for a in attachments if not a.content_id]
        text_part = _text_part(text, kind, flowed=p.key == "thunderbird-utf8")
        if html_wanted or inline:
            html_kind = "utf8-qp" if kind == "utf8-8bit" else kind
            if kind.startswith("sjis") or kind == "eucjp":
                html_kind = "utf8-b64"
            html = _html(text, p.key, table, inline)
            alt = _multipart(
                "alternative",
                [text_part, _text_part(html, html_kind, "html")],
                self.boundary(p.key),
            )
            if inline:
                related_parts = [alt] + [_attachment_part(a, "rfc2231") for a in inline]
                alt = _multipart("related", related_parts, self.boundary(p.key))
            content = alt
        else:
            content = text_part
        if files:
            parts = [content] + [_attachment_part(a, p.filenames) for a in files]
            content = _multipart("mixed", parts, self.boundary(p.key))
        return content

    def boundary(self, style: str) -> str:
        rng = self.rng
        if style == "gmail":
            return f"000000000000{rng.getrandbits(64):016x}"[:28]
        if style.startswith("outlook"):
            a, b, c = rng.getrandbits(16), rng.getrandbits(32), rng.getrandbits(32)
            return f"----=_NextPart_000_{a:04X}_01DA{b:08X}.{c:08X}"
        if style == "iphone":
            return f"Apple-Mail-{str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()}"
        return "------------" + "".join(
            rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdef") for _ in range(24)
        )

    def table(self, plan: _Plan, params: dict[str, str]) -> list[tuple[str, str]]:
        ja = plan.lang == "ja"
        if plan.topic.table == "order":
            return [
                ("注文番号" if ja else "Order", params["order"]),
                ("商品" if ja else "Item", f"Minato Box MB-200 x{params['count']}"),
                ("注文日" if ja else "Ordered", params["date_ja" if ja else "date_en"]),
            ]
        if plan.topic.table == "invoice":
            return [
                ("請求書番号" if ja else "Invoice", params["inv"]),
                ("対象月" if ja else "Period", params["month_ja" if ja else "month_en"]),
                (
                    "金額" if ja else "Amount",
                    f"{params['amount']}円" if ja else f"JPY {params['amount']}",
                ),
                ("ユーザー数" if ja else "Seats", params["users"]),
            ]
        if plan.topic.table == "env":
            return [
                ("OS", params["os"]),
                ("Browser", params["browser"]),
                ("App", params["version"]),
            ]
        return []

    def attachments(
        self, plan: _Plan, role: str, params: dict[str, str], when: datetime
    ) -> list[_Attachment]:
        rng, t = self.rng, plan.topic
        kinds = t.attach
        if not kinds:
            return []
        if role == "M" and "png" in kinds and rng.random() < 0.35:
            return [self.attachment("png", plan, params, when)]
        if role != "C" or rng.random() > 0.5:
            return []
        out = [self.attachment(rng.choice(kinds), plan, params, when)]
        if plan.customer.profile.key == "gmail" and "png" in kinds and rng.random() < 0.4:
            cid = f"ii_{rng.getrandbits(40):010x}"
            out.append(_Attachment("image.png", "image/png", _png(rng, 24, 12), content_id=cid))
        return out

    def attachment(
        self, kind: str, plan: _Plan, params: dict[str, str], when: datetime
    ) -> _Attachment:
        rng = self.rng
        ja = plan.lang == "ja"
        local = when.astimezone(_JST)
        if kind == "png":
            name = rng.choice(
                ("スクリーンショット 2024-05-13 101522.png", "エラー画面.png", "IMG_4821.PNG")
                if ja
                else ("Screenshot 2024-05-13 at 10.15.22.png", "error.png", "IMG_4821.PNG")
            )
            name = name.replace("2024-05-13", f"{local:%Y-%m-%d}")
            return _Attachment(
                name, "image/png", _png(rng, rng.randrange(24, 64), rng.randrange(16, 40))
            )
        if kind == "log":
            err = params["err"]
            lines = [
                f"{(when - timedelta(seconds=30 * i)):%Y-%m-%dT%H:%M:%S}Z "
                f"{rng.choice(('INFO', 'WARN', 'ERROR'))} sync[{rng.randrange(1000, 9999)}] "
                f"{rng.choice(('upload chunk', 'retry', 'token refresh', 'HTTP 429', err))}"
                for i in range(rng.randrange(12, 40))
            ]
            name = "minato-drive.log" if rng.random() < 0.6 else f"sync_{local:%Y%m%d}.log"
            return _Attachment(name, "text/plain", ("\n".join(lines) + "\n").encode())
        if kind == "xml":
            xml = (
                '<?xml version="1.0"?>\n<md:EntityDescriptor '
                'xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
                f'entityID="https://idp.{plan.customer.email.split("@")[1]}/saml">\n'
                f"  <!-- {base64.b64encode(rng.randbytes(300)).decode()} -->\n"
                "</md:EntityDescriptor>\n"
            )
            return _Attachment("idp-metadata.xml", "application/xml", xml.encode())
        if kind in ("statement-csv", "export-csv"):
            header = "日付,内容,金額\n" if ja else "date,description,amount\n"
            rows = "".join(
                f'{(local - timedelta(days=i)):%Y/%m/%d},MINATO DRIVE,"{params["amount"]}"\n'
                for i in range(rng.randrange(3, 12))
            )
            if kind == "export-csv":
                folder = "営業部" if ja else "Sales"
                header = "パス,所有者,サイズ,更新日時\n" if ja else "path,owner,size,modified\n"
                rows = "".join(
                    f"/{folder}/file_{i:03d}.xlsx,{plan.customer.email},"
                    f"{rng.randrange(1000, 900000)},{local:%Y-%m-%d}\n"
                    for i in range(rng.randrange(5, 30))
                )
            if ja:
                # Excel on Windows writes CSV in CP932; that is what customers attach.
                name = (
                    "カード明細.csv" if kind == "statement-csv" else "エクスポート結果_文字化け.csv"
                )
                return _Attachment(
                    name, 'text/csv; charset="Shift_JIS"', (header + rows).encode("cp932")
                )
            name = "statement.csv" if kind == "statement-csv" else "export.csv"
            return _Attachment(name, "text/csv", (header + rows).encode())
        # PDFs: invoices and quotes
        if kind == "invoice-pdf":
            name = (
                "請求書.pdf"
                if rng.random() < 0.4
                else f"請求書_{params['month_ja']}分_{params['inv']}.pdf"
            )
            if not ja:
                name = f"Invoice_{params['inv']}.pdf"
            return _Attachment(
                name, "application/pdf", _pdf("INVOICE", [params["inv"], params["amount"]])
            )
        company = plan.customer.company.short if plan.customer.company else plan.customer.family
        name = f"御見積書_{company}様.pdf" if ja else f"Quote_{company.replace(' ', '_')}.pdf"
        return _Attachment(
            name, "application/pdf", _pdf("QUOTATION", [params["users"], params["amount"]])
        )

    def forward_body(self, plan: _Plan, text: str, when: datetime, subject: str) -> str:
        rng, c = self.rng, plan.customer
        orig_when = (when - timedelta(hours=rng.randrange(2, 48))).astimezone(c.tz)
        colleague = c.colleague or (
            ("経理担当", f"keiri@{c.email.split('@')[1]}")
            if plan.lang == "ja"
            else ("Accounts", f"accounts@{c.email.split('@')[1]}")
        )
        if plan.lang == "ja":
            intro = "下記の件、社内の者から問い合わせがありました。\nご確認いただけますでしょうか。"
            head = (
                "---------- Forwarded message ---------\n"
                f"From: {colleague[0]} <{colleague[1]}>\n"
                f"Date: {orig_when.year}年{orig_when.month}月{orig_when.day}日"
                f"({_WEEKDAYS_JA[orig_when.weekday()]}) {orig_when:%H:%M}\n"
                f"Subject: {subject}\nTo: {c.name} <{c.email}>"
            )
        else:
            intro = "Forwarding this from a colleague - can you help?"
            head = (
                "---------- Forwarded message ---------\n"
                f"From: {colleague[0]} <{colleague[1]}>\n"
                f"Date: {format_datetime(orig_when)}\nSubject: {subject}\nTo: {c.name} <{c.email}>"
            )
        return f"{intro}\n\n{head}\n\n{text}"

    def support_message(
        self,
        plan: _Plan,
        role: str,
        params: dict[str, str],
        parent: _Sent,
        when: datetime,
        agent: str,
        first: bool,
    ) -> tuple[bytes, _Sent]:
        rng, c = self.rng, plan.customer
        ja = plan.lang == "ja"
        msgid = self.msgid("support", "example.co.jp", when)
        text = self.support_text(plan, role, params, agent, first)
        text += self.quote("gmail", plan.lang, parent, c.email, _JST)
        fallback = "お問い合わせの件" if ja else "(no subject)"
        subject = "Re: " + (_strip_re(parent.subject) or fallback)
        display = "Minato Drive サポート" if ja else "Minato Drive Support"
        cc = _address(*c.colleague) if c.colleague and rng.random() < 0.8 else None
        lines = self.headers(
            sender=_address(display, SUPPORT_ADDRESS),
            to=_address(c.name, c.email),
            cc=cc,
            subject=_header_text(subject, "UTF-8"),
            when=when.astimezone(_JST),
            msgid=msgid,
            parent=parent,
            drop_refs=False,
            extra=[("X-Mailer", "mailtriage"), ("X-Mailtriage-Agent", agent)],
        )
        kind = "utf8-b64" if ja else "utf8-qp"
        part = _text_part(text, kind)
        if (
            role in ("S", "F")
            and plan.topic.key in ("invoice", "renewal", "quote")
            and rng.random() < 0.7
        ):
            pdf = self.attachment(
                "invoice-pdf" if plan.topic.key == "invoice" else "quote-pdf", plan, params, when
            )
            part = _multipart(
                "mixed", [part, _attachment_part(pdf, "rfc2231")], self.boundary("mailtriage")
            )
        raw = ("\r\n".join(lines) + "\r\n").encode("ascii") + part
        info = _Sent(
            msgid,
            (*parent.references, parent.msgid),
            subject,
            text,
            (display, SUPPORT_ADDRESS),
            when,
            "Sent",
        )
        self.sent_log.append((info, self.flags, c.email))
        return raw, info

    def ooo_reply(self, plan: _Plan, parent: _Sent, when: datetime) -> tuple[bytes, _Sent]:
        c = plan.customer
        ja = plan.lang == "ja"
        msgid = self.msgid("uuid", c.email.split("@")[1], when)
        if ja:
            subject = f"自動返信: {parent.subject}"
            text = _t(f"""
                {c.family}は{self.rng.randrange(2, 9)}日まで不在にしております。
                急ぎの場合は代表番号までご連絡ください。
                ※本メールは自動返信です。
                """)
            hcs = "ISO-2022-JP"
            kind = "jis"
        else:
            subject = f"Automatic reply: {parent.subject}"
            text = (
                f"I am out of the office until next week with limited access to email.\n\n{c.given}"
            )
            hcs, kind = "UTF-8", "utf8-qp"
        lines = self.headers(
            sender=_address(c.name, c.email, hcs),
            to=SUPPORT_ADDRESS,
            cc=None,
            subject=_header_text(subject, hcs),
            when=when.astimezone(c.tz),
            msgid=msgid,
            parent=parent,
            drop_refs=False,
            extra=[("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All")],
        )
        raw = ("\r\n".join(lines) + "\r\n").encode("ascii") + _text_part(text, kind)
        info = _Sent(
            msgid,
            (*parent.references, parent.msgid),
            subject,
            text,
            (c.name, c.email),
            when,
            "INBOX",
        )
        return raw, info

    def webform(
        self, plan: _Plan, params: dict[str, str], text: str, when: datetime, msgid: str
    ) -> tuple[bytes, _Sent]:
        """Contact-form notifications: HTML only, from the form robot, Reply-To the customer."""
        c = plan.customer
        ja = plan.lang == "ja"
        core = self.fill(
            self.rng.choice(plan.topic.body_ja if ja else plan.topic.body_en), params, plan
        )
        labels = (
            ("お名前", "会社名", "メールアドレス", "お問い合わせ種別", "お問い合わせ内容")
            if ja
            else ("Name", "Company", "Email", "Category", "Message")
        )
        values = (
            c.name,
            c.company.name if c.company else "",
            c.email,
            plan.topic.label_ja if ja else plan.topic.label_en,
            core,
        )
        rows = "".join(
            f'<tr><th style="text-align:left;background:#eef">{escape(k)}</th>'
            f"<td>{escape(v).replace(chr(10), '<br>')}</td></tr>\n"
            for k, v in zip(labels, values, strict=True)
        )
        title = (
            "お問い合わせフォームから新しいお問い合わせがありました"
            if ja
            else "New contact form submission"
        )
        html = (
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title></head>\n"
            f"<body>\n<p>{escape(title)}</p>\n"
            f'<table border="1" cellpadding="6" cellspacing="0">\n{rows}</table>\n'
            '<p><a href="https://admin.minato.example.jp/forms/inquiries">管理画面で確認する</a></p>\n'
            "</body></html>"
        )
        subject = (
            f"【お問い合わせフォーム】{plan.topic.label_ja}"
            if ja
            else f"[Contact form] {plan.topic.label_en}"
        )
        lines = self.headers(
            sender=_address("Minato Drive お問い合わせフォーム", "form@example.co.jp"),
            to=SUPPORT_ADDRESS,
            cc=None,
            subject=_header_text(subject, "UTF-8"),
            when=when.astimezone(_JST),
            msgid=msgid,
            parent=None,
            drop_refs=False,
            extra=[("Reply-To", _address(c.name, c.email)), ("X-Mailer", "MinatoForms/2.3")],
        )
        raw = ("\r\n".join(lines) + "\r\n").encode("ascii") + _text_part(html, "utf8-b64", "html")
        return raw, _Sent(msgid, (), subject, core, (c.name, c.email), when, "INBOX")

    # -- noise ----------------------------------------------------------------------------------

    def noise(self, plan: _Plan) -> None:
        rng = self.rng
        ja = plan.lang == "ja"
        when = self.now - timedelta(minutes=rng.uniform(20, 28000))
        when = when.replace(microsecond=0)
        self.flags = self.keywords(plan)
        c = plan.customer
        extra: list[tuple[str, str]] = []
        parent = None
        if plan.kind == "newsletter":
            sender = _address(
                "クラウド実務ニュース" if ja else "SaaS Ops Weekly", "news@news.example.net"
            )
            n = rng.randrange(80, 240)
            subject = (
                f"【週刊】クラウド実務ニュース vol.{n}：電子帳簿保存法の最新動向"
                if ja
                else f"SaaS Ops Weekly #{n}: incident reviews that work"
            )
            body = _text_part(_newsletter_html(ja, n), "utf8-qp", "html")
            extra = [
                ("List-Id", "<weekly.news.example.net>"),
                (
                    "List-Unsubscribe",
                    "<https://news.example.net/u?id=" + f"{rng.getrandbits(40):x}>",
                ),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
                ("Precedence", "bulk"),
            ]
            domain = "news.example.net"
        elif plan.kind == "monitor":
            sender = "Minato Monitor <monitor@status.minato.example.jp>"
            state = rng.choice(("RESOLVED", "FIRING"))
            subject = f"[Minato Monitor] {state}: api-gw 5xx rate > 5% (ap-northeast-1)"
            body = _text_part(
                f"Alert: api-gw 5xx rate\nState: {state}\nValue: {rng.uniform(5, 12):.1f}%\n"
                f"Since: {when:%Y-%m-%d %H:%M} UTC\nRunbook: https://wiki.minato.example.jp/runbooks/api-gw\n",
                "ascii",
            )
            extra = [("Auto-Submitted", "auto-generated")]
            domain = "status.minato.example.jp"
        else:
            domain = c.email.split("@")[1]
            announce = f"<announce.{rng.getrandbits(48):012x}@example.co.jp>"
            topic = (
                "【重要】定期メンテナンスのお知らせ"
                if ja
                else "[Minato Drive] Scheduled maintenance"
            )
            parent = _Sent(announce, (), topic, "", ("", ""), when, "Sent")
            if plan.kind == "autoreply":
                ticket = rng.randrange(10000, 99999)
                sender = _address(
                    "ヘルプデスク" if ja else "Helpdesk",
                    f"helpdesk@{domain}",
                    "ISO-2022-JP" if ja else "UTF-8",
                )
                subject = (
                    f"【自動返信】お問い合わせを受け付けました（受付番号：{ticket}）"
                    if ja
                    else f"[Auto-Reply] We received your message (Ticket #{ticket})"
                )
                text = (
                    "このメールは自動返信です。\nお問い合わせを受け付けました。\n担当者より2営業日以内にご連絡いたします。\n"
                    if ja
                    else "This is an automated response. Your request has been received.\n"
                )
            else:
                sender = _address(c.name, c.email, "ISO-2022-JP" if ja else "UTF-8")
                subject = f"不在通知：Re: {topic}" if ja else f"Out of Office: Re: {topic}"
                text = (
                    f"{c.family}は休暇のため不在にしております。\n"
                    if ja
                    else "I'm on leave and will reply when I'm back.\n"
                )
            body = _text_part(text, "jis" if ja else "ascii")
            extra = [("Auto-Submitted", "auto-replied")]
        msgid = self.msgid("uuid", domain, when)
        lines = self.headers(
            sender=sender,
            to=SUPPORT_ADDRESS,
            cc=None,
            subject=_header_text(
                subject, "ISO-2022-JP" if ja and plan.kind != "newsletter" else "UTF-8"
            ),
            when=when.astimezone(_JST if ja else UTC),
            msgid=msgid,
            parent=parent,
            drop_refs=False,
            extra=extra,
        )
        raw = ("\r\n".join(lines) + "\r\n").encode("ascii") + body
        flags = ["\\Seen"] if plan.status == "done" or rng.random() < 0.3 else []
        self.messages.append(
            DemoMessage("INBOX", raw, (*flags, *self.flags), when.astimezone(_JST))
        )

    def add_bounces(self) -> None:
        """A few replies bounced (full mailbox): a multipart/report quoting our Sent headers."""
        rng = self.rng
        candidates = self.sent_log[:: max(1, len(self.sent_log) // 4)][:3]
        for info, _flags, rcpt in candidates:
            when = (info.date + timedelta(seconds=rng.randrange(5, 90))).replace(microsecond=0)
            if when >= self.now:
                continue
            msgid = self.msgid("uuid", "mx01.example.co.jp", when)
            boundary = f"{rng.getrandbits(40):010X}.{int(when.timestamp())}/mx01.example.co.jp"
            explanation = _t(f"""
                This is the mail system at host mx01.example.co.jp.

                I'm sorry to have to inform you that your message could not
                be delivered to one or more recipients.

                <{rcpt}>: host mx.{rcpt.split("@")[1]} said: 552 5.2.2
                    Mailbox full (in reply to RCPT TO command)
                """)
            status = _t(f"""
                Reporting-MTA: dns; mx01.example.co.jp
                Arrival-Date: {format_datetime(info.date.astimezone(_JST))}

                Final-Recipient: rfc822; {rcpt}
                Action: failed
                Status: 5.2.2
                Diagnostic-Code: smtp; 552 5.2.2 Mailbox full
                """)
            headers = _t(f"""
                From: Minato Drive Support <{SUPPORT_ADDRESS}>
                To: {rcpt}
                Message-ID: {info.msgid}
                Date: {format_datetime(info.date.astimezone(_JST))}
                """)
            parts = [
                _text_part(explanation, "ascii"),
                b"Content-Type: message/delivery-status\r\n\r\n" + _crlf(status + "\n").encode(),
                b"Content-Type: text/rfc822-headers\r\n\r\n" + _crlf(headers + "\n").encode(),
            ]
            body = _multipart("report", parts, boundary, " report-type=delivery-status;")
            lines = self.headers(
                sender="Mail Delivery System <MAILER-DAEMON@mx01.example.co.jp>",
                to=SUPPORT_ADDRESS,
                cc=None,
                subject="Undelivered Mail Returned to Sender",
                when=when.astimezone(_JST),
                msgid=msgid,
                parent=None,
                drop_refs=False,
                extra=[("Auto-Submitted", "auto-replied")],
            )
            raw = ("\r\n".join(lines) + "\r\n").encode("ascii") + body
            self.messages.append(DemoMessage("INBOX", raw, (NOREPLY,), when.astimezone(_JST)))


def _strip_re(subject: str) -> str:
    s = subject
    while True:
        for prefix in (
            "Re: ",
            "RE: ",
            "Re:",
            "AW: ",
            "Fwd: ",
            "FW: ",
            "Fw:",
            "WG: ",
            "転送: ",
            "Re: Re: ",
        ):
            if s.startswith(prefix):
                s = s[len(prefix) :]
                break
        else:
            return s


def _html(text: str, style: str, table: list[tuple[str, str]], inline: list[_Attachment]) -> str:
    out: list[str] = []
    quote_open = False
    for line in text.split("\n"):
        is_quote = line.startswith(">")
        if is_quote and not quote_open:
            out.append(
                '<blockquote class="gmail_quote"'
                ' style="margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex">'
            )
            quote_open = True
        elif not is_quote and quote_open:
            out.append("</blockquote>")
            quote_open = False
        content = escape(line.lstrip("> ") if is_quote else line)
        for word in content.split():
            if word.startswith("https://"):
                content = content.replace(word, f'<a href="{word}">{word}</a>')
        out.append(f"{content}<br>")
    if quote_open:
        out.append("</blockquote>")
    body = "\n".join(out)
    if table:
        rows = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in table)
        body = (
            body.replace(
                "<br>", f'<br>\n<table border="1" cellspacing="0" cellpadding="4">{rows}</table>', 1
            )
            if "<br>" in body
            else body
        )
    for att in inline:
        img = f'<img src="cid:{att.content_id}" alt="{escape(att.filename)}" width="240">'
        body += f"\n<div>{img}<br></div>"
    if style.startswith("outlook"):
        return (
            "<html><head>\n"
            '<meta name="Generator" content="Microsoft Word 15 (filtered medium)">\n'
            '</head><body lang="JA" link="#0563C1">\n'
            f'<div class="WordSection1"><p class="MsoNormal">{body}</p></div>\n</body></html>'
        )
    return f'<div dir="ltr">{body}</div>'


def _newsletter_html(ja: bool, n: int) -> str:
    if ja:
        items = (
            ("電子帳簿保存法：クラウド保管の要件を整理", "https://news.example.net/a/1"),
            ("中小企業のためのバックアップ3-2-1ルール", "https://news.example.net/a/2"),
            ("SaaS解約時のデータ返却、契約書で確認すべき点", "https://news.example.net/a/3"),
        )
        head, more, stop = f"クラウド実務ニュース vol.{n}", "続きを読む", "配信停止はこちら"
    else:
        items = (
            ("Incident reviews that actually change things", "https://news.example.net/a/1"),
            ("Rate limits: designing for 429s", "https://news.example.net/a/2"),
            ("SSO rollouts without the Monday-morning lockout", "https://news.example.net/a/3"),
        )
        head, more, stop = f"SaaS Ops Weekly #{n}", "Read more", "Unsubscribe"
    rows = "\n".join(
        f'<tr><td style="padding:8px;border-bottom:1px solid #ddd">{escape(title)}</td>'
        f'<td style="padding:8px"><a href="{url}">{more}</a></td></tr>'
        for title, url in items
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
        '<body style="font-family:sans-serif">\n'
        f'<h1 style="font-size:20px">{escape(head)}</h1>\n'
        f'<table width="600" cellpadding="0" cellspacing="0">\n{rows}\n</table>\n'
        f'<p style="font-size:11px;color:#888"><a href="https://news.example.net/unsubscribe">{stop}</a></p>\n'
        "</body></html>"
    )


_POLITE_CLOSE_JA = (
    "お忙しいところ恐れ入りますが、ご確認のほどよろしくお願いいたします。",
    "恐れ入りますが、ご対応のほど何卒よろしくお願い申し上げます。",
    "以上、よろしくお願いいたします。",
    "ご多用のところ恐縮ですが、ご回答いただけますと幸いです。\n何卒よろしくお願い申し上げます。",
)
_ANGRY_JA = (
    "先週から何度も問い合わせていますが、いまだに回答がありません。",
    "業務が完全に止まっています。至急対応してください！",
    "いい加減にしてください。",
    "このままでは解約も検討せざるを得ません。",
    "有料で契約しているのにこの対応はあり得ません。",
    "責任者からの説明を求めます。",
)
_POLITE_CLOSE_EN = (
    "Could you please take a look?",
    "Thanks in advance for your help.",
    "Let me know if you need anything else from us.",
    "Appreciate a quick reply.",
)
_ANGRY_EN = (
    "THIS IS THE THIRD TIME I AM WRITING ABOUT THIS.",
    "WE ARE PAYING CUSTOMERS AND NOBODY IS ANSWERING.",
    "FIX THIS TODAY OR WE CANCEL.",
    "Honestly this is unacceptable.",
    "I NEED A REAL ANSWER, NOT A CANNED RESPONSE.",
)
_NUDGE = {
    ("ja", "polite"): (
        "先日お問い合わせした件、その後いかがでしょうか。\nお手すきの際にご回答いただけますと幸いです。",
    ),
    ("ja", "curt"): ("まだですか？", "返事ください。"),
    ("ja", "angry"): ("まだ回答がありません。どうなっているんですか。\nいい加減にしてください！",),
    ("en", "polite"): ("Just following up on the message below - any news?",),
    ("en", "curt"): ("Any update?", "Bump."),
    ("en", "angry"): ("STILL WAITING. IS ANYONE READING THESE?",),
}
_THANKS = {
    "ja": (
        "ご対応いただきありがとうございました。問題なく利用できるようになりました。",
        "確認できました。迅速なご対応に感謝いたします。",
    ),
    "en": ("That fixed it, thank you!", "All good now. Thanks for the quick help."),
}
_INTERIM_JA = (
    "いただいた情報をもとに、引き続き開発チームと調査を進めております。\n進展があり次第ご連絡いたします。",
    "本件は担当部署にエスカレーションいたしました。\n恐れ入りますが、今しばらくお待ちくださいませ。",
)
_INTERIM_EN = (
    "Thanks for the details. Engineering is still investigating; I'll update you as soon as I can.",
    "I have escalated this to our second-line team and will get back to you shortly.",
)
