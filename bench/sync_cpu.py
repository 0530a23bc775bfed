"""`mailtriage sync` that says where its CPU went: `python -m bench.sync_cpu sync -q`.

Runs the CLI exactly as `python -m mailtriage` does, then prints to stderr one line with the
CPU seconds of this process (the IMAP reader thread and the SQLite writer) and of its
children (the header-parsing worker, imap.parsing): on 2 cores the larger of the two bounds
the wall time of an initial sync, so the bench shows both (sync_bench.py).
"""

from __future__ import annotations

import multiprocessing
import resource
import sys

from mailtriage.cli import main


def _seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    status = main(sys.argv[1:])
    for child in multiprocessing.active_children():
        child.join()  # the parse worker exits after the fetch; count it once it has
    print(
        f"cpu-split process={_seconds(resource.RUSAGE_SELF):.3f}"
        f" workers={_seconds(resource.RUSAGE_CHILDREN):.3f}",
        file=sys.stderr,
    )
    raise SystemExit(status)
