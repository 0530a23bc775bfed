"""Save attachments safely: a filename from a stranger never chooses where a file goes or
replaces one that is already there."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from mailtriage.mime.parse import extract_attachment

MAX_NAME_BYTES = 200
# Separators, Windows-reserved characters, and everything sanitize_for_terminal would drop.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f/\\:*?"<>|\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)


def safe_filename(name: str, fallback: str = "attachment") -> str:
    """A plain file name: no directories, no controls or bidi tricks, not hidden, not too long."""
    name = unicodedata.normalize("NFC", name or "")
    name = _UNSAFE.sub("_", name).strip().lstrip(".").strip()
    if not name or set(name) <= {"_", " "} or _WINDOWS_RESERVED.match(name):
        name = f"{fallback}_{name}" if name else fallback
    stem, dot, suffix = name.rpartition(".")
    if not dot or len(suffix) > 16:
        stem, suffix = name, ""
    while len((stem + (f".{suffix}" if suffix else "")).encode("utf-8")) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem + (f".{suffix}" if suffix else "")


def unused_path(directory: Path, filename: str) -> Path:
    """directory/filename, or "name (2).ext" and so on when that name is taken."""
    path = directory / filename
    stem, suffix = path.stem, path.suffix
    counter = 2
    while path.exists():
        path = directory / f"{stem} ({counter}){suffix}"
        counter += 1
    return path


def create_unused(directory: Path, filename: str) -> tuple[Path, int]:
    """Create a new 0600 file in directory under a safe, unused name: (path, open fd)."""
    directory.mkdir(parents=True, exist_ok=True)
    name = safe_filename(filename)
    for _ in range(100):
        path = unused_path(directory, name)
        try:
            # O_EXCL: if another process took the name since we looked, try the next one.
            return path, os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free name for {name} in {directory}")


def save_attachment(raw: bytes, part_index: int, filename: str, directory: Path) -> Path:
    """Write the attachment into directory under a safe, unused name; return where it went."""
    data = extract_attachment(raw, part_index)
    path, fd = create_unused(directory, filename)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return path
