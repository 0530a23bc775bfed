"""Away and handover: an agent going on leave hands every open conversation to a colleague.

One step: each of FROM's open conversations (assigned to FROM, not Done) is reassigned to TO
through the same compare-and-swap as `assign` (a conversation someone changed meanwhile is
reported, never overwritten), then a `handover` event carries the note (申し送り), which the
reader shows at the top of the conversation. Finally FROM is marked away with an `away`
event on the team key, so every agent's cache knows it (`team.away` in the config is the
static list; both count, e.g. for routing rules' round robin).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailtriage.imap.actions import AccountActions

# Events about the team rather than one conversation (away / back) use this key: it is
# hex like a conversation key (short ids derive from it) and no Message-ID hashes to it.
TEAM_KEY = "0" * 40


@dataclass
class HandoverResult:
    handed: list[str] = field(default_factory=list)  # short ids now TO's
    refused: list[str] = field(default_factory=list)  # one line each: why not
    warnings: list[str] = field(default_factory=list)
    away_logged: bool = False

    @property
    def ok(self) -> bool:
        return not self.refused

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "handed": self.handed,
            "refused": self.refused,
            "warnings": self.warnings,
            "away_logged": self.away_logged,
        }


def open_conversations(conn: sqlite3.Connection, agent: str) -> list[tuple[str, str]]:
    """(key, short id) of every conversation assigned to agent and not Done, oldest first."""
    rows = conn.execute(
        "SELECT key, short_id FROM conversations WHERE assignee = ? AND status != 'done'"
        " ORDER BY last_ts",
        (agent,),
    )
    return [(str(k), str(s)) for k, s in rows]


async def handover(
    actions: AccountActions,
    conversations: Iterable[tuple[str, str]],
    from_agent: str,
    to_agent: str,
    note: str,
    *,
    mark_away: bool = True,
) -> HandoverResult:
    note = " ".join(note.split())
    if not note:
        raise ValueError("a handover needs a note (申し送り): what the colleague must know")
    if from_agent == to_agent:
        raise ValueError(f"{from_agent} cannot hand over to themselves")
    result = HandoverResult()
    for key, sid in conversations:
        assigned = await actions.assign(key, to_agent)
        if not assigned.ok:
            result.refused.append(assigned.message)
            continue
        logged = await actions.log_event(
            key, "handover", {"from": from_agent, "to": to_agent}, text=note
        )
        if logged.warning:
            result.warnings.append(logged.warning)
        result.handed.append(sid)
    if mark_away:
        logged = await actions.log_event(
            TEAM_KEY, "away", {"agent": from_agent, "away": True, "to": to_agent}, text=note
        )
        result.away_logged = logged.ok
        if logged.warning:
            result.warnings.append(logged.warning)
    return result


async def set_away(actions: AccountActions, agent: str, away: bool, note: str = "") -> bool:
    logged = await actions.log_event(TEAM_KEY, "away", {"agent": agent, "away": away}, text=note)
    return logged.ok


def away_agents(conn: sqlite3.Connection, configured: Iterable[str] = ()) -> set[str]:
    """team.away plus whoever the newest `away` event says is away."""
    import json

    latest: dict[str, bool] = {}
    for (details,) in conn.execute(
        "SELECT details FROM app_events WHERE conversation = ? AND kind = 'away'"
        " ORDER BY ts, uidvalidity, uid",
        (TEAM_KEY,),
    ):
        data = json.loads(details)
        if isinstance(data, dict) and isinstance(data.get("agent"), str):
            latest[data["agent"]] = bool(data.get("away"))
    return set(configured) | {agent for agent, away in latest.items() if away}


def handover_note(timeline: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest handover of a conversation (the 申し送り the reader shows on top)."""
    found = [e for e in timeline if e["kind"] == "handover"]
    return found[-1] if found else None
