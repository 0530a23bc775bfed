"""Routing rules on arrival, against a real Dovecot with two agents' caches: each new customer
message is routed exactly once (claimed on the server with `mt:rules`), a second pass does
nothing, old mail is left alone, and `sync --watch` routes mail that arrives while it runs."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from mailtriage.rules.arrival import BY, MARK, route_new_mail
from mailtriage.store import Store
from mailtriage.store import kpi as q
from sla.helpers import agent_with
from support.mailfactory import make_message
from support.watch_process import SyncWatch
from triage.helpers import sync

RULES = """
[[rules.rule]]
name = "notifications"
from_regex = '^no-?reply@'
no_reply = true
stop = true

[[rules.rule]]
name = "billing"
subject = ["請求", "invoice"]
tags = ["billing"]
priority = "urgent"

[[rules.rule]]
name = "spread"
domain = "example.jp"
assign = "round-robin"
"""


def _server_flags(imap_account) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    imap = imap_account._append_client()
    imap.select_folder("INBOX", readonly=True)
    uids = imap.search("ALL")
    heads = imap.fetch(uids, ["FLAGS", "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
    out = {}
    for data in heads.values():
        raw = next(v for k, v in data.items() if k.startswith(b"BODY[HEADER"))
        mid = raw.decode().split(":", 1)[1].strip()
        out[mid] = sorted(f.decode() for f in data[b"FLAGS"])
    return out


def _events(config) -> dict[str, list[tuple[str, str, dict]]]:  # type: ignore[no-untyped-def]
    store = Store(config.accounts["support"].cache_path, readonly=True)
    try:
        subjects = {c["key"]: c["subject"] for c in store.list_conversations("all")}
        loaded = q.load(store.conn, subjects)
        return {
            subjects[k]: [(e.kind, e.agent, e.details) for e in d.events] for k, d in loaded.items()
        }
    finally:
        store.close()


async def test_two_agents_route_each_message_once(tmp_path, imap_account) -> None:  # type: ignore[no-untyped-def]
    alice = agent_with(tmp_path, imap_account, "alice", RULES)
    bob = agent_with(tmp_path, imap_account, "bob", RULES)
    now = datetime.now(UTC)
    imap_account.append(
        "INBOX",
        make_message(
            subject="請求書について",
            sender=("山田 太郎", "taro@example.jp"),
            message_id="<bill@example.jp>",
            date=now - timedelta(minutes=5),
        ),
    )
    imap_account.append(
        "INBOX",
        make_message(
            subject="Your weekly digest",
            sender=("Service", "noreply@service.example.com"),
            message_id="<digest@service.example.com>",
            date=now - timedelta(minutes=4),
        ),
    )
    imap_account.append(
        "INBOX",
        make_message(
            subject="ログインできません",
            sender=("佐藤 花子", "hanako@example.jp"),
            message_id="<login@example.jp>",
            date=now - timedelta(minutes=3),
        ),
    )
    # Two days old when first seen: on-arrival routing leaves it to `rules --apply`.
    imap_account.append(
        "INBOX",
        make_message(
            subject="古い請求の件",
            sender=("鈴木", "suzuki@example.jp"),
            message_id="<old@example.jp>",
            date=now - timedelta(days=2),
        ),
    )
    await sync(alice)
    await sync(bob)

    first = await asyncio.gather(route_new_mail(alice, "support"), route_new_mail(bob, "support"))
    assert sum(r.claimed for r in first) == 3
    assert all(r.ok for a in first for _, r in a.applied), [a.summary for a in first]
    flags = _server_flags(imap_account)
    for mid in ("<bill@example.jp>", "<digest@service.example.com>", "<login@example.jp>"):
        markers = [f for f in flags[mid] if f.startswith(BY)]
        assert MARK in flags[mid] and len(markers) == 1, (mid, flags[mid])
    assert not any(f.startswith("mt:rules") for f in flags["<old@example.jp>"])

    await sync(alice)
    events = _events(alice)
    billing = events["請求書について"]
    assert sorted(k for k, _, _ in billing) == ["assigned", "priority", "tagged"]
    assert ("tagged", {"add": ["billing"], "remove": []}) in [(k, d) for k, _, d in billing]
    assert [k for k, _, _ in events["Your weekly digest"]] == ["tagged"]
    assert [k for k, _, _ in events["ログインできません"]] == ["assigned"]
    # Round-robin: each example.jp conversation went to one member, once. (Two agents whose
    # passes run at the same moment may both pick the same next member: each sees only the
    # assignments already in its cache. README says so.)
    assignees = [
        d["assignee"]
        for subject in ("請求書について", "ログインできません")
        for k, _, d in events[subject]
        if k == "assigned"
    ]
    assert len(assignees) == 2 and set(assignees) <= {"alice", "bob", "carol"}
    assert events["古い請求の件"] == []
    store = Store(alice.accounts["support"].cache_path, readonly=True)
    try:
        by_subject = {c["subject"]: c for c in store.list_conversations("all")}
    finally:
        store.close()
    assert by_subject["Your weekly digest"]["tags"] == ["no-reply"]
    assert by_subject["請求書について"]["priority"] == "urgent"

    # Nothing new: nobody claims or changes anything, whatever their cache says.
    again = await asyncio.gather(route_new_mail(alice, "support"), route_new_mail(bob, "support"))
    assert [(r.claimed, r.applied) for r in again] == [(0, ()), (0, ())]


async def test_sync_watch_routes_mail_as_it_arrives(tmp_path, imap_account) -> None:  # type: ignore[no-untyped-def]
    config = agent_with(tmp_path, imap_account, "alice", RULES)
    with SyncWatch(config.path) as watcher:
        imap_account.append(
            "INBOX",
            make_message(
                subject="invoice question",
                sender=("Taro", "taro@example.jp"),
                message_id="<w1@example.jp>",
                date=datetime.now(UTC),
            ),
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if MARK in _server_flags(imap_account).get("<w1@example.jp>", []):
                break
            await asyncio.sleep(0.1)
        # The rules act after the claim: give their three stores a moment.
        while time.monotonic() < deadline:
            flags = _server_flags(imap_account)["<w1@example.jp>"]
            if "mt:tag/billing" in flags and any(f.startswith("mt:assignee/") for f in flags):
                break
            await asyncio.sleep(0.1)
    out, err = watcher.out, watcher.err
    flags = _server_flags(imap_account)["<w1@example.jp>"]
    assert MARK in flags and "mt:prio/urgent" in flags and "mt:tag/billing" in flags, (out, err)
    assert "rules: " in out and "tag billing" in out, (out, err)
