"""The outgoing message: a plain object (no UI, no I/O except reading attachment files),
builders for reply / reply-all / forward, and its wire form.

Every header value is made single-line here, whatever its source: a subject or display name
taken from a customer's mail may hold CR/LF, and those must never start a new header.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email import charset as email_charset
from email.generator import BytesGenerator
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import compat32
from email.utils import format_datetime, formataddr, make_msgid
from io import BytesIO
from pathlib import Path
from typing import Any

from mailtriage.compose.filters import date_en, date_ja, forward_subject, quote, reply_subject
from mailtriage.mime.attachments import safe_filename

UTF8 = "utf-8"
ISO2022JP = "iso-2022-jp"
CHARSETS = (UTF8, ISO2022JP)
MAX_REFERENCES = 20
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024

# RFC 5322 dot-atom local part (plus quoted strings are not accepted: nobody needs them here)
_EMAIL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")
_MSGID = re.compile(r"^<[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+>$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,76}$")
# Line breaks of every kind, plus the other controls; bidi controls would reorder what the
# customer's mail client shows.
_UNSAFE_HEADER = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u0085\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]+"
)


class ComposeError(ValueError):
    """The message cannot be built as asked (bad address, unreadable attachment...)."""


@dataclass(frozen=True)
class Addr:
    name: str
    email: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", header_text(self.name))
        email = (self.email or "").strip()
        if not _EMAIL.match(email):
            raise ComposeError(f"not a usable email address: {email!r}")
        object.__setattr__(self, "email", email)

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2].lower()


@dataclass(frozen=True)
class AttachmentFile:
    filename: str
    content_type: str
    data: bytes

    @classmethod
    def from_path(cls, path: str | Path) -> AttachmentFile:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ComposeError(f"cannot attach {path}: {exc.strerror or exc}") from exc
        if len(data) > MAX_ATTACHMENT_BYTES:
            raise ComposeError(f"cannot attach {path}: larger than 25 MB")
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return cls(safe_filename(path.name), ctype, data)


@dataclass(frozen=True)
class OutgoingMessage:
    from_: Addr
    to: tuple[Addr, ...]
    subject: str
    body: str
    message_id: str
    date: datetime
    cc: tuple[Addr, ...] = ()
    bcc: tuple[Addr, ...] = ()
    reply_to: tuple[Addr, ...] = ()
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    attachments: tuple[AttachmentFile, ...] = ()
    charset: str = UTF8
    headers: tuple[tuple[str, str], ...] = ()  # extra: X-Mailtriage-*, Auto-Submitted
    # Where it belongs, for the steps after SMTP (not headers):
    conversation_key: str | None = None
    template_key: str | None = None
    status_after_send: str | None = None

    def __post_init__(self) -> None:
        if not self.to and not self.cc and not self.bcc:
            raise ComposeError("no recipients")
        if self.charset not in CHARSETS:
            raise ComposeError(f"charset must be one of {', '.join(CHARSETS)}")
        for mid in (self.message_id, self.in_reply_to, *self.references):
            if mid is not None and not _MSGID.match(mid):
                raise ComposeError(f"not a usable Message-ID: {mid!r}")
        for name, _ in self.headers:
            if not _HEADER_NAME.match(name):
                raise ComposeError(f"not a usable header name: {name!r}")
        object.__setattr__(self, "subject", header_text(self.subject))

    def recipients(self) -> list[str]:
        seen: dict[str, None] = {}
        for a in (*self.to, *self.cc, *self.bcc):
            seen.setdefault(a.email, None)
        return list(seen)

    def with_body(self, body: str) -> OutgoingMessage:
        return replace(self, body=body)


QUOTE_LIMIT = 16 * 1024  # characters of the original a reply quotes at most
# Recipients a reply-all may have: a stranger who lists 10,000 addresses must not turn one
# keypress into mail from the company to all of them.
REPLY_ALL_LIMIT = 50


def quoted_head(text: str, limit: int = QUOTE_LIMIT) -> str:
    """The original up to limit characters (at a line break), and a line saying what was left
    out: a reply to a 200 MB log dump must not carry a megabyte of it back."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    head = head[: head.rfind("\n")] if "\n" in head else head
    rest = len(text[len(head) :].encode("utf-8"))
    return f"{head.rstrip()}\n[… {rest:,} more bytes of the original not quoted]"


def header_text(value: str) -> str:
    """One line, no controls: what any header value from any source becomes."""
    value = unicodedata.normalize("NFC", value or "")
    return " ".join(_UNSAFE_HEADER.sub(" ", value).split())


def new_message_id(address: str) -> str:
    return make_msgid(idstring="mt", domain=address.rpartition("@")[2] or "localhost")


def from_address(address: str, display_name: str, agent_name: str | None = None) -> Addr:
    """The shared address, shown as "Example Support" or, with agent_name, "Alice (Support)"."""
    if agent_name and display_name:
        return Addr(f"{agent_name} ({display_name})", address)
    return Addr(agent_name or display_name, address)


# -- charset ------------------------------------------------------------------------------


def choose_charset(recipients: Iterable[Addr], default: str, iso2022jp_domains: Iterable[str]):
    """ISO-2022-JP when the policy says so or any recipient's domain is listed (some
    Japanese carrier and corporate gateways still garble UTF-8)."""
    domains = {d.lower().lstrip("@") for d in iso2022jp_domains}
    for r in recipients:
        if any(r.domain == d or r.domain.endswith("." + d) for d in domains):
            return ISO2022JP
    return default


def unencodable(text: str, charset: str) -> list[str]:
    """Characters of text the charset cannot write, each once, in order."""
    if charset == UTF8:
        return []
    bad: dict[str, None] = {}
    for ch in text:
        if ch in bad:
            continue
        try:
            ch.encode(charset)
        except UnicodeEncodeError:
            bad[ch] = None
    return list(bad)


def encoding_warnings(msg: OutgoingMessage) -> list[str]:
    if msg.charset == UTF8:
        return []
    texts = [msg.subject, msg.body, *(a.name for a in (*msg.to, *msg.cc, msg.from_))]
    bad = unencodable("".join(texts), msg.charset)
    if not bad:
        return []
    shown = " ".join(f"{c} (U+{ord(c):04X})" for c in bad[:10])
    return [f"ISO-2022-JP cannot write {shown}; the message will be sent as UTF-8 instead"]


# -- wire form ----------------------------------------------------------------------------


def _charset_for_text(text: str, charset: str) -> str:
    # Literal "=?...?=" text must be encoded itself, or readers would decode it (RFC 2047 §5).
    return "us-ascii" if text.isascii() and "=?" not in text else charset


def _addr_header(addrs: Sequence[Addr], charset: str) -> str:
    return ", ".join(_one_addr(a, charset) for a in addrs)


def _one_addr(a: Addr, charset: str) -> str:
    if "=?" in a.name:
        encoded = Header(a.name, UTF8 if charset == "us-ascii" else charset).encode()
        return f"{encoded} <{a.email}>"
    return formataddr((a.name, a.email), charset=charset)


def to_bytes(msg: OutgoingMessage) -> tuple[bytes, list[str]]:
    """The message as sent (CRLF line ends), and warnings (e.g. charset fallback)."""
    warnings = encoding_warnings(msg)
    charset = UTF8 if warnings else msg.charset
    body = msg.body.replace("\r\n", "\n").replace("\r", "\n")
    if not body.endswith("\n"):
        body += "\n"
    text = _text_part(body, charset)
    if msg.attachments:
        root: MIMEBase = MIMEMultipart("mixed")
        root.attach(text)
        for att in msg.attachments:
            root.attach(_attachment_part(att))
    else:
        root = text
    header_charset = _charset_for_text(
        msg.subject + "".join(a.name for a in (*msg.to, *msg.cc, *msg.reply_to, msg.from_)),
        charset,
    )
    root["From"] = _addr_header([msg.from_], header_charset)
    if msg.to:
        root["To"] = _addr_header(msg.to, header_charset)
    if msg.cc:
        root["Cc"] = _addr_header(msg.cc, header_charset)
    if msg.reply_to:
        root["Reply-To"] = _addr_header(msg.reply_to, header_charset)
    root["Subject"] = Header(
        msg.subject, _charset_for_text(msg.subject, charset), header_name="Subject"
    )
    root["Date"] = format_datetime(msg.date)
    root["Message-ID"] = msg.message_id
    if msg.in_reply_to:
        root["In-Reply-To"] = msg.in_reply_to
    if msg.references:
        root["References"] = Header(" ".join(msg.references), "us-ascii", header_name="References")
    for name, value in msg.headers:
        value = header_text(value)
        root[name] = Header(value, _charset_for_text(value, charset), header_name=name)
    # Keep MIME-Version next to the headers we set, and the text part's headers after it.
    del root["MIME-Version"]
    root["MIME-Version"] = "1.0"
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=compat32.clone(linesep="\r\n")).flatten(root)
    return out.getvalue(), warnings


def _text_part(body: str, charset: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", "plain")
    if body.isascii():
        part.set_payload(body, "us-ascii")
    elif charset == ISO2022JP:
        part.set_payload(body, ISO2022JP)  # 7bit: the escape sequences are ASCII
    else:
        cs = email_charset.Charset(UTF8)
        cs.body_encoding = email_charset.BASE64
        part.set_payload(body, cs)
    return part


def _attachment_part(att: AttachmentFile) -> MIMEBase:
    maintype, _, subtype = att.content_type.partition("/")
    part = MIMEBase(maintype or "application", subtype or "octet-stream")
    part.set_payload(att.data)
    from email import encoders

    encoders.encode_base64(part)
    name = safe_filename(header_text(att.filename))
    if name.isascii():
        part.add_header("Content-Disposition", "attachment", filename=name)
    else:
        part.add_header("Content-Disposition", "attachment", filename=(UTF8, "", name))
    return part


# -- builders -----------------------------------------------------------------------------


def _addr(d: Mapping[str, Any] | None) -> Addr | None:
    if not d or not d.get("email"):
        return None
    try:
        return Addr(str(d.get("name") or ""), str(d["email"]))
    except ComposeError:
        return None


def _last_inbound(conversation: Mapping[str, Any]) -> Mapping[str, Any]:
    messages = list(conversation.get("messages") or [])
    inbound = [m for m in messages if m.get("inbound")]
    if not (inbound or messages):
        raise ComposeError("the conversation has no messages to reply to")
    return (inbound or messages)[-1]


def _references(conversation: Mapping[str, Any], original: Mapping[str, Any]) -> list[str]:
    """The thread's Message-IDs up to the one answered; long chains keep the root and the
    newest (RFC 5322 §3.6.4 allows trimming, and some servers reject huge headers)."""
    ids: list[str] = []
    for m in conversation.get("messages") or []:
        mid = m.get("message_id")
        if mid and _MSGID.match(mid) and mid not in ids:
            ids.append(mid)
        if m is original:
            break
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return ids


def attribution(original: Mapping[str, Any], language: str) -> str:
    sender = original.get("from") or {}
    who = header_text(str(sender.get("name") or "")) or sender.get("email") or ""
    email = sender.get("email") or ""
    when_text = ""
    if original.get("date"):
        try:
            when = datetime.fromisoformat(original["date"])
            when_text = date_ja(when, True) if language == "ja" else date_en(when, True)
        except ValueError:
            when_text = ""
    if language == "ja":
        return f"{when_text}、{who} <{email}> さんは書きました:".lstrip("、")
    return f"On {when_text}, {who} <{email}> wrote:" if when_text else f"{who} <{email}> wrote:"


def _with_signature(body: str, signature: str | None) -> str:
    body = body.rstrip("\n") + "\n"
    if signature and signature.strip() not in body:
        body += "\n-- \n" + signature.strip("\n") + "\n"
    return body


def build_reply(
    conversation: Mapping[str, Any],
    *,
    sender: Addr,
    body: str,
    subject: str | None = None,
    reply_all: bool = False,
    quote_original: bool = True,
    signature: str | None = None,
    language: str = "ja",
    charset: str = UTF8,
    iso2022jp_domains: Iterable[str] = (),
    attachments: Sequence[AttachmentFile] = (),
    now: datetime | None = None,
    template_key: str | None = None,
    status_after_send: str | None = None,
) -> OutgoingMessage:
    """A reply to the conversation's latest customer message.

    reply_all adds the original's other To/Cc recipients (never our own address) as Cc.
    """
    original = _last_inbound(conversation)
    ours = sender.email.lower()
    reply_to = [a for a in map(_addr, original.get("reply_to") or []) if a]
    first = reply_to or [a for a in [_addr(original.get("from"))] if a]
    if not first:
        raise ComposeError("the message answered has no usable From address")
    to = [a for a in first if a.email.lower() != ours] or first
    cc: list[Addr] = []
    if reply_all:
        taken = {a.email.lower() for a in to} | {ours}
        for d in [*(original.get("to") or []), *(original.get("cc") or [])]:
            a = _addr(d)
            if a and a.email.lower() not in taken:
                taken.add(a.email.lower())
                cc.append(a)
        if len(to) + len(cc) > REPLY_ALL_LIMIT:
            raise ComposeError(
                f"reply-all would write to {len(to) + len(cc):,} people (more than"
                f" {REPLY_ALL_LIMIT}); reply to the sender only, or add the people you mean"
                " by hand"
            )
    text = _with_signature(body, signature)
    if quote_original and (original.get("text") or "").strip():
        text += (
            "\n" + attribution(original, language) + "\n" + quote(quoted_head(original["text"]))
        ) + "\n"
    mid = original.get("message_id")
    refs = _references(conversation, original)
    return OutgoingMessage(
        from_=sender,
        to=tuple(to),
        cc=tuple(cc),
        subject=subject or reply_subject(str(original.get("subject") or conversation["subject"])),
        body=text,
        message_id=new_message_id(sender.email),
        date=now if now is not None else datetime.now(UTC).astimezone(),
        in_reply_to=mid if mid and _MSGID.match(mid) else None,
        references=tuple(refs),
        attachments=tuple(attachments),
        charset=choose_charset([*to, *cc], charset, iso2022jp_domains),
        headers=(("X-Mailtriage-Conversation", str(conversation.get("key") or "")),),
        conversation_key=conversation.get("key"),
        template_key=template_key,
        status_after_send=status_after_send,
    )


def build_forward(
    conversation: Mapping[str, Any],
    *,
    sender: Addr,
    to: Sequence[Addr],
    body: str = "",
    signature: str | None = None,
    language: str = "ja",
    charset: str = UTF8,
    iso2022jp_domains: Iterable[str] = (),
    attachments: Sequence[AttachmentFile] = (),
    now: datetime | None = None,
) -> OutgoingMessage:
    """Forward the latest customer message inline (not threaded into the customer's mail)."""
    original = _last_inbound(conversation)
    sender_d = original.get("from") or {}
    label = "転送メッセージ" if language == "ja" else "Forwarded message"
    block = [
        f"---------- {label} ----------",
        f"From: {header_text(str(sender_d.get('name') or ''))} <{sender_d.get('email', '')}>",
        f"Date: {original.get('date') or ''}",
        f"Subject: {header_text(str(original.get('subject') or ''))}",
        "",
        (original.get("text") or "").rstrip("\n"),
    ]
    text = _with_signature(body, signature) + "\n" + "\n".join(block) + "\n"
    return OutgoingMessage(
        from_=sender,
        to=tuple(to),
        subject=forward_subject(str(original.get("subject") or conversation.get("subject", ""))),
        body=text,
        message_id=new_message_id(sender.email),
        date=now if now is not None else datetime.now(UTC).astimezone(),
        attachments=tuple(attachments),
        charset=choose_charset(to, charset, iso2022jp_domains),
        headers=(("X-Mailtriage-Conversation", str(conversation.get("key") or "")),),
        conversation_key=conversation.get("key"),
    )
