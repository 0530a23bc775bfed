"""Charset repair: turn bytes plus a (possibly wrong or missing) charset label into text.

Every function here returns ``(text, warnings)`` and never raises on bad data.
Japanese mail is the reason this module exists; the routes are:

* ``iso-2022-jp``: Python's strict codec, then ``iso2022_jp_ext`` (half-width katakana
  via ``ESC ( I``), then ``iso2022_jp_2004``, then a JIS-to-Shift_JIS byte conversion decoded
  as CP932. Windows mailers encode CP932 text into ISO-2022-JP (Microsoft's CP50220/50221),
  so NEC row 13 (①, ㈱) and the NEC-selected IBM rows 89-92 (髙) appear after ``ESC $ B``;
  every Python iso2022 codec rejects those, and only the CP932 route decodes them.
* ``shift_jis`` and its aliases: CP932, because almost every "Shift_JIS" message is CP932.
* ``euc-jp``: ``euc_jp``, then ``euc_jis_2004``.
* missing, unknown or wrong labels: UTF-8, then detection among ISO-2022-JP, CP932 and EUC-JP
  (see ``_japanese_score``), then windows-1252, then replacement characters; with a warning.

Wave dash (U+301C) and fullwidth tilde (U+FF5E) are left exactly as the chosen codec gives
them: CP932 gives U+FF5E, which is what a Windows sender typed.
"""

from __future__ import annotations

import codecs

ISO2022JP_LABELS = frozenset(
    {"iso-2022-jp", "iso2022jp", "iso2022_jp", "csiso2022jp", "jis", "jis7", "x-iso-2022-jp"}
)
# Labels naming an extended ISO-2022-JP: their own codec first, then the generic route.
ISO2022JP_VARIANTS = {
    "iso-2022-jp-1": "iso2022_jp_1",
    "iso-2022-jp-2": "iso2022_jp_2",
    "iso-2022-jp-3": "iso2022_jp_3",
    "iso-2022-jp-2004": "iso2022_jp_2004",
    "iso-2022-jp-ms": "iso2022_jp",
    "cp50220": "iso2022_jp",
    "cp50221": "iso2022_jp",
    "cp50222": "iso2022_jp",
}
SJIS_LABELS = frozenset(
    {
        "shift_jis",
        "shift-jis",
        "shiftjis",
        "sjis",
        "x-sjis",
        "x-shift_jis",
        "x-shift-jis",
        "ms_kanji",
        "csshiftjis",
        "windows-31j",
        "cswindows31j",
        "cp932",
        "ms932",
        "x-ms-cp932",
        "ibm-943",
    }
)
SJIS2004_LABELS = frozenset({"shift_jis_2004", "shift_jisx0213", "shift-jisx0213", "sjis-2004"})
EUCJP_LABELS = frozenset(
    {"euc-jp", "eucjp", "euc_jp", "x-euc-jp", "x-euc", "cseucpkdfmtjapanese", "ujis", "x-eucjp"}
)
EUCJP2004_LABELS = frozenset({"euc-jis-2004", "euc_jis_2004", "euc-jisx0213", "euc_jisx0213"})
ASCII_LABELS = frozenset({"us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us", "646"})
LATIN1_LABELS = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "cp819"})
# Labels that mean "we don't know" rather than naming a charset.
UNKNOWN_LABELS = frozenset({"x-unknown", "unknown", "unknown-8bit", "x-user-defined", "8bit"})
# Supersets that real mailers produce under the narrower name.
SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "big5": "big5hkscs",
    "utf8": "utf-8",
    "tis-620": "cp874",
}
# Python text codecs that must never be chosen from a message's label: they interpret escapes
# or transform text instead of decoding a charset.
FORBIDDEN_CODECS = frozenset(
    {"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined", "mbcs", "oem"}
)

_ISO2022_ESCAPES = (b"\x1b$B", b"\x1b$@", b"\x1b(I", b"\x1b$(D", b"\x1b$(Q", b"\x1b$(O")


def short_label(label: str) -> str:
    """A charset label made safe and short enough to quote inside a warning."""
    cleaned = "".join(c if " " < c < "\x7f" else "?" for c in label)
    return cleaned[:40] + ("…" if len(cleaned) > 40 else "")


def jis_to_sjis(data: bytes) -> tuple[bytes, bool]:
    """Convert ISO-2022-JP escape-sequence bytes to Shift_JIS bytes.

    Returns the bytes and whether every character could be represented. Line ends reset the
    state to ASCII, as RFC 1468 requires senders to do and as broken senders forget to.
    """
    out = bytearray()
    ok = True
    mode = "ascii"  # ascii | kanji | kana | unsupported
    so_kana = False
    i = 0
    n = len(data)
    while i < n:
        b = data[i]
        if b == 0x1B:
            seq = data[i + 1 : i + 4]
            if seq[:2] in (b"(B", b"(J", b"(H"):
                mode, i = "ascii", i + 3
            elif seq[:2] == b"(I":
                mode, i = "kana", i + 3
            elif seq[:2] in (b"$@", b"$B"):
                mode, i = "kanji", i + 3
            elif seq[:3] in (b"$(B", b"$(@"):
                mode, i = "kanji", i + 4
            elif seq[:2] == b"&@":
                i += 3  # JIS X 0208-1990 announcer; the designation that follows does the work
            elif seq[:2] == b"$(" or seq[:1] in (b"$", b"(", b")", b"-", b"."):
                # Another character set (JIS X 0212, 0213, ...): not representable in CP932.
                mode = "unsupported"
                i += 4 if seq[:2] == b"$(" else 3
            else:
                out.append(b)
                i += 1
            continue
        if b == 0x0E:
            so_kana, i = True, i + 1
            continue
        if b == 0x0F:
            so_kana, i = False, i + 1
            continue
        if b in (0x0A, 0x0D):
            mode, so_kana = "ascii", False
            out.append(b)
            i += 1
            continue
        if so_kana or mode == "kana":
            out.append(b + 0x80 if 0x21 <= b <= 0x5F else b)
            i += 1
            continue
        if mode in ("kanji", "unsupported") and 0x21 <= b <= 0x7E:
            if i + 1 < n and 0x21 <= data[i + 1] <= 0x7E:
                if mode == "kanji":
                    out += _jis_pair_to_sjis(b, data[i + 1])
                else:
                    out += b"?"
                    ok = False
                i += 2
                continue
            ok = False  # half a character: the sender cut it off
        out.append(b)
        i += 1
    return bytes(out), ok


def _jis_pair_to_sjis(j1: int, j2: int) -> bytes:
    if j1 & 1:
        s2 = j2 + 0x1F
        if s2 >= 0x7F:
            s2 += 1
    else:
        s2 = j2 + 0x7E
    s1 = ((j1 + 1) >> 1) + 0x70
    if s1 >= 0xA0:
        s1 += 0x40
    return bytes((s1, s2))


def decode_iso2022jp(data: bytes) -> tuple[str, list[str]]:
    """Decode bytes labelled ISO-2022-JP, keeping NEC/IBM extended characters."""
    if b"\x0e" not in data:  # Python's codecs silently keep SO/SI instead of shifting to kana
        for codec in ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2004"):
            try:
                return data.decode(codec), []
            except UnicodeDecodeError:
                pass
    sjis, ok = jis_to_sjis(data)
    try:
        text = sjis.decode("cp932")
    except UnicodeDecodeError:
        ok = False
        text = sjis.decode("cp932", errors="replace")
    if ok:
        return text, []
    return text, ["iso-2022-jp text had undecodable characters; replaced"]


def _japanese_score(text: str) -> int:
    """How much ``text`` looks like real Japanese rather than a wrong decoding.

    Kana count most, kanji and fullwidth punctuation a little. Half-width katakana are rare in
    modern mail but are what EUC-JP looks like when read as CP932, so they count against;
    private-use characters and C0 controls almost only come from a wrong codec.
    """
    score = 0
    for ch in text[:20000]:
        o = ord(ch)
        if o < 0x80:
            if o < 0x20 and ch not in "\t\n\r\x0c":
                score -= 5
        elif 0x3040 <= o <= 0x30FF:
            score += 2
        elif 0x4E00 <= o <= 0x9FFF or 0x3000 <= o <= 0x303F or 0xFF01 <= o <= 0xFF5E:
            score += 1
        elif 0xFF61 <= o <= 0xFF9F:
            score -= 1
        elif 0xE000 <= o <= 0xF8FF or 0x80 <= o <= 0x9F or o == 0xFFFD:
            score -= 5
    return score


def detect(data: bytes) -> tuple[str, str]:
    """Decode bytes of unknown charset; return ``(text, codec_name)``. Never raises.

    ISO-2022-JP if its escapes are present in 7-bit data, then UTF-8 (self-validating), then
    the better-scoring of CP932 and EUC-JP, then windows-1252, and last the candidate with the
    fewest replacement characters.
    """
    # ISO-2022-JP is 7-bit and so also valid UTF-8: its escapes must be looked for first.
    if data.isascii() and any(esc in data for esc in _ISO2022_ESCAPES):
        text, warns = decode_iso2022jp(data)
        return text, "iso-2022-jp" if not warns else "iso-2022-jp with replacement characters"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    scored: list[tuple[int, int, str, str]] = []
    for rank, codec in enumerate(("cp932", "euc_jp")):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        # rank breaks ties in favour of CP932, the most common Japanese charset in mail
        scored.append((_japanese_score(text), -rank, text, codec.replace("_", "-")))
    if scored:
        best = max(scored, key=lambda s: (s[0], s[1]))
        return best[2], best[3]
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError:
        pass
    attempts = [(data.decode(c, errors="replace"), c) for c in ("utf-8", "cp932", "euc_jp")]
    text, codec = min(attempts, key=lambda a: a[0].count("\ufffd"))
    return text, codec.replace("_", "-") + " with replacement characters"


def _lookup(label: str) -> str | None:
    """The Python codec for a label, or None if Python has no safe text codec by that name."""
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError, TypeError):
        return None
    name = info.name.replace("-", "_")
    if not getattr(info, "_is_text_encoding", True) or name in FORBIDDEN_CODECS:
        return None
    return info.name


def decode_text(data: bytes, label: str | None) -> tuple[str, list[str]]:
    """Decode ``data`` that claims to be in charset ``label``. Never raises."""
    norm = (label or "").strip().strip("\"'").strip().lower()
    if "*" in norm:  # RFC 2231 language suffix, e.g. "utf-8*ja"
        norm = norm.split("*", 1)[0]
    if not norm:
        if data.isascii() and b"\x1b" not in data:
            return data.decode("ascii"), []
        text, codec = detect(data)
        return text, [f"charset missing; decoded as {codec}"]
    if norm in ISO2022JP_LABELS or norm in ISO2022JP_VARIANTS:
        if norm in ISO2022JP_VARIANTS:
            try:
                return data.decode(ISO2022JP_VARIANTS[norm]), []
            except UnicodeDecodeError:
                pass
        if not data.isascii():
            # 8-bit bytes cannot be ISO-2022-JP; the label is wrong (often CP932 or UTF-8).
            text, codec = detect(data)
            return text, [f"charset '{short_label(norm)}' but 8-bit data; decoded as {codec}"]
        return decode_iso2022jp(data)
    if norm in SJIS_LABELS or norm in SJIS2004_LABELS:
        codecs_to_try = ("shift_jis_2004", "cp932") if norm in SJIS2004_LABELS else ("cp932",)
        return _decode_or_detect(data, norm, codecs_to_try)
    if norm in EUCJP_LABELS or norm in EUCJP2004_LABELS:
        return _decode_or_detect(data, norm, ("euc_jp", "euc_jis_2004"))
    if norm in ASCII_LABELS:
        if data.isascii() and b"\x1b" not in data:
            return data.decode("ascii"), []
        text, codec = detect(data)
        if codec == "utf-8" and b"\x1b" not in data:
            return text, []  # UTF-8 labelled us-ascii is too common to be worth a warning
        return text, [f"charset '{short_label(norm)}' but 8-bit data; decoded as {codec}"]
    if norm in LATIN1_LABELS:
        # WHATWG practice: bytes 0x80-0x9F in "latin-1" mail are windows-1252 punctuation.
        codec = "cp1252" if any(0x80 <= b <= 0x9F for b in data) else "latin-1"
        return _decode_or_detect(data, norm, (codec, "latin-1"))
    if norm in UNKNOWN_LABELS:
        text, codec = detect(data)
        return text, [f"charset '{short_label(norm)}' unknown; decoded as {codec}"]
    codec = _lookup(SUPERSETS.get(norm, norm))
    if codec is None:
        text, codec_used = detect(data)
        return text, [f"charset '{short_label(norm)}' unknown; decoded as {codec_used}"]
    return _decode_or_detect(data, norm, (codec,))


def _decode_or_detect(
    data: bytes, label: str, codecs_to_try: tuple[str, ...]
) -> tuple[str, list[str]]:
    for codec in codecs_to_try:
        try:
            return data.decode(codec), []
        except UnicodeDecodeError as exc:
            if exc.start >= len(data) - 4 and "end of data" in exc.reason:
                # Right codec, cut-off data (a truncated part): keep it, mark the tail.
                text = data.decode(codec, errors="replace")
                return text, [f"charset '{short_label(label)}' data ends mid-character"]
    text, codec = detect(data)
    if "replacement" in codec:
        # Detection found nothing better: keep the sender's label, mark the bad bytes.
        text = data.decode(codecs_to_try[0], errors="replace")
        return text, [f"charset '{short_label(label)}' had invalid bytes; replaced"]
    return text, [f"charset '{short_label(label)}' did not match the data; decoded as {codec}"]


def decode_8bit_header(data: bytes) -> tuple[str, list[str]]:
    """Decode a raw (not RFC 2047) header value. UTF-8 is legal (RFC 6532); others warn."""
    if data.isascii():
        return data.decode("ascii"), []
    text, codec = detect(data)
    if codec == "utf-8":
        return text, []
    return text, [f"raw 8-bit header decoded as {codec}"]
