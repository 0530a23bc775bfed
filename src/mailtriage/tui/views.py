"""The folders an agent works from, in sidebar order, with their keys and labels."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class View:
    id: str
    label: str
    japanese: str
    key: str
    short: str  # two or three characters for the one-line bar at 80 columns


VIEWS: tuple[View, ...] = (
    View("unhandled", "Unhandled", "未対応", "1", "未対応"),
    View("in-progress", "In progress", "対応中", "2", "対応中"),
    View("done", "Done", "対応済", "3", "対応済"),
    View("mine", "Mine", "自分", "4", "自分"),
    View("urgent", "Urgent", "至急対応", "5", "至急"),
    View("later", "Later", "後で返信", "6", "後で"),
    View("no-reply", "No reply needed", "対応不要", "7", "不要"),
    View("all", "All", "すべて", "8", "全部"),
    View("overdue", "Overdue", "期限超過", "9", "超過"),
    View("due-soon", "Due soon", "期限間近", "0", "間近"),
    View("escalated", "Escalated", "エスカレ", "E", "エス"),
)
# Views computed by the SLA clock rather than by a WHERE clause.
SLA_VIEWS = {"overdue", "due-soon"}
BY_ID = {view.id: view for view in VIEWS}
