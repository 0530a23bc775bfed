"""`make bench` / `python -m bench`: the sync figures (see bench/sync_bench.py)."""

from __future__ import annotations

from bench.sync_bench import main

if __name__ == "__main__":
    main()
