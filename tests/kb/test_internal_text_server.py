"""Internal-only KB text never leaves, whichever path queues a message: `reply --send`,
`review approve` (the supervisor's CLI) and the review approval the app calls, through the
outbox's one check (real Dovecot and aiosmtpd)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from compose.helpers import make_config, only_conversation, outbox, parse, templates
from kb.helpers import copy_shipped
from mailtriage.cli import main
from mailtriage.compose import review
from mailtriage.compose.reply import prepare_reply
from mailtriage.compose.templates import find_template
from mailtriage.config import Config, load_config
from mailtriage.kb.insert import InternalTextError
from mailtriage.smtp.outbox import Outbox
from support.mailfactory import make_message
from triage.helpers import sync

pytestmark = pytest.mark.server

# A line of kb/internal/refund-approval.md (audience: internal), as an agent would paste it.
INTERNAL = "10,000円以上、または年間契約の途中解約: スーパーバイザー（carol）の承認が必要。"
REFUSED = (
    "not sent: the text contains internal-only KB article 'internal/refund-approval'"
    f" (its line 4: {'- ' + INTERNAL!r}); remove it first"
)


def _with_kb(config: Config, root: Path) -> Config:
    assert config.path is not None
    text = config.path.read_text(encoding="utf-8")
    config.path.write_text(f'{text}\n[kb]\npath = "{root}"\n', encoding="utf-8")
    return load_config(config.path)


@pytest.fixture
async def team(tmp_path: Path, imap_account, smtp_server, pki):  # type: ignore[no-untyped-def]
    imap_account.append("INBOX", make_message(message_id="<r1@example.jp>", subject="返金のお願い"))
    root = copy_shipped(tmp_path)
    configs = {
        name: _with_kb(
            make_config(tmp_path, imap_account, smtp_server.port, pki.ca_cert, agent=name), root
        )
        for name in ("alice", "carol")
    }
    for config in configs.values():
        await sync(config)
    return configs


def test_reply_send_refuses_internal_text_and_sends_the_clean_one(
    team, smtp_server, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    alice = team["alice"]
    cid = only_conversation(alice)["id"]
    args = ["reply", "--config", str(alice.path), cid, "-t", "shipping-delay", "--send"]
    assert main([*args, "--set", f"delivery_date={INTERNAL}"]) == 7
    assert capsys.readouterr().err == f"mailtriage: {REFUSED}\n"
    assert smtp_server.received == []
    assert main(["outbox", "--config", str(alice.path), "--all", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []  # nothing queued, nothing to resend
    # the same reply without the pasted line goes (the check does not block real work)
    assert main([*args, "--set", "delivery_date=11月25日"]) == 0
    (mail,) = smtp_server.received
    assert b"carol" not in mail.data


async def _submit_with_internal_text(alice: Config):  # type: ignore[no-untyped-def]
    # Submitted without the app's own check (another client, an older version): only the
    # outbox stands between this draft and the customer.
    conversation = only_conversation(alice)
    prepared = prepare_reply(
        alice, "support", conversation, find_template(templates(), "acknowledge", "ja")
    )
    body = prepared.message.body.replace("\n\n", f"\n\n{INTERNAL}\n\n", 1)
    return await review.submit_for_review(
        alice,
        "support",
        prepared.message.with_body(body),
        prepared.message.body,
        snapshot=prepared.snapshot,
    )


def test_review_approve_on_the_cli_refuses_and_the_draft_stays_pending(
    team, smtp_server, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    alice, carol = team["alice"], team["carol"]
    submitted = asyncio.run(_submit_with_internal_text(alice))
    capsys.readouterr()
    assert main(["review", "approve", submitted.id, "--now", "--config", str(carol.path)]) == 7
    assert capsys.readouterr().err == f"mailtriage: {REFUSED}\n"
    assert smtp_server.received == []
    (pending,) = asyncio.run(review.pending_reviews(carol, "support"))
    assert pending.id == submitted.id and pending.state == "pending"  # nothing lost


async def test_review_approval_as_the_app_calls_it_refuses(team, smtp_server) -> None:  # type: ignore[no-untyped-def]
    alice, carol = team["alice"], team["carol"]
    submitted = await _submit_with_internal_text(alice)
    box = Outbox.for_config(carol, "support")  # the app's outbox (app.get_outbox)
    try:
        with pytest.raises(InternalTextError) as caught:
            await review.approve(carol, "support", submitted.id, outbox=box, send_at=time.time())
        assert str(caught.value) == REFUSED
        assert box.items() == [] and await box.deliver_due(now=time.time() + 3600) == []
    finally:
        await box.close()
    assert smtp_server.received == []
    (pending,) = await review.pending_reviews(carol, "support")
    assert pending.state == "pending"


async def test_an_outbox_without_the_check_would_have_sent_it(team, smtp_server) -> None:  # type: ignore[no-untyped-def]
    # The control: the same approval through an outbox built without the config's KB sends
    # the pasted line, so the refusals above come from the check and nothing else.
    alice, carol = team["alice"], team["carol"]
    submitted = await _submit_with_internal_text(alice)
    box = outbox(carol, kb_guard=None)
    try:
        await review.approve(carol, "support", submitted.id, outbox=box, send_at=time.time())
        await box.deliver_due()
    finally:
        await box.close()
    (mail,) = smtp_server.received
    assert INTERNAL in parse(mail.data).get_body().get_content()


async def test_the_supervisor_approving_in_the_app_is_refused_with_the_line(
    team, smtp_server
) -> None:  # type: ignore[no-untyped-def]
    from kb.helpers import until
    from mailtriage.tui.app import make_app
    from mailtriage.tui.review_screen import ReviewScreen

    alice, carol = team["alice"], team["carol"]
    await _submit_with_internal_text(alice)
    await sync(carol)
    app = make_app(carol, background_sync=False)
    async with app.run_test(size=(120, 35)) as pilot:
        await pilot.press("v")
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        await until(pilot, lambda: len(screen.items) == 1)
        await pilot.pause()
        await pilot.press("a")
        await until(pilot, lambda: any(REFUSED in n.message for n in app._notifications))
        assert len(screen.items) == 1  # still there to return to its author
    assert smtp_server.received == []
    (pending,) = await review.pending_reviews(carol, "support")
    assert pending.state == "pending"


def test_the_guard_follows_the_kb_files_even_when_another_process_indexed_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kb.helpers import article, open_kb
    from mailtriage.config import KbConfig
    from mailtriage.kb.insert import InternalTextGuard

    root = tmp_path / "kb"
    line = "経理チャンネルに請求IDを書いて依頼すること（社外秘の手順です）"
    path = article(root, "procedure", "手順", f"{line}\n", audience="customer-facing")
    settings = KbConfig(path=root, index_path=tmp_path / "index" / "kb-index.sqlite3")
    guard = InternalTextGuard(settings)
    monkeypatch.setattr(InternalTextGuard, "REFRESH", 0.0)
    guard.check(f"お客様へ\n{line}\n")  # customer-facing: fine
    path.write_text(path.read_text(encoding="utf-8").replace("customer-facing", "internal"))
    open_kb(root, tmp_path).close()  # the app's KB takes the change into the shared index
    with pytest.raises(InternalTextError, match="'procedure'"):
        guard.check(f"お客様へ\n{line}\n")


async def test_escalate_with_a_holding_reply_carrying_internal_text_does_nothing(
    tmp_path: Path, imap_account, smtp_server, pki, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    # --answer-by is free text that goes into the customer's holding reply.
    from escalation.helpers import DEPARTMENTS, cli

    imap_account.append("INBOX", make_message(message_id="<h1@example.jp>"))
    config = make_config(tmp_path, imap_account, smtp_server.port, pki.ca_cert)
    assert config.path is not None
    text = config.path.read_text(encoding="utf-8")
    config.path.write_text(text + DEPARTMENTS, encoding="utf-8")
    config = _with_kb(config, copy_shipped(tmp_path))
    await sync(config)
    sid = only_conversation(config)["id"]
    argv = ("escalate", sid, "billing", "--reason", "確認", "--forward", "--hold")
    code, _, err = await cli(capsys, config, *argv, "--answer-by", INTERNAL)
    assert (code, err) == (7, f"mailtriage: {REFUSED}\n")
    assert smtp_server.received == []
    assert not imap_account.client().folder_exists("Mailtriage")  # no note, no event
    code, _, err = await cli(capsys, config, *argv, "--answer-by", "12月1日(火)")
    assert code == 0, err
    assert len(smtp_server.received) == 2  # the forward and the holding reply
