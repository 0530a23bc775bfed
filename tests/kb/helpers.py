"""A KB in a temp directory: the shipped examples copied (tests may edit them) or made up."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from mailtriage.kb.base import KnowledgeBase
from mailtriage.resources import data_dir

SHIPPED = data_dir("kb")


def copy_shipped(directory: Path) -> Path:
    target = directory / "kb"
    shutil.copytree(SHIPPED, target)
    return target


def article(
    root: Path,
    ident: str,
    title: str,
    body: str,
    *,
    audience: str = "customer-facing",
    reviewed: str = "2026-11-01",
    extra: str = "",
) -> Path:
    path = root / f"{ident}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"---\ntitle: {title}\naudience: {audience}\nreviewed: {reviewed}\n{extra}---\n{body}",
        encoding="utf-8",
    )
    return path


def open_kb(root: Path, tmp: Path, **kwargs: Any) -> KnowledgeBase:
    return KnowledgeBase(root, tmp / "index" / "kb-index.sqlite3", **kwargs)


def conversation(subject: str, *texts: str) -> dict[str, Any]:
    return {
        "subject": subject,
        "messages": [{"text": t, "inbound": True} for t in texts],
    }


async def until(pilot: Any, predicate: Any, timeout: float = 15.0) -> None:
    """Wait for the app to reach a state (screens mount later on a loaded machine)."""
    import time

    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, "the app never reached that state"
        await pilot.pause(0.05)
