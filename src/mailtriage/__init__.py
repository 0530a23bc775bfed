"""mailtriage: terminal mail triage for shared support mailboxes."""

__version__ = "0.1.0"
