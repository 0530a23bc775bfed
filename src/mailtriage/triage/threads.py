"""Conversation identity: which messages form one ticket, and its short id.

A conversation is keyed by its root Message-ID (the first entry of References, else the
message's own id), so every machine that syncs the same mailbox derives the same id.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

# Reply/forward prefixes seen in the wild, Japanese mailers included; repeated and mixed.
_PREFIX_RE = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|sv|vs|tr|antw|返信|転送|回答)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)
# Ticket and list tags: [#123], [Ticket#K3F9Q2AB], [support:01234], 【重要】.
_TAG_RE = re.compile(r"^\s*(?:\[[^\]]{0,40}\]|【[^】]{0,20}】)\s*")

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SHORT_ID_LEN = 8
_CROCKFORD_PAIRS = [a + b for a in CROCKFORD for b in CROCKFORD]
MIN_PREFIX = 4


@lru_cache(maxsize=8192)
def normalize_subject(subject: str) -> str:
    """Strip reply prefixes and ticket tags; fold width and case so variants compare equal.

    Cached: a support mailbox repeats its subjects (replies, the same question again)."""
    s = unicodedata.normalize("NFKC", subject or "")
    previous = None
    while previous != s:
        previous = s
        s = _PREFIX_RE.sub("", s)
        s = _TAG_RE.sub("", s)
    return " ".join(s.split()).casefold()


def conversation_key(root_message_id: str) -> str:
    """A stable 160-bit key for the conversation rooted at root_message_id."""
    return hashlib.sha1(root_message_id.encode("utf-8", "surrogateescape")).hexdigest()


def short_id(key: str) -> str:
    """The human-typable id: 8 Crockford base32 characters (40 bits) of the key.

    Users may type any unique prefix of at least MIN_PREFIX characters, as with git hashes.
    """
    # 40 bits, most significant first, as four 10-bit pairs of characters (an initial sync
    # derives ~66k of these; a loop over the 8 characters was 3.4 µs each).
    value = int(key[:10], 16)
    pairs = _CROCKFORD_PAIRS
    return (
        pairs[value >> 30]
        + pairs[value >> 20 & 1023]
        + pairs[value >> 10 & 1023]
        + pairs[value & 1023]
    )


def normalize_short_id(text: str) -> str:
    """Accept what a human types: lower case, I/L for 1, O for 0, dashes and spaces."""
    s = text.strip().upper().replace("-", "").replace(" ", "")
    return s.translate(str.maketrans({"I": "1", "L": "1", "O": "0"}))


def thread_root(
    message_id: str | None, references: list[str], in_reply_to: list[str]
) -> str | None:
    """The root id a message points at: first References entry, else In-Reply-To, else itself."""
    if references:
        return references[0]
    if in_reply_to:
        return in_reply_to[0]
    return message_id
