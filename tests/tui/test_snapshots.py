"""SVG snapshots of every screen at 120x35 and 80x24, Japanese content included.

Update after an intended visual change with: make test PYTEST_ARGS="tests/tui --snapshot-update"
and look at the SVGs in tests/tui/__snapshots__ before committing them.
"""

from __future__ import annotations

import pytest

SIZES = [(120, 35), (80, 24)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen(snap_compare, build_app, size) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(build_app(), terminal_size=size, press=["j", "j"])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_in_progress_view(snap_compare, build_app, size) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(build_app(), terminal_size=size, press=["2", "x", "_"])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_reader(snap_compare, build_app, size) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(build_app(), terminal_size=size, press=["j", "j", "j", "enter", "_"])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_reader_headers_and_quotes(snap_compare, build_app, size) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(
        build_app(), terminal_size=size, press=["8", "j", "enter", "_", "H", "Z", "g"]
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_compare, build_app, size) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(build_app(), terminal_size=size, press=["question_mark", "_"])


def test_search_results(snap_compare, build_app) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(
        build_app(), terminal_size=(120, 35), press=["slash", *"ログイン", "enter", "_"]
    )
