"""Exactly one agent decides: a keyword claimed on one message by compare-and-swap.

Used where two agents' apps (or an app and `sync --watch`) run the same automatic pass after a
sync, e.g. the auto-acknowledgement and the routing rules on arrival: the one whose claim
stands does the work, the others skip the message. The claim is `UID STORE … (UNCHANGEDSINCE
modseq) +FLAGS (KEYWORD BY/agent)`; because Dovecot can let two conditional stores on a fresh
mailbox both win (TESTING-NOTES.md), every won claim is verified after a short settle: when
several `BY/…` keywords are there, the smallest agent name wins and the others withdraw.
Blocking: call it on the thread that owns the connection, with the message's folder selected.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import imapclient

from mailtriage.config import AccountConfig
from mailtriage.imap.condstore import read_flags, uid_store_unchanged_since

SETTLE_SECONDS = 0.05


def open_inbox(account: AccountConfig) -> tuple[imapclient.IMAPClient, bool]:
    """A connection of the pass's own with INBOX selected, and whether CONDSTORE is on."""
    from mailtriage.imap.connection import connect

    client = connect(account.imap, account.imap.resolve_password())
    condstore = bool(client.has_capability("CONDSTORE"))
    if condstore and client.has_capability("ENABLE"):
        client.enable("CONDSTORE")
    client.select_folder("INBOX")
    return client, condstore


def decide_once(
    client: imapclient.IMAPClient,
    uid: int,
    agent: str,
    keyword: str,
    *,
    family: str,
    by_prefix: str,
    condstore: bool,
    exclusive: Sequence[str] = (),
) -> bool:
    """True when this agent's decision `keyword` stands on message `uid`.

    False when the message is gone, someone decided already (any keyword equal to `family` or
    under `family/`), or a simultaneous decider won the tie-break. `exclusive` lists decisions
    that cannot both stand: when ours and another are both there after losing, ours goes too.
    """
    client.noop()  # other sessions' commits become visible
    found = read_flags(client, [uid], modseq=condstore).get(uid)
    if found is None:
        return False
    flags, modseq = found
    if any(f == family or f.startswith(family + "/") for f in flags):
        return False
    wanted = [keyword, by_prefix + agent]
    if condstore and modseq is not None:
        if not uid_store_unchanged_since(client, [uid], modseq, wanted, "+FLAGS").applied(uid):
            return False
    else:
        client.add_flags([uid], wanted, silent=True)
    time.sleep(SETTLE_SECONDS)
    client.noop()
    after = read_flags(client, [uid], modseq=False).get(uid, ([], None))[0]
    deciders = sorted(f[len(by_prefix) :] for f in after if f.startswith(by_prefix))
    if deciders and deciders[0] != agent:
        # The winner's decision stays; ours goes unless it is the same keyword.
        mine = [by_prefix + agent]
        if sum(k in after for k in exclusive) > 1:
            mine.append(keyword)
        client.remove_flags([uid], mine, silent=True)
        return False
    return True
