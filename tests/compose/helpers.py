"""A customer's mail in a real Dovecot, a synced cache, an outbox and a real aiosmtpd."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path
from typing import Any

from mailtriage.compose.message import from_address
from mailtriage.compose.templates import load_templates
from mailtriage.config import Config, load_config
from mailtriage.resources import data_dir
from mailtriage.smtp.outbox import Outbox
from mailtriage.store import Store
from support.configs import write_config

SMTP_USER, SMTP_PASSWORD = "agent", "agentpw"


def smtp_extra(smtp_port: int, ca_file: Path, compose: str = "", agent: str = "alice") -> str:
    return f"""
[accounts.support.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "starttls"
username = "{SMTP_USER}"
password_command = "printf %s '{SMTP_PASSWORD}'"
ca_file = "{ca_file}"
timeout = 5

[agent]
name = "{agent}"
display_name = "佐藤 花子"
signature = "Example株式会社 サポート 佐藤"

[compose]
from_name = "Example Support"
{compose}

[company]
name = "Example株式会社"
survey_url = "https://example.co.jp/survey"
"""


def make_config(
    tmp_path: Path, imap_account: Any, smtp_port: int, ca: Path, agent: str = "alice", **kw: Any
) -> Config:
    """An agent's own config, cache and (for agents other than alice) outbox directory."""
    directory = tmp_path / agent
    directory.mkdir(parents=True, exist_ok=True)
    path = write_config(directory, imap_account, agent=agent)
    # write_config writes [agent] first; ours replaces it (TOML forbids a table twice).
    text = path.read_text(encoding="utf-8").replace(f'[agent]\nname = "{agent}"\n', "")
    compose = kw.get("compose", "")
    if agent != "alice":
        compose += f'\noutbox_dir = "{directory / "state"}"\n'
    extra = smtp_extra(smtp_port, ca, compose, agent)
    path.write_text(text + extra, encoding="utf-8")
    return load_config(path)


def only_conversation(config: Config) -> dict[str, Any]:
    store = Store(config.accounts["support"].cache_path, readonly=True)
    try:
        (item,) = store.list_conversations("all")
        conversation = store.get_conversation(item["key"])
    finally:
        store.close()
    assert conversation is not None
    return conversation


def sender(config: Config):  # type: ignore[no-untyped-def]
    return from_address(config.accounts["support"].address, config.compose.from_name)


def templates():  # type: ignore[no-untyped-def]
    return load_templates([data_dir("templates")])


def outbox(config: Config, **kw: Any) -> Outbox:
    kw.setdefault("backoff", (0.0, 0.0))
    return Outbox.for_config(config, "support", **kw)


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]
