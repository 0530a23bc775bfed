"""One KB article: a Markdown file with a small YAML-style front-matter block.

    ---
    title: パスワードの再設定方法
    tags: [login, password, ログイン]
    audience: customer-facing        # or internal
    reviewed: 2026-10-01
    review_every: 180d               # or review_by: 2027-04-01 (default: [kb] review_days)
    owner: alice
    url: https://help.example.co.jp/password   # optional public page
    ---
    Body in Markdown…

Only this subset is read (no YAML library, no anchors or nesting): a key, a colon, a value
that is a bare or quoted string, a date, or a [list]; "- item" lines continue a list. Anything
else is an error that names the file and line, because a silent default on `audience` would
be the one way an internal article reached a customer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

AUDIENCES = ("internal", "customer-facing")
KEYS = ("title", "tags", "audience", "reviewed", "review_every", "review_by", "owner", "url")
_REQUIRED = ("title", "audience", "reviewed")
_EVERY = re.compile(r"^(\d{1,4})\s*([dwmy]?)$")
_UNIT_DAYS = {"": 1, "d": 1, "w": 7, "m": 30, "y": 365}
_KEY_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\s*:\s*(.*)$")
_MORE = "<!-- more -->"


class KbError(ValueError):
    """A problem with one article, as `file:line: problem (fix: …)`."""

    def __init__(self, path: Path | str, line: int, problem: str, fix: str = ""):
        self.path, self.line, self.problem, self.fix = Path(path), line, problem, fix
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {problem}" + (f" (fix: {fix})" if fix else ""))


@dataclass(frozen=True)
class Article:
    ident: str  # path relative to the KB root, "/" separated, without ".md": faq/password
    path: Path
    title: str
    body: str  # Markdown, front-matter removed
    audience: str
    reviewed: date
    review_by: date
    tags: tuple[str, ...] = ()
    owner: str = ""
    url: str = ""

    @property
    def internal(self) -> bool:
        return self.audience != "customer-facing"

    def stale(self, today: date) -> bool:
        return today > self.review_by

    def excerpt_markdown(self) -> str:
        """What "insert excerpt" takes: the text before `<!-- more -->`, else the first
        section (up to the second heading)."""
        body = self.body
        if _MORE in body:
            body = body.split(_MORE, 1)[0]
        else:
            lines, headings = [], 0
            for line in body.splitlines():
                if line.startswith("#"):
                    headings += 1
                    if headings > 1 and any(x.strip() for x in lines):
                        break
                lines.append(line)
            body = "\n".join(lines)
        return body


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _strip_comment(value: str) -> str:
    # "# comment" after a value, but never inside quotes or a URL fragment ("a#b").
    if value and value[0] in "\"'":
        end = value.find(value[0], 1)
        return value[: end + 1] if end > 0 else value
    return re.split(r"\s+#", value, maxsplit=1)[0].strip()


def _list(value: str) -> list[str]:
    inner = value.strip()[1:-1]
    return [_unquote(v.strip()) for v in inner.split(",") if v.strip()]


def split_front_matter(text: str, path: Path) -> tuple[dict[str, tuple[int, object]], str, int]:
    """({key: (line, value)}, body, line where the body starts)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise KbError(path, 1, "no front-matter", "start the file with a '---' line, then title: …")
    fields: dict[str, tuple[int, object]] = {}
    current_list: str | None = None
    for number, raw in enumerate(lines[1:], start=2):
        line = raw.rstrip()
        if line.strip() == "---":
            return fields, "\n".join(lines[number:]).strip("\n") + "\n", number + 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.lstrip().startswith("- ") and current_list is not None:
            items = fields[current_list][1]
            assert isinstance(items, list)
            items.append(_unquote(line.lstrip()[2:].strip()))
            continue
        match = _KEY_LINE.match(line)
        if match is None:
            raise KbError(path, number, f"not a 'key: value' line: {line.strip()!r}")
        key, value = match.group(1), _strip_comment(match.group(2).strip())
        if key not in KEYS:
            raise KbError(path, number, f"unknown key {key!r}", f"use one of {', '.join(KEYS)}")
        if key in fields:
            raise KbError(path, number, f"{key!r} given twice")
        current_list = None
        if value.startswith("["):
            if not value.endswith("]"):
                raise KbError(path, number, f"{key}: unclosed list", "write [a, b] on one line")
            fields[key] = (number, _list(value))
        elif not value:
            fields[key] = (number, [])
            current_list = key  # "- item" lines follow
        else:
            fields[key] = (number, _unquote(value))
    raise KbError(path, 1, "front-matter never ends", "close it with a '---' line")


def _date(path: Path, line: int, key: str, value: object) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise KbError(path, line, f"{key}: {value!r} is not a date", "write YYYY-MM-DD") from None


def _text(path: Path, line: int, key: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise KbError(path, line, f"{key}: expected text, got {value!r}")
    return value.strip()


def parse_every(text: str) -> int | None:
    """ "180d", "26w", "6m", "1y" or a bare number of days → days; None if not one."""
    match = _EVERY.match(text.strip().lower())
    if match is None or int(match.group(1)) == 0:
        return None
    return int(match.group(1)) * _UNIT_DAYS[match.group(2)]


def parse_article(text: str, path: Path, ident: str, *, review_days: int = 180) -> Article:
    fields, body, _ = split_front_matter(text, path)
    for key in _REQUIRED:
        if key not in fields:
            example = {"title": "…", "audience": "internal", "reviewed": "2026-11-01"}[key]
            raise KbError(path, 1, f"front-matter has no {key!r}", f"add {key}: {example}")
    title = _text(path, fields["title"][0], "title", fields["title"][1])
    line, audience = fields["audience"]
    if audience not in AUDIENCES:
        raise KbError(path, line, f"audience: {audience!r} is not one of {' / '.join(AUDIENCES)}")
    reviewed = _date(path, fields["reviewed"][0], "reviewed", fields["reviewed"][1])
    if "review_by" in fields and "review_every" in fields:
        raise KbError(path, fields["review_by"][0], "give review_by or review_every, not both")
    if "review_by" in fields:
        review_by = _date(path, fields["review_by"][0], "review_by", fields["review_by"][1])
    else:
        days = review_days
        if "review_every" in fields:
            line, value = fields["review_every"]
            parsed = parse_every(str(value))
            if parsed is None:
                raise KbError(
                    path,
                    line,
                    f"review_every: {value!r} is not a period",
                    "write e.g. 180d, 26w, 6m or 1y",
                )
            days = parsed
        review_by = reviewed + timedelta(days=days)
    tags: tuple[str, ...] = ()
    if "tags" in fields:
        line, value = fields["tags"]
        items = value if isinstance(value, list) else [v.strip() for v in str(value).split(",")]
        tags = tuple(t for t in (str(i).strip() for i in items) if t)
    owner = (
        _text(path, fields["owner"][0], "owner", fields["owner"][1]) if "owner" in fields else ""
    )
    url = ""
    if "url" in fields:
        line, value = fields["url"]
        url = _text(path, line, "url", value)
        if not re.match(r"^https?://\S+$", url):
            raise KbError(path, line, f"url: {url!r} is not an http(s) address")
    return Article(
        ident=ident,
        path=path,
        title=title,
        body=body,
        audience=str(audience),
        reviewed=reviewed,
        review_by=review_by,
        tags=tags,
        owner=owner,
        url=url,
    )


def load_article(root: Path, path: Path, *, review_days: int = 180) -> Article:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise KbError(path, 0, f"not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise KbError(path, 0, f"cannot read: {exc.strerror or exc}") from None
    return parse_article(text, path, article_ident(root, path), review_days=review_days)


def article_ident(root: Path, path: Path) -> str:
    return path.relative_to(root).with_suffix("").as_posix()


_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_EMPHASIS = re.compile(r"(\*\*|__|`)(.+?)\1")


def plain_link(text: str, target: str) -> str:
    return text if text == target else f"{text} ({target})"


def markdown_to_text(markdown: str, link: Callable[[str, str], str] = plain_link) -> str:
    """Markdown as plain text for a mail body: headings lose their #, [text](target) becomes
    link(text, target) ("text (url)" by default), emphasis markers go, lists and paragraphs
    stay as they are."""
    out: list[str] = []
    for line in markdown.replace(_MORE, "").splitlines():
        stripped = line.lstrip()
        if stripped.startswith("<!--"):
            continue
        if stripped.startswith("#"):
            line = stripped.lstrip("#").strip()
            line = f"【{line}】" if line and _has_cjk(line) else line
        line = _LINK.sub(lambda m: link(m.group(1), m.group(2)), line)
        out.append(_EMPHASIS.sub(r"\2", line).rstrip())
    return "\n".join(out).strip("\n") + "\n"


def _has_cjk(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in text)
