"""Benchmarks against a real local Dovecot. Not tests: they print figures against DESIGN.md."""
