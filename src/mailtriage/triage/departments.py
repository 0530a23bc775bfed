"""Escalation targets: `[departments.NAME]` from the config, and the team's supervisors.

A department has an address (where a forward goes), members (team members who handle it; a
note @mentions them), or both. Its name is an agent-name-like atom because it is written into
events, and it must differ from every team member's name so `escalate ID TO` is unambiguous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailtriage.config import Config, _Reader

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")


@dataclass(frozen=True)
class Department:
    name: str
    label: str  # how it reads on screen and in notes ("経理部"); the name when unset
    address: str | None = None
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    """Whom a conversation is escalated to: a supervisor (a team member) or a department."""

    kind: str  # "supervisor" or "department"
    name: str
    label: str
    address: str | None = None
    members: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "name": self.name,
            "label": self.label,
            "address": self.address,
            "members": list(self.members),
        }


def parse_departments(reader: _Reader | None, members: tuple[str, ...]) -> dict[str, Department]:
    if reader is None:
        return {}
    found: dict[str, Department] = {}
    for name in reader.data:
        if not _NAME_RE.match(name):
            raise reader.err(
                name,
                "a department name is 1-32 lower-case letters, digits, '.', '_' or '-'",
                "rename the table, e.g. [departments.billing]",
            )
        if name in members:
            raise reader.err(
                name,
                f"{name!r} is also a team member: `escalate ID {name}` would be ambiguous",
                "give the department another name",
            )
        table = reader.table(name)
        assert table is not None
        table.unknown({"label", "address", "members"})
        address = table.str("address")
        if address is not None and not _EMAIL_RE.match(address.strip()):
            raise table.err("address", f"{address!r} is not an email address")
        people = table.names("members")
        for person in people:
            if members and person not in members:
                raise table.err(
                    "members", f"{person!r} is not in team.members", f'add "{person}" there'
                )
        if address is None and not people:
            raise table.err(
                "address",
                "a department needs an address, members, or both",
                'address = "billing@example.co.jp" or members = ["carol"]',
            )
        found[name] = Department(
            name,
            (table.str("label") or name).strip() or name,
            address.strip() if address else None,
            people,
        )
    return found


def targets(config: Config) -> list[Target]:
    """Everyone a conversation can be escalated to: supervisors first, then departments."""
    found = [Target("supervisor", s, s, None, (s,)) for s in config.supervisors]
    for dept in config.departments.values():
        found.append(Target("department", dept.name, dept.label, dept.address, dept.members))
    return found


def find_target(config: Config, wanted: str) -> Target:
    """A supervisor or department by name; ValueError naming the choices otherwise."""
    for target in targets(config):
        if target.name == wanted:
            return target
    # Any team member may take an escalation when no supervisors are configured.
    if wanted in config.members and not config.supervisors:
        return Target("supervisor", wanted, wanted, None, (wanted,))
    names = ", ".join(t.name for t in targets(config)) or "none configured"
    raise ValueError(
        f"{wanted!r} is neither a supervisor nor a department (choose one of: {names}; "
        "departments are [departments.NAME] tables in the config)"
    )
