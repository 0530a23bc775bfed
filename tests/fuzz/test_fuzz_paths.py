"""Hypothesis fuzzing of the paths the mime tests do not reach: threading in the cache, the
search query language, the config loader, template front matter and the outgoing message.

In the suite each test runs a few seconds, derandomized (the same examples every run, so CI
is deterministic). `make fuzz` runs them long and random: MAILTRIAGE_FUZZ_EXAMPLES sets the
count per test, and without derandomize each run explores new inputs.
"""

from __future__ import annotations

import email
import email.policy
import os
import random
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailtriage.compose.message import ComposeError, build_reply, from_address, to_bytes
from mailtriage.compose.templates import TemplateError, parse_template
from mailtriage.config import ConfigError, load_config
from mailtriage.imap.commands import Fetched
from mailtriage.imap.sync import row_from_parsed
from mailtriage.mime import parse_message
from mailtriage.store import Store
from support.cache import demo_config, fill_cache
from support.mailfactory import make_message

LONG = "MAILTRIAGE_FUZZ_EXAMPLES" in os.environ
SETTINGS = settings(
    max_examples=int(os.environ.get("MAILTRIAGE_FUZZ_EXAMPLES", "60")),
    derandomize=not LONG,
    deadline=None,
    database=None,  # no .hypothesis/ in the work tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Two fresh caches per example: fewer examples keep this one at a few seconds too.
CACHE_SETTINGS = settings(
    SETTINGS, max_examples=int(os.environ.get("MAILTRIAGE_FUZZ_EXAMPLES", "20"))
)
ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted((ROOT / "tests" / "mime" / "corpus").glob("*.eml"))
EXAMPLE_CONFIG = (ROOT / "config.example.toml").read_text(encoding="utf-8")
TEMPLATE = (ROOT / "templates" / "ja" / "acknowledge.txt.j2").read_text(encoding="utf-8")
HOSTILE = [
    "\r\nBcc: victim@example.org",
    "\nX-Injected: 1",
    "\x00",
    "\x1b]52;c;ZXZpbA==\x07",
    "\u202e",
    "[bold]x[/]",
    "[@click=app.quit]q[/]",
    "{{ 7*7 }}",
    "{% raw %}",
    '"',
    "'''",
    "\\",
    "=?utf-8?q?a=0D=0ABcc:_x@y?=",
    "Re: ",
    "返信: ",
    "[#123] ",
    "件名",
    "<a@b>",
    "\t",
]
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=10)), max_size=6).map(
    "".join
)


# -- threading -----------------------------------------------------------------------------

IDS = [f"<m{i}@x.jp>" for i in range(12)]
SUBJECTS = ["ログインできません", "Re: ログインできません", "請求書", "Fwd: 請求書", "", "Re: "]


@st.composite
def mailbox(
    draw: st.DrawFn, distinct_subjects: bool = False, duplicate_ids: bool = False
) -> list[bytes]:
    """A small mailbox whose messages point at each other, at themselves and at missing
    ones at random. distinct_subjects: no subject fallback can apply (references only).
    duplicate_ids: Message-IDs may repeat, or be missing."""
    count = draw(st.integers(1, 10))
    own_ids = draw(st.permutations(IDS))
    if duplicate_ids:
        own_ids = [draw(st.sampled_from([*IDS[:4], None])) for _ in range(count)]
    messages = []
    for i in range(count):
        refs = draw(st.lists(st.sampled_from(IDS), max_size=4))
        if distinct_subjects:
            subject = f"topic {i}"
        else:
            # one line: the factory refuses line breaks (a real mailer would fold them)
            subject = " ".join(
                draw(st.one_of(st.sampled_from(SUBJECTS), hostile_text)).splitlines()
            )
        messages.append(
            make_message(
                subject=subject or "x",
                message_id=own_ids[i],
                in_reply_to=draw(st.one_of(st.none(), st.sampled_from(IDS))),
                references=refs,
                # equal times happen (a mailer's one-second clock): ties must not matter
                minutes=draw(st.integers(0, 5)) * 10 + (i if not duplicate_ids else 0),
            )
        )
    return messages


def _rows(config, raws: list[bytes]):  # type: ignore[no-untyped-def]
    account = config.accounts["demo"]
    rows = []
    for uid, raw in enumerate(raws, start=1):
        fetched = Fetched(
            uid=uid, flags=[], internaldate=None, size=len(raw), modseq=None, literal=None
        )
        rows.append(
            row_from_parsed(account, "INBOX", "inbox", 1, fetched, parse_message(raw), raw=None)
        )
    return rows


def _partition(store: Store) -> set[frozenset[int]]:
    groups: dict[str, set[int]] = {}
    for conv, uid in store.conn.execute("SELECT conversation, uid FROM messages"):
        groups.setdefault(conv, set()).add(uid)
    return {frozenset(g) for g in groups.values()}


def _keyed(store: Store) -> dict[str, frozenset[int]]:
    """conversation key -> its messages' uids: the grouping and the keys the team shares."""
    groups: dict[str, set[int]] = {}
    for conv, uid in store.conn.execute("SELECT conversation, uid FROM messages"):
        groups.setdefault(conv, set()).add(uid)
    return {k: frozenset(g) for k, g in groups.items()}


def _batches(rows: list, seed: int | None) -> list[list]:  # type: ignore[type-arg]
    """All in one batch (seed None), else shuffled and cut into 1 to 4 batches at random."""
    if seed is None:
        return [rows]
    rng = random.Random(seed)
    rows = rows[:]
    rng.shuffle(rows)
    cuts = sorted(rng.sample(range(1, len(rows)), min(len(rows) - 1, rng.randint(0, 3))))
    return [rows[a:b] for a, b in zip([0, *cuts], [*cuts, len(rows)], strict=True)]


def _thread(
    raws: list[bytes], directory: Path, seed: int | None, keyed: bool = False
) -> set[frozenset[int]] | dict[str, frozenset[int]]:
    """Insert as a sync would (in batches, shuffled when seed is given), check the cache's
    own invariants, and return how the messages were grouped (with their keys if keyed)."""
    config = demo_config(directory)
    rows = _rows(config, raws)
    store = Store(config.accounts["demo"].cache_path)
    try:
        for batch in _batches(rows, seed):
            with store.atomic():
                store.insert_messages(batch)
        conn = store.conn
        (orphans,) = conn.execute(
            "SELECT COUNT(*) FROM messages WHERE conversation NOT IN"
            " (SELECT key FROM conversations)"
        ).fetchone()
        assert orphans == 0
        (counted,) = conn.execute(
            "SELECT COALESCE(SUM(message_count), 0) FROM conversations"
        ).fetchone()
        assert counted == len(raws)
        (fts,) = conn.execute("SELECT COUNT(*) FROM messages_fts").fetchone()
        assert fts == len(raws)
        (stale,) = conn.execute(
            "SELECT COUNT(*) FROM conversations c WHERE message_count !="
            " (SELECT COUNT(*) FROM messages m WHERE m.conversation = c.key)"
        ).fetchone()
        assert stale == 0
        return _keyed(store) if keyed else _partition(store)
    finally:
        store.close()


@CACHE_SETTINGS
@given(raws=mailbox(), seed=st.integers(0, 2**16))
def test_threading_keeps_the_cache_whole_in_any_batch_order(raws: list[bytes], seed: int) -> None:
    """Every message lands in exactly one conversation and the conversation rows, counts and
    search index agree with the messages, whatever the subjects, references and batches."""
    with tempfile.TemporaryDirectory() as tmp:
        grouped = _thread(raws, Path(tmp), seed)
    assert sum(len(g) for g in grouped) == len(raws)


@CACHE_SETTINGS
@given(raws=mailbox(distinct_subjects=True), seed=st.integers(0, 2**16))
def test_reference_threading_does_not_depend_on_batch_order(raws: list[bytes], seed: int) -> None:
    """Threading by References/In-Reply-To (self-references and missing parents included)
    groups the same way whatever order the sync's batches arrive in."""
    with tempfile.TemporaryDirectory() as tmp:
        assert _thread(raws, Path(tmp) / "a", None) == _thread(raws, Path(tmp) / "b", seed)


@CACHE_SETTINGS
@given(
    raws=st.one_of(mailbox(), mailbox(duplicate_ids=True)),
    seeds=st.lists(st.integers(0, 2**16), min_size=2, max_size=2),
)
def test_conversations_and_keys_are_a_function_of_the_set(
    raws: list[bytes], seeds: list[int]
) -> None:
    """Any permutation and batching of a mailbox — self-references, cycles, missing parents,
    duplicate or missing Message-IDs, subject-only threads, equal times — yields the same
    conversations under the same keys as inserting it oldest first in one batch. (It did
    not: with the subject fallback the grouping depended on arrival order.)"""
    with tempfile.TemporaryDirectory() as tmp:
        expected = _thread(raws, Path(tmp) / "a", None, keyed=True)
        for n, seed in enumerate(seeds):
            assert _thread(raws, Path(tmp) / f"b{n}", seed, keyed=True) == expected


def test_subject_fallback_example_that_used_to_depend_on_order() -> None:
    """docs/faults.md's example: five messages with one subject from one customer, the
    first referencing itself. Oldest first they form one conversation; two batches in
    another order formed two."""
    raws = [
        make_message(
            subject="返金について",
            message_id=f"<s{i}@x.jp>",
            references=["<s0@x.jp>"] if i == 0 else [],
            minutes=i,
        )
        for i in range(5)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        expected = _thread(raws, Path(tmp) / "a", None, keyed=True)
        assert len(expected) == 1
        for seed in range(20):
            assert _thread(raws, Path(tmp) / f"b{seed}", seed, keyed=True) == expected


# -- search --------------------------------------------------------------------------------

QUERY_PARTS = [
    "from:",
    "subject:",
    "to:",
    "tag:",
    "status:",
    "before:",
    "after:2026-11-01",
    "is:",
    '"',
    "*",
    "(",
    ")",
    "NEAR(",
    "AND",
    "OR",
    "NOT",
    "-",
    "^",
    ":",
    "%",
    "_",
    "'",
    "請求書",
    "ログイン",
    "ｶﾀｶﾅ",
    "\x00",
]
queries = st.lists(st.one_of(st.sampled_from(QUERY_PARTS), st.text(max_size=8)), max_size=8).map(
    " ".join
)


@pytest.fixture(scope="module")
def search_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    config = demo_config(tmp_path_factory.mktemp("search"))
    fill_cache(config, conversations=40)
    store = Store(config.accounts["demo"].cache_path, readonly=True)
    yield store
    store.close()


@SETTINGS
@given(query=queries)
def test_search_answers_any_query(query: str, search_store: Store) -> None:
    found = search_store.search(query, limit=50)
    assert isinstance(found, list) and len(found) <= 50
    assert all(isinstance(c["key"], str) for c in found)


def test_nul_in_a_query_is_searched_around(search_store: Store) -> None:
    # Found by the fuzzer: SQLite's FTS5 parser stopped at the NUL ("unterminated string").
    assert search_store.search("請求書\x00") == search_store.search("請求書")
    assert isinstance(search_store.search("00\x00"), list)


# -- config loader -------------------------------------------------------------------------

TOML_VALUES = [
    "1",
    "-1",
    "0",
    "99999999999999999999",
    "1.5",
    "nan",
    "true",
    '""',
    '"x"',
    '"\\u0000"',
    '"\\r\\n"',
    "[]",
    '["a", 1]',
    "{}",
    '{ a = "b" }',
    '"[bold]x[/]"',
    '"../../etc/passwd"',
    '"/dev/null"',
    '"alice\\nbob"',
    "2026-11-24",
    "'''",
    "=",
]


@st.composite
def mutated_config(draw: st.DrawFn) -> str:
    lines = EXAMPLE_CONFIG.splitlines()
    for _ in range(draw(st.integers(1, 6))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.integers(0, 4))
        line = lines[i].lstrip("# ")
        if op == 0:
            del lines[i]
        elif op == 1 and "=" in line:  # uncomment a key with a random value
            key = line.split("=", 1)[0]
            lines[i] = f"{key}= {draw(st.sampled_from(TOML_VALUES))}"
        elif op == 2:
            lines.insert(i, lines[draw(st.integers(0, len(lines) - 1))])  # duplicate a line
        elif op == 3:
            lines[i] = draw(hostile_text)
        else:
            lines[i] = line  # uncomment as is
    return "\n".join(lines)


@SETTINGS
@given(text=mutated_config())
def test_config_loader_answers_in_one_line(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_config(path)
        except ConfigError as exc:
            message = str(exc)
            assert message and "\n" not in message.rstrip("\n"), message
            assert str(path) in message


# -- template front matter -----------------------------------------------------------------

FRONT_KEYS = ["name", "title", "lang", "subject", "tags", "keywords", "description", "x"]


@st.composite
def template_text(draw: st.DrawFn) -> str:
    lines = TEMPLATE.splitlines(keepends=True)
    end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    front = lines[1:end]
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.integers(0, 3))
        if op == 0 and front:
            del front[draw(st.integers(0, len(front) - 1))]
        elif op == 1:
            key = draw(st.sampled_from(FRONT_KEYS))
            front.append(f"{key} = {draw(st.sampled_from(TOML_VALUES))}\n")
        elif op == 2:
            key = draw(st.sampled_from(FRONT_KEYS))
            value = draw(hostile_text).replace("\\", "\\\\").replace('"', '\\"')
            value = value.replace("\n", "\\n").replace("\r", "\\r").replace("\x00", "\\u0000")
            front.append(f'{key} = "{value}"\n')
        else:
            front.insert(0, draw(hostile_text) + "\n")
    body = draw(st.one_of(st.just("".join(lines[end + 1 :])), hostile_text))
    return "---\n" + "".join(front) + "---\n" + body


@SETTINGS
@given(text=template_text())
def test_template_front_matter_answers_in_one_line(text: str) -> None:
    path = Path("/templates/ja/fuzzed.md")
    try:
        template = parse_template(text, path)
    except TemplateError as exc:
        message = str(exc)
        assert "\n" not in message and "fuzzed.md" in message, message
        return
    assert isinstance(template.body, str)


# -- the outgoing message: no header injection from any field ------------------------------

ALLOWED_HEADERS = {
    "from",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "x-mailtriage-conversation",
}


@SETTINGS
@given(subject=hostile_text, name=hostile_text, sender_name=hostile_text, body=hostile_text)
def test_no_field_adds_a_header_to_a_reply(
    subject: str, name: str, sender_name: str, body: str
) -> None:
    customer = {"name": name, "email": "taro@example.jp"}
    first = {
        "message_id": "<q1@example.jp>",
        "from": customer,
        "to": [{"name": name, "email": "support@example.co.jp"}],
        "cc": [{"name": name, "email": "suzuki@example.jp"}],
        "date": "2026-11-20T09:00:00+09:00",
        "subject": subject,
        "inbound": True,
        "text": body,
    }
    conversation = {
        "id": "K3F9Q2AB",
        "key": "k" * 40,
        "subject": subject,
        "customer": customer,
        "messages": [first],
    }
    try:
        message = build_reply(
            conversation, sender=from_address("support@example.co.jp", sender_name), body=body
        )
        raw, _ = to_bytes(message)
    except ComposeError as exc:
        assert "\n" not in str(exc)
        return
    head = raw.split(b"\r\n\r\n", 1)[0]
    names = {
        line.split(b":", 1)[0].decode("ascii").lower()
        for line in head.split(b"\r\n")
        if line[:1] not in b" \t"
    }
    assert names <= ALLOWED_HEADERS, names
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Bcc"] is None and parsed["X-Injected"] is None
    assert not re.search(r"[\r\n]", str(parsed["Subject"]) + str(parsed["To"]))
