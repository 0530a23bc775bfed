"""Injection into every field that reaches the screen, asserted on what the TUI renders.

Session 1 covered the subject in the list and the body and sender in the reader
(tests/tui/test_app.py). Here one hostile string goes into every other field at once (the
customer's name, recipients, attachment filenames, tags, the assignee, another agent's name
and note text, a template's name and title), and every screen that shows them is rendered
cell by cell: no escape sequence, NUL or bidi override reaches the terminal, and Rich or
Textual markup (including [@click=...] actions) is shown as the characters it is.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from mailtriage.store import Store, listing
from mailtriage.tui.main_screen import MainScreen
from mailtriage.tui.reader import ReaderScreen

MARKUP = "[@click=app.quit]Q[/] [b]B[/b]"
HOSTILE = (
    MARKUP + " \x1b]8;;https://evil.example/\x07L\x1b]8;;\x07 \x1b[31mR\x1b[0m"
    " \x1b]52;c;ZXZpbA==\x07 \u202eT\u202c \x00N \x9b2J"
)
FORBIDDEN = ["\x1b", "\x07", "\x00", "\u202e", "\u202c", "\x9b", "ZXZpbA=="]


def screen_text(app) -> str:  # type: ignore[no-untyped-def]
    """What the terminal would get: every cell of the composed screen, as text."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


def assert_inert(text: str, *expected: str) -> None:
    for bad in FORBIDDEN:
        assert bad not in text, (bad, text)
    for literal in expected:
        assert literal in text, (literal, text)


def _poison(config) -> str:  # type: ignore[no-untyped-def]
    """Put HOSTILE into every displayed field of the first Unhandled conversation."""
    store = Store(config.accounts["demo"].cache_path)
    try:
        key = listing.view_keys(store.conn, "unhandled", agent="alice")[0]
        people = json.dumps([{"name": HOSTILE, "email": "mallory@example.jp"}])
        attachment = json.dumps(
            [
                {
                    "filename": HOSTILE + ".pdf",
                    "content_type": "application/pdf",
                    "size": 10,
                    "inline": False,
                    "part": 2,
                }
            ]
        )
        flags = json.dumps(["mt:tag/[b]tag[/b]", "mt:assignee/[@click=app.quit]x"])
        with store.atomic():
            store.conn.execute(
                "UPDATE messages SET from_name=?, counterpart_name=?, to_json=?, cc_json=?,"
                " attachments=?, flags=? WHERE conversation=?",
                (HOSTILE, HOSTILE, people, people, attachment, flags, key),
            )
            store.conn.execute(
                "INSERT INTO app_events (uidvalidity, uid, event_id, conversation, kind, agent,"
                " ts, text) VALUES (1, 999999, '<hostile@x>', ?, 'noted', ?, 1.0e9, ?)",
                (key, HOSTILE, HOSTILE),
            )
            store.refresh_conversations({key})
    finally:
        store.close()
    return key


async def test_every_displayed_field_is_inert(build_app, tui_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    key = _poison(tui_config)
    templates = tmp_path / "templates" / "ja"
    templates.mkdir(parents=True)
    (templates / "hostile.txt.j2").write_text(
        '---\nname = "hostile"\ndescription = "' + MARKUP + ' \\u001b[2J\\u202eX"\n'
        'language = "ja"\nsubject = "Re: {{ conversation.subject }}"\n---\n本文\n',
        encoding="utf-8",
    )
    (templates / "broken.txt.j2").write_text('---\nname = "broken"\n', encoding="utf-8")
    compose = dataclasses.replace(tui_config.compose, template_dirs=(tmp_path / "templates",))
    app = build_app(config=dataclasses.replace(tui_config, compose=compose))
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert_inert(screen_text(app), "[@click=app.quit]Q[")  # the list cuts it at "…"

        await pilot.press("enter")
        await pilot.pause()
        reader = app.screen
        assert isinstance(reader, ReaderScreen) and reader.key == key
        text = screen_text(app)
        assert_inert(text, "[@click=app.quit]Q[/]", "[b]B[/b]", "#[b]tag[/b]")
        assert "[@click=app.quit]x" in text  # the assignee, from a keyword

        # the note sits in the timeline: scroll through the whole thread
        for _ in range(10):
            await pilot.press("pagedown")
        await pilot.pause()
        assert_inert(screen_text(app))

        await pilot.press("o")  # the attachment picker
        await pilot.pause()
        assert_inert(screen_text(app), "[@click=app.quit]Q[/]")
        await pilot.press("escape")
        await pilot.pause()

        # A broken template (found here: it crashed the app) is one line, not a traceback.
        await pilot.press("r")
        await pilot.pause()
        assert app.is_running
        (notice,) = [n.message for n in app._notifications if "broken.txt.j2" in n.message]
        assert "front matter is not closed" in notice and "\n" not in notice
        (templates / "broken.txt.j2").unlink()  # the fault clears

        await pilot.press("r")  # the template picker lists the hostile description
        await pilot.pause()
        await pilot.press(*"hostile")
        await pilot.pause(0.3)
        assert_inert(screen_text(app), "[@click=app.quit]Q[/]")
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running  # no [@click=app.quit] ever fired
