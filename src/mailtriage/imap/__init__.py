"""IMAP: connections, capability detection and the sync engine (imapclient, in a worker thread)."""
