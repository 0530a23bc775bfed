"""Private files and directories: mail, logs and unsent replies are readable by their owner
only, also on a shared server where other users can list /tmp and guess names."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from mailtriage.errors import MailtriageError

DIR_MODE = 0o700
FILE_MODE = 0o600


class UnsafePathError(MailtriageError):
    exit_code = 2


def private_dir(path: Path) -> Path:
    """Make `path` (and missing parents, 0700) and make sure only we can use it.

    A directory of ours that others can read or enter is tightened to 0700 (older versions
    made the log directory 0755). One owned by someone else, or that others can write to,
    is refused: they could swap files in it under us.
    """
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    info = path.stat()
    if info.st_uid != os.getuid():
        raise UnsafePathError(
            f"{path} belongs to another user (uid {info.st_uid}); choose a directory of your own"
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create `path` 0600 if missing (never following a planted symlink), tighten it if not."""
    private_dir(path.parent)
    flags = os.O_CREAT | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, FILE_MODE)
    except OSError as exc:
        if path.is_symlink():
            raise UnsafePathError(
                f"{path} is a symlink; remove it (mailtriage never follows one)"
            ) from None
        raise UnsafePathError(f"cannot create {path}: {exc.strerror or exc}") from exc
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path


def tighten_sqlite_sidecars(path: Path) -> None:
    """SQLite gives -wal/-shm the main file's mode; tighten any made by an older version."""
    for suffix in ("-wal", "-shm", "-journal"):
        side = Path(f"{path}{suffix}")
        try:
            if stat.S_IMODE(side.lstat().st_mode) & 0o077 and not side.is_symlink():
                side.chmod(FILE_MODE)
        except FileNotFoundError:
            pass


def private_log_handler(path: Path) -> logging.Handler:
    """A file handler on a 0600 log in a 0700 directory that scrubs passwords from records."""
    from mailtriage.passwords import RedactingFilter

    private_file(path)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.addFilter(RedactingFilter())
    return handler


def private_temp_file(directory: Path, text: str, suffix: str = ".txt") -> Path:
    """A new file with an unguessable name, 0600, inside the private `directory`. Not /tmp:
    editors put swap and backup copies beside the file with the default umask, where other
    users on a shared server could read them."""
    import tempfile

    private_dir(directory)
    fd, name = tempfile.mkstemp(suffix=suffix, prefix="reply-", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return Path(name)
