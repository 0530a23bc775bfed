"""Helpdesk semantics: conversations, statuses, assignment. Pure logic, no I/O, no UI."""
