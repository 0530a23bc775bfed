"""CSAT: the survey link in the resolution template, a rating that comes back by mail, recorded
once on the server by two agents' apps and reported (real Dovecot); rating recognition and
config errors without a server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from mailtriage.cli import main
from mailtriage.compose.message import to_bytes
from mailtriage.compose.reply import prepare_reply
from mailtriage.compose.templates import find_template, load_templates, template_dirs
from mailtriage.config import ConfigError, parse_config
from mailtriage.rules.arrival import route_new_mail
from mailtriage.sla.csat import CsatConfig, find_rating
from mailtriage.sla.kpi import report
from mailtriage.store import Store
from mailtriage.store import kpi as q
from sla.helpers import agent_with
from support.mailfactory import SUPPORT, make_message
from triage.helpers import actions_for, conversation, only_key, sync

CSAT = """
[sla.csat]
survey_url = "https://survey.example.co.jp/s?t={id}"
"""


async def test_survey_link_rating_by_mail_recorded_once_and_reported(
    tmp_path, imap_account, capsys
) -> None:  # type: ignore[no-untyped-def]
    alice = agent_with(tmp_path, imap_account, "alice", CSAT)
    bob = agent_with(tmp_path, imap_account, "bob", CSAT)
    now = datetime.now(UTC)
    imap_account.append(
        "INBOX",
        make_message(
            subject="ログインできません",
            sender=("山田 太郎", "taro@example.jp"),
            body="パスワードを再設定してもログインできません。",
            message_id="<c1@example.jp>",
            date=now - timedelta(hours=2),
        ),
    )
    await sync(alice)
    key = only_key(alice)
    found = conversation(alice, key)
    templates = load_templates(template_dirs(alice))
    resolved = find_template(templates, "resolved", "ja")
    prepared = prepare_reply(alice, "support", found, resolved)
    url = f"https://survey.example.co.jp/s?t={found['id']}"
    assert url in prepared.message.body
    # Our resolution mail, as the outbox would leave it in Sent.
    raw, _ = to_bytes(prepared.message)
    imap_account.append("Sent", raw)
    await sync(alice)
    actions = actions_for(alice)
    try:
        assert (await actions.set_status(key, "done")).ok
    finally:
        await actions.close()
    rating = make_message(
        subject=f"Re: {prepared.message.subject}",
        sender=("山田 太郎", "taro@example.jp"),
        to=[("Support", SUPPORT)],
        body="評価：５\nありがとうございました。\n\n> よろしければ、アンケートに…\n> 評価: 1\n",
        message_id="<rate@example.jp>",
        in_reply_to=prepared.message.message_id,
        references=[prepared.message.message_id],
        date=datetime.now(UTC) + timedelta(seconds=1),  # after our resolution mail
    )
    imap_account.append("INBOX", rating)
    await sync(alice)
    await sync(bob)
    assert conversation(alice, key)["status"] == "unhandled"  # the rating reopened it...

    passes = await asyncio.gather(route_new_mail(alice, "support"), route_new_mail(bob, "support"))
    assert sum(p.claimed for p in passes) == 2  # the request (nothing to route) and the rating
    assert all(r.ok for p in passes for _, r in p.applied), [p.summary for p in passes]
    await sync(alice)
    assert conversation(alice, key)["status"] == "done"  # ...and the pass put it back

    store = Store(alice.accounts["support"].cache_path, readonly=True)
    try:
        events = q.load(store.conn, [key])[key].events
        data = report(
            store.conn,
            alice.sla,
            (now - timedelta(days=1)).timestamp(),
            (now + timedelta(minutes=5)).timestamp(),
            by="agent",
        )
    finally:
        store.close()
    rated = [e for e in events if e.kind == "rated"]
    assert [(e.details["rating"], e.details["message_id"]) for e in rated] == [
        (5, "<rate@example.jp>")
    ]
    assert data["csat"] == {"count": 1, "mean": 5.0, "distribution": [0, 0, 0, 0, 1]}
    # Per agent: the rating belongs to whoever resolved the conversation.
    per_agent = {r["agent"]: (r["csat"], r["ratings"]) for r in data["rows"]}
    assert per_agent.pop("alice") == (5.0, 1)
    assert all(count == 0 for _, count in per_agent.values()), per_agent
    # Not a reopen, not a second customer request: resolved once, by one reply.
    assert data["summary"]["reopen_rate"] == 0.0
    assert data["summary"]["first_contact_resolution_rate"] == 1.0
    # A second pass (another sync, say) records nothing more.
    again = await asyncio.gather(route_new_mail(alice, "support"), route_new_mail(bob, "support"))
    assert [(p.claimed, p.applied) for p in again] == [(0, ()), (0, ())]

    assert await asyncio.to_thread(main, ["report", "--config", str(alice.path)]) == 0
    assert "CSAT 5.00/5 from 1 ratings (1★0 2★0 3★0 4★0 5★1)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("subject", "text", "expected"),
    [
        ("Re: 解決のご報告", "評価：５\nありがとう", 5),
        ("Re: 解決のご報告", "満足度: 大変満足でした", 5),
        ("Re: 解決のご報告", "満足度：満足", 4),
        ("Re: 解決のご報告", "満足度=やや不満", 2),
        ("CSAT rating: 3 for ticket K3F9Q2AB", "", 3),
        ("Re: your request", "Rating = 1\nstill broken", 1),
        ("Re: 解決のご報告", "大変満足しています", None),  # no label: just words
        ("Re: 解決のご報告", "> 評価: 5\nまだ直りません", None),  # quoted from our mail
        ("Re: 解決のご報告", "評価: 7", None),
    ],
)
def test_find_rating(subject: str, text: str, expected: int | None) -> None:
    assert find_rating(CsatConfig(enabled=True), subject, text) == expected


def _with_csat(table: dict) -> dict:
    return {
        "agent": {"name": "alice"},
        "sla": {"csat": table},
        "accounts": {
            "s": {
                "address": "support@example.jp",
                "imap": {"host": "h", "username": "u", "password_command": "true"},
            }
        },
    }


def test_custom_pattern_and_words() -> None:
    table = {"rating_pattern": r"\[score (\d|{words})\]", "words": {"good": 5, "bad": 1}}
    config = parse_config(_with_csat(table)).sla.csat
    assert config.enabled and config.survey_url is None
    assert find_rating(config, "[score 4]", "") == 4
    assert find_rating(config, "[score 9]", "") is None
    assert find_rating(config, "", "[score BAD]") == 1
    assert find_rating(config, "評価: 5", "") is None


@pytest.mark.parametrize(
    ("table", "key", "problem"),
    [
        ({"survey_url": "survey.example.co.jp"}, "sla.csat.survey_url", "http(s) URL"),
        ({"rating_pattern": "評価: ("}, "sla.csat.rating_pattern", "not a valid"),
        ({"rating_pattern": "評価: [1-5]"}, "sla.csat.rating_pattern", "needs a group"),
        ({"words": {"good": 6}}, "sla.csat.words.good", "1 to 5"),
        ({"url": "https://x"}, "sla.csat.url", "unknown key"),
    ],
)
def test_csat_config_errors(table: dict, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(_with_csat(table))
    assert key in str(caught.value) and problem in str(caught.value)
