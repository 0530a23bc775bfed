"""Passwords: where they come from, and how they are kept out of every output.

A password comes from `password_command` (run through the shell, first output line), from
the system keyring (`password_keyring`, needs the optional `keyring` package and a backend),
or from a plain `password` in the config (warned about on every run).

Whatever the source, the value is wrapped in `Secret`: a str (so imapclient and aiosmtplib
take it unchanged) whose repr is masked, because tracebacks that show local variables (Rich,
Textual's crash screen) print reprs. Every value handed out is also remembered so `redact()`
can scrub it from log records and error lines as a second line of defence.
"""

from __future__ import annotations

import logging
import subprocess
import threading
from typing import Any

MASK = "********"
KEYRING_SERVICE = "mailtriage"

_known: set[str] = set()
_lock = threading.Lock()


class Secret(str):
    """A password. Behaves as the str it is, but never shows itself in a repr."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"'{MASK}'"

    def __getitem__(self, index: Any) -> Secret:
        # Rich truncates long strings by slicing them before repr(): keep the slice masked.
        return Secret(str.__getitem__(self, index))


def remember(value: str) -> Secret:
    """Wrap a password and register it for redaction (values under 4 chars would redact
    ordinary words, so they are only wrapped)."""
    if len(value) >= 4:
        with _lock:
            _known.add(str(value))
    return Secret(value)


def redact(text: str) -> str:
    """text with every password this process has handed out replaced by the mask."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Scrubs passwords from a record's message and its formatted traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class SecretError(Exception):
    """The password could not be obtained: (key, problem, fix) for a ConfigError."""

    def __init__(self, key: str, problem: str, fix: str):
        super().__init__(problem)
        self.key, self.problem, self.fix = key, problem, fix


def from_command(command: str, key: str, timeout: float = 60.0) -> Secret:
    """The first line `command` prints. stdin is closed so it cannot wait for input; stderr is
    captured (inside the app it would scribble over the screen) and never shown, since a
    failing helper may print what it was decrypting."""
    try:
        done = subprocess.run(
            command,
            shell=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SecretError(
            key, f"timed out after {timeout:g} s", "make the command non-interactive"
        ) from None
    if done.returncode != 0:
        raise SecretError(
            key,
            f"exited with status {done.returncode}",
            "run the command by hand and check it prints the password",
        )
    # Only the first line: `pass` prints extra metadata lines after the secret.
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    if not lines or not lines[0]:
        raise SecretError(key, "printed nothing", "check the command prints the password")
    return remember(lines[0])


def from_keyring(service: str, username: str, key: str) -> Secret:
    """The password stored under (service, username) in the system keyring."""
    try:
        import keyring
        import keyring.errors
    except ImportError:
        raise SecretError(
            key,
            "the Python package 'keyring' is not installed",
            "pip install keyring (into mailtriage's environment), or use password_command",
        ) from None
    try:
        value = keyring.get_password(service, username)
    except keyring.errors.NoKeyringError:
        raise SecretError(
            key,
            "no system keyring is available (no Secret Service, KWallet or macOS Keychain)",
            'use password_command instead, e.g. password_command = "pass show mail/support"',
        ) from None
    except keyring.errors.KeyringError as exc:
        raise SecretError(key, f"the keyring refused: {type(exc).__name__}", "unlock it") from None
    if not value:
        raise SecretError(
            key,
            f"no password stored for service {service!r}, user {username!r}",
            f"store it with: keyring set {service} {username}",
        )
    return remember(value)


def install_excepthook() -> None:
    """Scrub passwords from the traceback of a crash before it reaches the terminal."""
    import sys
    import traceback

    def hook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(redact(text))

    sys.excepthook = hook
