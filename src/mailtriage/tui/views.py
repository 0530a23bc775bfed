"""The folders an agent works from, in sidebar order, with their keys and labels."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class View:
    id: str
    label: str
    japanese: str
    key: str


VIEWS: tuple[View, ...] = (
    View("unhandled", "Unhandled", "未対応", "1"),
    View("in-progress", "In progress", "対応中", "2"),
    View("done", "Done", "対応済", "3"),
    View("mine", "Mine", "自分", "4"),
    View("urgent", "Urgent", "至急対応", "5"),
    View("later", "Later", "後で返信", "6"),
    View("no-reply", "No reply needed", "対応不要", "7"),
    View("all", "All", "すべて", "8"),
)
BY_ID = {view.id: view for view in VIEWS}
