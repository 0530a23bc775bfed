"""App-folder items without a server: headers round-trip, mentions, presence by age."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtriage.imap.appfolder import event_message, parse_item, parse_mentions, presence_message
from mailtriage.store import Store
from mailtriage.store import events as ev
from mailtriage.triage.history import ago, event_line

KEY = "0123456789abcdef0123456789abcdef01234567"


def test_mentions_are_team_members_once_each_and_never_addresses() -> None:
    text = "@bob see this, @carol too; @bob again. mail x@alice.example, @zed"
    assert parse_mentions(text, ("alice", "bob", "carol")) == ["bob", "carol"]
    assert parse_mentions(text) == ["bob", "carol", "zed"]
    assert parse_mentions("（@bob）確認お願いします") == ["bob"]


def test_event_round_trips_through_its_headers_and_body() -> None:
    raw = event_message(
        "support@example.co.jp",
        "alice",
        KEY,
        "noted",
        1_800_000_000.25,
        details={"mentions": ["bob"]},
        text="お客様に電話済み\n\n@bob 確認を",
        mentions=["bob"],
    )
    assert b"X-Mailtriage-Event: noted" in raw and b"X-Mailtriage-Agent: alice" in raw
    item = parse_item(raw, 7, 42)
    assert isinstance(item, ev.EventRow)
    assert (item.kind, item.agent, item.conversation, item.ts) == (
        "noted",
        "alice",
        KEY,
        1_800_000_000.25,
    )
    assert item.text == "お客様に電話済み\n\n@bob 確認を"
    assert item.mentions == ("bob",)
    with pytest.raises(ValueError):
        event_message("s@example.jp", "alice", KEY, "exploded", 0.0)


def test_foreign_messages_in_the_folder_are_ignored() -> None:
    assert parse_item(b"Subject: hello\r\n\r\nhi\r\n", 1, 1) is None


def test_presence_is_the_newest_per_agent_and_expires_by_age(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.sqlite3")
    try:
        rows = [
            parse_item(presence_message("s@x.jp", "alice", KEY, "viewing", 100.0, 100.0), 1, 1),
            parse_item(presence_message("s@x.jp", "alice", KEY, "replying", 110.0, 130.0), 1, 2),
            parse_item(presence_message("s@x.jp", "bob", KEY, "viewing", 120.0, 120.0), 1, 3),
            parse_item(presence_message("s@x.jp", "carol", "", "", 90.0, 125.0), 1, 4),
        ]
        ev.insert_presence(store.conn, rows)  # type: ignore[arg-type]
        now = 140.0
        found = ev.presence(store.conn, KEY, exclude="bob", now=now)
        assert found == [ev.Presence("alice", "replying", 110.0)]
        assert [p.agent for p in ev.presence(store.conn, KEY, now=now)] == ["alice", "bob"]
        assert ev.presence(store.conn, KEY, exclude="bob", now=130.0 + ev.PRESENCE_TTL + 1) == []
        assert set(ev.presence_all(store.conn, now=now)) == {KEY}
    finally:
        store.close()


def test_timeline_lines() -> None:
    assert [ago(s) for s in (-1, 4.9, 125, 7200, 3 * 86400)] == [
        "0 s",
        "4 s",
        "2 min",
        "2 h",
        "3 d",
    ]
    event = {"kind": "assigned", "agent": "carol", "time": 100.0, "details": {"assignee": "bob"}}
    assert event_line(event, now=104.0) == "carol assigned this to bob 4 s ago"


def test_settings_report_whether_they_changed(tmp_path: Path) -> None:
    store = Store(tmp_path / "c.sqlite3")
    try:
        assert ev.set_setting(store.conn, "x", "1") is True
        assert ev.set_setting(store.conn, "x", "1") is False
        assert ev.get_setting(store.conn, "x") == "1"
    finally:
        store.close()
