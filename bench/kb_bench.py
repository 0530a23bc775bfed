"""KB search and suggestion times: the shipped examples plus N generated articles.

    python -m bench.kb_bench --articles 2000

Prints the index build time, a no-change refresh, and p50/max of typed searches (Japanese
and English, short and long terms) and of conversation suggestions.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from mailtriage.kb.base import KnowledgeBase
from mailtriage.resources import data_dir

WORDS_JA = [
    "ログイン",
    "パスワード",
    "請求書",
    "返金",
    "解約",
    "容量",
    "共有",
    "フォルダ",
    "同期",
    "通知",
    "権限",
    "管理者",
    "招待",
    "削除",
    "復元",
    "エクスポート",
    "連携",
    "障害",
    "遅延",
    "設定",
]
WORDS_EN = [
    "login",
    "password",
    "invoice",
    "refund",
    "storage",
    "sharing",
    "folder",
    "sync",
    "notification",
    "admin",
    "invite",
    "delete",
    "restore",
    "export",
    "webhook",
    "outage",
    "latency",
    "setting",
    "quota",
    "token",
]
QUERIES = [
    "ログイン",
    "返金",
    "同期",
    "金",
    "承認",
    "傘",
    "返金 設定",
    "請求書 再発行",
    "rate limit",
    "password reset",
    "SSO",
    "文字化け",
]
CONVERSATIONS = [
    {
        "subject": "ログインできません",
        "messages": [{"text": "本日からログインできません。エラーE401が出ます。", "inbound": True}],
    },
    {
        "subject": "Refund for cancelled subscription",
        "messages": [
            {
                "text": "We cancelled but were charged again; please refund the invoice.",
                "inbound": True,
            }
        ],
    },
]


def generate(root: Path, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    for i in range(count):
        ja = i % 2 == 0
        words = WORDS_JA if ja else WORDS_EN
        title = " ".join(rng.sample(words, 3)) + f" {i}"
        body = "\n\n".join(
            ("。".join(rng.choices(words, k=12)) if ja else " ".join(rng.choices(words, k=40)))
            for _ in range(6)
        )
        path = root / "gen" / f"{i // 100:03d}" / f"a{i}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        audience = "internal" if i % 5 == 0 else "customer-facing"
        path.write_text(
            f"---\ntitle: {title}\ntags: [{', '.join(rng.sample(words, 3))}]\n"
            f"audience: {audience}\nreviewed: 2026-0{1 + i % 9}-01\nowner: alice\n---\n"
            f"## {title}\n\n{body}\n",
            encoding="utf-8",
        )


def timed(fn, repeat: int = 20) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """p50 and max wall time in ms (the CPU time of the searches: timed_cpu)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def timed_cpu(fn, repeat: int = 20) -> float:  # type: ignore[no-untyped-def]
    """Mean CPU ms per call: steadier than wall time on a shared machine."""
    started = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - started) * 1000 / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--articles", type=int, default=2000, help="generated articles (0: examples only)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kb-bench-"))
    try:
        root = work / "kb"
        shutil.copytree(data_dir("kb"), root)
        generate(root, args.articles)
        started = time.perf_counter()
        kb = KnowledgeBase(root, work / "index.sqlite3")
        build = (time.perf_counter() - started) * 1000
        print(
            f"articles: {len(kb.articles())} (+{len(kb.errors())} errors);"
            f" index build {build:.0f} ms"
        )
        p50, worst = timed(kb.refresh)
        print(f"refresh, nothing changed: p50 {p50:.1f} ms, max {worst:.1f} ms")
        for query in QUERIES:
            p50, worst = timed(lambda q=query: kb.search(q))
            cpu = timed_cpu(lambda q=query: kb.search(q))
            hits, _ = kb.search(query)
            print(
                f"search {query!r:>18}: p50 {p50:6.2f} ms, max {worst:6.2f} ms,"
                f" CPU {cpu:6.2f} ms, {len(hits)} hits"
            )
        for conversation in CONVERSATIONS:
            p50, worst = timed(lambda c=conversation: kb.suggest(c), repeat=10)
            top = kb.suggest(conversation)[:1]
            name = top[0].article.ident if top else "-"
            print(
                f"suggest {conversation['subject'][:24]!r}: p50 {p50:6.1f} ms,"
                f" max {worst:6.1f} ms, top {name}"
            )
        kb.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
