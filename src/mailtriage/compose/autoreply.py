"""RFC 3834 auto-acknowledgement: whether a message may get one, and the headers it carries.

Pure decisions only; not wired into sync yet (the feature is off by default and needs a
config key and a per-sender history, see the report in issue 7).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

AUTO_REPLY_HEADERS = (("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All"))
_NO_REPLY_LOCAL = re.compile(
    r"^(?:mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?|noreply[-+.].*|.*[-+.]noreply"
    r"|.*-bounces?|owner-.*|.*-owner|listserv|majordomo)$",
    re.IGNORECASE,
)


def may_auto_reply(
    headers: Mapping[str, str],
    sender: str,
    *,
    ours: str,
    already_acknowledged: bool,
    replies_to_sender_today: int,
    max_per_sender_per_day: int = 3,
) -> tuple[bool, str]:
    """(allowed, why not). `headers` keys are case-insensitive names of the incoming mail."""
    h = {k.lower(): (v or "").strip().lower() for k, v in headers.items()}
    sender = (sender or "").strip().lower()
    if not sender or "@" not in sender:
        return False, "no sender address (a bounce)"
    if sender == ours.lower():
        return False, "from our own address"
    if h.get("auto-submitted", "no") != "no":
        return False, f"Auto-Submitted: {h['auto-submitted']}"
    if h.get("precedence") in ("bulk", "list", "junk", "auto_reply"):
        return False, f"Precedence: {h['precedence']}"
    if "list-id" in h or "list-unsubscribe" in h:
        return False, "mailing-list mail"
    suppress = h.get("x-auto-response-suppress", "")
    if "all" in suppress or "autoreply" in suppress:
        return False, "X-Auto-Response-Suppress"
    if _NO_REPLY_LOCAL.match(sender.partition("@")[0]):
        return False, f"{sender} does not take replies"
    if already_acknowledged:
        return False, "this conversation was acknowledged already"
    if replies_to_sender_today >= max_per_sender_per_day:
        return False, f"rate limit: {replies_to_sender_today} auto-replies to {sender} today"
    return True, ""
