"""The two shortcuts BodyView takes while wrapping must change nothing: fast_cell_len is
rich's cell_len, and a printable line is what sanitize_for_terminal makes of it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len

from mailtriage.mime import sanitize_for_terminal
from mailtriage.tui.body_view import fast_cell_len

# ASCII, kana, ideographs, Hangul, full-width forms, combining marks, emoji, joiners,
# bidi controls, C0/C1 controls: what mail text is made of, and what hostile mail adds.
_ALPHABET = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.characters(min_codepoint=0x3000, max_codepoint=0x9FFF),
    st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3),
    st.characters(min_codepoint=0xF900, max_codepoint=0xFFFD),
    st.characters(min_codepoint=0x300, max_codepoint=0x36F),
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),
    st.sampled_from("\u200d\ufe0f\u200b\u202e\u2066\x1b\x9b\x07\t\r\x00"),
    st.characters(codec="utf-8"),
)


@settings(max_examples=500, deadline=None)
@given(st.text(_ALPHABET, max_size=80))
def test_fast_cell_len_is_rich_cell_len_of_a_sanitized_line(text: str) -> None:
    line = sanitize_for_terminal(text).replace("\n", " ").expandtabs(8)
    assert fast_cell_len(line) == cell_len(line)


def test_fast_cell_len_agrees_on_every_character_from_u3000_to_uffff() -> None:
    for codepoint in range(0x3000, 0x10000):
        if 0xD800 <= codepoint < 0xE000:
            continue  # lone surrogates never survive sanitizing
        line = f"a{chr(codepoint)}b"
        assert fast_cell_len(line) == cell_len(line), hex(codepoint)


@settings(max_examples=500, deadline=None)
@given(st.text(_ALPHABET, max_size=80))
def test_a_printable_line_is_left_as_it_is_by_sanitize(text: str) -> None:
    if text.isprintable():
        assert sanitize_for_terminal(text) == text
