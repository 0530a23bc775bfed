"""The `mailtriage demo` mailbox: a seeded, realistic bilingual support inbox on a local server."""
