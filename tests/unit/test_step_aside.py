"""The watch's body backfill waits while the app reloads its list (imap.step_aside)."""

from __future__ import annotations

import threading
import time

import pytest

from mailtriage.imap import step_aside


@pytest.fixture(autouse=True)
def _no_reload_left() -> None:
    step_aside.reload_shown()


def _parse_on_thread(background: bool) -> tuple[threading.Thread, threading.Event]:
    done = threading.Event()

    def parse() -> None:
        step_aside.mark_background(background)
        step_aside.step_aside()
        done.set()

    thread = threading.Thread(target=parse)
    thread.start()
    return thread, done


def test_background_work_waits_until_the_reload_is_shown() -> None:
    step_aside.reload_started()
    thread, done = _parse_on_thread(background=True)
    assert not done.wait(0.1)  # held while the list loads
    step_aside.reload_shown()
    assert done.wait(2)
    thread.join()


def test_other_threads_never_wait() -> None:
    # The body connection's on-demand fetch (the reader the user opened) must not wait.
    step_aside.reload_started()
    thread, done = _parse_on_thread(background=False)
    assert done.wait(2)
    thread.join()


def test_a_reload_never_shown_holds_the_backfill_at_most_hold(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(step_aside, "HOLD", 0.2)
    step_aside.reload_started()
    started = time.monotonic()
    thread, done = _parse_on_thread(background=True)
    assert done.wait(2)
    thread.join()
    assert 0.1 <= time.monotonic() - started < 1.5
