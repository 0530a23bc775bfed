"""Search over a real SQLite cache: terms, phrases, field filters, CJK short terms, ranking."""

from __future__ import annotations

from datetime import datetime
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from mailtriage.store import MessageRow, Store
from mailtriage.store.search import parse_query
from mailtriage.triage.threads import normalize_subject

_uid = count(1)


def _ts(day: str) -> float:
    return datetime.fromisoformat(day).timestamp()  # local time, as before:/after: read it


def row(
    message_id: str,
    *,
    subject: str,
    text: str = "",
    sender: tuple[str, str] = ("山田 太郎", "taro@example.jp"),
    to: list[dict[str, str]] | None = None,
    day: str = "2025-02-03T10:00",
    flags: list[str] | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> MessageRow:
    return MessageRow(
        mailbox="INBOX",
        uidvalidity=1,
        uid=next(_uid),
        message_id=message_id,
        in_reply_to=[],
        references=[],
        subject=subject,
        norm_subject=normalize_subject(subject) + message_id,  # one conversation each
        from_name=sender[0],
        from_email=sender[1],
        to=to or [{"name": "", "email": "support@example.co.jp"}],
        cc=[],
        date=day,
        ts=_ts(day),
        flags=flags or [],
        size=100,
        inbound=True,
        counterpart_name=sender[0],
        counterpart_email=sender[1],
        text=text,
        text_from_html=False,
        attachments=attachments or [],
        warnings=[],
        raw=b"raw",
    )


PDF = {"filename": "請求書.pdf", "content_type": "application/pdf", "size": 9, "inline": False}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(Path(tmp_path_factory.mktemp("search")) / "cache.sqlite3")
    with store.atomic():
        store.insert_messages(
            [
                row(
                    "<refund-subject@x>",
                    subject="返金のお願い",
                    text="先月の請求について返金をお願いします。",
                    day="2025-02-01T09:00",
                ),
                row(
                    "<refund-body@x>",
                    subject="ご相談",
                    text="長い本文です。" * 40 + "返金できますか。",
                    sender=("佐藤 花子", "hanako@example.jp"),
                    day="2025-02-05T09:00",
                    flags=["mt:status/in-progress", "mt:assignee/alice"],
                ),
                row(
                    "<invoice@x>",
                    subject="Invoice question",
                    text="Please resend the PDF of invoice 4411.",
                    sender=("Bob Smith", "bob@example.com"),
                    to=[{"name": "Billing Team", "email": "billing@example.co.jp"}],
                    day="2025-01-20T09:00",
                    attachments=[PDF],
                    flags=["mt:status/done", "mt:assignee/bob"],
                ),
                row(
                    "<phrase@x>",
                    subject="Password reset",
                    text="The reset link expired before I could use it.",
                    sender=("Carol", "carol@example.org"),
                    day="2025-02-10T09:00",
                ),
                row(
                    "<words@x>",
                    subject="Link",
                    text="Could you reset my account? The link I got has expired.",
                    sender=("Dan", "dan@example.org"),
                    day="2025-02-11T09:00",
                ),
            ]
        )
    return store


def subjects(store: Store, query: str, **kw: Any) -> list[str]:
    return [c["subject"] for c in store.search(query, **kw)]


def test_japanese_substring_best_first(store: Store) -> None:
    # Both mention 返金; the one with it in the subject ranks first although it is older.
    assert subjects(store, "返金") == ["返金のお願い", "ご相談"]
    assert subjects(store, "返金できますか") == ["ご相談"]


def test_one_and_two_character_terms(store: Store) -> None:
    assert set(subjects(store, "金")) == {"返金のお願い", "ご相談"}
    assert subjects(store, "佐藤") == ["ご相談"]  # sender name, two characters
    assert subjects(store, "ok") == []
    assert subjects(store, "虹") == []  # occurs nowhere: no trigram starts with it


def test_short_terms_at_the_very_end_of_a_column(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache.sqlite3")
    with store.atomic():
        store.insert_messages(
            [
                row("<end1@x>", subject="ご返金", text="本文は返金", sender=("加藤", "k@x.jp")),
                row("<end2@x>", subject="Booking", text="It is OK", sender=("Al", "al@x.jp")),
                row("<end3@x>", subject="短", text="金"),
            ]
        )
    assert subjects(store, "返金") == ["ご返金"]
    assert subjects(store, "subject:返金") == ["ご返金"]
    assert subjects(store, "from:加藤") == ["ご返金"]
    assert subjects(store, "from:藤") == ["ご返金"]
    assert set(subjects(store, "金")) == {"短", "ご返金"}
    assert subjects(store, "短") == ["短"]
    assert subjects(store, "OK") == ["Booking"]  # "Booking" and "OK", any ASCII case
    assert subjects(store, "ok") == ["Booking"]
    store.close()


def test_very_common_short_terms_fall_back_to_like(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mailtriage.store import fts

    expected = subjects(store, "金")
    monkeypatch.setattr(fts, "MAX_SHORT_TERMS", 1)
    assert fts.trigrams_starting(store.conn, "messages_fts_terms", "金") is None
    assert subjects(store, "金") == expected


def test_a_cache_from_before_the_padding_is_reindexed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cache.sqlite3"
    store = Store(path)
    with store.atomic():
        store.insert_messages([row("<old@x>", subject="ご返金", text="x")])
    # How version 3 indexed: no newlines after each column, no vocabulary table.
    store.conn.executescript(
        """
        DELETE FROM messages_fts;
        INSERT INTO messages_fts (rowid, subject, sender, body)
        SELECT id, subject, from_name || ' ' || from_email, text FROM messages;
        DROP TABLE messages_fts_terms;
        DROP INDEX messages_id_conversation_ts;
        DELETE FROM _sqlite_migrations WHERE name IN ('0004_search_short_terms',
                                                      '0005_search_hit_ts');
        PRAGMA user_version = 3;
        """
    )
    store.close()
    store = Store(path)
    assert "upgrading the cache" in capsys.readouterr().err
    assert subjects(store, "返金") == ["ご返金"]
    store.close()


def test_short_term_narrows_fts_candidates(store: Store) -> None:
    assert subjects(store, "請求について 先月") == ["返金のお願い"]
    assert subjects(store, "請求について 佐藤") == []


def test_english_terms_all_must_match(store: Store) -> None:
    assert subjects(store, "resend pdf") == ["Invoice question"]
    assert subjects(store, "RESEND nothing-like-this") == []


def test_quoted_phrase_is_one_substring(store: Store) -> None:
    assert subjects(store, '"link expired"') == ["Password reset"]
    assert set(subjects(store, "link expired")) == {"Link", "Password reset"}
    assert subjects(store, '"reset link expired"') == ["Password reset"]


def test_field_filters(store: Store) -> None:
    assert subjects(store, "from:hanako") == ["ご相談"]
    assert subjects(store, "from:佐藤") == ["ご相談"]
    assert subjects(store, 'from:"Bob Smith"') == ["Invoice question"]
    assert subjects(store, "to:billing") == ["Invoice question"]
    assert subjects(store, "to:Billing") == ["Invoice question"]
    assert subjects(store, "subject:invoice") == ["Invoice question"]
    assert subjects(store, "subject:返金") == ["返金のお願い"]  # not the body-only match
    assert subjects(store, "subject:reset link") == ["Password reset"]
    assert subjects(store, "has:attachment") == ["Invoice question"]
    assert subjects(store, "status:in-progress") == ["ご相談"]
    assert subjects(store, "status:対応済") == ["Invoice question"]
    assert subjects(store, "assignee:alice 返金") == ["ご相談"]
    assert subjects(store, "assignee:none 返金") == ["返金のお願い"]


def test_date_filters(store: Store) -> None:
    assert subjects(store, "before:2025-02-01") == ["Invoice question"]
    assert subjects(store, "after:2025-02-10") == ["Link", "Password reset"]
    assert subjects(store, "after:2025-02-02 before:2025-02-06 返金") == ["ご相談"]


def test_filters_only_are_newest_first_and_limit(store: Store) -> None:
    assert subjects(store, "status:unhandled") == [
        "Link",
        "Password reset",
        "返金のお願い",
    ]
    assert subjects(store, "status:unhandled", limit=1) == ["Link"]
    assert subjects(store, "返金", limit=1) == ["返金のお願い"]


def test_unknown_prefixes_are_plain_terms(store: Store) -> None:
    assert subjects(store, "Re:返金") == []  # "Re:返金" is one term, found nowhere
    assert subjects(store, "before:someday") == []
    assert parse_query("before:someday").fts == ['"before:someday"']


def test_return_shape_is_the_conversation_dict(store: Store) -> None:
    (found,) = store.search("from:hanako")
    assert set(found) == {
        "id",
        "key",
        "subject",
        "customer",
        "status",
        "assignee",
        "priority",
        "tags",
        "last_message_at",
        "message_count",
        "unread",
    }
    assert found["customer"] == {"name": "佐藤 花子", "email": "hanako@example.jp"}


@pytest.mark.parametrize(
    "hostile",
    ['"; DROP TABLE messages; --', '"', '""', "NEAR(a b)", "a* OR b", "subject:", "%", "_", "\\"],
)
def test_hostile_queries_are_data(store: Store, hostile: str) -> None:
    assert store.search(hostile) == []
    assert store.stats()["messages"] == 5


def test_empty_query(store: Store) -> None:
    assert store.search("") == []
    assert store.search("   ") == []


def test_equal_hits_rank_by_their_most_recent_matching_message(tmp_path: Path) -> None:
    """Same score: the conversation whose matching message is newest comes first, for the
    app's list of keys and the CLI's rows alike, with or without a limit or a filter."""
    from mailtriage.store.search import search_keys

    store = Store(tmp_path / "c.sqlite3")
    with store.atomic():
        store.insert_messages(
            [
                row(f"<t{n}@x>", subject=f"件名{n}", text="同じ本文です", day=f"2025-02-0{n}T10:00")
                for n in (3, 1, 5, 2, 4)
            ]
        )
    newest_first = ["件名5", "件名4", "件名3", "件名2", "件名1"]
    assert subjects(store, "同じ本文") == newest_first
    assert subjects(store, "同じ本文", limit=2) == newest_first[:2]
    assert subjects(store, "同じ本文 status:unhandled", limit=3) == newest_first[:3]
    by_key = {c["key"]: c["subject"] for c in store.search("同じ本文")}
    assert [by_key[k] for k in search_keys(store.conn, "同じ本文")] == newest_first
    assert [by_key[k] for k in search_keys(store.conn, "本文", limit=1)] == newest_first[:1]
    store.close()
