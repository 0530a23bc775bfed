"""Conversation identity and the keyword → state rules."""

from __future__ import annotations

import re

import pytest

from mailtriage.triage.state import MessageState, derive_state
from mailtriage.triage.threads import (
    conversation_key,
    normalize_short_id,
    normalize_subject,
    short_id,
    thread_root,
)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: Login fails", "login fails"),
        ("RE: Fwd: re:  Login   fails", "login fails"),
        ("Re[2]: Login fails", "login fails"),
        ("返信: ログインできません", "ログインできません"),
        ("Re：転送：ログインできません", "ログインできません"),
        ("[Ticket#K3F9Q2AB] Re: Invoice", "invoice"),
        ("【重要】Re: 請求書について", "請求書について"),
        ("ＲＥ：　ﾛｸﾞｲﾝ", "ログイン"),  # full-width prefix, half-width kana
        ("AW: WG: Bestellung", "bestellung"),
        ("", ""),
    ],
)
def test_normalize_subject(subject: str, expected: str) -> None:
    assert normalize_subject(subject) == expected


def test_short_id_is_stable_and_typable() -> None:
    key = conversation_key("<root@example.jp>")
    assert key == conversation_key("<root@example.jp>")
    sid = short_id(key)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{8}", sid)
    assert sid == short_id(conversation_key("<root@example.jp>"))
    assert sid != short_id(conversation_key("<other@example.jp>"))


def test_normalize_short_id_accepts_human_typing() -> None:
    assert normalize_short_id(" k3f9-q2ab ") == "K3F9Q2AB"
    assert normalize_short_id("oil") == "011"


def test_thread_root() -> None:
    assert thread_root("<c>", ["<a>", "<b>"], ["<b>"]) == "<a>"
    assert thread_root("<c>", [], ["<b>"]) == "<b>"
    assert thread_root("<c>", [], []) == "<c>"
    assert thread_root(None, [], []) is None


def m(*flags: str, inbound: bool = True) -> MessageState:
    return MessageState(flags=list(flags), inbound=inbound)


def test_no_keywords_is_unhandled_and_unread_counts_inbound() -> None:
    state = derive_state([m(), m("\\Seen"), m(inbound=False)])
    assert (state.status, state.assignee, state.priority, state.unread) == (
        "unhandled",
        None,
        "normal",
        1,
    )


def test_newest_marked_message_counts_when_the_anchor_has_no_status() -> None:
    # Keywords set by other tools, not on the anchor (the first customer message).
    state = derive_state(
        [
            m("\\Seen"),
            m("mt:status/in-progress", "mt:assignee/alice", "\\Seen", inbound=False),
            m("mt:status/done", "mt:assignee/bob", "\\Seen", inbound=False),
        ]
    )
    assert (state.status, state.assignee) == ("done", "bob")


def test_anchor_is_authoritative_over_a_half_propagated_change() -> None:
    # The claim won on the anchor; the follow-up store on the other messages never happened.
    state = derive_state(
        [
            m("mt:status/in-progress", "mt:assignee/alice", "\\Seen"),
            m("mt:status/done", "mt:assignee/bob", "\\Seen", inbound=False),
        ]
    )
    assert (state.status, state.assignee) == ("in-progress", "alice")
    # Unassigning is a status on the anchor without an assignee: the stale one does not return.
    state = derive_state([m("mt:status/unhandled"), m("mt:status/in-progress", "mt:assignee/bob")])
    assert (state.status, state.assignee) == ("unhandled", None)


def test_double_win_resolves_the_same_way_for_every_reader() -> None:
    state = derive_state([m("mt:status/in-progress", "mt:assignee/bob", "mt:assignee/alice")])
    assert state.assignee == "alice"
    assert derive_state([m("mt:status/done", "mt:status/in-progress")]).status == "done"


def test_own_reply_moves_unhandled_to_in_progress_when_enabled() -> None:
    messages = [m(), m("\\Seen", inbound=False)]
    assert derive_state(messages).status == "unhandled"
    assert derive_state(messages, reply_moves_to_in_progress=True).status == "in-progress"
    # A customer writing again after our reply keeps it in progress.
    again = [*messages, m()]
    assert derive_state(again, reply_moves_to_in_progress=True).status == "in-progress"
    # Our reply after Done stays Done; after a reopen it is in progress again.
    done = [m("mt:status/done", "\\Seen"), m()]
    assert derive_state(done, reply_moves_to_in_progress=True).status == "unhandled"
    done_then_reply = [*done, m("\\Seen", inbound=False)]
    assert derive_state(done_then_reply, reply_moves_to_in_progress=True).status == "in-progress"


def test_new_customer_mail_reopens_done_and_keeps_assignee() -> None:
    state = derive_state(
        [
            m("mt:status/done", "mt:assignee/alice", "\\Seen"),
            m(),
        ]
    )
    assert (state.status, state.assignee) == ("unhandled", "alice")
    # our own reply after done does not reopen
    state = derive_state([m("mt:status/done", "\\Seen"), m("\\Seen", inbound=False)])
    assert state.status == "done"


def test_priority_and_tags() -> None:
    state = derive_state([m("mt:prio/urgent", "mt:later", "mt:tag/billing"), m("mt:noreply")])
    assert state.priority == "urgent"
    assert state.tags == ["billing", "later", "no-reply"]


def test_unknown_status_keyword_is_ignored() -> None:
    assert derive_state([m("mt:status/whatever")]).status == "unhandled"
