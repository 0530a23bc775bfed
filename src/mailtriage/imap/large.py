"""Messages too large to fetch whole: read their structure, fetch only what is shown.

A 200 MB message (a screenshot archive, a log dump) fetched with BODY.PEEK[] would cost
200 MB on the wire, several times that in memory while the email package parses it, and a
200 MB blob in the cache, for one message the agent may never open. Above LARGE_MESSAGE
(its RFC822.SIZE) the body is never prefetched; when it is opened, BODYSTRUCTURE names the
parts, the first TEXT_LIMIT bytes of the text part come with a partial fetch
(BODY.PEEK[n]<0.len>), attachments are listed from the structure, and one is downloaded only
when the agent saves it, in CHUNK-sized partial fetches decoded and written as they arrive.
The message itself stays whole on the server; the cache keeps no raw copy of it.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import imapclient

from mailtriage.imap.commands import uid_fetch, uid_fetch_records

LARGE_MESSAGE = 8 * 1024 * 1024  # RFC822.SIZE above which a body is never fetched whole
# Bytes of a large message's text part fetched and shown: 1 MB of text took the reader 9.6 s
# to lay out (17,000 lines); 256 kB about a quarter of that.
TEXT_LIMIT = 256 * 1024
CHUNK = 4 * 1024 * 1024  # bytes per partial fetch when an attachment is saved


class DownloadWriteError(Exception):
    """Writing the downloaded file failed (its OSError is the cause): not a network fault."""


@dataclass
class Part:
    """One leaf of a BODYSTRUCTURE."""

    section: str  # IMAP section number, "1", "2.1", …
    content_type: str  # "text/plain"
    params: dict[str, str]  # Content-Type parameters, decoded
    encoding: str  # Content-Transfer-Encoding, lower-case
    size: int  # encoded size in octets, as the server counts it
    disposition: str  # "attachment", "inline" or ""
    filename: str
    content_id: str | None
    index: int  # position in a depth-first walk (the numbering of mime.parse's part_index)


@dataclass
class LargeBody:
    text: str
    text_from_html: bool
    attachments: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def human_size(size: int) -> str:
    """ "200 MB", "1 MB", "900 kB": the sizes a one-line notice speaks in."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    return f"{max(1, size // 1024)} kB"


def _s(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def _params(pairs: Any) -> dict[str, str]:
    """BODYSTRUCTURE's flat (name, value, …) list, decoded like a header's parameters
    (RFC 2231 continuations and charsets, encoded-words)."""
    from mailtriage.mime.headers import parse_params

    if not isinstance(pairs, (tuple, list)):
        return {}
    items = list(pairs)
    text = "x"
    for name, value in zip(items[0::2], items[1::2], strict=False):
        quoted = _s(value).replace("\\", "\\\\").replace('"', '\\"')
        text += f'; {_s(name)}="{quoted}"'
    params, _ = parse_params(text.encode("utf-8", "surrogateescape"))
    return params


def _leaf(node: Any, section: str, index: int) -> Part:
    kind, subtype = _s(node[0]).lower(), _s(node[1]).lower()
    params = _params(node[2])
    # Extension data: text/* has a line count, message/rfc822 an envelope, body and line
    # count after the size; the disposition is the second extension field after that.
    extension = 9 if kind == "text" else 11 if (kind, subtype) == ("message", "rfc822") else 8
    disposition_field = node[extension] if len(node) > extension else None
    disposition, disposition_params = "", {}
    if isinstance(disposition_field, (tuple, list)) and disposition_field:
        disposition = _s(disposition_field[0]).lower()
        disposition_params = _params(disposition_field[1] if len(disposition_field) > 1 else ())
    filename = disposition_params.get("filename") or params.get("name") or ""
    content_id = _s(node[3]) or None
    return Part(
        section=section,
        content_type=f"{kind}/{subtype}",
        params=params,
        encoding=_s(node[5]).lower() or "7bit",
        size=int(node[6] or 0),
        disposition=disposition,
        filename=filename,
        content_id=content_id,
        index=index,
    )


def walk(structure: Any) -> list[Part]:
    """The leaves of a BODYSTRUCTURE, in order, with their section numbers."""
    parts: list[Part] = []
    counter = 0

    def visit(node: Any, section: str) -> None:
        nonlocal counter
        index = counter
        counter += 1
        if node and isinstance(node[0], list):  # multipart: (children…, subtype, …)
            for number, child in enumerate(node[0], start=1):
                visit(child, f"{section}.{number}" if section else str(number))
            return
        # A single-part message's only part is section 1 (RFC 3501 6.4.5).
        parts.append(_leaf(node, section or "1", index))

    visit(structure, "")
    return parts


def _is_attachment(part: Part) -> bool:
    if part.disposition == "attachment" or part.filename:
        return True
    return not part.content_type.startswith("text/")


def _text_part(parts: list[Part]) -> Part | None:
    shown = [p for p in parts if not _is_attachment(p)]
    for wanted in ("text/plain", "text/html"):
        for part in shown:
            if part.content_type == wanted:
                return part
    return None


def decoded_size(part: Part) -> int:
    """The attachment's size once decoded, as near as the structure tells."""
    if part.encoding == "base64":
        # 76 characters and CRLF per line carry 57 bytes.
        return part.size * 57 // 78
    return part.size


def fetch_large_body(client: imapclient.IMAPClient, uid: int, size: int) -> LargeBody:
    """A large message's text (its first TEXT_LIMIT bytes) and its attachments' list."""
    from mailtriage.mime import parse_message

    record = uid_fetch(client, str(uid), ["BODYSTRUCTURE", "BODY.PEEK[HEADER]"]).get(uid)
    if record is None:
        return LargeBody("", False, warnings=["the message is gone from the server"])
    parts = walk(record[b"BODYSTRUCTURE"])
    header = bytes(record.get(b"BODY[HEADER]") or b"")
    attachments = [
        {
            "filename": p.filename,
            "content_type": p.content_type,
            "size": decoded_size(p),
            "inline": p.disposition == "inline",
            "part": p.index,
            # Where to download it from: saved with partial fetches, never from the cache.
            "section": p.section,
            "encoding": p.encoding,
        }
        for p in parts
        if _is_attachment(p)
    ]
    text_part = _text_part(parts)
    total = human_size(size)
    if text_part is None:
        note = f"body is {total}; it has no text part, only attachments"
        return LargeBody("", False, attachments, [note])
    # Encoded bytes for TEXT_LIMIT decoded ones (base64 is 4/3 larger, quoted-printable
    # at most 3×; a cut at the last line break keeps every base64 quad and =XX whole).
    wanted = TEXT_LIMIT * (3 if text_part.encoding == "quoted-printable" else 2)
    fetched = uid_fetch_records(
        client, str(uid), ["UID", f"BODY.PEEK[{text_part.section}]<0.{wanted}>"]
    )
    data = next((f.literal for f in fetched if f.uid == uid and f.literal is not None), b"")
    cut = len(data) >= wanted
    if cut and b"\n" in data:
        data = data[: data.rindex(b"\n") + 1]
    message = parse_message(_single_part(header, text_part, data))
    text = message.text
    shown_all = not cut and len(text.encode("utf-8")) <= TEXT_LIMIT
    if not shown_all:
        text = _first_bytes(text, TEXT_LIMIT)
    if shown_all:
        note = f"body is {total}; its text is shown, attachments are fetched when saved"
    else:
        note = f"body is {total}; showing the first {human_size(TEXT_LIMIT)} of text"
    return LargeBody(text, message.text_from_html, attachments, [note, *message.warnings])


def _first_bytes(text: str, limit: int) -> str:
    """At most limit bytes of UTF-8, cut at a line break where there is one."""
    head = text.encode("utf-8")[:limit].decode("utf-8", "ignore")
    return head[: head.rfind("\n") + 1] if "\n" in head else head


def _single_part(header: bytes, part: Part, body: bytes) -> bytes:
    """The message's own header with the text part's content headers, and that text."""
    kept = []
    skipping = False
    for line in header.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower()
        skipping = name in (b"content-type", b"content-transfer-encoding", b"mime-version")
        if not skipping and line.strip():
            kept.append(line)
    params = "".join(
        f'; {k}="{v}"' for k, v in part.params.items() if k in ("charset", "format", "delsp")
    )
    kept.append(b"MIME-Version: 1.0\r\n")
    kept.append(f"Content-Type: {part.content_type}{params}\r\n".encode("ascii", "replace"))
    kept.append(f"Content-Transfer-Encoding: {part.encoding}\r\n\r\n".encode("ascii", "replace"))
    return b"".join(kept) + body


_NOT_BASE64 = bytes(
    c for c in range(256) if not (chr(c).isascii() and (chr(c).isalnum() or chr(c) in "+/="))
)


class _Decoder:
    """Decodes a transfer encoding in pieces of any length."""

    def __init__(self, encoding: str):
        self.encoding = encoding
        self.pending = b""

    def feed(self, data: bytes) -> bytes:
        if self.encoding == "base64":
            # Line breaks and anything else outside the alphabet are skipped, as a lenient
            # decoder does; counting quads only over the alphabet keeps pieces aligned.
            data = self.pending + data.translate(None, _NOT_BASE64)
            whole = len(data) - len(data) % 4
            self.pending = data[whole:]
            return base64.b64decode(data[:whole])
        if self.encoding == "quoted-printable":
            data = self.pending + data
            cut = data.rfind(b"\n") + 1  # soft breaks and =XX never span a line end
            self.pending = data[cut:]
            return binascii.a2b_qp(data[:cut])
        return data

    def finish(self) -> bytes:
        rest, self.pending = self.pending, b""
        if self.encoding == "base64":
            rest = rest.rstrip(b"=")
            return base64.b64decode(rest + b"=" * (-len(rest) % 4)) if len(rest) > 1 else b""
        if self.encoding == "quoted-printable":
            return binascii.a2b_qp(rest)
        return rest


def _chunks(client: imapclient.IMAPClient, uid: int, section: str) -> Iterator[bytes]:
    offset = 0
    while True:
        records = uid_fetch_records(
            client, str(uid), ["UID", f"BODY.PEEK[{section}]<{offset}.{CHUNK}>"]
        )
        data = next((r.literal for r in records if r.uid == uid), None)
        if data is None:
            if offset == 0:
                raise LookupError("the message is gone from the server")
            return
        if data:
            yield data
        if len(data) < CHUNK:
            return
        offset += len(data)


def download_part(
    client: imapclient.IMAPClient, uid: int, section: str, encoding: str, out: BinaryIO
) -> int:
    """Stream one part into out, decoded; return the bytes written."""
    decoder = _Decoder(encoding)
    written = 0
    for data in _chunks(client, uid, section):
        written += _write(out, decoder.feed(data))
    return written + _write(out, decoder.finish())


def _write(out: BinaryIO, data: bytes) -> int:
    try:
        out.write(data)
    except OSError as exc:
        # Kept apart from the socket's OSErrors: a full disk is not a lost connection.
        raise DownloadWriteError(str(exc)) from exc
    return len(data)


def save_part(
    client: imapclient.IMAPClient,
    uid: int,
    attachment: dict[str, Any],
    directory: Path,
) -> Path:
    """Download an attachment of a large message into directory under a safe, unused name.

    A failed download leaves no partial file behind.
    """
    from mailtriage.mime.attachments import create_unused

    path, fd = create_unused(directory, attachment["filename"])
    try:
        with os.fdopen(fd, "wb") as out:
            download_part(client, uid, attachment["section"], attachment["encoding"], out)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
