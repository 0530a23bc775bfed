"""Pure claim logic and the conditional-STORE response parsing."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mailtriage.cli_triage import parse_tag_changes
from mailtriage.imap.condstore import parse_modified, parse_uid_set
from mailtriage.triage.claims import (
    TriageView,
    choose_anchor,
    plan_assign,
    plan_claim,
    plan_status,
    priority_change,
    stale_triage_keywords,
    tag_keyword,
    with_triage,
)


@dataclass(frozen=True)
class Msg:
    inbound: bool
    ts: float
    mailbox: str
    uid: int


def test_anchor_is_the_earliest_customer_message_with_a_stable_tie_break() -> None:
    messages = [
        Msg(False, 1.0, "Sent", 1),
        Msg(True, 5.0, "INBOX", 9),
        Msg(True, 5.0, "INBOX", 3),
        Msg(True, 7.0, "INBOX", 1),
    ]
    assert choose_anchor(messages) == Msg(True, 5.0, "INBOX", 3)
    assert choose_anchor(list(reversed(messages))) == Msg(True, 5.0, "INBOX", 3)
    only_ours = [Msg(False, 2.0, "Sent", 4), Msg(False, 1.0, "Sent", 8)]
    assert choose_anchor(only_ours) == Msg(False, 1.0, "Sent", 8)
    with pytest.raises(ValueError):
        choose_anchor([])


def test_claim_takes_only_what_nobody_owns() -> None:
    free = plan_claim(TriageView(None, None), "alice")
    assert (free.status, free.assignee, free.refusal, free.noop) == (
        "in-progress",
        "alice",
        None,
        False,
    )
    taken = plan_claim(TriageView("unhandled", "bob"), "alice")
    assert taken.conflict_with == "bob" and taken.refusal == "bob has this (unhandled)"
    assert plan_claim(TriageView("in-progress", "alice"), "alice").noop
    # Mine but reopened: claiming again puts it back in progress.
    again = plan_claim(TriageView("unhandled", "alice"), "alice")
    assert (again.noop, again.status) == (False, "in-progress")


def test_assign_and_status_plans() -> None:
    assert plan_assign(TriageView(None, None), "bob").status == "in-progress"
    assert plan_assign(TriageView("done", "alice"), "bob").status == "done"
    gone = plan_assign(TriageView("in-progress", "alice"), None)
    assert (gone.assignee, gone.status, gone.done_message) == (None, "in-progress", "unassigned")
    assert plan_status(TriageView("done", "bob"), "done").noop
    assert plan_status(TriageView("done", "bob"), "unhandled").assignee == "bob"
    with pytest.raises(ValueError, match="status must be one of"):
        plan_status(TriageView(None, None), "closed")


def test_anchor_flags_replace_only_status_and_assignee() -> None:
    flags = ["\\Seen", "\\Recent", "mt:status/done", "mt:assignee/bob", "mt:later"]
    assert with_triage(flags, "in-progress", "alice") == [
        "\\Seen",
        "mt:assignee/alice",
        "mt:later",
        "mt:status/in-progress",
    ]
    assert with_triage(flags, "unhandled", None) == ["\\Seen", "mt:later", "mt:status/unhandled"]
    assert stale_triage_keywords(flags, "done", "alice") == ["mt:assignee/bob"]


def test_tags_and_priority_keywords() -> None:
    assert tag_keyword("later") == "mt:later"
    assert tag_keyword("no-reply") == "mt:noreply"
    assert tag_keyword("billing") == "mt:tag/billing"
    for bad in ("Bad Tag", "a)b", "", "請求"):
        with pytest.raises(ValueError, match="not allowed"):
            tag_keyword(bad)
    assert priority_change("urgent") == (["mt:prio/urgent"], [])
    assert priority_change("normal") == ([], ["mt:prio/urgent"])
    assert parse_tag_changes(["+billing", "-later"]) == (["billing"], ["later"])
    with pytest.raises(ValueError, match=r"\+TAG"):
        parse_tag_changes(["billing"])


def test_modified_response_code() -> None:
    assert parse_modified(b"[MODIFIED 7] Conditional store failed") == {7}
    assert parse_modified(b"[MODIFIED 2:3,9] Conditional store failed") == {2, 3, 9}
    assert parse_modified(b"Store completed (0.001 + 0.000 secs).") == set()
    assert parse_modified(None) == set()
    assert parse_uid_set("4:2") == {2, 3, 4}
