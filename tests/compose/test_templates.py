"""Templates: front matter, the shipped set, sandbox, strict variables, errors with file:line."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from mailtriage.compose import filters
from mailtriage.compose.templates import (
    TemplateError,
    find_template,
    load_templates,
    parse_template,
    render,
    sample_variables,
    suggest,
)
from mailtriage.compose.variables import build_variables
from mailtriage.resources import data_dir

STARTERS = {
    "acknowledge",
    "apology",
    "request-info",
    "refund",
    "shipping-delay",
    "escalation",
    "resolved",
    "holding",
    "notice-outage",
}


def _write(tmp_path: Path, body: str, front: str = "") -> Path:
    path = tmp_path / "t.txt.j2"
    path.write_text(
        f'---\nname = "t"\ndescription = "d"\nlanguage = "ja"\n{front}---\n{body}', "utf-8"
    )
    return path


def _conversation(text: str = "ログインできません。", name: str = "山田 太郎") -> dict:
    return {
        "id": "K3F9Q2AB",
        "key": "k" * 40,
        "subject": "ログインできません",
        "customer": {"name": name, "email": "taro@example.jp"},
        "messages": [
            {
                "message_id": "<q1@example.jp>",
                "from": {"name": name, "email": "taro@example.jp"},
                "date": "2026-11-20T09:00:00+09:00",
                "subject": "ログインできません",
                "inbound": True,
                "text": text,
            }
        ],
    }


def test_shipped_set_is_complete_in_both_languages_and_renders() -> None:
    templates = load_templates([data_dir("templates")])
    for language in ("ja", "en"):
        assert {t.name for t in templates if t.language == language} == STARTERS
    variables = sample_variables()
    for t in templates:
        rendered = render(t, variables)
        assert "{{" not in rendered.body and "{%" not in rendered.body
        assert rendered.subject and t.description
        assert t.status_after_send in ("in-progress", "done")


def test_japanese_apology_has_the_seven_parts() -> None:
    t = find_template(load_templates([data_dir("templates")]), "apology", "ja")
    body = render(t, sample_variables()).body
    for part in (
        "山田 太郎 様",
        "ございます",
        "ありがとうございます",
        "原因",
        "お詫び申し上げます",
        "今後は",
        "よろしくお願い申し上げます",
    ):
        assert part in body, part
    # order: greeting, thanks, cause, answer, apology, prevention, closing
    positions = [
        body.index(p) for p in ("様", "ありがとう", "原因", "お詫び", "今後は", "今後とも")
    ]
    assert positions == sorted(positions)


def test_message_content_is_data_never_template() -> None:
    t = parse_template(
        '---\nname = "t"\ndescription = "d"\nlanguage = "ja"\n---\n'
        "{{ customer.name }}|{{ conversation.subject }}|{{ quoted }}\n",
        Path("t.j2"),
    )
    conv = _conversation(text="{{ 7*7 }} {% for x in range(9) %}x{% endfor %}", name="{{ 7*7 }}")
    conv["subject"] = "{{ ''.__class__ }}"
    body = render(t, build_variables(conv, agent={"name": "alice"})).body
    assert body == "{{ 7*7 }}|{{ ''.__class__ }}|> {{ 7*7 }} {% for x in range(9) %}x{% endfor %}\n"


def test_sandbox_blocks_attribute_escapes(tmp_path: Path) -> None:
    t = parse_template(
        _write(tmp_path, "{{ ''.__class__.__mro__ }}\n").read_text(), tmp_path / "t.txt.j2"
    )
    with pytest.raises(TemplateError, match=r"t\.txt\.j2:6: .*not allowed|unsafe"):
        render(t, sample_variables())


def test_undefined_variable_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "一行目\n{{ customer.name }}\n{{ nonsense.value }}\n")
    t = parse_template(path.read_text(), path)
    with pytest.raises(TemplateError) as caught:
        render(t, sample_variables())
    assert caught.value.line == 8  # front matter is 5 lines; the body's third line
    assert str(caught.value).startswith(f"{path}:8: ")
    assert "default" in str(caught.value)


def test_explicit_default_covers_a_missing_name() -> None:
    t = parse_template(
        '---\nname = "t"\ndescription = "d"\nlanguage = "ja"\n---\n'
        '{{ customer.name | default("お客様") }} / {{ customer | honorific }}\n',
        Path("t.j2"),
    )
    body = render(t, build_variables(_conversation(name=""), agent={"name": "a"})).body
    assert body == "お客様 / お客様\n"


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "ok\n{% if %}\n")
    with pytest.raises(TemplateError, match=r"t\.txt\.j2:7: syntax error"):
        parse_template(path.read_text(), path)


@pytest.mark.parametrize(
    ("front", "problem"),
    [
        ('colour = "red"\n', "unknown front-matter key 'colour'"),
        ('status_after_send = "closed"\n', "status_after_send must be one of"),
        ("keywords = 3\n", "keywords: expected a list of strings"),
    ],
)
def test_front_matter_errors(tmp_path: Path, front: str, problem: str) -> None:
    path = _write(tmp_path, "x\n", front)
    with pytest.raises(TemplateError, match=problem):
        parse_template(path.read_text(), path)


def test_missing_front_matter(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=":1: missing front matter"):
        parse_template("Hello\n", tmp_path / "x.j2")


def test_suggestions_rank_by_conversation_text() -> None:
    templates = load_templates([data_dir("templates")])
    ranked = suggest(
        templates, "注文した商品がまだ届かない。配送状況を教えてください", language="ja"
    )
    assert ranked[0].template.key == "ja/shipping-delay"
    assert "届かない" in ranked[0].matched
    ranked = suggest(templates, "I was charged twice, please refund", language="en")
    assert ranked[0].template.key == "en/refund"


def test_user_dir_overrides_a_shipped_template(tmp_path: Path) -> None:
    (tmp_path / "ja").mkdir()
    (tmp_path / "ja" / "mine.txt.j2").write_text(
        '---\nname = "acknowledge"\ndescription = "ours"\nlanguage = "ja"\n---\nx\n', "utf-8"
    )
    templates = load_templates([data_dir("templates"), tmp_path])
    assert find_template(templates, "ja/acknowledge", None).description == "ours"


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("山田 太郎", "山田"),
        ("山田\u3000太郎", "山田"),
        ("山田太郎", "山田太郎"),
        ("Taro Yamada", "Taro Yamada"),
        ("", ""),
    ],
)
def test_family_name(name: str, family: str) -> None:
    assert filters.family_name(name) == family


def test_filters() -> None:
    d = datetime.fromisoformat("2026-11-20T09:05:00+09:00")
    assert filters.date_ja(d) == "2026年11月20日(金)"
    assert filters.date_ja(d, True) == "2026年11月20日(金) 09:05"
    assert filters.date_en(d) == "Friday, 20 November 2026"
    assert filters.strip_reply_prefix("Re: RE: 返信: Fwd: 件名") == "件名"
    assert filters.quote("a\n> b\n") == "> a\n>> b"
    assert filters.honorific({"name": "山田 太郎"}) == "山田 太郎 様"
    assert filters.honorific({}, "en") == "there"
