"""sanitize_for_terminal: one test per attack class, plus idempotence."""

from __future__ import annotations

import pytest

from mailtriage.mime import sanitize_for_terminal as sanitize

CASES = {
    "csi clear screen": ("a\x1b[2Jb", "ab"),
    "csi colour and cursor": ("\x1b[31;1mred\x1b[0m\x1b[10;20H!", "red!"),
    "csi private mode": ("x\x1b[?1049hy", "xy"),
    "c1 csi": ("x\x9b2Jy", "xy"),
    "osc 52 clipboard bel": ("a\x1b]52;c;ZWNobyBwd25lZA==\x07b", "ab"),
    "osc 52 clipboard st": ("a\x1b]52;c;ZWNobyBwd25lZA==\x1b\\b", "ab"),
    "osc 8 hyperlink": ("\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\", "click"),
    "osc title": ("\x1b]0;pwned\x07title", "title"),
    "osc unterminated": ("ok\x1b]52;c;AAAA", "ok"),
    "c1 osc": ("a\x9d0;t\x9cb", "ab"),
    "dcs": ("a\x1bPq#0;2;0;0;0\x1b\\b", "ab"),
    "apc": ("a\x1b_Gf=100;AAAA\x1b\\b", "ab"),
    "pm and sos": ("a\x1b^pm\x1b\\b\x1bXsos\x1b\\c", "abc"),
    "charset designation and reset": ("a\x1b(0b\x1bcc", "abc"),
    "lone esc": ("end\x1b", "end"),
    "nul and bell": ("a\x00b\x07c", "abc"),
    "other c0": ("a\x01\x08\x0b\x0c\x1fb", "ab"),
    "del and c1": ("a\x7fb\x85c\x80d", "abcd"),
    "tab and newline kept": ("a\tb\nc", "a\tb\nc"),
    "crlf": ("a\r\nb", "a\nb"),
    "lone cr reveals overwritten text": ("safe\rEVIL", "safe\nEVIL"),
    "bidi override": ("file\u202egnp.exe", "file\ufffdgnp.exe"),
    "bidi isolates and embeddings": ("\u2066a\u2069\u202ab\u202c", "\ufffda\ufffd\ufffdb\ufffd"),
    "bidi marks": ("a\u200eb\u200fc\u061cd", "a\ufffdb\ufffdc\ufffdd"),
    "lone surrogate": ("a\udc80b", "a\ufffdb"),
    "japanese untouched": ("①㈱髙～〜ｶﾀｶﾅ", "①㈱髙～〜ｶﾀｶﾅ"),
    "rich markup not escaped": ("[bold]x[/bold]", "[bold]x[/bold]"),
}


@pytest.mark.parametrize(("raw", "want"), list(CASES.values()), ids=list(CASES))
def test_attack_class(raw: str, want: str) -> None:
    assert sanitize(raw) == want


@pytest.mark.parametrize("raw", [v[0] for v in CASES.values()], ids=list(CASES))
def test_idempotent(raw: str) -> None:
    once = sanitize(raw)
    assert sanitize(once) == once


def test_no_control_survives_random_input() -> None:
    import random

    rng = random.Random(1234)
    alphabet = "\x1b\x9b\x9d\x07\x9c\\[]P_^X;0123456789abc\r\n\t\x00\x7f\u202e\u2066 日本"
    for _ in range(2000):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        out = sanitize(s)
        assert sanitize(out) == out
        assert not any(
            (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in out
        ), repr(out)
        assert "\u202e" not in out and "\u2066" not in out
