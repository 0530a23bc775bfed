"""`mailtriage reply|outbox|templates`: replies from a shell, through the same outbox as the app.

Exit status: 0 done; 1 no such conversation/template/item; 2 usage, configuration or
template error; 5 not sent yet (network trouble; queued for retry); 6 not sent (the server
refused, or it may have been sent and needs a human); 7 not sent because the conversation
changed on the server (new customer mail, someone else replied or claimed it).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mailtriage.cli_options import add_account, add_json
from mailtriage.config import Config
from mailtriage.runner import run_async

COMMANDS = ("reply", "outbox", "templates", "review")
EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_RETRYING = 5
EXIT_FAILED = 6
EXIT_CHANGED = 7
_EXIT_FOR_STATE = {
    "done": 0,
    "submitted": 0,
    "queued": EXIT_RETRYING,
    "failed": EXIT_FAILED,
    "held": EXIT_CHANGED,
}


def add_compose_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    p = sub.add_parser(
        "reply",
        parents=[common],
        help="render a reply from a template; --send sends it",
        description="Render a reply to a conversation's latest customer message from a "
        "template and print it with tone hints. With --send it goes through the outbox: "
        "re-checked on the server, sent once, saved to Sent, \\Answered, status applied.",
    )
    p.add_argument("id", help="conversation id (a unique prefix is enough)")
    p.add_argument("--template", "-t", required=True, help="template name or key (ja/refund)")
    p.add_argument("--send", action="store_true", help="send it now")
    p.add_argument("--all", dest="reply_all", action="store_true", help="reply to all")
    p.add_argument(
        "--set",
        dest="values",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a template variable (e.g. --set delivery_date=11月25日); repeatable",
    )
    p.add_argument("--attach", action="append", default=[], metavar="FILE", help="attach a file")
    p.add_argument(
        "--force", action="store_true", help="send even if the conversation changed meanwhile"
    )
    add_account(p)
    add_json(p)

    p = sub.add_parser(
        "outbox",
        parents=[common],
        help="list unsent replies; --retry sends what is due",
        description="List the outbox (queued, held, failed). --retry queues failed and held "
        "replies again (all, or --id N) and delivers everything due now.",
    )
    p.add_argument("--retry", action="store_true", help="retry failed/held and deliver due")
    p.add_argument("--id", type=int, metavar="N", help="only this outbox item")
    p.add_argument("--cancel", type=int, metavar="N", help="cancel an unsent item")
    p.add_argument("--force", action="store_true", help="with --retry: skip check-then-send")
    p.add_argument("--all", dest="show_all", action="store_true", help="include sent/cancelled")
    add_account(p)
    add_json(p)

    p = sub.add_parser(
        "templates",
        parents=[common],
        help="list reply templates; --check renders them all",
        description="List the reply templates (shipped + templates.dirs). --check renders "
        "every one against a sample conversation and exits 2 on any error.",
    )
    add_json(p)
    p.add_argument("--check", action="store_true", help="render every template; fail on errors")

    p = sub.add_parser(
        "review",
        parents=[common],
        help="replies awaiting supervisor review: list, show, approve, return",
        description="`review` lists drafts awaiting review (Drafts, keyword "
        "mt:review/pending); `review show ID` prints one with a unified diff against the "
        "template rendering it came from; `review approve ID` sends it through the outbox "
        "(once; --now skips the undo window); `review return ID --note TEXT` sends it back "
        "to its author with a note. Approve and return are for team.supervisors.",
    )
    p.add_argument(
        "action", nargs="?", default="list", choices=["list", "show", "approve", "return"]
    )
    p.add_argument("id", nargs="?", help="review id (a unique prefix is enough)")
    p.add_argument("--note", help="with return: why (shown to the author)")
    p.add_argument("--now", action="store_true", help="with approve: send now and wait for it")
    p.add_argument("--all", dest="show_all", action="store_true", help="include decided drafts")
    add_account(p)
    add_json(p)


def run_compose_command(config: Config, accounts: list[str], args: argparse.Namespace) -> int:
    if args.command == "templates":
        return _templates(config, args)
    if args.command == "outbox":
        return _outbox(config, accounts, args)
    if args.command == "review":
        return run_async(_review(config, accounts[0], args))
    return _reply(config, accounts, args)


def _err(message: str) -> None:
    print(f"mailtriage: {message}", file=sys.stderr)


def _dump(data: Any) -> None:
    from mailtriage.cli import dumps_json

    print(dumps_json(data))


def _templates(config: Config, args: argparse.Namespace) -> int:
    from mailtriage.compose.templates import (
        TemplateError,
        load_templates,
        render,
        sample_variables,
        template_dirs,
    )

    try:
        templates = load_templates(template_dirs(config))
    except TemplateError as exc:
        _err(f"template error: {exc}")
        return EXIT_USAGE
    errors: dict[str, str] = {}
    if args.check:
        variables = sample_variables()
        for t in templates:
            try:
                render(t, variables)
            except TemplateError as exc:
                errors[t.key] = str(exc)
    if args.json:
        out = []
        for t in templates:
            item = t.as_json()
            if args.check:
                item["error"] = errors.get(t.key)
            out.append(item)
        _dump(out)
    else:
        for t in templates:
            shortcut = f"[{t.shortcut}]" if t.shortcut else "   "
            print(f"{t.key:<22} {shortcut} {t.description}")
        for key, error in errors.items():
            _err(f"{key}: {error}")
        if args.check and not errors:
            print(f"{len(templates)} templates render without errors")
    return EXIT_USAGE if errors else 0


def _find_conversation(
    config: Config, accounts: list[str], typed: str
) -> tuple[str, dict[str, Any]] | None:
    from mailtriage.imap.bodies import ensure_conversation_bodies
    from mailtriage.store import Store
    from mailtriage.store.cache import CacheError

    matches: list[tuple[str, str]] = []
    for name in accounts:
        try:
            store = Store(config.accounts[name].cache_path, readonly=True)
        except CacheError as exc:
            _err(f"{name}: {exc}")
            return None
        try:
            matches += [(name, key) for key in store.resolve_id(typed)]
        finally:
            store.close()
    if len(matches) != 1:
        _err(
            f"no conversation with id {typed!r}"
            if not matches
            else f"id {typed!r} is ambiguous; type more characters"
        )
        return None
    name, key = matches[0]
    store = Store(config.accounts[name].cache_path, readonly=True)
    try:
        ensure_conversation_bodies(config.accounts[name], store, key)
        conversation = store.get_conversation(key)
    finally:
        store.close()
    return (name, conversation) if conversation else None


def _reply(config: Config, accounts: list[str], args: argparse.Namespace) -> int:
    from mailtriage.compose.message import AttachmentFile, ComposeError, to_bytes
    from mailtriage.compose.reply import conversation_language, prepare_reply
    from mailtriage.compose.templates import (
        TemplateError,
        find_template,
        load_templates,
        template_dirs,
    )

    extra: dict[str, str] = {}
    for value in args.values:
        name, eq, text = value.partition("=")
        if not eq or not name.isidentifier():
            _err(f"--set {value!r}: write NAME=VALUE")
            return EXIT_USAGE
        extra[name] = text
    found = _find_conversation(config, accounts, args.id)
    if found is None:
        return EXIT_NOT_FOUND
    account, conversation = found
    try:
        template = find_template(
            load_templates(template_dirs(config)),
            args.template,
            conversation_language(conversation),
        )
        attachments = [AttachmentFile.from_path(p) for p in args.attach]
        reply = prepare_reply(
            config,
            account,
            conversation,
            template,
            extra=extra,
            reply_all=args.reply_all,
            attachments=attachments,
        )
    except LookupError as exc:
        _err(str(exc.args[0]))
        return EXIT_NOT_FOUND
    except TemplateError as exc:
        _err(f"template error: {exc}")
        return EXIT_USAGE
    except ComposeError as exc:
        _err(str(exc))
        return EXIT_USAGE
    msg = reply.message
    if not args.send:
        if args.json:
            raw, _ = to_bytes(msg)
            _dump(
                {
                    "template": template.key,
                    "to": [a.email for a in msg.to],
                    "cc": [a.email for a in msg.cc],
                    "subject": msg.subject,
                    "body": msg.body,
                    "message_id": msg.message_id,
                    "in_reply_to": msg.in_reply_to,
                    "charset": msg.charset,
                    "status_after_send": msg.status_after_send,
                    "hints": [h.as_json() for h in reply.hints],
                    "warnings": reply.warnings,
                    "size": len(raw),
                }
            )
            return 0
        from mailtriage.mime.sanitize import sanitize_for_terminal

        print(f"To: {', '.join(a.email for a in msg.to)}")
        if msg.cc:
            print(f"Cc: {', '.join(a.email for a in msg.cc)}")
        print(sanitize_for_terminal(f"Subject: {msg.subject}\n"))
        print(sanitize_for_terminal(msg.body))
        for h in reply.hints:
            where = f"line {h.line}: " if h.line else ""
            print(
                sanitize_for_terminal(f"hint: {where}{h.category}: {h.message} → {h.suggestion}"),
                file=sys.stderr,
            )
        for w in reply.warnings:
            print(f"warning: {w}", file=sys.stderr)
        return 0
    return run_async(_send_now(config, account, reply, args))


async def _send_now(config: Config, account: str, reply: Any, args: argparse.Namespace) -> int:
    import time

    from mailtriage.smtp.outbox import Outbox

    box = Outbox.for_config(config, account)
    try:
        item, warnings = box.enqueue(
            reply.message, send_at=time.time(), snapshot=reply.snapshot, force=args.force
        )
        for w in warnings:
            print(f"warning: {w}", file=sys.stderr)
        results = [r for r in await box.deliver_due() if r.item_id == item.id]
        final = box.get(item.id)
    finally:
        await box.close()
    assert final is not None
    line = results[0].message if results else final.state
    if args.json:
        _dump(dict(final.as_json(), message=line))
    else:
        out = sys.stdout if final.state == "done" else sys.stderr
        print(
            f"outbox #{final.id}: {line}" + (f" ({final.reason})" if final.reason else ""), file=out
        )
    return _EXIT_FOR_STATE.get(final.state, EXIT_FAILED)


def _outbox(config: Config, accounts: list[str], args: argparse.Namespace) -> int:
    return run_async(_outbox_async(config, accounts, args))


async def _outbox_async(config: Config, accounts: list[str], args: argparse.Namespace) -> int:
    from mailtriage.smtp.outbox import Outbox

    rows: list[dict[str, Any]] = []
    status = 0
    for name in accounts:
        box = Outbox.for_config(config, name)
        try:
            if args.cancel is not None and not box.cancel(args.cancel):
                _err(f"outbox #{args.cancel}: not cancellable (sent, sending or unknown)")
                status = EXIT_NOT_FOUND
            if args.retry:
                for item in box.pending():
                    if args.id is None or item.id == args.id:
                        box.retry(item.id, force=args.force)
                for r in await box.deliver_due():
                    status = max(status, _EXIT_FOR_STATE.get(r.state, EXIT_FAILED))
                    if not args.json:
                        print(f"{name} outbox #{r.item_id}: {r.message}", file=sys.stderr)
            items = box.items() if args.show_all else box.pending()
            rows += [dict(i.as_json(), account=name) for i in items]
        finally:
            await box.close()
    if args.json:
        _dump(rows)
        return status
    if not rows:
        print("the outbox is empty", file=sys.stderr)
    from mailtriage.mime.sanitize import sanitize_for_terminal

    for r in rows:
        reason = f"  — {r['reason']}" if r["reason"] else ""
        print(
            sanitize_for_terminal(
                f"#{r['id']:<4} {r['state']:<9} {', '.join(r['to'])}  {r['subject']}{reason}"
            )
        )
    return status


async def _review(config: Config, account: str, args: argparse.Namespace) -> int:
    import time

    from mailtriage.compose import review
    from mailtriage.mime.sanitize import sanitize_for_terminal
    from mailtriage.smtp.outbox import Outbox

    if args.action != "list" and not args.id:
        _err(f"review {args.action}: give the review id (see `mailtriage review`)")
        return EXIT_USAGE
    try:
        if args.action == "list":
            items = await review.pending_reviews(config, account, all_states=args.show_all)
            if args.json:
                _dump([i.as_json() for i in items])
            elif not items:
                print("nothing awaits review", file=sys.stderr)
            for i in items if not args.json else []:
                when = time.strftime("%Y-%m-%d %H:%M", time.localtime(i.submitted_at))
                line = f"{i.id}  {i.state:<8} {i.conversation_id}  {i.author:<10} {when}  "
                print(sanitize_for_terminal(line + i.subject))
            return 0
        if args.action == "show":
            item = await review.get_review(config, account, args.id)
            if args.json:
                _dump(dict(item.as_json(), body=item.body, diff=item.diff()))
                return 0
            print(sanitize_for_terminal(f"review {item.id} by {item.author} ({item.state})"))
            print(sanitize_for_terminal(f"To: {', '.join(item.to)}\nSubject: {item.subject}\n"))
            print(sanitize_for_terminal(item.diff() or "(identical to the template rendering)\n"))
            return 0
        if args.action == "return":
            if not (args.note or "").strip():
                _err("review return: --note TEXT says why (the author sees it)")
                return EXIT_USAGE
            decision = await review.return_to_author(config, account, args.id, args.note)
        else:
            box = Outbox.for_config(config, account)
            try:
                decision = await review.approve(
                    config, account, args.id, outbox=box, send_at=time.time() if args.now else None
                )
                if args.now and decision.outbox_item is not None:
                    await box.deliver_due()
                    final = box.get(decision.outbox_item.id)
                    decision = review.Decision(
                        decision.review, final, decision.message, decision.warning
                    )
            finally:
                await box.close()
    except review.ReviewError as exc:
        _err(str(exc))
        return EXIT_NOT_FOUND
    out = decision.review.as_json()
    if decision.outbox_item is not None:
        out["outbox"] = decision.outbox_item.as_json()
    if args.json:
        _dump(dict(out, message=decision.message, warning=decision.warning))
    else:
        print(decision.message)
        if decision.warning:
            _err(decision.warning)
    if args.now and decision.outbox_item is not None:
        return _EXIT_FOR_STATE.get(decision.outbox_item.state, EXIT_FAILED)
    return 0
