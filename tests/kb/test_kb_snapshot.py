"""SVG snapshot of the KB picker over a reply (suggestions, a stale and an internal-only
article marked, the Markdown preview). Update after an intended change with
pytest tests/kb/test_kb_snapshot.py --snapshot-update, and look at the SVG."""

from __future__ import annotations

import pytest

from kb.helpers import until
from kb.test_kb_tui import REFUND_SUBJECT, open_kb, open_reader
from tui.test_snapshots import settle

SIZES = [(120, 35), (80, 24)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_kb_picker(snap_compare, kb_app, size) -> None:  # type: ignore[no-untyped-def]
    app = kb_app()
    app.sla_start_delay = 0.0  # counted at once, as in tests/tui/test_snapshots.py

    async def open_picker(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await open_reader(app, pilot, REFUND_SUBJECT)
        await settle(pilot)
        picker = await open_kb(app, pilot, "K")
        # the preview is mounted block by block: wait for its text
        await until(pilot, lambda: len(picker.query_one("#kb-preview").children) > 2)
        picker.query_one("#kb-query").cursor_blink = False  # a blink phase is not a change
        await settle(pilot)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=open_picker)
