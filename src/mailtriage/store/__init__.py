"""The SQLite cache: schema, migrations and every query. Nothing else writes SQL."""

from mailtriage.store.cache import CacheError, MessageRow, Store

__all__ = ["CacheError", "MessageRow", "Store"]
