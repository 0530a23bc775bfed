"""Errors a user can act on. Each carries a one-line message and a CLI exit status."""

from __future__ import annotations


class MailtriageError(Exception):
    exit_code = 1


class AuthError(MailtriageError):
    exit_code = 3


class TlsError(MailtriageError):
    exit_code = 4


class NetworkError(MailtriageError):
    exit_code = 5


class ServerError(MailtriageError):
    """The server answered, but not in a way we can work with."""

    exit_code = 6
