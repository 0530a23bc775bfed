"""The cache schema version, kept apart from the migrations so reading it imports nothing.

Bump it with every migration added to store.schema (a unit test checks they agree).
"""

SCHEMA_VERSION = 5
