"""The IMAP steps around a send: check-then-send, "already in Sent?", APPEND, \\Answered.

Blocking imapclient calls, made only from the Outbox's one worker thread. Messages are
found by Message-ID on the server (not by cached UIDs), so these steps stay correct when the
cache is stale, rebuilt or deleted.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import imapclient

from mailtriage.config import AccountConfig
from mailtriage.imap.connection import connect
from mailtriage.triage.claims import TriageView

INBOX = "INBOX"
ANSWERED = b"\\Answered"


@dataclass(frozen=True)
class Snapshot:
    """What the agent saw when composing, to compare with the server right before SMTP."""

    known: tuple[str, ...]  # every Message-ID of the conversation then
    answered: str | None  # the message replied to
    anchor: str | None  # the conversation's first customer message (triage truth)
    status: str = "unhandled"
    assignee: str | None = None
    agent: str = ""
    ours: str = ""  # the shared address: mail from it is a teammate's reply
    was_answered: bool = False  # \\Answered already on `answered` when composing

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__, known=list(self.known))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Snapshot:
        return cls(**dict(data, known=tuple(data.get("known", ()))))

    @classmethod
    def of_conversation(cls, conversation: dict[str, Any], agent: str, ours: str) -> Snapshot:
        messages = conversation.get("messages") or []
        inbound = [m for m in messages if m.get("inbound")]
        return cls(
            known=tuple(m["message_id"] for m in messages if m.get("message_id")),
            answered=inbound[-1]["message_id"] if inbound else None,
            anchor=inbound[0]["message_id"] if inbound else None,
            status=conversation.get("status") or "unhandled",
            assignee=conversation.get("assignee"),
            agent=agent,
            ours=ours.lower(),
            was_answered=bool(inbound) and "\\Answered" in (inbound[-1].get("flags") or []),
        )


@dataclass
class ServerSide:
    account: AccountConfig
    password: str
    _client: imapclient.IMAPClient | None = field(default=None, repr=False)
    _sent: str | None = None

    def client(self) -> imapclient.IMAPClient:
        if self._client is None:
            self._client = connect(self.account.imap, self.password)
        return self._client

    def drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.logout()

    def sent_folder(self) -> str:
        if self._sent is None:
            special = imapclient.imapclient.SENT
            found = self.account.sent_folder or self.client().find_special_folder(special)
            self._sent = found or "Sent"
        return self._sent

    def _find(self, folder: str, message_id: str) -> list[int]:
        client = self.client()
        client.select_folder(folder, readonly=True)
        return list(client.search(["HEADER", "Message-ID", message_id]))

    def in_sent(self, message_id: str) -> bool:
        return bool(self._find(self.sent_folder(), message_id))

    def append_sent(self, raw: bytes, keywords: tuple[str, ...] = ()) -> None:
        flags = (b"\\Seen", *(k.encode() for k in keywords))
        self.client().append(self.sent_folder(), raw, flags=flags)

    def mark_answered(self, message_id: str | None) -> bool:
        if not message_id:
            return False
        uids = self._find(INBOX, message_id)
        if not uids:
            return False
        client = self.client()
        client.select_folder(INBOX)
        client.add_flags(uids, [ANSWERED], silent=True)
        return True

    def changes(self, snap: Snapshot) -> list[str]:
        """What changed on the server since the snapshot, one human line each."""
        found: list[str] = []
        known = set(snap.known)
        roots = [m for m in (snap.anchor, snap.answered) if m]
        for folder in (INBOX, self.sent_folder()):
            for mid, sender in self._thread_members(folder, roots):
                if mid in known:
                    continue
                known.add(mid)
                if sender == snap.ours or folder != INBOX:
                    found.append(f"someone else replied meanwhile ({mid})")
                else:
                    found.append(f"the customer wrote again ({sender}, {mid})")
        if snap.anchor:
            client = self.client()
            uids = self._find(INBOX, snap.anchor)
            if uids:
                flags = [
                    f.decode("utf-8", "replace")
                    for f in client.get_flags(uids[:1]).get(uids[0], ())
                ]
                view = TriageView.of(flags)
                status = view.status or "unhandled"
                if view.assignee != snap.assignee and view.assignee not in (None, snap.agent):
                    found.append(f"{view.assignee} claimed it meanwhile ({view.describe()})")
                elif status != snap.status and status == "done":
                    found.append(f"someone marked it done meanwhile ({view.describe()})")
        if snap.answered and not snap.was_answered:
            uids = self._find(INBOX, snap.answered)
            if uids and ANSWERED in self.client().get_flags(uids[:1]).get(uids[0], ()):
                found.append("the message was answered from another client meanwhile")
        return found

    def _thread_members(self, folder: str, roots: list[str]) -> list[tuple[str, str]]:
        if not roots:
            return []
        client = self.client()
        client.select_folder(folder, readonly=True)
        uids: set[int] = set()
        for root in roots:
            uids |= set(client.search(["HEADER", "References", root]))
            uids |= set(client.search(["HEADER", "In-Reply-To", root]))
        if not uids:
            return []
        out = []
        for data in client.fetch(sorted(uids), ["ENVELOPE"]).values():
            env = data.get(b"ENVELOPE")
            if env is None or not env.message_id:
                continue
            sender = ""
            if env.from_:
                a = env.from_[0]
                sender = f"{(a.mailbox or b'').decode()}@{(a.host or b'').decode()}".lower()
            out.append((env.message_id.decode("utf-8", "replace"), sender))
        return out
