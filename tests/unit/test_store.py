"""The SQLite cache with real SQLite: threading, merges, FTS, migrations, permissions."""

from __future__ import annotations

import dataclasses
import itertools
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlite_utils import Database

from mailtriage.store import CacheError, MessageRow, Store
from mailtriage.store.schema import migrations
from mailtriage.store.version import SCHEMA_VERSION
from mailtriage.triage.threads import conversation_key, normalize_subject, short_id

_uid = itertools.count(1)


def row(
    message_id: str | None,
    *,
    subject: str = "ログインできません",
    refs: list[str] | None = None,
    irt: list[str] | None = None,
    ts: float = 1_000.0,
    inbound: bool = True,
    customer: str = "taro@example.jp",
    flags: list[str] | None = None,
    text: str = "お世話になっております。",
    mailbox: str = "INBOX",
) -> MessageRow:
    return MessageRow(
        mailbox=mailbox,
        uidvalidity=1,
        uid=next(_uid),
        message_id=message_id,
        in_reply_to=irt or [],
        references=refs or [],
        subject=subject,
        norm_subject=normalize_subject(subject),
        from_name="山田 太郎" if inbound else "Support",
        from_email=customer if inbound else "support@example.co.jp",
        to=[],
        cc=[],
        date="2026-11-20T09:00:00+09:00",
        ts=ts,
        flags=flags or [],
        size=100,
        inbound=inbound,
        counterpart_name="山田 太郎",
        counterpart_email=customer,
        text=text,
        text_from_html=False,
        attachments=[],
        warnings=[],
        raw=b"raw",
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "cache" / "a.sqlite3")


def test_cache_file_is_private_and_versioned(tmp_path: Path, store: Store) -> None:
    mode = stat.S_IMODE(store.path.stat().st_mode)
    assert mode == 0o600
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    names = [r[0] for r in store.conn.execute("SELECT name FROM _sqlite_migrations")]
    assert names == [
        "0001_initial",
        "0002_body_fetched",
        "0003_app_folder",
        "0004_search_short_terms",
        "0005_search_hit_ts",
    ]
    store.close()
    # reopening applies nothing twice
    again = Store(store.path)
    assert [r[0] for r in again.conn.execute("SELECT name FROM _sqlite_migrations")] == names


def test_schema_version_matches_migrations() -> None:
    assert len(migrations.pending(Database(memory=True))) == SCHEMA_VERSION


def test_newer_cache_is_refused_with_advice(tmp_path: Path, store: Store) -> None:
    store.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    store.close()
    with pytest.raises(CacheError, match="newer mailtriage"):
        Store(store.path)


def test_failed_batch_leaves_nothing_behind(store: Store) -> None:
    with pytest.raises(RuntimeError), store.atomic():
        store.insert_messages([row("<a@x>")])
        raise RuntimeError("connection dropped mid-batch")
    assert store.stats() == {"messages": 0, "conversations": 0}
    assert store.conn.execute("SELECT COUNT(*) FROM messages_fts").fetchone()[0] == 0


def test_corrupt_cache_gets_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "bad.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheError, match="disposable: delete it"):
        Store(path)


def test_readonly_open_of_missing_cache(tmp_path: Path) -> None:
    with pytest.raises(CacheError, match="mailtriage sync"):
        Store(tmp_path / "none.sqlite3", readonly=True)


def test_reply_joins_parent_and_id_derives_from_root(store: Store) -> None:
    with store.atomic():
        store.insert_messages([row("<a@x>", ts=1)])
        store.insert_messages([row("<b@x>", refs=["<a@x>"], irt=["<a@x>"], ts=2, inbound=False)])
        store.insert_messages([row("<c@x>", refs=["<a@x>", "<b@x>"], ts=3)])
    (conv,) = store.list_conversations("all")
    assert conv["message_count"] == 3
    assert conv["id"] == short_id(conversation_key("<a@x>"))
    assert conv["customer"] == {"name": "山田 太郎", "email": "taro@example.jp"}


def test_reply_before_parent_still_one_conversation(store: Store) -> None:
    with store.atomic():
        store.insert_messages([row("<b@x>", refs=["<a@x>"], ts=2, inbound=False)])
        store.insert_messages([row("<a@x>", ts=1)])
    (conv,) = store.list_conversations("all")
    assert conv["message_count"] == 2
    assert conv["id"] == short_id(conversation_key("<a@x>"))


def test_message_bridging_two_conversations_merges_them(store: Store) -> None:
    with store.atomic():
        store.insert_messages([row("<a@x>", ts=1), row("<z@x>", subject="other", ts=5)])
        assert store.stats()["conversations"] == 2
        # truncated References: the bridge names both
        store.insert_messages([row("<m@x>", refs=["<a@x>", "<z@x>"], irt=["<z@x>"], ts=9)])
    (conv,) = store.list_conversations("all")
    assert conv["message_count"] == 3
    assert conv["id"] == short_id(conversation_key("<a@x>"))


def test_subject_fallback_only_for_same_customer(store: Store) -> None:
    with store.atomic():
        store.insert_messages([row("<a@x>", subject="お問い合わせ", ts=1)])
        store.insert_messages([row("<b@x>", subject="Re: お問い合わせ", ts=2)])
        store.insert_messages(
            [row("<c@x>", subject="お問い合わせ", ts=3, customer="hanako@example.jp")]
        )
    counts = sorted(c["message_count"] for c in store.list_conversations("all"))
    assert counts == [1, 2]


def test_views_flags_and_expunge(store: Store) -> None:
    with store.atomic():
        store.insert_messages(
            [row("<a@x>", ts=1), row("<b@x>", subject="urgent one", ts=2, flags=["mt:prio/urgent"])]
        )
    assert store.count_conversations("unhandled") == 2
    assert [c["subject"] for c in store.list_conversations("urgent")] == ["urgent one"]
    uid_a = store.conn.execute("SELECT uid FROM messages WHERE message_id='<a@x>'").fetchone()[0]
    with store.atomic():
        changed = store.update_flags(
            "INBOX", 1, {uid_a: (["\\Seen", "mt:assignee/alice", "mt:status/in-progress"], 7)}
        )
    assert changed == 1
    mine = store.list_conversations("mine", agent="alice")
    assert [(c["status"], c["assignee"], c["unread"]) for c in mine] == [
        ("in-progress", "alice", 0)
    ]
    assert store.count_conversations("unhandled") == 1
    with store.atomic():
        store.delete_uids("INBOX", 1, [uid_a])
    assert store.count_conversations("all") == 1
    assert store.resolve_id(mine[0]["id"]) == []


def test_japanese_and_english_search(store: Store) -> None:
    with store.atomic():
        store.insert_messages(
            [
                row(
                    "<a@x>", subject="請求書の再発行について", text="株式会社ミナトの佐藤です", ts=1
                ),
                row(
                    "<b@x>",
                    subject="Invoice question",
                    text="Please resend the PDF",
                    ts=2,
                    customer="bob@example.com",
                ),
            ]
        )
    assert [c["subject"] for c in store.search("再発行")] == ["請求書の再発行について"]
    assert [c["subject"] for c in store.search("ミナト")] == ["請求書の再発行について"]
    assert [c["subject"] for c in store.search("resend pdf")] == ["Invoice question"]
    assert [c["subject"] for c in store.search("佐藤")] == ["請求書の再発行について"]  # 2 chars
    assert store.search("存在しない言葉") == []
    assert store.search('"; DROP TABLE messages; --') == []


def test_resolve_id_prefix_rules(store: Store) -> None:
    with store.atomic():
        store.insert_messages([row("<a@x>")])
    (conv,) = store.list_conversations("all")
    assert store.resolve_id(conv["id"].lower()) == [conv["key"]]
    assert store.resolve_id(conv["id"][:4]) == [conv["key"]]
    assert store.resolve_id(conv["id"][:3]) == []  # too short to be safe


def test_uidvalidity_drop_forgets_mailbox(store: Store) -> None:
    with store.atomic():
        store.insert_messages(
            [row("<a@x>"), row("<s@x>", mailbox="Sent", inbound=False, refs=["<a@x>"])]
        )
        dropped = store.drop_mailbox("Sent")
    assert dropped == 1
    (conv,) = store.list_conversations("all")
    assert conv["message_count"] == 1


def test_events_follow_a_merged_conversation(store: Store) -> None:
    from mailtriage.store import events
    from mailtriage.triage.threads import conversation_key

    with store.atomic():
        store.insert_messages([row("<a@x>", ts=1), row("<z@x>", subject="other", ts=5)])
    loser = conversation_key("<z@x>")
    store.conn.execute(
        "INSERT INTO app_events (uidvalidity, uid, event_id, conversation, kind, agent, ts,"
        " text) VALUES (1, 1, '<ev1@x>', ?, 'noted', 'bob', 6, 'logged before the merge')",
        (loser,),
    )
    with store.atomic():
        store.insert_messages([row("<m@x>", refs=["<a@x>", "<z@x>"], ts=9)])
    (conv,) = store.list_conversations("all")
    assert conv["key"] != loser
    assert [e["text"] for e in events.timeline(store.conn, conv["key"])] == [
        "logged before the merge"
    ]


_IDS = [f"<{c}@x>" for c in "abcdef"]


@st.composite
def _mail(draw: st.DrawFn) -> list[MessageRow]:
    """Messages whose ids, references, subjects and customers collide a lot."""
    count = draw(st.integers(1, 12))
    rows = []
    for uid in range(1, count + 1):
        refs = draw(st.lists(st.sampled_from(_IDS), max_size=3))
        rows.append(
            dataclasses.replace(
                row(
                    draw(st.sampled_from([*_IDS, None])),
                    subject=draw(st.sampled_from(["お問い合わせ", "Re: お問い合わせ", "請求書"])),
                    refs=refs,
                    irt=draw(st.lists(st.sampled_from(_IDS), max_size=1)),
                    ts=float(draw(st.integers(1, 6))),
                    inbound=draw(st.booleans()),
                    customer=draw(st.sampled_from(["a@example.jp", "b@example.jp"])),
                    flags=draw(st.sampled_from([[], ["mt:status/done"], ["\\Seen"]])),
                ),
                uid=draw(st.sampled_from([uid, 1])),  # now and then a UID fetched twice
            )
        )
    return rows


def _partition(store: Store) -> tuple[object, ...]:
    messages = store.conn.execute("SELECT * FROM messages ORDER BY id").fetchall()
    conversations = store.conn.execute("SELECT * FROM conversations ORDER BY key").fetchall()
    threads = store.conn.execute("SELECT * FROM thread_ids ORDER BY message_id").fetchall()
    fts = store.conn.execute(
        "SELECT rowid, subject, sender, body FROM messages_fts ORDER BY rowid"
    ).fetchall()
    schema = store.conn.execute(
        "SELECT type, name, sql FROM sqlite_master ORDER BY name"
    ).fetchall()
    return messages, conversations, threads, fts, schema


@settings(max_examples=100, deadline=None)
@given(batch=_mail(), splits=st.lists(st.integers(0, 12), min_size=2, max_size=2))
def test_one_batch_threads_exactly_like_one_message_at_a_time(
    tmp_path_factory: pytest.TempPathFactory, batch: list[MessageRow], splits: list[int]
) -> None:
    """insert_messages decides threading for a whole batch in memory (store.ingest); the
    result must be what inserting the same messages one by one, oldest first, gives. A bulk
    load of the later batches (store.bulk: search and indexes built at its end) must leave
    the same cache, row for row."""
    first, second = sorted(splits)
    parts = [batch[:first], batch[first:second], batch[second:]]
    directory = tmp_path_factory.mktemp("batch")
    together, alone = Store(directory / "t.sqlite3"), Store(directory / "a.sqlite3")
    bulk = Store(directory / "b.sqlite3")
    with together.atomic():
        for part in parts:
            together.insert_messages(part)
    with alone.atomic():
        for part in parts:
            for message in sorted(part, key=lambda r: (r.ts, r.uid)):
                alone.insert_messages([message])
    with bulk.atomic():
        bulk.insert_messages(parts[0])
    with bulk.bulk_load():
        for part in parts[1:]:
            with bulk.atomic():
                bulk.insert_messages(part)
    assert _partition(together) == _partition(alone) == _partition(bulk)


def test_a_failed_bulk_load_leaves_the_cache_as_before(store: Store) -> None:
    with store.atomic():
        store.insert_messages([row("<a@x>", ts=1)])
    before = _partition(store)
    with pytest.raises(RuntimeError), store.bulk_load():
        store.insert_messages([row("<b@x>", refs=["<a@x>"], ts=2), row("<c@x>", ts=3)])
        raise RuntimeError("connection dropped mid-bulk")
    assert _partition(store) == before  # the dropped indexes are back, nothing half-written
    assert [c["subject"] for c in store.search("ログイン")] == ["ログインできません"]


def test_a_new_cache_has_large_pages_and_an_old_one_keeps_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mailtriage.store import cache

    new = Store(tmp_path / "new.sqlite3")
    assert new.conn.execute("PRAGMA page_size").fetchone() == (cache.PAGE_SIZE,)
    assert cache.PAGE_SIZE > 4096  # SQLite's default
    new.close()
    monkeypatch.setattr(cache, "PAGE_SIZE", 4096)  # a cache made before the change
    old = Store(tmp_path / "old.sqlite3")
    old.insert_messages([row("<a@x>")])
    old.close()
    monkeypatch.undo()
    reopened = Store(tmp_path / "old.sqlite3")
    assert reopened.conn.execute("PRAGMA page_size").fetchone() == (4096,)
    assert reopened.message_count() == 1
