"""The scriptable CLI as scripts use it: a real process, real Dovecot, JSON on stdout."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mailtriage import __version__
from support.configs import write_config
from support.mailfactory import SUPPORT, make_message

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


def run(
    *args: str, config: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if config is not None:
        env["MAILTRIAGE_CONFIG"] = str(config)
    done = subprocess.run(
        [sys.executable, "-m", "mailtriage", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"exit {done.returncode}: {done.stderr}")
    return done


@pytest.fixture
def synced(tmp_path: Path, imap_account) -> Path:  # type: ignore[no-untyped-def]
    imap_account.append("INBOX", make_message(message_id="<a1@example.jp>", minutes=0))
    imap_account.append(
        "INBOX",
        make_message(
            subject="Refund for order 8812",
            sender=("Ann Lee", "ann@example.com"),
            body="I was charged twice.",
            message_id="<b1@example.com>",
            minutes=5,
        ),
        flags=["mt:status/in-progress", "mt:assignee/alice", "mt:prio/urgent", "\\Seen"],
    )
    imap_account.append(
        "Sent",
        make_message(
            subject="Re: Refund for order 8812",
            sender=("Support", SUPPORT),
            to=(("Ann Lee", "ann@example.com"),),
            body="Refunded.",
            message_id="<b2@example.co.jp>",
            in_reply_to="<b1@example.com>",
            references=["<b1@example.com>"],
            minutes=9,
        ),
        flags=["\\Seen"],
    )
    config = write_config(tmp_path, imap_account)
    done = run("sync", config=config)
    assert re.search(r"support: 3 new, 0 changed, 0 removed in \d+\.\d s", done.stdout)
    return config


def test_version_and_help() -> None:
    assert run("--version").stdout.strip() == f"mailtriage {__version__}"
    for command in ("sync", "ls", "show", "search", "demo"):
        out = run(command, "--help").stdout
        assert out.startswith(f"usage: mailtriage {command}")


def test_ls_json_contract(synced: Path) -> None:
    items = json.loads(run("ls", "--json", config=synced).stdout)
    assert [i["subject"] for i in items] == ["ログインできません"]
    (item,) = items
    assert set(item) >= {
        "id",
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
    assert item["customer"] == {"name": "山田 太郎", "email": "taro@example.jp"}
    assert (item["status"], item["assignee"], item["unread"]) == ("unhandled", None, 1)
    assert ISO.match(item["last_message_at"])

    mine = json.loads(run("ls", "--view", "mine", "--json", config=synced).stdout)
    assert [(i["subject"], i["status"], i["priority"], i["message_count"]) for i in mine] == [
        ("Refund for order 8812", "in-progress", "urgent", 2)
    ]
    everything = json.loads(run("ls", "--view", "all", "--json", config=synced).stdout)
    assert len(everything) == 2
    assert (
        len(json.loads(run("ls", "--view", "all", "--limit", "1", "--json", config=synced).stdout))
        == 1
    )
    # another agent's "mine" is theirs
    bob = json.loads(run("ls", "--view", "mine", "--as", "bob", "--json", config=synced).stdout)
    assert bob == []


def test_show_json_and_prefix(synced: Path) -> None:
    (item,) = json.loads(run("ls", "--view", "mine", "--json", config=synced).stdout)
    shown = json.loads(run("show", item["id"][:5].lower(), "--json", config=synced).stdout)
    assert shown["id"] == item["id"]
    assert [m["message_id"] for m in shown["messages"]] == [
        "<b1@example.com>",
        "<b2@example.co.jp>",
    ]
    first = shown["messages"][0]
    assert set(first) >= {
        "message_id",
        "from",
        "to",
        "cc",
        "date",
        "subject",
        "text",
        "attachments",
    }
    assert first["from"] == {"name": "Ann Lee", "email": "ann@example.com"}
    assert first["to"] == [{"name": "", "email": SUPPORT}]
    assert first["text"].strip() == "I was charged twice."
    assert ISO.match(first["date"])
    human = run("show", item["id"], config=synced).stdout
    assert "Refund for order 8812" in human and "Refunded." in human


def test_show_unknown_id(synced: Path) -> None:
    done = run("show", "ZZZZZZZZ", config=synced, check=False)
    assert done.returncode == 1
    assert "no conversation with id 'ZZZZZZZZ'" in done.stderr


def test_ls_human_output(synced: Path) -> None:
    out = run("ls", "--view", "all", config=synced).stdout
    assert "ログインできません" in out and "未対応" in out and "対応中" in out


def test_bad_config_is_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[agent]\nname = "alice"\n[accounts.a]\naddress = "a@b.c"\n'
        '[accounts.a.imap]\nhost = "h"\nusername = "u"\nport = "993"\n'
    )
    done = run("ls", config=path, check=False)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "accounts.a.imap.port: expected an integer" in done.stderr
    assert "Traceback" not in done.stderr


def test_ls_before_sync_explains(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    done = run("ls", config=write_config(tmp_path, imap_account), check=False)
    assert done.returncode == 1
    assert "run `mailtriage sync` first" in done.stderr


def test_sync_failure_exit_codes(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    done = run("sync", config=write_config(tmp_path, imap_account, password="nope"), check=False)
    assert done.returncode == 3
    assert "refused" in done.stderr and "Traceback" not in done.stderr
    done = run("sync", config=write_config(tmp_path, imap_account, ca_file=None), check=False)
    assert done.returncode == 4
    assert "certificate not trusted" in done.stderr


# A no-change `mailtriage sync` has 150 ms at 100k messages (DESIGN.md §5); these imports cost
# it ~45 ms and it needs none of them (the other command groups, importlib.metadata through
# imapclient's version module, email.policy for writing app-folder items).
NOT_ON_THE_SYNC_PATH = (
    "mailtriage.cli_admin",
    "mailtriage.cli_compose",
    "mailtriage.cli_escalation",
    "mailtriage.cli_kb",
    "mailtriage.cli_reports",
    "mailtriage.cli_triage",
    "importlib.metadata",
    "email.policy",
    "uuid",
)


def test_no_change_sync_imports_only_what_it_needs(synced: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "mailtriage", "sync", "-q"],
        capture_output=True,
        text=True,
        env=dict(os.environ, MAILTRIAGE_CONFIG=str(synced)),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "support: 0 new, 0 changed, 0 removed" in done.stdout
    imported = {line.rpartition("|")[2].strip() for line in done.stderr.splitlines()}
    assert "imapclient" in imported and "mailtriage.imap.session" in imported
    assert sorted(imported.intersection(NOT_ON_THE_SYNC_PATH)) == []
