"""Real IMAP/SMTP servers for tests and the demo: Dovecot, aiosmtpd and a throwaway PKI."""
