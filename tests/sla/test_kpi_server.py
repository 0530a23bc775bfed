"""KPIs from a scripted timeline on a real Dovecot: dated mail in INBOX and Sent, an auto-ack,
triage changes and reply events through AccountActions (with a scripted clock), then the
report, whose every number is known in advance."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from mailtriage.cli import main
from mailtriage.imap.actions import AccountActions
from mailtriage.sla.kpi import report
from mailtriage.store import Store
from support.mailfactory import SUPPORT, make_message
from triage.helpers import agent_config, sync

JST = ZoneInfo("Asia/Tokyo")
H = 3600.0
CUSTOMER_B = ("佐藤 花子", "hanako@example.jp")


def t(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, second, tzinfo=JST)


def customer(
    mid: str,
    when: datetime,
    subject: str,
    body: str,
    parent: str | None = None,
    sender: tuple[str, str] = ("山田 太郎", "taro@example.jp"),
) -> bytes:
    return make_message(
        subject=subject,
        sender=sender,
        body=body,
        message_id=mid,
        date=when,
        in_reply_to=parent,
        references=[parent] if parent else (),
    )


def ours(
    mid: str, when: datetime, subject: str, to: tuple[str, str], parent: str, auto: bool = False
) -> bytes:
    raw = make_message(
        subject=f"Re: {subject}",
        sender=("Example Support", SUPPORT),
        to=[to],
        body="お問い合わせありがとうございます。\n",
        message_id=mid,
        date=when,
        in_reply_to=parent,
        references=[parent],
    )
    return (b"Auto-Submitted: auto-replied\r\n" + raw) if auto else raw


def _key(config, message_id: str) -> str:  # type: ignore[no-untyped-def]
    store = Store(config.accounts["support"].cache_path, readonly=True)
    try:
        (key,) = store.conn.execute(
            "SELECT conversation FROM messages WHERE message_id = ?", (message_id,)
        ).fetchone()
        return str(key)
    finally:
        store.close()


async def test_report_numbers_from_a_scripted_week(tmp_path, imap_account, clock, capsys) -> None:  # type: ignore[no-untyped-def]
    config = agent_config(tmp_path, imap_account, "alice")
    taro = ("山田 太郎", "taro@example.jp")
    # A: Fri 17:00, auto-ack, answered Tue 10:00 after the weekend and 成人の日, done 11:00.
    imap_account.append(
        "INBOX", customer("<a1@example.jp>", t(9, 17), "ログインできません", "ログインできません。")
    )
    imap_account.append(
        "Sent",
        ours("<ack@x>", t(9, 17, 0, 30), "ログインできません", taro, "<a1@example.jp>", auto=True),
    )
    imap_account.append(
        "Sent", ours("<a2@x>", t(13, 10), "ログインできません", taro, "<a1@example.jp>")
    )
    # B (urgent, billing): two rounds on Tue, done 15:30, reopened Wed 10:00, done 11:00.
    subject_b = "至急: 返金してください"
    imap_account.append(
        "INBOX",
        customer(
            "<b1@example.jp>", t(13, 9, 30), subject_b, "返金を希望します。", sender=CUSTOMER_B
        ),
    )
    imap_account.append(
        "Sent", ours("<b2@x>", t(13, 13, 30), subject_b, CUSTOMER_B, "<b1@example.jp>")
    )
    imap_account.append(
        "INBOX",
        customer("<b3@example.jp>", t(13, 14), subject_b, "まだですか？", "<b2@x>", CUSTOMER_B),
    )
    imap_account.append("Sent", ours("<b4@x>", t(13, 15), subject_b, CUSTOMER_B, "<b3@example.jp>"))
    # C: Wed 09:00, never answered.
    imap_account.append(
        "INBOX",
        customer(
            "<c1@example.jp>",
            t(14, 9),
            "請求書の再発行",
            "請求書をください。",
            sender=("鈴木", "suzuki@example.com"),
        ),
    )
    await sync(config)
    a, b = _key(config, "<a1@example.jp>"), _key(config, "<b1@example.jp>")
    account = config.accounts["support"]
    alice = AccountActions(account, account.imap.resolve_password(), "alice")
    bob = AccountActions(account, account.imap.resolve_password(), "bob")
    try:
        clock.now = t(13, 10, 0, 1).timestamp()
        assert (await alice.log_event(a, "replied", {"message_id": "<a2@x>"})).ok
        clock.now = t(13, 11).timestamp()
        assert (await alice.set_status(a, "done")).ok
        clock.now = t(13, 9, 35).timestamp()
        assert (await bob.set_priority(b, "urgent")).ok
        assert (await bob.set_tags(b, add=["billing"])).ok
        clock.now = t(13, 13, 30, 1).timestamp()
        assert (await bob.log_event(b, "replied", {"message_id": "<b2@x>"})).ok
        clock.now = t(13, 15, 0, 1).timestamp()
        assert (await bob.log_event(b, "replied", {"message_id": "<b4@x>"})).ok
        clock.now = t(13, 15, 30).timestamp()
        assert (await bob.set_status(b, "done")).ok
        imap_account.append(
            "INBOX",
            customer(
                "<b5@example.jp>",
                t(14, 10),
                subject_b,
                "また請求されています！",
                "<b4@x>",
                CUSTOMER_B,
            ),
        )
        await sync(config)
        clock.now = t(14, 10, 30).timestamp()
        assert (await bob.set_status(b, "in-progress")).ok
        clock.now = t(14, 11).timestamp()
        assert (await bob.set_status(b, "done")).ok
    finally:
        await alice.close()
        await bob.close()

    since, until = t(1, 0).timestamp(), t(16, 0).timestamp()
    store = Store(account.cache_path, readonly=True)
    try:
        data = report(store.conn, config.sla, since, until, by="agent", now=until)
        by_tag = report(store.conn, config.sla, since, until, by="tag", now=until)["rows"]
    finally:
        store.close()
    s = data["summary"]
    assert (s["conversations"], s["resolved"]) == (3, 2)
    # A: 89h on the wall clock, 2h of business time; B: 4h either way (auto-ack ignored).
    assert s["first_response"] == {"count": 2, "mean": 46.5 * H, "median": 46.5 * H}
    assert s["first_response_business"] == {"count": 2, "mean": 3 * H, "median": 3 * H}
    # A: Fri 17:00 -> Tue 11:00; B: Tue 09:30 -> Wed 11:00, paused while waiting and done.
    assert s["resolution"] == {"count": 2, "mean": 57.75 * H, "median": 57.75 * H}
    assert s["resolution_business"] == {"count": 2, "mean": 4 * H, "median": 4 * H}
    assert s["first_contact_resolution_rate"] == 0.5
    assert s["reopen_rate"] == 0.5
    # First response: A met (2h of 8h), B missed (4h of urgent 2h), C missed (18h, open).
    assert s["sla_first_response"] == pytest.approx(1 / 3)
    assert s["sla_resolution"] == 1.0  # A 2h of 45h, B 6h of 9h; C's is not decided yet
    assert data["volume"]["messages"] == 5
    assert {h: n for h, n in enumerate(data["volume"]["by_hour"]) if n} == {
        9: 2,
        10: 1,
        14: 1,
        17: 1,
    }
    backlog = {b["date"]: b["open"] for b in data["backlog"]}
    assert backlog["2026-01-08"] == 0 and backlog["2026-01-09"] == 1
    assert backlog["2026-01-12"] == 1 and backlog["2026-01-13"] == 0
    assert backlog["2026-01-14"] == 1 and backlog["2026-01-15"] == 1
    assert data["rows"] == [
        {
            "agent": "alice",
            "replies": 1,
            "first_responses": 1,
            "first_response_mean": 89 * H,
            "first_response_median": 89 * H,
            "sla_first_response": 1.0,
            "resolved": 1,
            "csat": None,  # no ratings in this week
            "ratings": 0,
        },
        {
            "agent": "bob",
            "replies": 2,
            "first_responses": 1,
            "first_response_mean": 4 * H,
            "first_response_median": 4 * H,
            "sla_first_response": 0.0,
            "resolved": 1,
            "csat": None,  # no ratings in this week
            "ratings": 0,
        },
    ]
    (billing,) = by_tag
    assert billing["tag"] == "billing" and billing["conversations"] == 1
    assert (billing["reopen_rate"], billing["first_contact_resolution_rate"]) == (1.0, 0.0)

    cfg = str(config.path)
    assert (
        main(
            [
                "report",
                "--config",
                cfg,
                "--since",
                "2026-01-01",
                "--until",
                "2026-01-16",
                "--by",
                "day",
                "--csv",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "date,new,messages,replies,resolved,backlog,first_response_median,sla_first_response"
    )
    # B is resolved on the 14th (its last Done); A on the 13th. B missed its first response.
    assert "2026-01-13,1,2,3,1,0,14400.0,0.0" in lines
    # C: no response yet, already past its target.
    assert "2026-01-14,1,2,0,1,1,,0.0" in lines
    assert (
        main(
            ["report", "--config", cfg, "--since", "2026-01-01", "--until", "2026-01-16", "--json"]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["summary"]["conversations"] == 3
