"""Where the shipped templates/, themes/ and kb/ (example articles) are: inside the wheel,
or at the repo root."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """`templates`, `themes` or `kb`: the installed copy (force-included) or the checkout's."""
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    checkout = _PACKAGE.parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"mailtriage's {name}/ directory is missing from the installation")
