"""Making message strings safe to write to a terminal."""

from __future__ import annotations

import re

# String-type controls (OSC, DCS, SOS, PM, APC) swallow everything up to their terminator
# (BEL or ST); an unterminated one is removed to the end, because a terminal would wait for
# the terminator and eat the text that follows anyway.
_STRING_SEQ = (
    r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x9c\x1b]*(?:\x07|\x9c|\x1b\\|(?=\x1b)|\Z)"
)
_CSI_SEQ = r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
# Any other escape: ESC, intermediates, one final byte (ESC ( B, ESC c, ESC 7, ...).
_ESC_SEQ = r"\x1b[\x20-\x2f]*[\x30-\x7e]?"
_SEQUENCES = re.compile(f"{_STRING_SEQ}|{_CSI_SEQ}|{_ESC_SEQ}")
# C0 except \t and \n, DEL, C1. \r is handled before this runs.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_SURROGATES = re.compile("[\ud800-\udfff]")

BIDI_PLACEHOLDER = "\ufffd"


def sanitize_for_terminal(s: str) -> str:
    """Return ``s`` safe to write to a terminal. Idempotent.

    Removes escape sequences entirely (CSI such as ``ESC[2J``; OSC including OSC 52 clipboard
    writes and OSC 8 hyperlinks; DCS, SOS, PM and APC strings; and their C1 forms), every other
    C0 control except newline and tab, DEL and C1 controls, and NUL. ``\\r\\n`` becomes
    ``\\n`` and a lone ``\\r`` becomes ``\\n``, so text hidden by overprinting a line is shown.
    Bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and the marks
    U+200E, U+200F, U+061C are replaced with U+FFFD so a reader sees that something was there.
    Lone surrogates become U+FFFD so the result always encodes.

    It does NOT escape Rich/Textual markup: ``[bold]`` stays as it is. The UI must still pass
    the result through ``rich.markup.escape`` or put it in a ``rich.text.Text``.
    """
    s = _SEQUENCES.sub("", s)
    s = s.replace("\r\n", "\n").replace("\r", "\n")
    s = _CONTROLS.sub("", s)
    s = _BIDI_CONTROLS.sub(BIDI_PLACEHOLDER, s)
    return _SURROGATES.sub("\ufffd", s)
