"""Themes are TOML files of textual.theme.Theme fields: the shipped ones in themes/, plus an
optional user file. A broken file never stops the app: it falls back and says why."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

from mailtriage.resources import data_dir

_FIELDS = {f.name for f in fields(Theme)}
_COLOR_FIELDS = {
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
}


class ThemeError(Exception):
    pass


def load_theme_file(path: Path) -> Theme:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeError(f"theme {path}: cannot read ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"theme {path}: not valid TOML ({exc})") from exc
    unknown = set(data) - _FIELDS
    if unknown:
        raise ThemeError(f"theme {path}: unknown keys {', '.join(sorted(unknown))}")
    if not isinstance(data.get("name"), str) or not isinstance(data.get("primary"), str):
        raise ThemeError(f"theme {path}: needs at least name and primary")
    for key in _COLOR_FIELDS & set(data):
        try:
            Color.parse(data[key])
        except (ColorParseError, TypeError, ValueError) as exc:
            raise ThemeError(f"theme {path}: {key} = {data[key]!r} is not a colour") from exc
    try:
        return Theme(**data)
    except (TypeError, ValueError) as exc:
        raise ThemeError(f"theme {path}: {exc}") from exc


def builtin_themes() -> list[Theme]:
    return [load_theme_file(path) for path in sorted(data_dir("themes").glob("*.toml"))]
