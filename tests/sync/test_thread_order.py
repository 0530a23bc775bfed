"""A cache rebuilt from a real Dovecot (newest first, in small batches) groups and keys
conversations exactly like the cache that saw the mail arrive one message at a time, out of
date order, with hostile threading: a self-reference, subject-only mail, a duplicate
Message-ID, a reply before its parent, a reference cycle. A note logged on a conversation
before a late, older message renamed it is still that conversation's note in both caches."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtriage.config import load_config
from mailtriage.imap import sync as imap_sync
from mailtriage.imap.account import AccountSync
from mailtriage.imap.actions import AccountActions
from mailtriage.store import Store
from support.configs import write_config
from support.mailfactory import make_message

REFUND = "返金について"


def corpus() -> list[tuple[str, bytes]]:
    """(name, raw) in the order they arrive; `minutes` is their Date, not their arrival."""

    def m(name: str, minutes: int, **kw: object) -> tuple[str, bytes]:
        kw.setdefault("message_id", f"<{name}@x.jp>")
        return name, make_message(minutes=minutes, body=f"{name}\n", **kw)  # type: ignore[arg-type]

    return [
        m("s3", 30, subject=REFUND),
        m("s1", 10, subject=f"Re: {REFUND}"),
        m("reply", 45, subject="Re: 請求書", references=["<invoice@x.jp>"]),
        m("dup-a", 50, subject="件名A", message_id="<dup@x.jp>"),
        m("s0", 0, subject=REFUND, references=["<s0@x.jp>"]),  # references itself
        m("cycle-a", 60, subject="loop", references=["<cycle-b@x.jp>"]),
        m("dup-b", 40, subject="件名B", message_id="<dup@x.jp>"),
        m("invoice", 35, subject="請求書"),  # the parent, after its reply
        m("cycle-b", 55, subject="loop", references=["<cycle-a@x.jp>"]),
        m("s2", 20, subject=REFUND),
    ]


def grouping(store: Store) -> dict[str, frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for key, text in store.conn.execute("SELECT conversation, uid FROM messages"):
        groups.setdefault(key, set()).add(str(text))
    return {k: frozenset(v) for k, v in groups.items()}


def key_of(store: Store, uid: int) -> str:
    (key,) = store.conn.execute(
        "SELECT conversation FROM messages WHERE uid = ?", (uid,)
    ).fetchone()
    return str(key)


async def test_rebuilt_cache_groups_and_keys_like_the_incremental_one(
    tmp_path: Path, imap_account, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    for name in ("live", "rebuilt"):
        (tmp_path / name).mkdir()
    live = load_config(write_config(tmp_path / "live", imap_account)).accounts["support"]
    password = live.imap.resolve_password()
    uids: dict[str, int] = {}
    note_key = ""
    for name, raw in corpus():
        uids[name] = imap_account.append("INBOX", raw)
        syncer = AccountSync(live, password)
        await syncer.sync()
        await syncer.close()
        if name == "s3":  # alone so far: its conversation's key is its own
            store = Store(live.cache_path)
            note_key = key_of(store, uids["s3"])
            store.close()
            actions = AccountActions(live, password, "alice")
            await actions.add_note(note_key, "返金は承認済み")
            await actions.close()

    # The rebuild: newest first, one and two messages per batch.
    monkeypatch.setattr(imap_sync, "FETCH_BATCH", 1)
    monkeypatch.setattr(imap_sync, "MAX_FETCH_BATCH", 2)
    rebuilt = load_config(write_config(tmp_path / "rebuilt", imap_account)).accounts["support"]
    syncer = AccountSync(rebuilt, password)
    await syncer.sync()
    await syncer.close()

    a, b = Store(live.cache_path), Store(rebuilt.cache_path)
    try:
        assert grouping(a) == grouping(b)
        by_name = {name: key_of(a, uid) for name, uid in uids.items()}
        # What the corpus means: the subject thread is one, the duplicate id one, the late
        # parent joined its reply, the cycle is one.
        assert len({by_name[n] for n in ("s0", "s1", "s2", "s3")}) == 1
        assert by_name["dup-a"] == by_name["dup-b"]
        assert by_name["reply"] == by_name["invoice"]
        assert by_name["cycle-a"] == by_name["cycle-b"]
        assert len(set(by_name.values())) == 4
        # s3's conversation was renamed when older mail arrived; the note stayed with it.
        assert by_name["s3"] != note_key
        for store in (a, b):
            notes = [e["text"] for e in store.timeline(by_name["s3"]) if e["kind"] == "noted"]
            assert notes == ["返金は承認済み"]
            # and lookups by the exact key (KPIs, the last event) find it too
            (noted,) = store.conn.execute(
                "SELECT COUNT(*) FROM app_events WHERE kind = 'noted' AND conversation = ?",
                (by_name["s3"],),
            ).fetchone()
            assert noted == 1
            (count,) = store.conn.execute(
                "SELECT COUNT(*) FROM conversations WHERE message_count !="
                " (SELECT COUNT(*) FROM messages WHERE conversation = key)"
            ).fetchone()
            assert count == 0
    finally:
        a.close()
        b.close()
