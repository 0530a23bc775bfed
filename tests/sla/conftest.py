"""The scripted clock of the SLA server tests (events get the scripted moment)."""

from __future__ import annotations

import pytest

import mailtriage.imap.actions as actions_module
from sla.helpers import ScriptedClock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ScriptedClock:
    fake = ScriptedClock()
    monkeypatch.setattr(actions_module, "time", fake)
    return fake
