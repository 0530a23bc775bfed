"""Least privilege from the config: only team.supervisors approve or return reviewed replies
and reassign several conversations at once, in the app and on the command line (real Dovecot
and aiosmtpd where a server is involved)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from compose.helpers import make_config, only_conversation, templates
from mailtriage.compose import review
from mailtriage.compose.reply import prepare_reply
from mailtriage.compose.templates import find_template
from mailtriage.config import Config
from mailtriage.tui.app import make_app
from mailtriage.tui.conversation_list import ConversationList
from mailtriage.tui.pickers import Picker
from security.helpers import run_cli
from support.mailfactory import make_message
from triage.helpers import agent_config, sync


def _shown(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(n.message) for n in app._notifications]


async def test_app_bulk_reassign_is_for_supervisors(tui_config: Config) -> None:
    app = make_app(tui_config, background_sync=False)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("8", "x", "x")
        assert len(app.main.query_one(ConversationList).selected) == 2
        await pilot.press("a")
        await pilot.pause()
        assert not isinstance(app.screen, Picker)
        assert any(
            "alice is not a supervisor: only carol can reassign several conversations" in m
            for m in _shown(app)
        )
        # One conversation at a time stays every agent's right.
        app.main.query_one(ConversationList).selected.clear()
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, Picker)

    carol = dataclasses.replace(tui_config, agent="carol")
    app = make_app(carol, background_sync=False)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("8", "x", "x", "a")
        await pilot.pause()
        assert isinstance(app.screen, Picker)


async def test_app_review_decisions_are_for_supervisors(
    tmp_path: Path, imap_account, smtp_server, pki
) -> None:  # type: ignore[no-untyped-def]
    imap_account.append("INBOX", make_message(message_id="<role1@example.jp>"))
    alice, bob = (
        make_config(tmp_path, imap_account, smtp_server.port, pki.ca_cert, agent=name)
        for name in ("alice", "bob")
    )
    for config in (alice, bob):
        await sync(config)
    conversation = only_conversation(alice)
    prepared = prepare_reply(
        alice, "support", conversation, find_template(templates(), "acknowledge", "ja")
    )
    await review.submit_for_review(
        alice, "support", prepared.message, prepared.message.body, snapshot=prepared.snapshot
    )
    app = make_app(bob, background_sync=False)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("v")
        for _ in range(100):
            await pilot.pause(0.05)
            if getattr(app.screen, "items", None):
                break
        assert len(app.screen.items) == 1
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("t")
        await pilot.pause()
        refusals = [m for m in _shown(app) if "bob is not a supervisor" in m]
        assert len(refusals) == 2  # approve and return, each refused before any traffic
    (item,) = await review.pending_reviews(alice, "support")
    assert item.state == "pending" and smtp_server.received == []


def test_cli_reassign_is_for_supervisors(tmp_path: Path, imap_account) -> None:  # type: ignore[no-untyped-def]
    for n in (1, 2, 3):
        imap_account.append(
            "INBOX",
            make_message(message_id=f"<ra{n}@example.jp>", subject=f"Case {n}",
                         sender=("C", f"c{n}@example.jp")),
        )  # fmt: skip
    configs = {
        name: agent_config(tmp_path, imap_account, name) for name in ("alice", "bob", "carol")
    }
    paths = {name: str(config.path) for name, config in configs.items()}
    assert run_cli("--config", paths["alice"], "sync", "-q").returncode == 0
    listing = run_cli("--config", paths["alice"], "ls", "--json")
    cases = {c["subject"]: c["id"] for c in json.loads(listing.stdout)}
    for subject in ("Case 1", "Case 2"):
        assert run_cli("--config", paths["alice"], "claim", cases[subject]).returncode == 0

    for name in ("bob", "carol"):
        assert run_cli("--config", paths[name], "sync", "-q").returncode == 0
    # bob may look, not move.
    done = run_cli("--config", paths["bob"], "reassign", "alice", "bob", "--dry-run")
    assert (done.returncode, done.stdout.strip()) == (
        0,
        "would move 2 of 2 conversations from alice to bob",
    )
    done = run_cli("--config", paths["bob"], "reassign", "alice", "bob")
    assert done.returncode == 7
    assert done.stderr.strip() == (
        "mailtriage: bob is not a supervisor: only carol can reassign several conversations at"
        " once; assign them one by one"
    )
    done = run_cli("--config", paths["carol"], "reassign", "alice", "bob", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert sorted(c["id"] for c in result["conversations"]) == sorted(
        [cases["Case 1"], cases["Case 2"]]
    )
    assert all(c["ok"] for c in result["conversations"])
    # The server now says bob for both (a fresh sync of alice's cache), Case 3 untouched.
    assert run_cli("--config", paths["alice"], "sync", "-q").returncode == 0
    mine = json.loads(
        run_cli("--config", paths["alice"], "--as", "bob", "ls", "--view", "mine", "--json").stdout
    )
    assert sorted(c["subject"] for c in mine) == ["Case 1", "Case 2"]
