"""Soak: a big mailbox, a steady stream of new mail, two agents claiming and replying, and the
app watching it all (issue #9 "Load").

    python -m bench.soak                      # 100,000 messages, 10/s for 10 minutes
    python -m bench.soak --messages 20000 --minutes 2

One local Dovecot (mdbox unless --storage maildir; seeded like bench/sync_bench.py) and one
aiosmtpd, both on 127.0.0.1. This process runs the real TUI headless (Textual's run_test, its
own watch loop: IDLE push); a third (`--role stream`) appends new mail at --rate per second,
and a second (`--role load`) runs two agents,
alice and bob, each with its own cache, who sync, claim one of the newest Unhandled
conversations, reply from the "acknowledge" template through the outbox (real SMTP, real Sent
APPEND) and mark it done, in a loop. Printed:
- the app's RSS every 30 s (memory over time: growth is the thing to look for);
- the keypress latency in the app under load: j/k typed ten a second, each from reaching the
  app until the list's cursor action ran (bench/keytiming.py), and once a second the wall
  time of a Pilot press (its own idle waits included: ≈ 60 ms on an idle machine, and up to
  1 s more while any thread of the process is busy);
- lost events: mail appended but never in the app's cache, and claims the agents won whose
  assignee the app's cache does not show, both after a grace period (should be 0);
- the agents' claims, conflicts and replies, and every SMTP message received exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from bench.keytiming import KeyTimer, percentiles
from bench.sync_bench import PASSWORD, USER, seed, tls_client
from mailtriage.config import Config, load_config
from mailtriage.devservers.dovecot import DovecotServer
from mailtriage.devservers.pki import make_test_pki
from mailtriage.devservers.smtp import SmtpServer

ACCOUNT = "bench"
SMTP_USER, SMTP_PASSWORD = "agent", "agentpw"
GRACE = 30.0  # seconds after the stream stops for the app to catch up


def write_config(
    directory: Path, server: DovecotServer, smtp_port: int, ca: Path, agent: str
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "config.toml"
    path.write_text(
        f"""[agent]
name = "{agent}"
display_name = "{agent}"

[team]
members = ["alice", "bob", "watcher"]

[accounts.{ACCOUNT}]
address = "support@example.co.jp"
cache_dir = "{directory / "cache"}"

[accounts.{ACCOUNT}.imap]
host = "{server.host}"
port = {server.imaps_port}
username = "{USER}"
password_command = "echo {PASSWORD}"
ca_file = "{server.ca_file}"
timeout = 120

[accounts.{ACCOUNT}.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "starttls"
username = "{SMTP_USER}"
password_command = "echo {SMTP_PASSWORD}"
ca_file = "{ca}"

[compose]
from_name = "Example Support"
undo_seconds = 0
outbox_dir = "{directory / "state"}"
"""
    )
    return path


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# -- the load process: the mail stream and two agents -----------------------------------


def new_mail(i: int) -> tuple[bytes, str]:
    msg = EmailMessage()
    msg["Subject"] = f"ソーク試験 {i}: ログインできません"
    msg["From"] = f"顧客 {i} <customer{i}@example.jp>"
    msg["To"] = "support@example.co.jp"
    msg["Date"] = format_datetime(datetime.now(UTC))
    message_id = make_msgid(f"soak{i}", "example.jp")
    msg["Message-ID"] = message_id
    msg.set_content(f"お世話になっております。ログインできません（{i}）。\n")
    return msg.as_bytes(), message_id


@dataclass
class _Where:
    """What tls_client needs of a DovecotServer, in the load process."""

    host: str
    imaps_port: int
    ca_file: Path


def stream(server: Any, rate: float, seconds: float, sent: list[str]) -> None:
    client = tls_client(server)
    # APPEND to the selected mailbox reuses Dovecot's open index: ~26 ms at 100k messages
    # instead of ~290 ms reopening it every time, which held the stream to 0.7/s.
    client.select_folder("INBOX")
    started = time.monotonic()
    i = 0
    while time.monotonic() - started < seconds:
        raw, message_id = new_mail(i)
        client.append("INBOX", raw)
        sent.append(message_id)
        i += 1
        # steady rate: sleep until this message's slot, never catch up in a burst
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    client.logout()


async def agent_loop(
    config: Config, stop: float, tally: Counter[str], claims: dict[str, str]
) -> None:
    from mailtriage.compose.reply import prepare_reply
    from mailtriage.compose.templates import find_template, load_templates
    from mailtriage.imap.account import AccountSync
    from mailtriage.imap.actions import AccountActions
    from mailtriage.resources import data_dir
    from mailtriage.smtp.outbox import Outbox
    from mailtriage.store import Store, listing

    account = config.accounts[ACCOUNT]
    password = account.imap.resolve_password()
    syncer = AccountSync(account, password)
    actions = AccountActions(account, password, config.agent)
    box = Outbox.for_config(config, ACCOUNT, backoff=(0.0, 0.0))
    template = find_template(load_templates([data_dir("templates")]), "acknowledge", "ja")
    rng = random.Random(config.agent)
    try:
        while time.monotonic() < stop:
            await syncer.sync()
            store = Store(account.cache_path, readonly=True)
            try:
                keys = listing.view_keys(store.conn, "unhandled", agent=config.agent)[-20:]
                key = rng.choice(keys) if keys else None
                conversation = store.get_conversation(key) if key else None
            finally:
                store.close()
            if conversation is None:
                await asyncio.sleep(0.5)
                continue
            result = await actions.claim(conversation["key"])
            if not result.ok:
                tally["conflicts"] += 1
                continue
            tally["claims"] += 1
            claims[conversation["key"]] = config.agent
            reply = prepare_reply(config, ACCOUNT, conversation, template)
            box.enqueue(reply.message, send_at=time.time(), snapshot=reply.snapshot)
            for delivery in await box.deliver_due():
                tally["replies" if delivery.state == "done" else f"reply-{delivery.state}"] += 1
            done = await actions.set_status(conversation["key"], "done")
            tally["done" if done.ok else "done-refused"] += 1
    finally:
        await box.close()
        await actions.close()
        await syncer.close()


def run_stream(args: argparse.Namespace) -> None:
    """The mail stream, a process of its own: as a thread beside the agents it shared their
    GIL and reached 0.4-0.7 messages/s of the 10 asked for."""
    info = json.loads(Path(args.load).read_text())
    server = _Where("127.0.0.1", info["imaps_port"], Path(info["ca_file"]))
    sent: list[str] = []
    stream(server, args.rate, args.minutes * 60, sent)
    Path(args.load).with_suffix(".sent.json").write_text(json.dumps(sent))


def run_load(args: argparse.Namespace) -> None:
    info = json.loads(Path(args.load).read_text())
    seconds = args.minutes * 60
    feeder = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.soak",
            "--role",
            "stream",
            "--load",
            args.load,
            "--minutes",
            str(args.minutes),
            "--rate",
            str(args.rate),
        ]
    )
    tally: Counter[str] = Counter()  # both agents run on one event loop: no lock needed
    claims: dict[str, str] = {}

    async def agents() -> None:
        stop = time.monotonic() + seconds
        await asyncio.gather(
            *(agent_loop(load_config(p), stop, tally, claims) for p in info["agents"])
        )

    asyncio.run(agents())
    if feeder.wait() != 0:
        raise SystemExit(f"the mail stream failed (exit {feeder.returncode})")
    sent = json.loads(Path(args.load).with_suffix(".sent.json").read_text())
    Path(args.load).with_suffix(".out.json").write_text(
        json.dumps({"sent": sent, "tally": tally, "claims": claims})
    )


# -- the app, headless, under that load ------------------------------------------------------


async def watch_app(config: Config, load: subprocess.Popen[bytes], out: Path) -> dict[str, object]:
    from mailtriage.tui.app import make_app
    from mailtriage.tui.conversation_list import ConversationList

    app = make_app(config)  # background sync on: the app's own watch loop, IDLE push
    memory: list[tuple[float, float]] = []
    started = time.monotonic()
    async with app.run_test(size=(120, 35)) as pilot:
        listing = app.main.query_one(ConversationList)
        await pilot.press("8")  # All: every new message adds a row here
        timer = KeyTimer(listing)
        wall: list[float] = []
        next_sample = 0.0
        step = 0
        while load.poll() is None:
            elapsed = time.monotonic() - started
            if elapsed >= next_sample:
                memory.append((elapsed, rss_mb()))
                print(
                    f"  t={elapsed:6.0f} s  RSS {memory[-1][1]:6.1f} MB  rows {len(listing.keys)}"
                    f"  status: {app.sync_state[:60]}",
                    flush=True,
                )
                next_sample += 30.0
            await timer.type(app, 1.0, interval=0.1)  # keys as a user types them
            key = "j" if step % 2 == 0 else "k"
            step += 1
            t = time.perf_counter()
            await pilot.press(key)  # and one as Pilot sends it (the figure of session 3)
            wall.append((time.perf_counter() - t) * 1000)
        memory.append((time.monotonic() - started, rss_mb()))
        result = json.loads(out.read_text())
        cache = config.accounts[ACCOUNT].cache_path
        deadline = time.monotonic() + GRACE
        while True:
            lost, unclaimed = _lost(cache, result)
            if (not lost and not unclaimed) or time.monotonic() > deadline:
                break
            await pilot.pause(1.0)
    timer.close()
    return {
        "keys": wall,
        "handled": timer.handled,
        "memory": memory,
        "lost": lost,
        "unclaimed": unclaimed,
        **result,
    }


def _lost(cache: Path, result: dict) -> tuple[list[str], list[str]]:  # type: ignore[type-arg]
    with sqlite3.connect(f"file:{cache}?mode=ro", uri=True) as db:
        have = {mid for (mid,) in db.execute("SELECT message_id FROM messages")}
        assignee = dict(db.execute("SELECT key, assignee FROM conversations"))
    lost = [m for m in result["sent"] if m not in have]
    unclaimed = [k for k, who in result["claims"].items() if assignee.get(k) != who]
    return lost, unclaimed


def main(argv: list[str] | None = None) -> None:
    # aiosmtpd warns on every AUTH (its own deprecation): hundreds of lines under load.
    warnings.filterwarnings("ignore", message="Session.login_data")
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=100_000, help="seeded first")
    parser.add_argument("--minutes", type=float, default=10.0, help="how long mail streams in")
    parser.add_argument("--rate", type=float, default=10.0, help="new messages per second")
    parser.add_argument(
        "--storage",
        choices=["mdbox", "maildir"],
        default="mdbox",
        help="Dovecot's mail storage (the test suite's servers use maildir)",
    )
    parser.add_argument(
        "--role", choices=["app", "load", "stream"], default="app", help=argparse.SUPPRESS
    )
    parser.add_argument("--load", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.role == "load":
        run_load(args)
        return
    if args.role == "stream":
        run_stream(args)
        return

    root = Path(tempfile.mkdtemp(prefix="mailtriage-soak-"))
    # The app (sync, team watch, actions), two agents (the same, plus Sent) and the stream
    # all log in as one user: Dovecot's default 10 connections per user and IP refused some.
    extra = "mail_max_userip_connections = 40\n"
    if args.storage == "mdbox":
        # At 100k messages a maildir took the stream's APPENDs ~1 s each while the other
        # sessions reread it (0.4-1 message/s of the 10 asked); mdbox, Dovecot's format for
        # large mailboxes, keeps 10/s (30k messages, 1 minute: 600 appended against 213).
        extra += "mail_location = mdbox:~/mdbox\n"
    server = DovecotServer(extra_config=extra)
    try:
        server.start()
        server.add_user(USER, PASSWORD)
        pki = make_test_pki(root / "pki")
        print(f"seeded {args.messages} messages in {seed(server, args.messages):.1f} s", flush=True)
        with SmtpServer(
            tls_cert=pki.cert, tls_key=pki.key, users={SMTP_USER: SMTP_PASSWORD}, lmtp=None
        ) as smtp:
            paths = {
                name: write_config(root / name, server, smtp.port, pki.ca_cert, name)
                for name in ("watcher", "alice", "bob")
            }
            env = dict(os.environ, MAILTRIAGE_CONFIG=str(paths["watcher"]))
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "mailtriage", "sync", "-q"], env=env, check=True)
            print(f"initial sync of the app's cache: {time.perf_counter() - t:.1f} s", flush=True)
            watcher = load_config(paths["watcher"])
            for name in ("alice", "bob"):  # the same cache, copied: no second 100k sync
                target = load_config(paths[name]).accounts[ACCOUNT].cache_path
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(watcher.accounts[ACCOUNT].cache_path, target)
            info = root / "load.json"
            info.write_text(
                json.dumps(
                    {
                        "imaps_port": server.imaps_port,
                        "ca_file": str(server.ca_file),
                        "agents": [str(paths["alice"]), str(paths["bob"])],
                    }
                )
            )
            print(
                f"streaming {args.rate:g} msg/s for {args.minutes:g} min; alice and bob claim"
                " and reply; the app watches",
                flush=True,
            )
            load = subprocess.Popen(
                [
                    sys.executable, "-m", "bench.soak", "--role", "load", "--load", str(info),
                    "--minutes", str(args.minutes), "--rate", str(args.rate),
                ]
            )  # fmt: skip
            report = asyncio.run(watch_app(watcher, load, info.with_suffix(".out.json")))
            received = [m.data for m in smtp.received]
        keys, memory = report["keys"], report["memory"]
        tally = report["tally"]
        ids = [
            line
            for data in received
            for line in data.split(b"\r\n")
            if line.lower().startswith(b"message-id:")
        ]
        print("\nresults")
        print(f"  new mail appended          {len(report['sent'])}")
        print(f"  lost (not in app cache)    {len(report['lost'])}")
        print(
            f"  claims won / conflicts     {tally.get('claims', 0)} / {tally.get('conflicts', 0)}"
        )
        print(f"  claims the app missed      {len(report['unclaimed'])}")
        print(f"  replies sent / SMTP got    {tally.get('replies', 0)} / {len(received)}"
              f" ({len(set(ids))} distinct Message-IDs)")  # fmt: skip
        print(f"  marked done                {tally.get('done', 0)}")
        print(
            f"  key typed to handled       {percentiles(report['handled'])}"
            f" over {len(report['handled'])} keys"
        )
        print(f"  keypress (Pilot wall)      {percentiles(keys)} over {len(keys)} keys")
        print(
            f"  app RSS                    start {memory[0][1]:.0f} MB, end {memory[-1][1]:.0f} MB,"
            f" max {max(m for _, m in memory):.0f} MB"
        )
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
