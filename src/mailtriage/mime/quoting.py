"""Find quoted text and signatures in a plain-text body so the reader can fold them.

Pure text analysis: the body is split into blocks, each `text`, `quote` or `signature`.
Covers `>` quoting (also full-width `＞`), Outlook's "-----Original Message-----" and its
Japanese forms, "On … wrote:" / 「…さんは書きました:」 attributions, and "-- " signatures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_QUOTE_LINE = re.compile(r"^[ \t]*(?:>|＞|\|)")
_ATTRIBUTION = re.compile(
    r"^(?:On .{4,200} wrote:|.{2,120}(?:wrote|writes):|.{2,120}(?:さんは書きました|は書きました|"
    r"のメッセージ|さんからのメール)[:：]?|\d{4}[年/-]\d{1,2}[月/-]\d{1,2}.{0,80}[:：])\s*$"
)
_FORWARD_SPLIT = re.compile(
    r"^\s*(?:-{2,}\s*(?:Original Message|Forwarded message|元のメッセージ|転送メッセージ|"
    r"Original|オリジナル)\s*-{2,}|_{10,}|From: .+ Sent: .+)\s*$",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"^(?:-- ?|--|＿{5,}|_{5,}|={5,}|-{5,}|━{5,}|─{5,})\s*$")
SIGNATURE_MAX_LINES = 15


@dataclass(frozen=True)
class Block:
    kind: str  # "text" | "quote" | "signature"
    lines: tuple[str, ...]


def split_body(text: str) -> list[Block]:
    lines = text.splitlines()
    kinds = ["text"] * len(lines)
    for i, line in enumerate(lines):
        if _QUOTE_LINE.match(line):
            kinds[i] = "quote"
    for i, line in enumerate(lines):
        if _FORWARD_SPLIT.match(line):
            # Outlook-style: everything below the marker is the quoted original.
            for j in range(i, len(lines)):
                kinds[j] = "quote"
            break
        if _ATTRIBUTION.match(line.strip()) and any(k == "quote" for k in kinds[i + 1 : i + 3]):
            kinds[i] = "quote"
    # The earliest separator whose tail is short enough starts the signature; "earliest"
    # so a boxed signature (a rule above and below, common in Japanese mail) stays whole.
    # text_after[i]: text lines from i on (counted once: a body of many separator lines
    # made the count per candidate quadratic).
    text_after = [0] * (len(lines) + 1)
    for i in range(len(lines) - 1, -1, -1):
        text_after[i] = text_after[i + 1] + (kinds[i] == "text")
    for i, line in enumerate(lines):
        if kinds[i] != "text" or not _SIGNATURE.match(line):
            continue
        if text_after[i] <= SIGNATURE_MAX_LINES + 1:
            for j in range(i, len(lines)):
                if kinds[j] == "text":
                    kinds[j] = "signature"
            break
    # Runs of one kind, each copied once (growing a tuple line by line was quadratic:
    # 0.85 s for a 1 MB body of one block).
    blocks: list[Block] = []
    start = 0
    for i in range(1, len(lines) + 1):
        if i == len(lines) or kinds[i] != kinds[start]:
            blocks.append(Block(kinds[start], tuple(lines[start:i])))
            start = i
    return blocks
