"""The 200 MB message (issue 9, "Hostile input"): time and peak memory of every step.

APPENDs two messages to a fresh local Dovecot — a short note with a SIZE-MB attachment
(base64 on the wire) and one whose text/plain part itself is SIZE MB — plus a small one, then
runs each step the way a user does, each in its own process, and prints wall time, CPU and
that process's peak RSS (wait4's ru_maxrss):
- `mailtriage sync`: headers of all three and the background prefetch (which must skip both);
- `mailtriage show ID` for each: opening fetches the text part only (BODYSTRUCTURE + a
  partial fetch) and prints the one-line notice;
- the app under Pilot: open the attachment message, save the attachment (`o`, Enter; streamed
  to disk, checked by SHA-256), reply (`r`, Enter, ctrl+s through a real aiosmtpd);
- the cache's size afterwards.

    python -m bench.large_message              # --size 200 (MB); --size 20 for a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.soak import SMTP_PASSWORD, SMTP_USER, write_config
from bench.sync_bench import PASSWORD, USER
from mailtriage.devservers.dovecot import DovecotServer
from mailtriage.devservers.largemail import huge_text, with_attachment
from mailtriage.devservers.pki import make_test_pki
from mailtriage.devservers.smtp import SmtpServer

MB = 1024 * 1024


def run_measured(config: Path, argv: list[str]) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS MB, stdout+stderr) of one child process."""
    env = dict(os.environ, MAILTRIAGE_CONFIG=str(config))
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode:
        raise SystemExit(f"{' '.join(argv)} failed ({child.returncode}):\n{output}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, output


def short_id(config: Path, message_id: str) -> str:
    env = dict(os.environ, MAILTRIAGE_CONFIG=str(config))
    out = subprocess.run(
        [sys.executable, "-m", "mailtriage", "ls", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for row in json.loads(out):
        if row["subject"] == message_id:
            return str(row["id"])
    raise SystemExit(f"no conversation {message_id!r} in {out[:500]}")


async def app_steps(config_path: str, subject: str, sha256: str) -> None:
    """In the child: open, save the attachment, reply; raise if any step fails."""
    from mailtriage.config import load_config
    from mailtriage.tui.app import make_app
    from mailtriage.tui.compose_screen import ComposeScreen
    from mailtriage.tui.pickers import Picker
    from mailtriage.tui.reader import ReaderScreen

    config = load_config(Path(config_path))

    async def until(pilot, what, predicate, timeout: float = 600) -> float:  # type: ignore[no-untyped-def]
        started = time.monotonic()
        while not predicate():
            if time.monotonic() - started > timeout:
                raise SystemExit(f"timed out waiting for {what}")
            await pilot.pause(0.05)
        took = time.monotonic() - started
        print(f"  app: {what}: {took:.2f} s", flush=True)
        return took

    def key_of(subject: str) -> str:
        (key,) = app.store.conn.execute(
            "SELECT conversation FROM messages WHERE subject = ?", (subject,)
        ).fetchone()
        return str(key)

    def shown() -> bool:
        screen = app.screen
        return isinstance(screen, ReaderScreen) and bool(
            screen.conversation and screen.conversation["messages"][0]["text"]
        )

    app = make_app(config)
    async with app.run_test(size=(120, 35)) as pilot:
        from mailtriage.tui.conversation_list import ConversationList

        await until(pilot, "connected", lambda: app.syncer is not None)
        listing = app.main.query_one(ConversationList)
        await until(pilot, "list shown", lambda: len(listing.keys) == 3)
        for other in ("text", subject):  # the huge text first, then the one to work on
            started = time.monotonic()
            app.open_conversation(key_of(other))
            await until(pilot, f"{other}: open until its text is shown", shown)
            reader = app.screen
            print(f"  app: notice: {reader.conversation['messages'][0]['warnings'][0]}")  # type: ignore[attr-defined]
            await pilot.press("G")
            took = time.monotonic() - started
            print(f"  app: {other}: opened and scrolled to its end in {took:.2f} s")
            if other != subject:
                await pilot.press("q")
        started = time.monotonic()
        await pilot.press("o")
        await until(pilot, "attachment picker", lambda: isinstance(app.screen, Picker))
        await pilot.press("enter")
        await until(
            pilot, "saved", lambda: any("Saved" in str(n.message) for n in app._notifications)
        )
        print(f"  app: o, Enter until the attachment is saved: {time.monotonic() - started:.2f} s")
        saved = config.ui.downloads / "logs.zip"
        digest = hashlib.sha256()
        with saved.open("rb") as f:
            while block := f.read(MB):
                digest.update(block)
        matches = digest.hexdigest() == sha256
        print(f"  app: saved {saved.stat().st_size:,} bytes, SHA-256 matches: {matches}")
        started = time.monotonic()
        await pilot.press("r")
        await until(pilot, "template picker", lambda: isinstance(app.screen, Picker))
        await pilot.press("enter")
        await until(pilot, "compose", lambda: isinstance(app.screen, ComposeScreen))
        await pilot.press("ctrl+s")
        key = key_of(subject)
        await until(
            pilot,
            "reply recorded",
            lambda: any(e["kind"] == "replied" for e in app.store.timeline(key)),
        )
        print(
            f"  app: r, Enter, ctrl+s until the reply is sent: {time.monotonic() - started:.2f} s"
        )


def seed(ca_file: Path, port: int, size: int) -> None:
    """In the child: APPEND the two large messages and a small one; print the attachment's
    SHA-256 on the second line."""
    import ssl

    import imapclient

    attach = with_attachment(size * MB, subject="attach", message_id="<a@big.jp>")
    text = huge_text(size * MB, subject="text", message_id="<t@big.jp>")
    started = time.perf_counter()
    context = ssl.create_default_context(cafile=str(ca_file))
    client = imapclient.IMAPClient("127.0.0.1", port, ssl_context=context)
    client.login(USER, PASSWORD)
    for raw in (attach.raw, text.raw):
        client.append("INBOX", raw)
    client.append("INBOX", b"From: a@x.jp\r\nSubject: small\r\nMessage-ID: <s@x.jp>\r\n\r\nhi\r\n")
    client.logout()
    sizes = f"{len(attach.raw) / MB:.0f} MB and {len(text.raw) / MB:.0f} MB"
    print(f"appended {sizes} in {time.perf_counter() - started:.1f} s")
    print(attach.attachment_sha256)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=200, help="MB of attachment and of text")
    parser.add_argument("--child-app", nargs=3, metavar=("CONFIG", "SUBJECT", "SHA256"))
    parser.add_argument("--child-seed", nargs=3, metavar=("CA", "PORT", "SIZE"))
    args = parser.parse_args(argv)
    if args.child_app:
        asyncio.run(app_steps(*args.child_app))
        return
    if args.child_seed:
        seed(Path(args.child_seed[0]), int(args.child_seed[1]), int(args.child_seed[2]))
        return
    root = Path(tempfile.mkdtemp(prefix="mailtriage-large-"))
    server = DovecotServer()
    try:
        server.start()
        server.add_user(USER, PASSWORD)
        pki = make_test_pki(root / "pki")
        # Seeded from a child: a parent that once held 400 MB would pass that high-water
        # mark on to every child it forks (ru_maxrss survives exec), spoiling each figure.
        seeded = subprocess.run(
            [
                *(sys.executable, "-m", "bench.large_message", "--child-seed"),
                *(str(server.ca_file), str(server.imaps_port), str(args.size)),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        print(seeded[0], flush=True)
        sha = seeded[1]
        with SmtpServer(
            tls_cert=pki.cert, tls_key=pki.key, users={SMTP_USER: SMTP_PASSWORD}, lmtp=None
        ) as smtp:
            config = write_config(root / "alice", server, smtp.port, pki.ca_cert, "alice")
            with config.open("a") as f:
                f.write(f'\n[ui]\ndownload_dir = "{root / "downloads"}"\n')
            print(f"{'step':<48} {'wall':>8} {'cpu':>8} {'peak RSS':>9}")

            def step(what: str, argv: list[str]) -> str:
                wall, cpu, rss, out = run_measured(config, argv)
                print(f"{what:<48} {wall:7.2f}s {cpu:7.2f}s {rss:7.0f} MB", flush=True)
                return out

            print("  " + step("sync (headers + prefetch)", ["-m", "mailtriage", "sync"]).strip())
            for subject in ("attach", "text"):
                ident = short_id(config, subject)
                out = step(
                    f"show {subject} (open: text part only)", ["-m", "mailtriage", "show", ident]
                )
                notice = next((line for line in out.splitlines() if "body is" in line), "")
                print(f"  {notice.strip()}")
            out = step(
                "app: open, save attachment, reply (Pilot)",
                ["-m", "bench.large_message", "--child-app", str(config), "attach", sha],
            )
            print(out.rstrip())
            print(
                f"SMTP received {len(smtp.received)} reply of {len(smtp.received[0].data):,} bytes"
            )
            cache = sum(
                p.stat().st_size for p in (root / "alice" / "cache").rglob("*") if p.is_file()
            )
            print(f"cache on disk: {cache / MB:.1f} MB")
    finally:
        server.stop()
        print("ROOT", root) if os.environ.get("KEEP") else shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
