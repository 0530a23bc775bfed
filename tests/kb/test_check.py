"""`mailtriage kb --check`, `kb search`, `kb show` and the [kb] config table."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from kb.helpers import article
from mailtriage.cli import main
from mailtriage.config import ConfigError, load_config
from mailtriage.store import Store
from mailtriage.store.events import EventRow, insert_events

CONFIG = """[agent]
name = "alice"

[accounts.support]
address = "support@example.co.jp"
cache_dir = "cache"

[accounts.support.imap]
host = "127.0.0.1"
username = "support"
password_command = "echo x"

[kb]
path = "articles"
{extra}"""


def setup(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "config.toml"
    # cache_dir is not relative to the config file (it never was); the KB path is.
    config.write_text(
        CONFIG.format(extra=extra).replace('"cache"', f'"{tmp_path / "cache"}"'), "utf-8"
    )
    root = tmp_path / "articles"
    article(
        root,
        "faq/refund",
        "返金について",
        "詳しくは [請求書](invoice.md) と [社内手順](../internal/steps.md)、"
        "[旧記事](old.md) をご覧いただけます。\n\n![図](img/flow.png)\n"
        "[外部](https://example.com/never-fetched) [メール](mailto:a@b.example)\n",
        reviewed="2026-01-05",
        extra="owner: carol\nreview_every: 90d\n",
    )
    article(root, "faq/invoice", "請求書の再発行", "管理画面から再発行できます。\n")
    article(root, "internal/steps", "社内手順", "承認が必要。\n", audience="internal")
    (root / "faq" / "broken.md").write_text("---\ntitle: x\naudiense: internal\n---\n", "utf-8")
    return config


def log_use(config_path: Path, ident: str, ts: float) -> None:
    account = load_config(config_path).accounts["support"]
    store = Store(account.cache_path)
    with store.atomic():
        insert_events(
            store.conn,
            [EventRow(1, 1, "<e1@x>", "k" * 40, "kb-used", "bob", ts, "", {"article": ident})],
        )
    store.close()


def test_check_lists_errors_links_stale_and_unused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    config = setup(tmp_path)
    log_use(config, "faq/invoice", time.time() - 86400)
    status = main(["kb", "--check", "--config", str(config)])
    out = capsys.readouterr().out.splitlines()
    assert status == 2  # a file that does not parse and a broken link must be fixed
    assert out[0] == f"kb: 3 articles (1 internal-only) in {tmp_path / 'articles'}; 6 findings"
    rows = [" ".join(line.split()) for line in out[1:]]
    assert rows == [
        f"error faq/broken {tmp_path / 'articles/faq/broken.md'}:3: unknown key 'audiense'"
        " (fix: use one of title, tags, audience, reviewed, review_every, review_by, owner, url)",
        "broken-link faq/refund:8 'old.md': no such file",
        "broken-link faq/refund:10 'img/flow.png': no such file",
        "internal-link faq/refund:8 customer-facing, but links to internal-only internal/steps",
        "stale faq/refund review was due 2026-04-05 (last reviewed 2026-01-05, owner carol)",
        "unused faq/refund not inserted into a reply in 90 days (never inserted)",
    ]


def test_check_json_and_usage_window(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    config = setup(tmp_path, extra="unused_days = 30\n")
    (tmp_path / "articles" / "faq" / "broken.md").unlink()
    (tmp_path / "articles" / "faq" / "refund.md").unlink()
    log_use(config, "faq/invoice", time.time() - 40 * 86400)
    assert main(["kb", "--check", "--json", "--config", str(config)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["articles"] == 2 and data["internal"] == 1
    (finding,) = data["findings"]
    assert finding["kind"] == "unused" and finding["article"] == "faq/invoice"
    assert "in 30 days (last " in finding["message"]


def test_check_without_a_cache_says_usage_is_unknown(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    config = setup(tmp_path)
    main(["kb", "--check", "--config", str(config)])
    captured = capsys.readouterr()
    assert "unused" not in captured.out
    assert "note: usage of account support unknown: no cache at" in captured.err


def test_search_and_show(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    config = setup(tmp_path)
    assert main(["kb", "search", "再発行", "--config", str(config)]) == 0
    out = capsys.readouterr().out.split()
    assert out[0] == "faq/invoice" and "請求書の再発行" in out
    assert main(["kb", "--config", str(config), "search", "--json", "承認"]) == 0
    (hit,) = json.loads(capsys.readouterr().out)
    assert hit["id"] == "internal/steps" and hit["audience"] == "internal"
    assert main(["kb", "search", "nothing-like-this", "--config", str(config)]) == 1
    assert "nothing matches" in capsys.readouterr().err
    assert main(["kb", "show", "faq/invoice.md", "--config", str(config)]) == 0
    assert capsys.readouterr().out.startswith("# 請求書の再発行\ncustomer-facing · owner -")
    assert main(["kb", "show", "faq/nope", "--config", str(config)]) == 1


def test_config_errors_are_precise(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    config = setup(tmp_path, extra="review_days = 0\n")
    with pytest.raises(ConfigError, match=r"kb.review_days: expected an integer from 1 to 3650"):
        load_config(config)
    config.write_text(config.read_text("utf-8").replace("review_days = 0", "paht = 'x'"), "utf-8")
    with pytest.raises(ConfigError, match=r"kb.paht: unknown key"):
        load_config(config)
    config.write_text(config.read_text("utf-8").replace("paht = 'x'\n", ""), "utf-8")
    (tmp_path / "articles").rename(tmp_path / "moved")
    assert main(["kb", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mailtriage: kb: {tmp_path / 'articles'}: the KB directory does not")
    config.write_text(config.read_text("utf-8").replace('[kb]\npath = "articles"\n', ""), "utf-8")
    assert main(["kb", "--config", str(config)]) == 2
    assert "no knowledge base configured (fix: add [kb] path" in capsys.readouterr().err


def test_config_example_kb_section_parses(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    text = example.read_text("utf-8")
    start = text.index("# [kb]")
    block = text[start:].split("\n\n", 1)[0]
    enabled = "\n".join(
        line[2:]
        for line in block.splitlines()
        if line.startswith(("# [kb]", "# path", "# index", "# review_days", "# unused_days"))
    )
    config_path = tmp_path / "config.toml"
    config_path.write_text(text.replace(block, enabled), "utf-8")
    config = load_config(config_path)
    assert config.kb is not None
    assert config.kb.path == Path("~/support-kb").expanduser()
    assert (config.kb.review_days, config.kb.unused_days) == (180, 90)
