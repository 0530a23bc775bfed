"""Pilot tests: every key on the main screen and the reader, asserting on state."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from textual import events

from mailtriage.store import Store, listing
from mailtriage.tui.conversation_list import ConversationList
from mailtriage.tui.help_screen import HelpScreen
from mailtriage.tui.main_screen import MainScreen
from mailtriage.tui.reader import ReaderScreen
from mailtriage.tui.rows import sla_text
from support.cache import FIXED_NOW


def conversations(app) -> ConversationList:  # type: ignore[no-untyped-def]
    return app.main.query_one(ConversationList)


async def test_starts_on_unhandled_oldest_waiting_first(build_app, tui_config) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        listing_ = conversations(app)
        store = Store(tui_config.accounts["demo"].cache_path, readonly=True)
        expected = listing.view_keys(store.conn, "unhandled", agent="alice", sort="oldest")
        assert listing_.keys == expected and len(expected) > 10
        rows = [listing_.row(i) for i in range(3)]
        assert [r["last_ts"] for r in rows] == sorted(r["last_ts"] for r in rows)
        counts = listing.view_counts(store.conn, agent="alice")
        assert {k: app.counts[k] for k in counts} == counts
        assert listing_.has_focus


async def test_cursor_keys(build_app) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        listing_ = conversations(app)
        await pilot.press("j", "j", "down")
        assert listing_.cursor == 3
        await pilot.press("k", "up")
        assert listing_.cursor == 1
        await pilot.press("G")
        assert listing_.cursor == len(listing_.keys) - 1
        await pilot.press("g")
        assert listing_.cursor == 0
        await pilot.press("pagedown")
        assert listing_.cursor > 10
        await pilot.press("k")
        await pilot.press("pageup")
        assert listing_.cursor == 0


async def test_open_reader_and_back_keeps_cursor(build_app) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        listing_ = conversations(app)
        await pilot.press("j", "j")
        key = listing_.current_key
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen) and app.screen.key == key
        assert app.screen.conversation is not None
        assert app.screen.conversation["key"] == key
        await pilot.press("H", "Z", "h")
        assert app.screen.show_headers and app.screen.show_quotes
        await pilot.press("q")
        assert isinstance(app.screen, MainScreen)
        assert listing_.current_key == key


async def test_views_by_number_and_brackets(build_app) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("2")
        assert app.view == "in-progress"
        await app.list_settled()  # the rows are read on a worker thread
        statuses = {
            conversations(app).row(i)["status"] for i in range(len(conversations(app).keys))
        }
        assert statuses == {"in-progress"}
        await pilot.press("right_square_bracket")
        assert app.view == "done"
        await pilot.press("left_square_bracket", "left_square_bracket", "left_square_bracket")
        assert app.view == "escalated"  # wrapped around: unhandled is first, escalated last
        await pilot.press("8")
        assert app.view == "all"
        await app.list_settled()
        assert len(conversations(app).keys) == app.counts["all"]
        await pilot.press("4")
        await app.list_settled()
        rows = [conversations(app).row(i) for i in range(len(conversations(app).keys))]
        assert rows and all(r["assignee"] == "alice" and r["status"] != "done" for r in rows)


async def test_search_japanese_then_escape(build_app) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("slash")
        for ch in "請求":
            await pilot.press(ch)
        await pilot.press("enter")
        await app.list_settled()
        keys = conversations(app).keys
        assert keys and app.search_query == "請求"
        store = app.store
        assert keys == [c["key"] for c in store.search("請求")]
        assert conversations(app).has_focus
        await pilot.press("escape")
        assert app.search_query is None and app.view == "unhandled"


async def test_select_and_sort(build_app) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        listing_ = conversations(app)
        first = listing_.keys[0]
        await pilot.press("x")
        assert listing_.selected == {first} and listing_.cursor == 1
        await pilot.press("S")
        assert app.sort == "newest"
        await app.list_settled()
        rows = [listing_.row(i) for i in range(5)]
        assert [r["last_ts"] for r in rows] == sorted((r["last_ts"] for r in rows), reverse=True)
        assert listing_.selected == {first}  # selection survives a re-sort


async def test_help_lists_live_bindings_with_ids(build_app) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = {binding_id: keys for keys, _, binding_id in app.screen.rows}
        assert set(rows["list.down"].split(", ")) == {"j", "↓"}
        for binding_id in ("list.open", "list.search", "view.unhandled", "app.quit", "app.help"):
            assert binding_id in rows
        assert all(does for _, does, _ in app.screen.rows)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_keymap_from_config_remaps_by_id(build_app, tui_config) -> None:  # type: ignore[no-untyped-def]
    ui = dataclasses.replace(tui_config.ui, keymap={"list.down": "n"})
    app = build_app(config=dataclasses.replace(tui_config, ui=ui))
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("n", "n")
        assert conversations(app).cursor == 2
        await pilot.press("j")
        assert conversations(app).cursor == 2  # j no longer moves: it was remapped


async def test_broken_user_theme_falls_back_with_notice(
    build_app, tui_config, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "mine"\nprimary = "not-a-colour"\n')
    ui = dataclasses.replace(tui_config.ui, theme_file=bad)
    app = build_app(config=dataclasses.replace(tui_config, ui=ui))
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        assert app.theme == "mailtriage-dark"
        notes = [n.message for n in app._notifications]
        assert any("not a colour" in n for n in notes)


async def test_narrow_layout_folds_sidebar(build_app) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not app.main.query_one("#sidebar").display
        assert app.main.query_one("#viewbar").display
        listing_ = conversations(app)
        width = listing_.scrollable_content_region.width
        assert sum(c.width for c in listing_.columns) + len(listing_.columns) - 1 == width
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        assert app.main.query_one("#sidebar").display
        assert not app.main.query_one("#viewbar").display


async def test_narrow_view_bar_always_shows_the_current_view(build_app) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        from rich.cells import cell_len

        bar = app.main.query_one("#viewbar")
        first = str(bar.render())
        assert first.startswith("1未対応") and cell_len(first.rstrip()) > 80  # cut at the end
        await pilot.press("E")  # the Escalated view, the last one
        await app.list_settled()  # the bar changes with the rows, not before them
        await pilot.pause()
        shown = str(bar.render())
        assert app.view == "escalated"
        assert shown.startswith("…") and "Eエス" in shown
        assert cell_len(shown.rstrip()) <= 80  # so the current view is on screen
        await pilot.press("1")
        await app.list_settled()
        await pilot.pause()
        assert str(bar.render()).startswith("1未対応")


async def test_changes_by_another_connection_appear_and_cursor_stays(build_app, tui_config) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        listing_ = conversations(app)
        await pilot.press("j", "j", "j")
        key = listing_.current_key
        before = len(listing_.keys)
        writer = Store(tui_config.accounts["demo"].cache_path)
        uid = writer.conn.execute("SELECT MAX(uid) FROM messages").fetchone()[0]
        # another agent marks the first conversation in-progress (a keyword change)
        first = listing_.keys[0]
        row = writer.conn.execute(
            "SELECT uid, flags FROM messages WHERE conversation=? AND mailbox='INBOX'", (first,)
        ).fetchone()
        flags = [*json.loads(row[1]), "mt:status/in-progress", "mt:assignee/bob"]
        with writer.atomic():
            writer.update_flags("INBOX", 1, {row[0]: (flags, None)})
        writer.close()
        del uid
        await pilot.pause(0.6)  # two change polls
        await app.list_settled()  # the reload they started, read on a worker thread
        assert len(listing_.keys) == before - 1
        assert first not in listing_.keys
        assert listing_.current_key == key


async def test_hostile_subject_is_shown_literally(build_app, tui_config) -> None:  # type: ignore[no-untyped-def]
    writer = Store(tui_config.accounts["demo"].cache_path)
    first = listing.view_keys(writer.conn, "unhandled", agent="alice")[0]
    writer.conn.execute(
        "UPDATE conversations SET subject=? WHERE key=?",
        ("[bold red]pwned[/] \x1b]52;c;ZXZpbA==\x07\x1b[2J\u202etxt.exe", first),
    )
    writer.close()
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        strip = conversations(app).render_line(0)
        text = "".join(segment.text for segment in strip)
        assert "[bold red]pwned[/]" in text
        assert "\x1b" not in text and "\u202e" not in text and "ZXZpbA" not in text


async def test_clock_makes_ages_stable(build_app) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(120, 35)):
        assert app.clock == FIXED_NOW.timestamp()
        assert conversations(app).now == FIXED_NOW.timestamp()


async def test_save_attachment_from_reader(build_app, tui_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    downloads = tmp_path / "dl"
    ui = dataclasses.replace(tui_config.ui, download_dir=downloads)
    app = build_app(config=dataclasses.replace(tui_config, ui=ui))
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("8")
        listing_ = conversations(app)
        index = next(i for i in range(len(listing_.keys)) if listing_.row(i)["has_attachments"])
        listing_.cursor = index
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        saved = list(downloads.iterdir())
        assert len(saved) == 1 and saved[0].stat().st_size > 0
        assert any(f"Saved {saved[0]}" in n.message for n in app._notifications)


async def test_command_palette_runs_bindings_by_name(build_app) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("colon")
        await pilot.pause()
        for ch in "In progress":
            await pilot.press(ch if ch != " " else "space")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert app.view == "in-progress"


async def test_hostile_message_body_in_reader_is_literal(build_app, tui_config) -> None:  # type: ignore[no-untyped-def]
    writer = Store(tui_config.accounts["demo"].cache_path)
    key = listing.view_keys(writer.conn, "unhandled", agent="alice")[0]
    hostile = (
        "[link=https://evil.example]click[/link] \x1b]8;;https://evil\x07x\x1b]8;;\x07 \x1b[31mred"
    )
    writer.conn.execute(
        "UPDATE messages SET text=?, from_name=? WHERE conversation=?",
        (hostile + "\n本文", "[b]Mallory[/b]\u202e", key),
    )
    writer.close()
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        reader = app.screen
        assert isinstance(reader, ReaderScreen) and reader.key == key
        rendered = "".join(
            segment.text
            for view in reader.query("MessageView")
            for line in view.render_lines(view.region.reset_offset)  # type: ignore[attr-defined]
            for segment in line
        )
        assert "[link=https://evil.example]click[/link]" in rendered
        assert "[b]Mallory[/b]" in rendered and "本文" in rendered
        assert "\x1b" not in rendered and "\u202e" not in rendered and "\x07" not in rendered


async def test_saved_searches_in_sidebar_and_palette(build_app, tui_config) -> None:  # type: ignore[no-untyped-def]
    ui = dataclasses.replace(tui_config.ui, saved_searches={"請求": "請求書", "Refunds": "refund"})
    app = build_app(config=dataclasses.replace(tui_config, ui=ui))
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        sidebar = app.main.query_one("#sidebar")
        assert "/ 請求" in str(sidebar.render())
        # click the first saved search: 11 views, a blank line, the title, then the entries
        await pilot.click("#sidebar", offset=(2, 13))
        await app.list_settled()
        assert app.search_query == "請求書"
        assert conversations(app).keys == [c["key"] for c in app.store.search("請求書")]
        await pilot.press("escape", "colon")
        await pilot.pause()
        for ch in "Refunds":
            await pilot.press(ch)
        await pilot.pause(0.5)
        await pilot.press("enter")
        await app.list_settled()
        await pilot.pause()
        assert app.search_query == "refund"
        assert "Refunds" in str(sidebar.render())


async def test_sla_views_and_column(build_app) -> None:  # type: ignore[no-untyped-def]
    app = build_app(sla_start_delay=0.5)
    async with app.run_test(size=(120, 35)) as pilot:
        for _ in range(60):  # the first count starts 2 s after the app is interactive
            if app.counts.get("overdue"):
                break
            await pilot.pause(0.1)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.counts["overdue"] > 0

        status = str(app.main.query_one("#status").render())
        assert f"{app.counts['overdue']} overdue" in status
        await pilot.press("9")
        await app.list_settled()
        listing_ = conversations(app)
        rows = [listing_.row(i) for i in range(len(listing_.keys))]
        assert len(rows) == app.counts["overdue"]
        assert all(r["sla"].state == "overdue" for r in rows)
        remaining = [r["sla"].remaining_seconds for r in rows]
        assert remaining == sorted(remaining)  # most overdue first
        text = "".join(seg.text for seg in listing_.render_line(0))
        shown = sla_text(rows[0]["sla"])
        assert shown.startswith("-") and f" {shown} " in text
        await pilot.press("0")
        await app.list_settled()
        rows = [listing_.row(i) for i in range(len(listing_.keys))]
        assert all(r["sla"].state == "due-soon" for r in rows)


async def test_sla_views_are_counted_off_the_ui_thread(build_app) -> None:  # type: ignore[no-untyped-def]
    from mailtriage.sla import overdue_keys

    app = build_app()
    app.sla_start_delay = 3600.0  # no background count: opening the view must ask for one
    async with app.run_test(size=(120, 35)) as pilot:
        listing_ = conversations(app)
        await pilot.press("9")
        for _ in range(50):
            await app.workers.wait_for_complete()
            await pilot.pause(0.05)
            if listing_.keys:
                break
        expected = overdue_keys(app.store.conn, now=app.clock, policy=app.config.sla)
        assert expected and listing_.keys == expected
        assert app.counts["overdue"] == len(expected)


async def test_keys_typed_after_quit_do_nothing(build_app) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.pause()
        # a burst over SSH: q, then keys that open pickers and prompts
        for key in ("q", "s", "a", "k", "j", "t", "n", "r"):
            app.post_message(events.Key(key, key))
        await pilot.pause(0.3)
    assert app.return_code == 0


async def test_send_without_smtp_keeps_the_text(build_app) -> None:  # type: ignore[no-untyped-def]
    from mailtriage.tui.compose_screen import ComposeScreen

    app = build_app()  # the demo cache config has no [accounts.demo.smtp]
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        compose = app.screen
        assert isinstance(compose, ComposeScreen)
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is compose  # still editing
        assert any(
            "no SMTP server" in n.message and "text is kept" in n.message
            for n in app._notifications
        )
        assert app._outbox is None or app._outbox.pending() == []


async def test_markup_in_notices_and_pickers_is_shown_literally(build_app, tui_config) -> None:  # type: ignore[no-untyped-def]
    from mailtriage.tui.pickers import Picker

    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        app.notify("subject [/] and [@click=app.quit]x[/] and [b]")
        await app.push_screen(Picker("[/]title", [("a", "[@click=app.quit]evil[/]"), ("b", "[/]")]))
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, Picker)
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running


SURVIVOR = "f" * 40


async def test_reader_follows_a_merge_and_says_when_gone(build_app, tui_config) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        reader = app.screen
        assert isinstance(reader, ReaderScreen)
        old = reader.key
        first_id = reader.conversation["messages"][0]["message_id"]
        # another writer merges this conversation into a new key (as a bridging reply would)
        writer = Store(tui_config.accounts["demo"].cache_path)
        with writer.atomic():
            writer.conn.execute(
                "UPDATE messages SET conversation=? WHERE conversation=?",
                (SURVIVOR, old),
            )
            writer.conn.execute(
                "UPDATE thread_ids SET conversation=? WHERE conversation=?",
                (SURVIVOR, old),
            )
            writer.refresh_conversations({old, SURVIVOR})
        await pilot.pause(0.6)
        assert reader.key == SURVIVOR and reader.conversation is not None
        assert reader.conversation["messages"][0]["message_id"] == first_id
        with writer.atomic():
            uids = [
                r[0]
                for r in writer.conn.execute(
                    "SELECT uid FROM messages WHERE conversation=? AND mailbox='INBOX'",
                    (SURVIVOR,),
                )
            ]
            writer.delete_uids("INBOX", 1, uids)
            writer.conn.execute("DELETE FROM messages WHERE conversation=?", (SURVIVOR,))
            writer.refresh_conversations({SURVIVOR})
        writer.close()
        await pilot.pause(0.6)
        assert reader.conversation is None
        await pilot.press("c")
        await pilot.pause()
        assert any("no longer exists" in n.message for n in app._notifications)


async def test_palette_runs_the_focused_widgets_bindings(build_app) -> None:  # type: ignore[no-untyped-def]
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        key = conversations(app).current_key
        await pilot.press("colon")
        await pilot.pause()
        for ch in "Open":
            await pilot.press(ch)
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, ReaderScreen) and app.screen.key == key


async def test_a_stream_of_changes_is_shown_once_a_second(build_app, tui_config) -> None:  # type: ignore[no-untyped-def]
    """A lone change shows at the next poll; a stream (new mail at 10/s) at most once per
    STREAM_GAP, so keys are not queued behind a reload and repaint every 0.25 s."""
    import asyncio
    import sqlite3
    import time

    from mailtriage.tui import app as app_module

    app = build_app()
    reloads: list[float] = []
    async with app.run_test(size=(120, 35)) as pilot:
        original = app.reload

        def counting(**kwargs: bool) -> None:
            reloads.append(time.monotonic())
            original(**kwargs)

        app.reload = counting  # type: ignore[method-assign]
        cache = tui_config.accounts["demo"].cache_path
        writer = sqlite3.connect(cache)

        def commit() -> None:
            with writer:
                writer.execute("CREATE TABLE IF NOT EXISTS t_stream (x)")
                writer.execute("INSERT INTO t_stream VALUES (1)")

        commit()  # a lone change: at the next poll
        started = time.monotonic()
        while not reloads:
            await pilot.pause(0.05)
        assert reloads[0] - started < app_module.CHANGE_POLL + 0.5
        await pilot.pause(1.5)  # quiet again
        reloads.clear()
        started = time.monotonic()
        while time.monotonic() - started < 3.0:  # a commit every 0.1 s for 3 s
            commit()
            await asyncio.sleep(0.1)
        writer.close()
        await pilot.pause(app_module.STREAM_GAP + 2 * app_module.CHANGE_POLL)
        shown = app._data_version == listing.data_version(app.store.conn)
    # Three before the stream is recognised, then one a second: 5 measured; 13 (one per
    # poll) without the gap.
    assert len(reloads) <= 7, reloads
    assert shown  # the stream's last change is on screen


async def test_the_reader_footer_is_built_once_per_open_and_follows_key_changes(
    build_app, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """Textual's Footer rebuilt its keys at each of the four bindings signals an open sends
    (most of an open's cost); KeyFooter builds them once and again only when they change."""
    from textual.widgets._footer import FooterKey

    from mailtriage.tui.footer import KeyFooter

    built: list[KeyFooter] = []
    original = KeyFooter.recompose

    async def recompose(self: KeyFooter) -> None:
        built.append(self)
        await original(self)

    monkeypatch.setattr(KeyFooter, "recompose", recompose)
    app = build_app()
    async with app.run_test(size=(120, 35)) as pilot:
        for _ in range(2):
            built.clear()
            await pilot.press("enter")
            await pilot.pause()
            await pilot.pause()
            assert isinstance(app.screen, ReaderScreen)
            footer = app.screen.query_one(KeyFooter)
            assert built == [footer]
            keys = [k.key for k in footer.query(FooterKey)]
            assert "H" in keys and "Z" in keys
            await pilot.press("q")
            await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        app.set_keymap({"reader.headers": "x"})  # a key change: shown at once
        await pilot.pause()
        await pilot.pause()
        keys = [k.key for k in app.screen.query_one(KeyFooter).query(FooterKey)]
        assert "x" in keys and "H" not in keys
