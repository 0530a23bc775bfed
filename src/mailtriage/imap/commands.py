"""IMAP commands imapclient does not offer in the form we need.

imapclient 4.1's fetch() filters its result through int() of each requested id, so a UID
range such as "1:5000" raises ValueError after the server answered (TESTING-NOTES.md). Ranges
keep commands short for 100k mailboxes, so we issue UID FETCH ourselves and reuse imapclient's
own response parser.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import imapclient
from imapclient.response_parser import parse_fetch_response


def uid_fetch(
    client: imapclient.IMAPClient,
    uid_set: str,
    items: Sequence[str],
    modifiers: Sequence[str] = (),
) -> dict[int, dict[bytes, Any]]:
    args = ["UID", "FETCH", uid_set, "(" + " ".join(items) + ")"]
    if modifiers:
        args.append("(" + " ".join(modifiers) + ")")
    imap = client._imap  # the documented way in: imapclient exposes no raw UID FETCH
    tag = imap._command(*args)
    typ, data = imap._command_complete("FETCH", tag)
    if typ != "OK":
        raise imapclient.exceptions.IMAPClientError(f"UID FETCH failed: {data!r}")
    typ, data = imap._untagged_response(typ, data, "FETCH")
    return parse_fetch_response(data, client.normalise_times, True)
