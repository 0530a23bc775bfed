"""Write mailtriage config files that point at the test servers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.mailfactory import SUPPORT


def write_config(
    directory: Path,
    account: Any,
    *,
    security: str = "tls",
    ca_file: Path | bool | None = True,
    password: str | None = None,
    port: int | None = None,
    agent: str = "alice",
    extra: str = "",
) -> Path:
    """A config for one account named "support" on the test Dovecot user `account`."""
    if port is None:
        port = account.tls_port if security == "tls" else account.port
    ca = account.ca_file if ca_file is True else ca_file
    ca_line = f'ca_file = "{ca}"\n' if ca else ""
    secret = password if password is not None else account.password
    path = directory / "config.toml"
    path.write_text(
        f"""[agent]
name = "{agent}"

[team]
members = ["alice", "bob", "carol"]
supervisors = ["carol"]

[accounts.support]
address = "{SUPPORT}"
cache_dir = "{directory / "cache"}"

[accounts.support.imap]
host = "{account.host}"
port = {port}
security = "{security}"
username = "{account.username}"
password_command = "printf %s '{secret}'"
timeout = 5
{ca_line}{extra}""",
        encoding="utf-8",
    )
    return path


def write_config_via_proxy(directory: Path, account: Any, proxy: Any, **kwargs: Any) -> Path:
    """The same config, through a FaultProxy (tests/sync/proxy.py) to the plain IMAP port:
    the proxy reads the commands and its BYE is a real IMAP line (inside TLS, garbage)."""
    return write_config(
        directory, account, port=proxy.port, security="insecure-plaintext", ca_file=None, **kwargs
    )
