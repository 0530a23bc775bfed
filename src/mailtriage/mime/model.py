"""The parsed form of a message that the rest of the app works with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Address:
    name: str  # decoded display name, "" if none
    email: str  # addr-spec with the domain lower-cased; "" if unparseable


@dataclass(frozen=True)
class Attachment:
    filename: str  # decoded (RFC 2231 and encoded-word), "" if none
    content_type: str  # e.g. "application/pdf"
    size: int  # decoded payload size in bytes
    inline: bool
    content_id: str | None
    part_index: int  # position in msg.walk(); pass to extract_attachment()

    def as_cached(self) -> dict[str, object]:
        """The cache's (and `show --json`'s) form of an attachment: a stable contract."""
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "inline": self.inline,
            "part": self.part_index,
        }


@dataclass
class ParsedMessage:
    """A decoded message.

    Strings are decoded faithfully, not made safe: they may hold escape sequences, controls or
    bidi overrides sent by an attacker. Pass every one through ``sanitize_for_terminal``
    before it reaches a terminal. They never hold lone surrogates.
    """

    message_id: str | None = None  # canonical "<local@domain>"
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)  # header order, deduplicated
    subject: str = ""
    from_: Address | None = None
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    reply_to: list[Address] = field(default_factory=list)
    date: datetime | None = None  # timezone-aware
    text: str = ""
    text_from_html: bool = False
    attachments: list[Attachment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
