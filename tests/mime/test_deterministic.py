"""The same bytes parse the same way in every process: ids derived from mail must agree across
machines, so nothing may depend on the hash seed."""

from __future__ import annotations

import os
import subprocess
import sys

# The header names a boundary the body never uses, and two candidate boundaries appear
# equally often: the boundary rescue must break the tie the same way every time.
TIED = (
    b'Content-Type: multipart/mixed; boundary="nope"\r\nSubject: tie\r\n\r\n'
    b"--aaa\r\nContent-Type: text/plain\r\n\r\nfrom aaa\r\n"
    b"--bbb\r\nContent-Type: text/plain\r\n\r\nfrom bbb\r\n"
    b"--aaa--\r\n--bbb--\r\n"
)
CODE = (
    "import sys; from mailtriage.mime import parse_message; "
    "m = parse_message(sys.stdin.buffer.read()); print(repr((m.text, m.warnings)))"
)


def test_parse_is_independent_of_hash_seed() -> None:
    outputs = set()
    for seed in ("0", "1", "2", "3", "4", "5"):
        done = subprocess.run(
            [sys.executable, "-c", CODE],
            input=TIED,
            capture_output=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1, outputs
