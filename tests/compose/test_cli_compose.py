"""`mailtriage reply|outbox|templates` as a user runs them (real Dovecot and aiosmtpd)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from compose.helpers import make_config, only_conversation
from mailtriage.cli import main
from support.mailfactory import make_message
from triage.helpers import sync


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailtriage", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
async def ready(tmp_path: Path, imap_account, smtp_server, pki):  # type: ignore[no-untyped-def]
    imap_account.append(
        "INBOX",
        make_message(message_id="<q1@example.jp>", body="商品が届かないのですが{{ 7*7 }}\n"),
    )
    config = make_config(tmp_path, imap_account, smtp_server.port, pki.ca_cert)
    await sync(config)
    return config, only_conversation(config)["id"]


def test_templates_json_and_check(ready, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    config, _ = ready
    assert main(["templates", "--config", str(config.path), "--json", "--check"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert len(items) == 18  # 9 templates in ja and en (holding, notice-outage included)
    assert all(i["name"] and i["description"] and i["error"] is None for i in items)


def test_templates_check_fails_on_a_broken_user_template(
    tmp_path: Path, ready, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    config, _ = ready
    user = tmp_path / "mine"
    user.mkdir()
    (user / "x.txt.j2").write_text(
        '---\nname = "x"\ndescription = "d"\nlanguage = "en"\n---\nHi\n{{ order.number }}\n',
        "utf-8",
    )
    path = Path(config.path)
    path.write_text(path.read_text() + f'\n[templates]\ndirs = ["{user}"]\n', "utf-8")
    assert main(["templates", "--config", str(path), "--check"]) == 2
    err = capsys.readouterr().err
    assert f"{user / 'x.txt.j2'}:7: 'order' is undefined" in err


def test_reply_prints_without_sending(ready, smtp_server, capsys) -> None:  # type: ignore[no-untyped-def]
    config, cid = ready
    assert main(["reply", "--config", str(config.path), cid, "--template", "shipping-delay"]) == 0
    out, err = capsys.readouterr()
    assert "Subject: Re: 【配送のご案内】" not in out  # the template's own subject pattern
    assert "Subject: 【配送のご案内】ログインできません" in out
    assert "山田 太郎 様" in out
    assert "> 商品が届かないのですが{{ 7*7 }}" in out
    assert "未記入" in err  # the placeholder hint
    assert smtp_server.received == []


def test_reply_send_and_outbox_json(ready, smtp_server) -> None:  # type: ignore[no-untyped-def]
    config, cid = ready
    done = _run(
        "--config", str(config.path), "reply", cid, "-t", "ja/acknowledge", "--send", "--json"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["state"] == "done" and result["to"] == ["taro@example.jp"]
    assert len(smtp_server.received) == 1
    done = _run("--config", str(config.path), "outbox", "--json", "--all")
    assert done.returncode == 0
    (item,) = json.loads(done.stdout)
    assert item["message_id"] == result["message_id"] and item["state"] == "done"


def test_reply_send_held_then_outbox_retry_force(ready, imap_account, smtp_server) -> None:  # type: ignore[no-untyped-def]
    config, cid = ready
    imap = imap_account.client()
    imap.select_folder("INBOX")
    imap.add_flags(imap.search("ALL"), ["mt:assignee/bob", "mt:status/in-progress"])
    done = _run("--config", str(config.path), "reply", cid, "-t", "acknowledge", "--send")
    assert done.returncode == 7, done.stderr
    assert "bob claimed it meanwhile" in done.stderr
    done = _run("--config", str(config.path), "outbox")
    assert "held" in done.stdout
    done = _run("--config", str(config.path), "outbox", "--retry", "--force", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
    assert len(smtp_server.received) == 1


def test_reply_unknown_template(ready, capsys) -> None:  # type: ignore[no-untyped-def]
    config, cid = ready
    assert main(["reply", "--config", str(config.path), cid, "--template", "nope"]) == 1
    assert "no template named 'nope'" in capsys.readouterr().err
