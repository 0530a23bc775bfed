"""The wheel carries what an installed app needs: templates/ and themes/ (force-include)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from mailtriage.resources import data_dir

ROOT = Path(__file__).resolve().parents[2]


def test_checkout_resources_found() -> None:
    assert (data_dir("templates") / "ja" / "acknowledge.txt.j2").is_file()
    assert (data_dir("themes") / "mailtriage-dark.toml").is_file()
    assert (data_dir("kb") / "ja" / "faq" / "password-reset.md").is_file()


def test_wheel_contains_templates_and_themes(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("mailtriage-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "mailtriage/_data/templates/ja/acknowledge.txt.j2" in names
    assert "mailtriage/_data/themes/mailtriage-dark.toml" in names
    assert "mailtriage/_data/kb/ja/faq/password-reset.md" in names
    assert "mailtriage/cli.py" in names
    assert any(n.endswith("entry_points.txt") for n in names)
