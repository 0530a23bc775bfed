"""The app-owned folder on the server: events, notes and presence as small messages.

DESIGN.md §2: what the team shares lives on the IMAP server. Each item is a text/plain message
whose `X-Mailtriage-*` headers are the machine-readable truth and whose body a human can read
in any mail client. The folder is never synced as customer mail (the main sync only knows
INBOX and Sent) and nothing here is ever submitted over SMTP.

Headers (all ASCII):
    X-Mailtriage-Version: 1
    X-Mailtriage-Type: event | presence
    X-Mailtriage-Agent: alice
    X-Mailtriage-Conversation: <conversation key, 40 hex digits>
    X-Mailtriage-Time: 2026-11-23T10:00:00.123456+00:00   (the writer's clock)
    X-Mailtriage-Event: claimed | assigned | status | priority | tagged | noted | …  (events)
    X-Mailtriage-Details: {"status": "in-progress"}                                   (events)
    X-Mailtriage-Mentions: bob carol                                                   (notes)
    X-Mailtriage-Activity: viewing | replying | (empty: cleared)                    (presence)
    X-Mailtriage-Since: <ISO time the activity started>                             (presence)

Sync is UID-incremental: STATUS (UIDNEXT UIDVALIDITY) answers "nothing new" in one round trip
without changing the selected mailbox (the sync session IDLEs on INBOX); otherwise EXAMINE and
fetch the new UIDs. Deleted items need no tracking: events are append-only and presence is
read by age.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING

import imapclient

from mailtriage.config import AccountConfig
from mailtriage.store import Store
from mailtriage.store import events as ev
from mailtriage.triage.threads import short_id

if TYPE_CHECKING:
    from email.message import EmailMessage
    from email.policy import Policy

DEFAULT_FOLDER = "Mailtriage"
FETCH_CHUNK = 500
H = "X-Mailtriage-"
_MENTION = re.compile(r"(?<![\w.@])@([a-z0-9][a-z0-9._-]{0,31})(?![\w@])")


# email.policy and email.message are imported when an item is written or read: every
# `mailtriage sync` imports this module, and a no-change one (budget 150 ms) has neither.
@functools.cache
def _policy() -> Policy:
    import email.policy

    return email.policy.SMTP.clone(max_line_length=998)


def parse_mentions(text: str, members: Iterable[str] = ()) -> list[str]:
    """`@bob` names in a note, in order, once each; only team members when the team is known.

    An e-mail address (`x@bob.example`) is not a mention.
    """
    known = set(members)
    found: list[str] = []
    for match in _MENTION.finditer(text):
        name = match.group(1).rstrip("._-")
        if name and name not in found and (not known or name in known):
            found.append(name)
    return found


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _base(address: str, agent: str, kind: str, key: str, ts: float, subject: str) -> EmailMessage:
    from email.message import EmailMessage

    msg = EmailMessage(policy=_policy())
    msg["From"] = f"mailtriage ({agent}) <{address}>"
    msg["To"] = address
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime.fromtimestamp(ts, UTC))
    msg["Message-ID"] = f"<{os.urandom(16).hex()}.mailtriage@{address.rpartition('@')[2]}>"
    msg[f"{H}Version"] = "1"
    msg[f"{H}Type"] = kind
    msg[f"{H}Agent"] = agent
    msg[f"{H}Conversation"] = key
    msg[f"{H}Time"] = _iso(ts)
    return msg


def event_message(
    address: str,
    agent: str,
    key: str,
    kind: str,
    ts: float,
    *,
    details: dict[str, object] | None = None,
    text: str = "",
    mentions: Sequence[str] = (),
) -> bytes:
    if kind not in ev.EVENT_KINDS:
        raise ValueError(f"event kind must be one of {', '.join(ev.EVENT_KINDS)}, got {kind!r}")
    details = details or {}
    sid = short_id(key)
    msg = _base(address, agent, "event", key, ts, f"[mailtriage] {sid}: {agent} {kind}")
    msg[f"{H}Event"] = kind
    msg[f"{H}Details"] = json.dumps(details, ensure_ascii=True, sort_keys=True)
    if mentions:
        msg[f"{H}Mentions"] = " ".join(mentions)
    readable = [f"{agent} {kind} {sid} at {_iso(ts)}"]
    readable += [f"{name}: {value}" for name, value in sorted(details.items())]
    if text:
        readable += ["", text]
    msg.set_content("\n".join(readable) + "\n", charset="utf-8")
    return msg.as_bytes()


def presence_message(
    address: str, agent: str, key: str, activity: str, since: float, ts: float
) -> bytes:
    """activity "" with key "" says the agent left whatever it was on."""
    label = f"{short_id(key)}: {agent} {activity}" if activity else f"{agent} left"
    msg = _base(address, agent, "presence", key, ts, f"[mailtriage presence] {label}")
    msg[f"{H}Activity"] = activity
    msg[f"{H}Since"] = _iso(since)
    msg.set_content(f"{label} (expires {ev.PRESENCE_TTL:g} s after {_iso(ts)})\n")
    return msg.as_bytes()


def parse_item(raw: bytes, uidvalidity: int, uid: int) -> ev.EventRow | ev.PresenceRow | None:
    """None for anything in the folder that is not ours or not understood (left alone)."""
    import email
    import email.policy

    msg = email.message_from_bytes(raw, policy=email.policy.default)
    kind = str(msg.get(f"{H}Type", "")).strip()
    agent = str(msg.get(f"{H}Agent", "")).strip()
    key = str(msg.get(f"{H}Conversation", "")).strip()
    ts = _epoch(msg.get(f"{H}Time"))
    if not agent or ts is None:
        return None
    if kind == "presence":
        activity = str(msg.get(f"{H}Activity", "")).strip()
        since = _epoch(msg.get(f"{H}Since")) or ts
        return ev.PresenceRow(uidvalidity, uid, agent, key, activity, since, ts)
    if kind != "event" or not key:
        return None
    try:
        details = json.loads(str(msg.get(f"{H}Details", "{}")))
    except ValueError:
        details = {}
    text = ""
    body = msg.get_body(("plain",))
    if body is not None:
        content = body.get_content().replace("\r\n", "\n")
        # The readable summary comes first; the note's own text follows the blank line.
        _, sep, rest = content.partition("\n\n")
        text = rest.rstrip("\n") if sep else ""
    return ev.EventRow(
        uidvalidity,
        uid,
        str(msg.get("Message-ID", f"<{uidvalidity}.{uid}>")).strip(),
        key,
        str(msg.get(f"{H}Event", "")).strip(),
        agent,
        ts,
        text,
        details if isinstance(details, dict) else {},
        tuple(str(msg.get(f"{H}Mentions", "")).split()),
    )


def _status(client: imapclient.IMAPClient, folder: str) -> tuple[int, int] | None:
    """(UIDVALIDITY, UIDNEXT), or None when the folder does not exist yet."""
    try:
        info = client.folder_status(folder, [b"UIDVALIDITY", b"UIDNEXT"])
    except imapclient.exceptions.IMAPClientError:
        if not client.folder_exists(folder):
            return None
        raise
    return int(info[b"UIDVALIDITY"]), int(info[b"UIDNEXT"])


def sync_app_folder(client: imapclient.IMAPClient, store: Store, folder: str) -> int:
    """Fetch what is new in the app folder into the cache; returns how many items arrived.

    Leaves no mailbox selected when it had to EXAMINE the app folder (callers that track
    their selection must forget it): a STATUS on a selected mailbox would answer from that
    session's stale view and miss other agents' items.
    """
    status = _status(client, folder)
    if status is None:
        return 0
    uidvalidity, uidnext = status
    known = ev.folder_state(store.conn, folder)
    if known is not None and known == (uidvalidity, uidnext):
        return 0
    if known is None or known[0] != uidvalidity:
        with store.atomic():
            ev.forget_folder(store.conn, folder)
        start = 1
    else:
        start = known[1]
    client.select_folder(folder, readonly=True)
    # `N:*` always matches the last message even when its UID is below N.
    uids = sorted(u for u in client.search(["UID", f"{start}:*"]) if u >= start)
    arrived = 0
    for offset in range(0, len(uids), FETCH_CHUNK):
        chunk = uids[offset : offset + FETCH_CHUNK]
        fetched = client.fetch(chunk, ["BODY.PEEK[]"])
        events, presences = [], []
        for uid, item in fetched.items():
            raw = item.get(b"BODY[]")
            if not isinstance(raw, bytes):
                continue
            parsed = parse_item(raw, uidvalidity, uid)
            if isinstance(parsed, ev.EventRow):
                events.append(parsed)
            elif isinstance(parsed, ev.PresenceRow):
                presences.append(parsed)
        last = offset + FETCH_CHUNK >= len(uids)
        # One commit per chunk (each is an fsync on the actions' connection); the last one
        # records the STATUS UIDNEXT too.
        with store.atomic():
            arrived += ev.insert_events(store.conn, events)
            arrived += ev.insert_presence(store.conn, presences)
            # Logged under a key this cache renamed (or never had): file it where it belongs,
            # so lookups by key (KPIs, status, presence) find it.
            ev.file_orphans(store.conn, [r.conversation for r in (*events, *presences)])
            done = uidnext if last else max(chunk) + 1
            ev.set_folder_state(store.conn, folder, uidvalidity, done)
    if not uids:
        with store.atomic():
            ev.set_folder_state(store.conn, folder, uidvalidity, uidnext)
    leave_selected(client)
    return arrived


def leave_selected(client: imapclient.IMAPClient) -> None:
    """Deselect, so a later STATUS of the app folder answers from the server, not this session."""
    if client.has_capability("UNSELECT"):
        client.unselect_folder()
    else:
        client.select_folder("INBOX", readonly=True)


def append_item(client: imapclient.IMAPClient, folder: str, raw: bytes) -> int | None:
    """APPEND one item, creating the folder on first use; its UID when the server says."""
    response = _append_creating(client, folder, raw, (b"\\Seen",))
    match = re.search(rb"\[APPENDUID \d+ (\d+)\]", response or b"", re.IGNORECASE)
    return int(match.group(1)) if match else None


def _append_creating(
    client: imapclient.IMAPClient, folder: str, raw: bytes, flags: Sequence[bytes]
) -> bytes | None:
    """APPEND, creating the folder when the server says TRYCREATE. Another agent's first
    note may create it at the same moment: its ALREADYEXISTS is what we wanted."""
    try:
        return client.append(folder, raw, flags=flags)
    except imapclient.exceptions.IMAPClientError as exc:
        if "TRYCREATE" not in str(exc).upper():
            raise
    try:
        client.create_folder(folder)
    except imapclient.exceptions.IMAPClientError as exc:
        if "ALREADYEXISTS" not in str(exc).upper():
            raise
    return client.append(folder, raw, flags=flags)


def delete_items(client: imapclient.IMAPClient, folder: str, uids: Sequence[int]) -> bool:
    """Remove superseded presence items (UIDPLUS only: a plain EXPUNGE could take others'
    \\Deleted messages with it). Leaves no mailbox selected."""
    if not uids or not client.has_capability("UIDPLUS"):
        return False
    client.select_folder(folder)
    client.delete_messages(list(uids), silent=True)
    client.uid_expunge(list(uids))
    leave_selected(client)
    return True


def apply_rules(store: Store, own_reply_moves_to_in_progress: bool) -> None:
    """Make the cache derive state by the team's rules (recomputing it when they changed)."""
    store.set_own_reply_rule(own_reply_moves_to_in_progress)


def sync_team_state(client: imapclient.IMAPClient, store: Store, account: AccountConfig) -> int:
    """The sync engine's hook: the team's rules into the cache, then the app folder.

    Called before the main folders so INBOX stays the selected mailbox for IDLE.
    """
    apply_rules(store, account.own_reply_moves_to_in_progress)
    return sync_app_folder(client, store, account.app_folder)


PROBE_KEYWORD = "mt:probe"


def keyword_survives(client: imapclient.IMAPClient, folder: str) -> bool:
    """APPEND a probe item with a keyword to the app folder, read its flags, delete it.

    For servers whose PERMANENTFLAGS lack `\\*`: Dovecot with an ACL without `w` drops the
    keyword silently; others keep it regardless. Leaves no mailbox selected.
    """
    raw = (
        f"From: mailtriage <probe@invalid>\r\nSubject: mailtriage keyword probe\r\n"
        f"Message-ID: <probe-{os.urandom(16).hex()}@mailtriage.invalid>\r\n\r\n"
        "Checks whether this server keeps custom keywords; safe to delete.\r\n"
    ).encode()
    flags = (b"\\Seen", PROBE_KEYWORD.encode())
    response = _append_creating(client, folder, raw, flags)
    match = re.search(rb"\[APPENDUID \d+ (\d+)\]", response or b"", re.IGNORECASE)
    if match is None:
        return False  # no UIDPLUS: cannot find the probe; assume the worst
    uid = int(match.group(1))
    client.select_folder(folder)
    kept = PROBE_KEYWORD.encode().lower() in {
        f.lower() for f in client.get_flags([uid]).get(uid, ())
    }
    client.delete_messages([uid], silent=True)
    client.uid_expunge([uid])
    leave_selected(client)
    return kept
