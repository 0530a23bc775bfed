"""A long message body drawn row by row (Textual's Line API), so opening it costs the same
whatever its length.

A 1 MB text/plain body in one Static took 7.8 s to open at 120x35: Rich wrapped the whole
text several times on the UI thread (cProfile: layout and `Text.wrap`). Here only the rows on
screen become Strips; the text is wrapped for the current width a few screens at a time
before the first paint and the rest in short slices between other events, with a last row
saying how far that got; `finish()` wraps the rest at once (the reader's End key).

Terminal safety is unchanged: each line passes `sanitize_for_terminal` before it is wrapped
and reaches the terminal as a plain-text Segment, never markup. Lines are sanitized one by
one, so an unterminated OSC string is cut at its line's end rather than the text's; either
way nothing of it reaches the terminal.
"""

from __future__ import annotations

import re
import time
from array import array
from functools import cache

from rich._unicode_data import load as load_cell_table
from rich._wrap import divide_line
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

from mailtriage.mime import sanitize_for_terminal
from mailtriage.mime.quoting import split_body

LONG_BODY = 16 * 1024  # characters: a longer body is a BodyView, a shorter one Rich Text
FOLD_LIMIT = 256 * 1024  # bytes of text: above this quoted text is not looked for
FIRST_ROWS = 100  # rows wrapped before the first paint, plus two screens
SLICE_SECONDS = 0.008  # background wrapping gives the UI back its loop this often
SLICE_PAUSE = 0.001  # and waits this long, so keys and repaints go first
LAYOUT_EVERY = 0.3  # seconds between new heights while wrapping in the background
TEXT, QUOTE, FOLDED = 0, 1, 2
_STYLES = {TEXT: Style(), QUOTE: Style(dim=True), FOLDED: Style(dim=True, italic=True)}


@cache
def _cjk_wide() -> re.Pattern[str]:
    """The two-cell spans of rich's own table (the one Strips are cut by) from U+3000 to
    U+FFFF: CJK punctuation, kana, ideographs, Hangul, full-width forms. A few dozen ranges,
    so the regex stays fast."""
    spans = [
        (max(a, 0x3000), b)
        for a, b, w in load_cell_table("auto").widths
        if w == 2 and b >= 0x3000 and a <= 0xFFFF
    ]
    body = "".join(f"{re.escape(chr(a))}-{re.escape(chr(min(b, 0xFFFF)))}" for a, b in spans)
    return re.compile(f"[{body}]")


def fast_cell_len(line: str) -> int:
    """rich.cells.cell_len, counted in C for the common case: a line of ASCII and CJK
    two-cell characters only (rich calls a Python function per character: wrapping a
    5 MB Japanese text took a second). Any other line is measured by rich itself."""
    if line.isascii():
        return len(line)
    wide = len(_cjk_wide().findall(line))
    narrow = len(line.encode("ascii", "ignore"))
    if wide + narrow == len(line):
        return narrow + 2 * wide
    return cell_len(line)


def body_lines(text: str, *, show_quotes: bool, fold: bool) -> tuple[list[str], bytearray]:
    """(lines, kind of each line) of a long body.

    Without fold (the caller's choice, above FOLD_LIMIT) the lines are still raw: BodyView
    sanitizes them as it wraps. With it, quoted text and signatures fold as in a short body.
    """
    if not fold:
        lines = text.splitlines()
        return lines, bytearray(len(lines))
    lines = []
    kinds = bytearray()
    for block in split_body(sanitize_for_terminal(text)):
        if block.kind == "text":
            lines.extend(block.lines)
            kinds.extend(bytes(len(block.lines)))
        elif show_quotes:
            lines.extend(block.lines)
            kinds.extend(bytes([QUOTE]) * len(block.lines))
        else:
            label = "quoted" if block.kind == "quote" else "signature"
            lines.append(f"  [… {len(block.lines)} {label} lines, Z shows them]")
            kinds.append(FOLDED)
    return lines, kinds


class BodyView(Widget):
    """The text of one long message; its height is its wrapped rows at the current width."""

    DEFAULT_CSS = "BodyView { height: auto; }"

    def __init__(
        self, lines: list[str], kinds: bytearray, *, size_label: str, rows_at_least: int = 0
    ) -> None:
        """rows_at_least: wrap at least this many rows before the first paint (a rebuilt
        reader scrolling back to where it was)."""
        super().__init__()
        self._rows_at_least = rows_at_least
        self._lines = lines
        self._kinds = kinds
        self._clean = 0  # lines[:_clean] are sanitized (done once, kept across widths)
        self._size_label = size_label
        self._width = 0
        self._row_line = array("l")  # row -> its line
        self._row_start = array("l")  # row -> its first character in that line
        self._next = 0  # the next line to wrap
        self._strips: LRUCache[int, Strip] = LRUCache(512)
        self._slice_pending = False
        self._laid_out = time.monotonic()

    @property
    def line_count(self) -> int:
        return len(self._lines)

    @property
    def wrapped(self) -> bool:
        return self._next >= len(self._lines)

    @property
    def row_count(self) -> int:
        return len(self._row_line)

    def _reset(self, width: int) -> None:
        self._width = width
        self._row_line = array("l")
        self._row_start = array("l")
        self._next = 0
        self._strips.clear()

    def _wrap(self, *, rows: int | None = None, seconds: float | None = None) -> None:
        """Wrap further lines: until `rows` rows exist, `seconds` passed, or all is done."""
        lines, width = self._lines, max(self._width, 1)
        row_line, row_start = self._row_line, self._row_start
        deadline = None if seconds is None else time.perf_counter() + seconds
        i = self._next
        end = len(lines)
        while i < end:
            if i >= self._clean:
                line = lines[i]
                # A printable line has nothing sanitize removes (controls, escapes, bidi
                # marks and surrogates are all non-printable): skip its six scans.
                if not line.isprintable():
                    line = sanitize_for_terminal(line).expandtabs(8)
                lines[i] = line
                self._clean = i + 1
            line = lines[i]
            row_line.append(i)
            row_start.append(0)
            # A character takes at most two cells: most lines fit without measuring them.
            if 2 * len(line) > width and fast_cell_len(line) > width:
                for start in divide_line(line, width, fold=True):
                    row_line.append(i)
                    row_start.append(start)
            i += 1
            if rows is not None and len(row_line) >= rows:
                break
            if deadline is not None and not i % 64 and time.perf_counter() > deadline:
                break
        self._next = i

    def finish(self) -> None:
        """Wrap everything now (for End: the last row must exist to scroll to it)."""
        if not self.wrapped:
            self._wrap()
            self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if width != self._width:
            self._reset(width)
        if self._next == 0:
            self._wrap(rows=max(FIRST_ROWS, self._rows_at_least) + viewport.height * 2)
        if not self.wrapped and not self._slice_pending:
            # After the repaint: the first screen comes before any background slice.
            self._slice_pending = True
            self.call_after_refresh(self.set_timer, SLICE_PAUSE, self._wrap_slice)
        return self.row_count + (0 if self.wrapped else 1)

    def _wrap_slice(self) -> None:
        if self.wrapped or not self.is_attached:
            self._slice_pending = False
            return
        self._wrap(seconds=SLICE_SECONDS)
        now = time.monotonic()
        if self.wrapped or now - self._laid_out > LAYOUT_EVERY:
            # A new height relayouts the screen and repaints what is visible: a few times a
            # second, not at every slice (that doubled the cost of wrapping).
            self._laid_out = now
            self._slice_pending = False
            self.refresh(layout=True)  # get_content_height asks for the next slice
        else:
            self.set_timer(SLICE_PAUSE, self._wrap_slice)

    def notice(self) -> str:
        done = self._next / max(len(self._lines), 1)
        return (
            f"  … laying out the rest of this {self._size_label} text ({done:.0%});"
            " End (G) goes to its end"
        )

    def render_line(self, y: int) -> Strip:
        width = self._width or self.size.width
        base = self.rich_style
        cached = self._strips.get(y)
        if cached is not None:
            return cached
        if y >= self.row_count:
            if self.wrapped or y > self.row_count:
                return Strip.blank(width, base)
            # Not cached: the percentage moves on.
            text = self.notice()
            return Strip([Segment(text, base + Style(dim=True, italic=True))]).crop(0, width)
        i = self._row_line[y]
        start = self._row_start[y]
        line = self._lines[i]
        following = y + 1
        end = (
            self._row_start[following]
            if following < self.row_count and self._row_line[following] == i
            else len(line)
        )
        text = line[start:end].rstrip(" ")
        style = base + _STYLES[self._kinds[i]] if self._kinds[i] else base
        strip = Strip([Segment(text, style)]).crop(0, width)
        self._strips[y] = strip
        return strip

    def text_rows(self) -> list[str]:
        """Every wrapped row's text as drawn (tests; wraps whatever is left first)."""
        self.finish()
        return [self.render_line(y).text for y in range(self.row_count)]
