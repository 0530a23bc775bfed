"""The demo mailbox: parseable, threaded, varied in encodings, and deterministic."""

from __future__ import annotations

import email
import email.policy
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest

from mailtriage.demo.corpus import DemoMessage, build_demo_corpus, cp932_to_iso2022jp

NOW = datetime(2025, 6, 2, 10, 30, tzinfo=UTC)
_ESCAPE = re.compile(rb"\x1b(\$B|\$@|\(B|\(J)")


@pytest.fixture(scope="module")
def corpus() -> list[DemoMessage]:
    started = time.perf_counter()
    messages = build_demo_corpus(now=NOW)
    elapsed = time.perf_counter() - started
    print(f"\nbuilt {len(messages)} demo messages in {elapsed:.3f} s")
    assert elapsed < 5
    return messages


@pytest.fixture(scope="module")
def parsed(corpus: list[DemoMessage]) -> list[EmailMessage]:
    return [
        email.message_from_bytes(m.raw, policy=email.policy.default)  # type: ignore[misc]
        for m in corpus
    ]


def jis_to_cp932_text(data: bytes) -> str:
    """Read Outlook-style ISO-2022-JP: JIS pairs back to Shift_JIS bytes, decoded as cp932.

    Written independently of the generator so the round trip proves the bytes, not the code.
    """
    out = bytearray()
    kanji = False
    pos = 0
    for match in _ESCAPE.finditer(data):
        out += _convert(data[pos : match.start()], kanji)
        kanji = match.group(1).startswith(b"$")
        pos = match.end()
    out += _convert(data[pos:], kanji)
    return out.decode("cp932")


def _convert(chunk: bytes, kanji: bool) -> bytes:
    if not kanji:
        return chunk
    out = bytearray()
    for i in range(0, len(chunk) - 1, 2):
        j1, j2 = chunk[i], chunk[i + 1]
        c1 = (j1 - 0x21) // 2 + 0x81
        if c1 > 0x9F:
            c1 += 0x40
        c2 = j2 + (0x1F + (j2 >= 0x60) if j1 % 2 else 0x7E)
        out += bytes((c1, c2))
    return bytes(out)


def _text_parts(msg: EmailMessage) -> list[EmailMessage]:
    return [
        p
        for p in msg.walk()
        if p.get_content_maintype() == "text" and p.get_content_disposition() != "attachment"
    ]


def test_every_message_parses_cleanly(corpus: list[DemoMessage], parsed: list[EmailMessage]):
    for demo, msg in zip(corpus, parsed, strict=True):
        assert demo.mailbox in ("INBOX", "Sent")
        assert demo.internaldate.tzinfo is not None
        assert b"\n" not in demo.raw.replace(b"\r\n", b"")
        assert not msg.defects, msg["message-id"]
        head = demo.raw.split(b"\r\n\r\n", 1)[0]
        assert head.isascii()
        for name in ("subject", "from", "to", "cc"):
            if msg[name] is not None:
                assert not msg[name].defects, (name, msg[name])
        for part in _text_parts(msg):
            assert isinstance(part.get_content(), str)


def test_conversations_and_message_ids(corpus: list[DemoMessage], parsed: list[EmailMessage]):
    ids = [msg["message-id"] for msg in parsed]
    assert all(re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", i) for i in ids)
    assert len(set(ids)) == len(ids)
    roots = set()
    for msg in parsed:
        references = (msg["references"] or "").split()
        roots.add(references[0] if references else (msg["in-reply-to"] or msg["message-id"]))
    print(f"{len(parsed)} messages, {len(roots)} conversations")
    assert len(roots) >= 240
    threads = Counter(r for r in roots)
    assert threads
    # Several messages per thread is the norm, and some threads are long.
    depth = Counter(len((m["references"] or "").split()) for m in parsed)
    assert max(depth) >= 3


def test_sent_replies_point_into_the_corpus(corpus: list[DemoMessage], parsed: list[EmailMessage]):
    ids = {msg["message-id"] for msg in parsed}
    sent = [(d, m) for d, m in zip(corpus, parsed, strict=True) if d.mailbox == "Sent"]
    assert len(sent) >= 100
    for demo, msg in sent:
        assert msg["in-reply-to"] in ids
        assert msg["references"].split()[-1] == msg["in-reply-to"]
        assert msg["from"].addresses[0].addr_spec == "support@example.co.jp"
        assert str(msg["subject"]).startswith("Re: ")
        assert "\\Seen" in demo.flags


def test_subject_fallback_and_reply_prefixes(parsed: list[EmailMessage]):
    subjects = [str(m["subject"]) for m in parsed if m["subject"] is not None]
    for prefix in ("Re: ", "RE: ", "AW: ", "自動返信: "):
        assert any(s.startswith(prefix) for s in subjects), prefix
    assert any(s.startswith(("Fwd: ", "FW: ", "転送: ")) for s in subjects)
    orphans = [
        m
        for m in parsed
        if m["references"] is None
        and m["in-reply-to"] is None
        and str(m["subject"]).startswith("Re:")
    ]
    assert orphans, "follow-ups that only keep the subject"


def test_charsets(parsed: list[EmailMessage]):
    per_charset: Counter[str] = Counter()
    for msg in parsed:
        for charset in {p.get_content_charset() for p in _text_parts(msg)}:
            per_charset[charset or "none"] += 1
    print(dict(per_charset))
    assert per_charset["iso-2022-jp"] >= 30
    assert per_charset["shift_jis"] >= 15
    assert per_charset["euc-jp"] >= 2
    assert per_charset["utf-8"] >= 100
    ctes = Counter(p["content-transfer-encoding"] for m in parsed for p in _text_parts(m))
    assert {"base64", "quoted-printable", "7bit", "8bit"} <= set(ctes)


def test_half_width_katakana_in_shift_jis(parsed: list[EmailMessage]):
    texts = [
        p.get_content()
        for m in parsed
        for p in _text_parts(m)
        if p.get_content_charset() == "shift_jis"
    ]
    assert any(re.search("[\uff61-\uff9f]", t) for t in texts)


def test_html_and_attachments(parsed: list[EmailMessage]):
    html = [m for m in parsed if any(p.get_content_type() == "text/html" for p in m.walk())]
    alternative = [
        m for m in parsed if any(p.get_content_type() == "multipart/alternative" for p in m.walk())
    ]
    html_only = [m for m in parsed if m.get_content_type() == "text/html"]
    attached = [
        m for m in parsed if any(p.get_content_disposition() == "attachment" for p in m.walk())
    ]
    related = [
        m for m in parsed if any(p.get_content_type() == "multipart/related" for p in m.walk())
    ]
    print(f"html {len(html)}, html-only {len(html_only)}, with attachments {len(attached)}")
    assert len(html) >= 20
    assert len(alternative) >= 20
    assert len(html_only) >= 5
    assert all("<table" in m.get_content() for m in html_only)
    assert len(attached) >= 20
    assert related
    inline = [p for m in related for p in m.walk() if p["content-id"]]
    assert inline and all(p.get_content_type() == "image/png" for p in inline)
    assert all(p.get_payload(decode=True).startswith(b"\x89PNG") for p in inline)


def test_japanese_filenames(corpus: list[DemoMessage], parsed: list[EmailMessage]):
    rfc2231 = []
    encoded_word = []
    for demo, msg in zip(corpus, parsed, strict=True):
        for part in msg.walk():
            name = part.get_filename()
            if not name or name.isascii():
                continue
            if b"filename*=UTF-8''" in demo.raw or b"filename*0*=UTF-8''" in demo.raw:
                rfc2231.append(name)
            if b'filename="=?ISO-2022-JP?B?' in demo.raw:
                encoded_word.append(name)
    assert any(n.endswith(".pdf") and ("請求書" in n or "見積書" in n) for n in rfc2231), rfc2231
    assert encoded_word, "Outlook-style encoded-word filenames"
    assert all(not n.startswith("=?") for n in rfc2231 + encoded_word)


def test_iso2022jp_subject_decodes(corpus: list[DemoMessage], parsed: list[EmailMessage]):
    long_subject = [
        (d, m)
        for d, m in zip(corpus, parsed, strict=True)
        if str(m["subject"]).startswith("【ご相談】弊社における Minato Drive ビジネスプラン")
    ]
    assert long_subject
    demo, msg = long_subject[0]
    assert b"Subject: =?ISO-2022-JP?B?" in demo.raw
    assert str(msg["subject"]).endswith("見積書発行についてのお願い")
    assert "（クレジットカードから銀行振込へ）" in str(msg["subject"])


def test_nec_special_characters_survive_the_cp932_route(parsed: list[EmailMessage]):
    for sample in ("①②③ ㈱アオバ商事 10:00～18:00 髙橋 Ⅱ", "ASCII only", "混在 mixed ①"):
        assert jis_to_cp932_text(cp932_to_iso2022jp(sample)) == sample
    with pytest.raises(UnicodeEncodeError):
        "①".encode("iso2022_jp_ext")
    nec = []
    for msg in parsed:
        for part in _text_parts(msg):
            if part.get_content_charset() != "iso-2022-jp":
                continue
            raw = part.get_payload(decode=True)
            text = jis_to_cp932_text(raw)
            if any(ch in text for ch in "①②③㈱"):
                nec.append((raw, text))
    assert len(nec) >= 3
    for raw, text in nec:
        with pytest.raises(UnicodeDecodeError):
            raw.decode("iso2022_jp")
        assert "\ufffd" not in text


def test_triage_state(corpus: list[DemoMessage], parsed: list[EmailMessage]):
    by_root: dict[str, set[tuple[str, ...]]] = {}
    for demo, msg in zip(corpus, parsed, strict=True):
        references = (msg["references"] or "").split()
        root = references[0] if references else msg["message-id"]
        keywords = tuple(sorted(f for f in demo.flags if f.startswith("mt:")))
        by_root.setdefault(root, set()).add(keywords)
        for flag in demo.flags:
            assert flag.startswith("\\") or re.fullmatch(
                r"mt:(status/(in-progress|done)|assignee/(alice|bob|carol)|prio/urgent|later|noreply)",
                flag,
            ), flag
    # A conversation's keywords are the same on every message (subject-fallback strays aside).
    consistent = sum(1 for variants in by_root.values() if len(variants) == 1)
    assert consistent >= 0.95 * len(by_root)
    inbox = [d for d in corpus if d.mailbox == "INBOX"]
    status = Counter(
        next((f for f in d.flags if f.startswith("mt:status/")), "unhandled") for d in inbox
    )
    assert status["unhandled"] and status["mt:status/in-progress"] and status["mt:status/done"]
    flags = Counter(f for d in corpus for f in d.flags)
    for keyword in ("mt:prio/urgent", "mt:later", "mt:noreply", "mt:assignee/carol"):
        assert flags[keyword], keyword
    assert flags["\\Answered"] >= 100
    unseen = [d for d in inbox if "\\Seen" not in d.flags]
    assert unseen and all(not any(f.startswith("mt:status/") for f in d.flags) for d in unseen)


def test_dates(corpus: list[DemoMessage], parsed: list[EmailMessage]):
    assert all(NOW - timedelta(days=21, minutes=5) <= d.internaldate <= NOW for d in corpus)
    assert max(d.internaldate for d in corpus) >= NOW - timedelta(hours=3)
    assert sum(1 for m in parsed if m["date"] is None) >= 1
    assert sum(1 for m in parsed if m["subject"] is None) >= 1


def test_awkward_headers(parsed: list[EmailMessage]):
    subjects = [str(m["subject"]) for m in parsed if m["subject"] is not None]
    assert any(len(s) > 100 for s in subjects)
    assert any(re.search("[\U0001f300-\U0001faff]", s) for s in subjects)
    names = [m["from"].addresses[0].display_name for m in parsed]
    assert any("," in n for n in names)
    assert any(re.search("[\u3040-\u30ff\u4e00-\u9fff]", n) for n in names)


def test_domains_are_reserved_examples(parsed: list[EmailMessage]):
    allowed = re.compile(r"(.+\.)?example\.(com|net|org)|.+\.example\.jp|(.+\.)?example\.co\.jp")
    for msg in parsed:
        for name in ("from", "to", "cc", "reply-to"):
            if msg[name] is not None:
                for address in msg[name].addresses:
                    assert allowed.fullmatch(address.domain), address


def test_deterministic():
    first = build_demo_corpus(now=NOW, seed=3, conversations=60)
    second = build_demo_corpus(now=NOW, seed=3, conversations=60)
    assert first == second
    assert build_demo_corpus(now=NOW, seed=4, conversations=60) != first


def test_default_now_is_fresh_and_naive_now_is_refused():
    messages = build_demo_corpus(conversations=20)
    newest = max(m.internaldate for m in messages)
    assert datetime.now(UTC) - newest < timedelta(days=5)
    with pytest.raises(ValueError):
        build_demo_corpus(now=datetime(2025, 1, 1), conversations=5)
