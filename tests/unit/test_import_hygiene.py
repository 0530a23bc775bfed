"""Layers that cannot leak: the core never imports Textual (STYLE.md, harlequin's check)."""

from __future__ import annotations

import subprocess
import sys

CORE = [
    "mailtriage.config",
    "mailtriage.store",
    "mailtriage.triage.state",
    "mailtriage.triage.threads",
    "mailtriage.imap.sync",
    "mailtriage.imap.account",
    "mailtriage.mime",
    "mailtriage.cli",
    "mailtriage.cli_compose",
    "mailtriage.compose.templates",
    "mailtriage.compose.message",
    "mailtriage.compose.reply",
    "mailtriage.compose.tone",
    "mailtriage.smtp.outbox",
    "mailtriage.store.outbox",
    "mailtriage.store.kpi",
    "mailtriage.sla",
    "mailtriage.sla.kpi",
    "mailtriage.rules",
    "mailtriage.cli_reports",
    "mailtriage.cli_escalation",
    "mailtriage.cli_notice",
    "mailtriage.compose.notices",
    "mailtriage.triage.escalation",
    "mailtriage.triage.handover",
    "mailtriage.triage.departments",
]


def test_core_does_not_import_textual() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in CORE)
        + "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_the_start_up_check_of_ack_templates_stays_light() -> None:
    # The app and sync --watch run it before they start (compose.ack_templates): reading
    # the template names must not pull in Jinja, IMAP or SMTP.
    code = (
        "import sys\n"
        "from mailtriage.compose.ack_templates import check_templates\n"
        "from mailtriage.compose.templates import load_templates\n"
        "from mailtriage.resources import data_dir\n"
        "names = {t.name for t in load_templates([data_dir('templates')], compile=False)}\n"
        "assert 'acknowledge' in names, names\n"
        "heavy = ('jinja2', 'imapclient', 'aiosmtplib', 'textual')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
