"""`mailtriage demo` end to end: seed a real server, sync it, list it — both server kinds."""

from __future__ import annotations

import re

import pytest

from mailtriage.demo.run import run_demo


@pytest.mark.parametrize("server", ["dovecot", "embedded"])
def test_demo_runs_on_each_server(server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo(conversations=40, print_only=True, server_choice=server) == 0
    captured = capsys.readouterr()
    seeded = re.search(r"demo: (.*?); (\d+) messages seeded", captured.err)
    assert seeded, captured.err
    assert seeded.group(1).startswith("Dovecot" if server == "dovecot" else "embedded")
    synced = re.search(r"demo: (\d+) new, 0 changed, 0 removed", captured.out)
    assert synced and synced.group(1) == seeded.group(2)
    counts = dict(re.findall(r"(all|unhandled|in-progress|done) (\d+)", captured.err))
    assert int(counts["all"]) >= 40  # the corpus adds a few awkward extras
    assert int(counts["in-progress"]) > 0 and int(counts["done"]) > 0  # keywords survived
    assert "未対応" in captured.out
