"""Reply templates: TOML front matter + a Jinja2 body, rendered in a sandbox.

A template file looks like::

    ---
    name = "acknowledge"
    description = "受付のご連絡"
    language = "ja"
    subject = "Re: {{ conversation.subject }}"
    shortcut = "a"
    tags = ["first-reply"]
    status_after_send = "in-progress"
    keywords = ["問い合わせ", "質問"]
    ---
    {{ customer | honorific }}
    ...

The front-matter lines are blanked, not removed, before Jinja sees the body, so the line
numbers in errors are the file's. Values from mail (names, subjects, quoted text) enter only as
variables: Jinja never parses them, so `{{ 7*7 }}` written by a customer stays literal.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailtriage.compose import filters
from mailtriage.resources import data_dir

if TYPE_CHECKING:
    # Jinja2 is imported when a template is compiled, not with this module: the start-up
    # check of the acknowledgement templates (compose.ack_templates) only reads names.
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    from mailtriage.config import Config

STATUSES_AFTER_SEND = ("unhandled", "in-progress", "done")
_FRONT = "---"
_FRONT_KEYS = {
    "name",
    "description",
    "language",
    "subject",
    "shortcut",
    "tags",
    "status_after_send",
    "keywords",
}
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class TemplateError(Exception):
    """A template problem with the file and line it comes from (line 0: unknown)."""

    def __init__(self, path: Path | str, line: int, problem: str):
        self.path, self.line, self.problem = Path(path), line, problem
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    language: str
    path: Path
    body: str  # the Jinja source with front-matter lines blanked (line numbers kept)
    subject: str = "Re: {{ conversation.subject | strip_reply_prefix }}"
    shortcut: str | None = None
    tags: tuple[str, ...] = ()
    status_after_send: str | None = None
    keywords: tuple[str, ...] = ()
    subject_line: int = 0

    @property
    def key(self) -> str:
        """Unique across languages: "ja/acknowledge"."""
        return f"{self.language}/{self.name}"

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "key": self.key,
            "description": self.description,
            "language": self.language,
            "subject": self.subject,
            "shortcut": self.shortcut,
            "tags": list(self.tags),
            "status_after_send": self.status_after_send,
            "keywords": list(self.keywords),
            "path": str(self.path),
        }


@dataclass(frozen=True)
class Rendered:
    template: Template
    subject: str
    body: str


@dataclass(frozen=True)
class Suggestion:
    template: Template
    score: float
    matched: tuple[str, ...] = field(default=())


def template_dirs(config: Config) -> list[Path]:
    """The shipped set first, then the user's directories (whose keys override)."""
    return [data_dir("templates"), *config.compose.template_dirs]


def parse_template(text: str, path: Path, *, compile: bool = True) -> Template:
    """The template in text; compile=False reads the front matter only (its names)."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != _FRONT:
        raise TemplateError(path, 1, "missing front matter: the file must start with a --- line")
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == _FRONT), None)
    if end is None:
        raise TemplateError(path, 1, "front matter is not closed: add a --- line after it")
    try:
        meta = tomllib.loads("".join(lines[1:end]))
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(path, 2, f"front matter is not valid TOML: {exc}") from exc
    for key in meta:
        if key not in _FRONT_KEYS:
            raise TemplateError(path, _line_of(lines, key), f"unknown front-matter key {key!r}")

    def text_field(key: str, required: bool = False) -> str | None:
        value = meta.get(key)
        if value is None:
            if required:
                raise TemplateError(path, 1, f'front matter needs {key} = "..."')
            return None
        if not isinstance(value, str) or not value.strip():
            raise TemplateError(path, _line_of(lines, key), f"{key}: expected a non-empty string")
        return value

    def list_field(key: str) -> tuple[str, ...]:
        value = meta.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise TemplateError(path, _line_of(lines, key), f"{key}: expected a list of strings")
        return tuple(value)

    name = text_field("name", required=True)
    assert name is not None
    if not _NAME_RE.match(name):
        raise TemplateError(
            path, _line_of(lines, "name"), f"name {name!r}: use a-z, 0-9, '.', '_', '-'"
        )
    status = text_field("status_after_send")
    if status is not None and status not in STATUSES_AFTER_SEND:
        raise TemplateError(
            path,
            _line_of(lines, "status_after_send"),
            f"status_after_send must be one of {', '.join(STATUSES_AFTER_SEND)}",
        )
    body = "\n" * (end + 1) + "".join(lines[end + 1 :])
    template = Template(
        name=name,
        description=text_field("description", required=True) or "",
        language=text_field("language", required=True) or "",
        path=path,
        body=body,
        subject=text_field("subject") or Template.subject,
        shortcut=text_field("shortcut"),
        tags=list_field("tags"),
        status_after_send=status,
        keywords=list_field("keywords"),
        subject_line=_line_of(lines, "subject") if "subject" in meta else 0,
    )
    if compile:
        # Syntax errors surface when the set is loaded, not when an agent is about to send.
        _compile(template)
    return template


def _line_of(lines: list[str], key: str) -> int:
    for i, line in enumerate(lines, 1):
        if line.lstrip().startswith(key):
            return i
    return 1


def load_templates(dirs: Iterable[Path], *, compile: bool = True) -> list[Template]:
    """Every `*.j2` under the directories; a later directory's key overrides an earlier's.
    compile=False: front matter only (names, no Jinja)."""
    found: dict[str, Template] = {}
    for directory in dirs:
        if not directory.is_dir():
            continue
        for path in sorted(directory.rglob("*.j2")):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise TemplateError(path, 0, f"cannot read: {exc}") from exc
            template = parse_template(text, path, compile=compile)
            found[template.key] = template
    return sorted(found.values(), key=lambda t: (t.language, t.name))


def find_template(templates: Iterable[Template], wanted: str, language: str | None) -> Template:
    """By key ("ja/refund") or by name, preferring `language` when several share the name."""
    templates = list(templates)
    for t in templates:
        if t.key == wanted:
            return t
    named = [t for t in templates if t.name == wanted]
    if not named:
        known = ", ".join(t.key for t in templates) or "none"
        raise LookupError(f"no template named {wanted!r} (known: {known})")
    for t in named:
        if t.language == language:
            return t
    return named[0]


@functools.cache
def _env() -> SandboxedEnvironment:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain-text mail: HTML escaping would corrupt it
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(filters.FILTERS)
    return env


def _compile(template: Template) -> jinja2.Template:
    import jinja2

    env = _env()
    try:
        code = env.compile(template.body, filename=str(template.path))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(template.path, exc.lineno, f"syntax error: {exc.message}") from exc
    try:
        env.from_string(template.subject)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            template.path, template.subject_line, f"subject: syntax error: {exc.message}"
        ) from exc
    return env.template_class.from_code(env, code, env.make_globals(None))


def render(template: Template, variables: Mapping[str, Any]) -> Rendered:
    """Render subject and body; any error names the file and line (the subject's: its key)."""
    import jinja2

    body_template = _compile(template)
    try:
        body = body_template.render(variables)
    except jinja2.TemplateError as exc:
        raise TemplateError(template.path, _error_line(exc, template), _describe(exc)) from exc
    try:
        subject = _env().from_string(template.subject).render(variables)
    except jinja2.TemplateError as exc:
        raise TemplateError(
            template.path, template.subject_line, f"subject: {_describe(exc)}"
        ) from exc
    subject = " ".join(subject.split())
    return Rendered(template, subject, body.strip("\n") + "\n")


def _describe(exc: jinja2.TemplateError) -> str:
    import jinja2

    if isinstance(exc, jinja2.UndefinedError):
        return f"{exc.message}; give it a default, e.g. {{{{ x | default('…') }}}}"
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return f"not allowed in a template: {exc}"
    return str(exc.message or exc)


def _error_line(exc: BaseException, template: Template) -> int:
    """The template line from the traceback Jinja rewrites to point into the template."""
    line = 0
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == str(template.path):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def suggest(
    templates: Iterable[Template], text: str, *, language: str | None = None, limit: int = 5
) -> list[Suggestion]:
    """Templates ranked by how many of their keywords the conversation's text contains.

    Case-insensitive substring match (Japanese has no word breaks); the conversation's
    language breaks ties and halves the score of other languages' templates.
    """
    haystack = text.casefold()
    ranked: list[Suggestion] = []
    for t in templates:
        matched = tuple(k for k in t.keywords if k.casefold() in haystack)
        score = sum(1 + min(haystack.count(k.casefold()), 3) * 0.1 for k in matched)
        if language and t.language != language:
            score *= 0.5
        elif language:
            score += 0.01
        ranked.append(Suggestion(t, round(score, 3), matched))
    ranked.sort(key=lambda s: (-s.score, s.template.key))
    return ranked[:limit]


def guess_language(text: str) -> str:
    """ "ja" when the text has kana or kanji, else "en"."""
    return "ja" if filters.has_japanese(text) else "en"


def sample_variables(now: datetime | None = None) -> dict[str, Any]:
    """The sample conversation `templates --check` renders every template against."""
    from mailtriage.compose.variables import build_variables

    when = now or datetime.fromisoformat("2026-11-20T09:00:00+09:00")
    conversation = {
        "id": "K3F9Q2AB",
        "key": "0" * 40,
        "subject": "ログインできません",
        "customer": {"name": "山田 太郎", "email": "taro@example.jp"},
        "messages": [
            {
                "message_id": "<q1@example.jp>",
                "from": {"name": "山田 太郎", "email": "taro@example.jp"},
                "date": when.isoformat(),
                "subject": "ログインできません",
                "inbound": True,
                "text": "お世話になっております。\nログインできません。{{ 7*7 }}\n",
            }
        ],
    }
    return build_variables(
        conversation,
        agent={"name": "alice", "display_name": "佐藤 花子", "signature": "サポート 佐藤"},
        company={"name": "Example株式会社", "support_url": "https://example.co.jp/support"},
        now=when,
    )
