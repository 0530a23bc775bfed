"""Proactive notices end to end: `mailtriage notice` to N customers from a CSV through a real
aiosmtpd (STARTTLS + AUTH) with the Sent copies in a real Dovecot, as a separate process.

    python -m bench.notice_bench --recipients 200 --rate 100/s

Prints the wall and CPU time of the whole command, the per-message cost and how many SMTP
logins it took (one connection for the run, plus one after each failure); each message is one
SMTP transaction plus the outbox's fsyncs and the Sent APPEND.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench import sync_bench
from mailtriage.devservers.dovecot import DovecotServer
from mailtriage.devservers.pki import make_test_pki
from mailtriage.devservers.smtp import SmtpServer


def write_config(root: Path, server: DovecotServer, smtp_port: int, ca: Path) -> Path:
    """sync_bench's account plus SMTP (same user) and an outbox in the temp dir."""
    path = sync_bench.write_config(root, server)
    with path.open("a", encoding="utf-8") as out:
        out.write(
            f"""[accounts.bench.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "starttls"
username = "{sync_bench.USER}"
password_command = "echo {sync_bench.PASSWORD}"
ca_file = "{ca}"
[compose]
outbox_dir = "{root / "state"}"
"""
        )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=200)
    parser.add_argument("--rate", default="100/s")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="mailtriage-notice-bench-"))
    pki = make_test_pki(root / "pki")
    server = DovecotServer()
    try:
        server.start()
        server.add_user(sync_bench.USER, sync_bench.PASSWORD)
        with SmtpServer(
            tls_cert=pki.cert, tls_key=pki.key, users={sync_bench.USER: sync_bench.PASSWORD}
        ) as smtp:
            config = write_config(root, server, smtp.port, pki.ca_cert)
            csv = root / "customers.csv"
            rows = [f"c{i}@example.jp,顧客 {i}" for i in range(args.recipients)]
            csv.write_text("email,name\n" + "\n".join(rows) + "\n", encoding="utf-8")
            command = ["notice", "notice-outage", "--to-csv", str(csv), "--rate", args.rate]
            elapsed, out = sync_bench.timed(config, *command)
            print(f"mailtriage {' '.join(command[:2])} … --rate {args.rate}")
            print(f"  {out}")
            print(
                f"  delivered {len(smtp.received)} messages over {smtp.logins} SMTP logins;"
                f" whole process {elapsed:.1f} s (CPU {sync_bench.LAST_CPU[0]:.1f} s),"
                f" {elapsed / max(1, len(smtp.received)) * 1000:.0f} ms per message"
            )
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
