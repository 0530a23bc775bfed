"""A `mailtriage sync` process for the bulk-load tests: it stores the first batch as usual,
opens the bulk load, stores one batch inside it, says so, then waits to be killed."""

from __future__ import annotations

import sys
import time

from mailtriage.cli import main
from mailtriage.imap import sync
from mailtriage.store import Store

sync.BULK_MIN = 2  # every first sync of the test mailbox is a bulk load
sync.BULK_AFTER = sync.FETCH_BATCH  # after the first batch
insert = Store.insert_messages


def insert_then_hang(self: Store, rows):  # type: ignore[no-untyped-def]
    touched = insert(self, rows)
    if self._bulk:
        print("in bulk", flush=True)
        time.sleep(120)  # the test kills us here, mid-transaction
    return touched


Store.insert_messages = insert_then_hang  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(main(["sync", "-q"]))
