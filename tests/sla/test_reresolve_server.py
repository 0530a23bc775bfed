"""Two KPI inputs that used to go missing, on a real Dovecot:
- a conversation reopened by the customer and marked Done again (the anchor still said done,
  so the change was a no-op there and logged no event: the report took the last message's
  time as the resolution);
- an auto-ack whose body is not cached yet (headers only: no Auto-Submitted header in the
  cache), which must still not count as the first response."""

from __future__ import annotations

from mailtriage.imap.session import AccountSession
from mailtriage.sla.kpi import report
from mailtriage.store import Store
from mailtriage.store import kpi as q
from sla.helpers import ScriptedClock
from sla.test_kpi_server import H, _key, customer, ours, t
from triage.helpers import actions_for, agent_config, conversation, sync

TARO = ("山田 太郎", "taro@example.jp")


def headers_only_sync(config) -> None:  # type: ignore[no-untyped-def]
    account = config.accounts["support"]
    session = AccountSession(account, account.imap.resolve_password())
    try:
        session.sync(prefetch_limit=0)
    finally:
        session.close()


async def test_done_again_after_reopen_is_logged_and_counted(
    tmp_path,
    imap_account,
    clock: ScriptedClock,
) -> None:  # type: ignore[no-untyped-def]
    config = agent_config(tmp_path, imap_account, "alice")
    subject = "パスワードを忘れました"
    imap_account.append("INBOX", customer("<p1@example.jp>", t(13, 9), subject, "助けて"))
    # Our auto-ack: the outbox marks its Sent copy mt:auto-replied.
    imap_account.append(
        "Sent",
        ours("<ack@x>", t(13, 9, 0, 20), subject, TARO, "<p1@example.jp>", auto=True),
        flags=["mt:auto-replied", "mt:status/unhandled"],
    )
    imap_account.append("Sent", ours("<p2@x>", t(13, 10), subject, TARO, "<p1@example.jp>"))
    headers_only_sync(config)
    key = _key(config, "<p1@example.jp>")
    account = config.accounts["support"]
    alice = actions_for(config)
    try:
        clock.now = t(13, 11).timestamp()
        assert (await alice.set_status(key, "done")).ok
        imap_account.append(
            "INBOX",
            customer("<p3@example.jp>", t(14, 9), subject, "まだ入れません", "<p2@x>"),
        )
        await sync(config)
        assert conversation(config, key)["status"] == "unhandled"  # reopened
        clock.now = t(14, 12).timestamp()
        result = await alice.set_status(key, "done")
        assert result.ok, result.message
    finally:
        await alice.close()
    assert conversation(config, key)["status"] == "done"
    store = Store(account.cache_path, readonly=True)
    try:
        statuses = [
            (e.ts, e.details.get("status"), e.details.get("from"))
            for e in q.load(store.conn, [key])[key].events
            if e.kind == "status"
        ]
        data = report(store.conn, config.sla, t(1, 0).timestamp(), t(20, 0).timestamp())
    finally:
        store.close()
    assert statuses == [
        (t(13, 11).timestamp(), "done", "unhandled"),
        (t(14, 12).timestamp(), "done", "unhandled"),
    ]
    s = data["summary"]
    # First response is the human reply at 10:00, not the auto-ack at 09:00:20.
    assert s["first_response"]["median"] == 1 * H
    # Resolved at the second Done (Wed 12:00), not at the customer's last message (09:00).
    assert s["resolution"]["median"] == 27 * H
    assert s["reopen_rate"] == 1.0
    assert s["first_contact_resolution_rate"] == 0.0
