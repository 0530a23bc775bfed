from mailtriage.cli import run

# Guarded: a large sync parses headers in a spawned worker (imap.parsing), and spawn imports
# the main module again under another name.
if __name__ == "__main__":
    run()
