"""Replies: templates, variables, the outgoing message, tone hints. No UI, no network."""
