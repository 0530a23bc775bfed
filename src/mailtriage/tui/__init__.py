"""The Textual app. Only this package imports textual (tests/unit/test_import_hygiene.py)."""
