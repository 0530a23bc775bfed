"""Golden corpus: every corpus/*.eml is parsed and compared field by field with its .json.

Only the keys present in the .json are checked, so a case states exactly what it is about.
Extra keys: ``sanitized`` (expected sanitize_for_terminal output of subject / from_name / text),
``warnings_include`` (warnings that must be among those produced), ``attachment_names`` and
``attachments_of_type`` (the attachment list by filename or by content type, in order).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from mailtriage.mime import ParsedMessage, parse_headers, parse_message, sanitize_for_terminal

CORPUS = Path(__file__).parent / "corpus"
CASES = sorted(CORPUS.glob("*.eml"))


def _actual(parsed: ParsedMessage, key: str) -> Any:
    value = getattr(parsed, key)
    if key == "date":
        return value.isoformat() if value is not None else None
    if key in ("from_",):
        return asdict(value) if value is not None else None
    if key in ("to", "cc", "reply_to", "attachments"):
        return [asdict(v) for v in value]
    return value


def test_corpus_is_complete() -> None:
    assert len(CASES) >= 20
    for eml in CASES:
        assert eml.with_suffix(".json").exists(), eml.name


@pytest.mark.parametrize("eml", CASES, ids=[p.stem for p in CASES])
def test_golden(eml: Path) -> None:
    expected = json.loads(eml.with_suffix(".json").read_text(encoding="utf-8"))
    parsed = parse_message(eml.read_bytes())
    for key, want in expected.items():
        if key == "sanitized":
            got = {
                "subject": sanitize_for_terminal(parsed.subject),
                "from_name": sanitize_for_terminal(parsed.from_.name if parsed.from_ else ""),
                "text": sanitize_for_terminal(parsed.text),
            }
            assert {k: got[k] for k in want} == want
        elif key == "warnings_include":
            for warning in want:
                assert warning in parsed.warnings
        elif key == "attachment_names":
            assert [a.filename for a in parsed.attachments] == want
        elif key == "attachments_of_type":
            assert [a.content_type for a in parsed.attachments] == want
        else:
            assert _actual(parsed, key) == want, key


@pytest.mark.parametrize("eml", CASES, ids=[p.stem for p in CASES])
def test_headers_only_agree(eml: Path) -> None:
    raw = eml.read_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    full, headers = parse_message(raw), parse_headers(head)
    assert headers.text == ""
    assert headers.attachments == []
    for key in ("message_id", "references", "subject", "from_", "to", "cc", "date"):
        assert getattr(headers, key) == getattr(full, key), key
