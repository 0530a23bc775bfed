"""Roles from the config: agents (team.members) and supervisors (team.supervisors).

A client-side check only stops an honest client: anyone with the mailbox password can set
any keyword with another IMAP client. docs/security.md says what the server's ACLs must do.
"""

from __future__ import annotations

from mailtriage.config import Config


def is_supervisor(config: Config, agent: str | None = None) -> bool:
    return (agent or config.agent) in config.supervisors


def bulk_reassign_refusal(config: Config, count: int = 2) -> str | None:
    """Why this agent may not reassign `count` conversations in one action, or None."""
    if count < 2 or is_supervisor(config):
        return None
    who = ", ".join(config.supervisors) or "nobody yet (set team.supervisors)"
    return (
        f"{config.agent} is not a supervisor: only {who} can reassign several conversations"
        " at once; assign them one by one"
    )
