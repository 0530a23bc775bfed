"""The KB in the app (Pilot, no server): ctrl+k in compose and K in the reader, suggestions
pre-filled from the conversation, insertion, and the internal-only rule at every door."""

from __future__ import annotations

import dataclasses
from typing import Any

from textual.widgets import Input, TextArea

from kb.helpers import until
from mailtriage.tui.app import MailtriageApp
from mailtriage.tui.compose_screen import ComposeScreen
from mailtriage.tui.kb_screen import KbChoice, KbScreen
from mailtriage.tui.pickers import Picker
from mailtriage.tui.reader import ReaderScreen

PASSWORD_SUBJECT = "パスワード再設定メールが届きません"
REFUND_SUBJECT = "【至急】二重請求の返金について"
STEP = "1. ログイン画面の「パスワードをお忘れの方」をクリックします。"


def key_of(app: MailtriageApp, subject: str) -> str:
    (row,) = [r for r in app.store.search(subject.split("】")[-1]) if r["subject"] == subject]
    return str(row["key"])


def record_kb_use(app: MailtriageApp) -> list[tuple[str, str, str]]:
    """What the app asked to log on the server (the real logging: test_kb_server.py)."""
    calls: list[tuple[str, str, str]] = []
    app.log_kb_use = lambda key, article, how: calls.append((key, article.ident, how))  # type: ignore[method-assign]
    return calls


async def app_ready(app: MailtriageApp, pilot: Any) -> None:
    """The list is mounted and filled (the first render is later on a loaded machine)."""

    def ready() -> bool:
        found = app.main.query("#conversations")
        return bool(found) and found.first().current_key is not None

    await until(pilot, ready)
    await pilot.pause()


async def open_reader(app: MailtriageApp, pilot: Any, subject: str) -> str:
    await app_ready(app, pilot)
    key = key_of(app, subject)
    app.open_conversation(key)
    await until(pilot, lambda: isinstance(app.screen, ReaderScreen) and app.screen.is_mounted)
    await pilot.pause()
    return key


async def open_compose(app: MailtriageApp, pilot: Any, subject: str) -> ComposeScreen:
    await open_reader(app, pilot, subject)
    await pilot.press("r")
    await until(pilot, lambda: isinstance(app.screen, Picker))
    await pilot.press("home", "enter")  # no template: the editor starts with the quote only
    await until(pilot, lambda: isinstance(app.screen, ComposeScreen))
    await pilot.pause()
    assert isinstance(app.screen, ComposeScreen)
    return app.screen


async def open_kb(app: MailtriageApp, pilot: Any, key: str) -> KbScreen:
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, KbScreen) and app.screen.is_mounted)
    await pilot.pause()
    assert isinstance(app.screen, KbScreen)
    return app.screen


async def test_ctrl_k_in_compose_suggests_and_inserts_an_excerpt(kb_app) -> None:  # type: ignore[no-untyped-def]
    app = kb_app()
    async with app.run_test(size=(120, 35)) as pilot:
        calls = record_kb_use(app)
        compose = await open_compose(app, pilot, PASSWORD_SUBJECT)
        before = compose.query_one(TextArea).text
        picker = await open_kb(app, pilot, "ctrl+k")
        assert {"再設定", "パスワード"} <= set(picker.query_one(Input).value.split())
        assert picker.heading == "Suggested for this conversation"
        assert picker.current is not None
        assert picker.current.article.ident == "ja/faq/password-reset"
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is compose)
        text = compose.query_one(TextArea).text
        assert text.startswith("【パスワードの再設定手順】\n") and STEP in text
        assert text.endswith(before)  # inserted at the cursor, nothing lost
        assert calls == [(compose.message.conversation_key, "ja/faq/password-reset", "excerpt")]


async def test_link_insertion_and_typed_search(kb_app) -> None:  # type: ignore[no-untyped-def]
    app = kb_app()
    async with app.run_test(size=(120, 35)) as pilot:
        calls = record_kb_use(app)
        compose = await open_compose(app, pilot, PASSWORD_SUBJECT)
        picker = await open_kb(app, pilot, "ctrl+k")
        picker.query_one(Input).value = "rate limit"
        await until(pilot, lambda: picker.heading == "Matching every word")
        assert picker.heading == "Matching every word"
        assert [h.article.ident for h in picker.hits] == ["en/troubleshooting/api-rate-limit"]
        await pilot.press("ctrl+l")
        await until(pilot, lambda: app.screen is compose)
        assert compose.query_one(TextArea).text.startswith(
            "API returns 429 Too Many Requests (rate limits)\n"
            "https://developers.minato-drive.example.jp/rate-limits\n"
        )
        assert [c[1:] for c in calls] == [("en/troubleshooting/api-rate-limit", "link")]


async def test_internal_only_article_is_never_inserted(kb_app) -> None:  # type: ignore[no-untyped-def]
    app = kb_app()
    async with app.run_test(size=(120, 35)) as pilot:
        calls = record_kb_use(app)
        compose = await open_compose(app, pilot, REFUND_SUBJECT)
        before = compose.query_one(TextArea).text
        picker = await open_kb(app, pilot, "ctrl+k")
        shown = [h.article.ident for h in picker.hits]
        assert "internal/refund-approval" in shown  # listed and readable, marked internal
        picker.options.highlighted = shown.index("internal/refund-approval")
        await pilot.pause()
        for key in ("enter", "ctrl+l"):
            seen = len(app._notifications)
            await pilot.press(key)
            await until(pilot, lambda: len(app._notifications) > seen)  # noqa: B023
            assert app.screen is picker  # refused: the picker stays open and says why
        assert any("internal-only" in n.message for n in app._notifications)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is compose)
        # The compose path enforces it itself, whoever asks (not only the picker).
        assert compose.insert_kb(KbChoice("internal/refund-approval", "excerpt")) is False
        assert compose.insert_kb(KbChoice("internal/refund-approval", "link")) is False
        assert compose.query_one(TextArea).text == before
        assert calls == []


async def test_send_holds_a_reply_with_pasted_internal_text(kb_app) -> None:  # type: ignore[no-untyped-def]
    app = kb_app()
    async with app.run_test(size=(120, 35)) as pilot:
        compose = await open_compose(app, pilot, REFUND_SUBJECT)
        compose.query_one(TextArea).load_text(
            "お客様\n\n10,000円以上、または年間契約の途中解約:"
            " スーパーバイザー（carol）の承認が必要。\n"
        )
        for key in ("ctrl+s", "ctrl+r"):
            seen = len(app._notifications)
            await pilot.press(key)
            await until(pilot, lambda: len(app._notifications) > seen)  # noqa: B023
            assert app.screen is compose  # not handed to the outbox or to review
        assert app._outbox is None
        held = [n.message for n in app._notifications if n.message.startswith("Not sent")]
        assert held and "internal/refund-approval" in held[0]


async def test_K_in_the_reader_starts_a_reply_with_the_article(kb_app) -> None:  # type: ignore[no-untyped-def]
    app = kb_app()
    async with app.run_test(size=(120, 35)) as pilot:
        calls = record_kb_use(app)
        key = await open_reader(app, pilot, PASSWORD_SUBJECT)
        await open_kb(app, pilot, "K")
        await pilot.press("enter")
        # the usual template choice comes first
        await until(pilot, lambda: isinstance(app.screen, Picker))
        await pilot.press("home", "enter")
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen))
        await until(pilot, lambda: bool(calls))
        compose = app.screen
        assert isinstance(compose, ComposeScreen)
        assert STEP in compose.query_one(TextArea).text
        assert calls == [(key, "ja/faq/password-reset", "excerpt")]
        assert app.kb_pending is None


async def test_without_a_kb_the_key_says_how_to_configure_it(kb_app, kb_config) -> None:  # type: ignore[no-untyped-def]
    app = kb_app(config=dataclasses.replace(kb_config, kb=None))
    async with app.run_test(size=(120, 35)) as pilot:
        await app_ready(app, pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ReaderScreen) and app.screen.is_mounted)
        await pilot.pause()
        await pilot.press("K")
        await until(pilot, lambda: any("add [kb] path" in n.message for n in app._notifications))
        assert isinstance(app.screen, ReaderScreen)
        assert any("add [kb] path" in n.message for n in app._notifications)
