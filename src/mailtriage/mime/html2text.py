"""Readable text from an HTML body, with the stdlib HTMLParser. Nothing is ever fetched."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_PARAGRAPH = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "dl"}
    | {"address", "figure", "hr", "form", "fieldset"}
)
_LINE = frozenset(
    {"div", "section", "article", "header", "footer", "nav", "main", "aside", "center"}
    | {"tr", "dt", "dd", "caption", "tbody", "thead", "tfoot", "figcaption", "li"}
)
_DROP = frozenset({"script", "style", "head", "title", "template", "noembed", "object"})
_VOID = frozenset({"br", "img", "hr", "meta", "link", "input", "area", "base", "col", "wbr"})
# Only these schemes become footnotes; javascript:, data: and cid: links are not for reading.
_LINK_SCHEMES = ("http://", "https://", "mailto:", "ftp://")
_HTML_SPACE = re.compile(r"[ \t\r\n\f]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.links: list[str] = []
        self.drop_depth = 0
        self.pre_depth = 0
        self.list_depth = 0
        self.cells_in_row = 0
        self.open_links: list[str | None] = []
        self.strip_next = True  # drop leading spaces at a line start or after a marker

    def _trailing_newlines(self) -> int:
        count = 0
        for piece in reversed(self.out):
            stripped = piece.rstrip("\n")
            count += len(piece) - len(stripped)
            if stripped.strip(" "):
                return count
        return -1  # nothing visible written yet: no blank lines at the top

    def _newlines(self, count: int) -> None:
        have = self._trailing_newlines()
        if 0 <= have < count:
            self.out.append("\n" * (count - have))
        self.strip_next = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP:
            if tag not in _VOID:
                self.drop_depth += 1
            return
        if self.drop_depth:
            return
        if tag == "br":
            self.out.append("\n")
            self.strip_next = True
        elif tag == "li":
            self._newlines(1)
            self.out.append("  " * max(self.list_depth - 1, 0) + "- ")
            self.strip_next = True
        elif tag in ("ul", "ol"):
            self._newlines(1 if self.list_depth else 2)
            self.list_depth += 1
        elif tag == "tr":
            self._newlines(1)
            self.cells_in_row = 0
        elif tag in ("td", "th"):
            if self.cells_in_row:
                self.out.append(" | ")
                self.strip_next = True
            self.cells_in_row += 1
        elif tag == "hr":
            self._newlines(2)
            self.out.append("---")
            self._newlines(2)
        elif tag == "pre":
            self._newlines(2)
            self.pre_depth += 1
        elif tag in _PARAGRAPH:
            self._newlines(2)
        elif tag in _LINE:
            self._newlines(1)
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt:
                self.out.append(f"[image: {alt}]")
        elif tag == "a":
            href = (dict(attrs).get("href") or "").strip()
            self.open_links.append(href if href.lower().startswith(_LINK_SCHEMES) else None)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP:
            if tag not in _VOID:
                self.drop_depth = max(self.drop_depth - 1, 0)
            return
        if self.drop_depth:
            return
        if tag in ("ul", "ol"):
            self.list_depth = max(self.list_depth - 1, 0)
            self._newlines(1 if self.list_depth else 2)
        elif tag == "pre":
            self.pre_depth = max(self.pre_depth - 1, 0)
            self._newlines(2)
        elif tag in _PARAGRAPH:
            self._newlines(2)
        elif tag in _LINE:
            self._newlines(1)
        elif tag == "a" and self.open_links:
            href = self.open_links.pop()
            if href:
                if href not in self.links:
                    self.links.append(href)
                self.out.append(f"[{self.links.index(href) + 1}]")

    def handle_data(self, data: str) -> None:
        if self.drop_depth:
            return
        if self.pre_depth:
            self.out.append(data)
            return
        text = _HTML_SPACE.sub(" ", data)
        if self.strip_next:
            text = text.lstrip(" ")
        if text:
            self.strip_next = False
            self.out.append(text)


def html_to_text(html: str) -> str:
    """Convert HTML to plain text: blocks become lines, links become ``[n]`` footnotes."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = "".join(parser.out).replace("\xa0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")
    if parser.links:
        notes = "\n".join(f"[{i}] {url}" for i, url in enumerate(parser.links, 1))
        text = f"{text}\n\n{notes}" if text else notes
    return text
