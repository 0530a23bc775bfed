"""Routing rules: config errors, `rules --test` explanations, and `rules --apply` against a
real Dovecot (round-robin skipping an away agent, no-reply for notifications, idempotent)."""

from __future__ import annotations

import asyncio
import json

import pytest

from mailtriage.cli import main
from mailtriage.config import ConfigError, load_config, parse_config
from mailtriage.store import Store
from support.configs import write_config
from support.mailfactory import make_message
from triage.helpers import sync

RULES = """
[rules]
own_reply_moves_to_in_progress = true

[[rules.rule]]
name = "notifications"
from_regex = '^(no-?reply|mailer-daemon)@'
no_reply = true
stop = true

[[rules.rule]]
name = "angry refunds"
score_at_least = 5
priority = "urgent"
tags = ["escalated"]

[[rules.rule]]
name = "billing"
subject = ["請求", "invoice"]
tags = ["billing"]

[[rules.rule]]
name = "spread"
domain = "example.jp"
assign = "round-robin"
"""


def _config(tmp_path, imap_account):  # type: ignore[no-untyped-def]
    path = write_config(tmp_path, imap_account)
    text = path.read_text(encoding="utf-8").replace(
        'supervisors = ["carol"]', 'supervisors = ["carol"]\naway = ["bob"]'
    )
    path.write_text(text + RULES, encoding="utf-8")
    return load_config(path)


def _conversations(config) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    store = Store(config.accounts["support"].cache_path, readonly=True)
    try:
        return {c["subject"]: c for c in store.list_conversations("all")}
    finally:
        store.close()


async def test_rules_test_and_apply(tmp_path, imap_account, capsys) -> None:  # type: ignore[no-untyped-def]
    config = _config(tmp_path, imap_account)
    imap_account.append(
        "INBOX",
        make_message(subject="請求書について", body="至急、返金してください！", minutes=1),
    )
    imap_account.append(
        "INBOX",
        make_message(
            subject="ログインできません", sender=("花子", "hanako@sub.example.jp"), minutes=2
        ),
    )
    imap_account.append(
        "INBOX",
        make_message(
            subject="Your weekly digest", sender=("Service", "noreply@service.example"), minutes=3
        ),
    )
    await sync(config)
    ids = {s: c["id"] for s, c in _conversations(config).items()}
    cfg = ["--config", str(config.path)]

    assert main(["rules", *cfg, "--test", ids["請求書について"]]) == 0
    out = capsys.readouterr().out
    assert "score 5: urgent: 至急; refund: 返金" in out
    assert "MATCH  angry refunds" in out and "✓ score 5 >= 5" in out
    assert "MATCH  billing" in out and "✓ subject contains '請求'" in out
    assert "no     notifications" in out and "✗ from: no match for" in out
    assert "would assign alice (rule spread)" in out

    assert main(["rules", *cfg, "--test", ids["Your weekly digest"], "--json"]) == 0
    tested = json.loads(capsys.readouterr().out)
    assert [r["rule"] for r in tested["rules"] if r["matched"]] == ["notifications"]
    assert [(p["action"], p["value"]) for p in tested["planned"]] == [("tag", "no-reply")]

    assert (
        await asyncio.to_thread(main, ["rules", *cfg, "--apply", "--since", "2000-01-01", "--json"])
        == 0
    )
    applied = json.loads(capsys.readouterr().out)
    assert all(item["ok"] for item in applied)
    after = _conversations(config)
    first, second = after["請求書について"], after["ログインできません"]
    assert (first["priority"], first["tags"]) == ("urgent", ["billing", "escalated"])
    # Round-robin over alice, bob, carol with bob away: alice, then carol.
    assert (first["assignee"], second["assignee"]) == ("alice", "carol")
    assert after["Your weekly digest"]["tags"] == ["no-reply"]
    assert after["Your weekly digest"]["assignee"] is None  # stop = true

    # Everything decided is in the event log now: a second run changes nothing.
    assert await asyncio.to_thread(main, ["rules", *cfg, "--apply", "--since", "2000-01-01"]) == 0
    assert capsys.readouterr().out.strip() == "nothing to change"


def _base(rule: dict) -> dict:
    return {
        "agent": {"name": "alice"},
        "team": {"members": ["alice", "bob"]},
        "rules": {"rule": [rule]},
        "accounts": {
            "s": {
                "address": "support@example.jp",
                "imap": {"host": "h", "username": "u", "password_command": "true"},
            }
        },
    }


@pytest.mark.parametrize(
    ("rule", "key", "problem"),
    [
        ({"name": "x", "body_regex": "(", "tags": ["a"]}, "rules.rule[0].body_regex", "not a valid"),  # noqa: E501
        ({"name": "x", "subject": "a"}, "rules.rule[0].name", "has no action"),
        ({"name": "x", "tags": ["a"]}, "rules.rule[0].name", "has no condition"),
        ({"name": "x", "subject": "a", "assign": "zoe"}, "rules.rule[0].assign", "not in team"),
        ({"name": "x", "subject": "a", "priority": "high"}, "rules.rule[0].priority", "urgent"),
        ({"name": "x", "subjet": "a", "tags": ["a"]}, "rules.rule[0].subjet", "unknown key"),
        ({"name": "x", "hours": "9-18", "tags": ["a"]}, "rules.rule[0].hours", "HH:MM"),
    ],
)  # fmt: skip
def test_rule_config_errors_name_the_key(rule: dict, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(_base(rule))
    assert caught.value.key == key and problem in caught.value.problem


@pytest.mark.parametrize(
    ("sla", "key", "problem"),
    [
        ({"timezone": "Mars/Olympus"}, "sla.timezone", "unknown time zone"),
        ({"business_hours": "18:00-09:00"}, "sla.business_hours", "expected HH:MM-HH:MM"),
        ({"business_days": ["mon", "funday"]}, "sla.business_days", "list of day names"),
        ({"holidays": "XX"}, "sla.holidays", "no public-holiday calendar"),
        ({"first_response": {"normal": "8 hours"}}, "sla.first_response.normal", "duration"),
        ({"first_response": {"low": "8h"}}, "sla.first_response.low", "unknown key"),
        ({"closed": ["2026-12-29"]}, "sla.closed", "list of dates"),
    ],
)
def test_sla_config_errors_name_the_key(sla: dict, key: str, problem: str) -> None:
    data = _base({"name": "x", "subject": "a", "tags": ["a"]})
    data["sla"] = sla
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert caught.value.key == key and problem in caught.value.problem


def test_sla_config_values() -> None:
    data = _base({"name": "x", "subject": "a", "tags": ["a"]})
    data["sla"] = {
        "timezone": "America/New_York",
        "business_days": ["mon", "tue"],
        "business_hours": "08:30-17:00",
        "holidays": "us",
        "first_response": {"urgent": "30m"},
        "resolution": {"normal": "1h30m"},
        "due_soon": "15m",
    }
    sla = parse_config(data).sla
    assert (sla.timezone, sla.weekdays, sla.start_minute, sla.end_minute) == (
        "America/New_York", (0, 1), 510, 1020,
    )  # fmt: skip
    assert sla.holidays == "US" and sla.due_soon == 900
    assert sla.first_response == {"urgent": 1800, "normal": 8 * 3600}
    assert sla.resolution == {"urgent": 9 * 3600, "normal": 5400}
