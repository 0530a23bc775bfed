"""`mailtriage claim|assign|status|priority|tag` exit statuses and output."""

from __future__ import annotations

import asyncio
import json

from mailtriage.cli import main
from mailtriage.triage.threads import short_id
from support.mailfactory import make_message
from triage.helpers import only_key, sync


async def test_cli_triage_commands_and_exit_statuses(two_agents, imap_account, capsys) -> None:  # type: ignore[no-untyped-def]
    alice, bob = two_agents
    imap_account.append("INBOX", make_message(message_id="<cli1@example.jp>"))
    await sync(alice)
    await sync(bob)
    key = only_key(alice)
    sid = short_id(key)
    # These run asyncio.run() inside; the test's own loop is idle meanwhile.
    code, out = await _cli(capsys, ["claim", sid[:5].lower()], alice)
    assert (code, out.strip()) == (0, f"{sid}: claimed")
    code, out = await _cli(capsys, ["claim", "--json", sid], bob)
    assert code == 7
    result = json.loads(out)
    assert (result["ok"], result["conflict_with"], result["reason"]) == (False, "alice", "conflict")
    assert result["conversation"]["assignee"] == "alice"
    assert (await _cli(capsys, ["tag", sid, "+billing", "-later"], alice))[0] == 0
    assert (await _cli(capsys, ["priority", sid, "urgent"], alice))[0] == 0
    code, out = await _cli(capsys, ["status", "--json", sid, "done"], alice)
    conv = json.loads(out)["conversation"]
    assert (code, conv["status"], conv["priority"], conv["tags"]) == (
        0,
        "done",
        "urgent",
        ["billing"],
    )
    assert (await _cli(capsys, ["assign", sid, "nobody-here"], alice))[0] == 2
    assert (await _cli(capsys, ["tag", sid, "billing"], alice))[0] == 2
    assert (await _cli(capsys, ["claim", "ZZZZZZ"], alice))[0] == 1
    # Bob's cache is a sync behind: changing what he has not seen is refused, not overwritten.
    assert (await _cli(capsys, ["assign", sid, "-"], bob))[0] == 7
    await sync(bob)
    assert (await _cli(capsys, ["assign", sid, "-"], bob))[0] == 0


async def _cli(capsys, argv: list[str], config) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    capsys.readouterr()
    # Options before the id: `tag` takes everything after the id as tags.
    command, *rest = argv
    code = await asyncio.to_thread(main, [command, "--config", str(config.path), *rest])
    captured = capsys.readouterr()
    return code, captured.out
