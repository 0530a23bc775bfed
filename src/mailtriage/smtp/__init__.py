"""Sending: the durable outbox, SMTP submission, Sent/\\Answered/status after send."""
