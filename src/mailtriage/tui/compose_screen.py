"""Write a reply: the rendered template in an editor, tone hints beside it, send through the
durable outbox (with an undo window), or hand the text to $EDITOR and come back."""

from __future__ import annotations

import os
import shlex
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static, TextArea

from mailtriage.tui.footer import KeyFooter
from mailtriage.tui.rows import one_line

HINT_DELAY = 0.3  # seconds of quiet typing before the tone check runs again


def parse_local_time(text: str, now: datetime | None = None) -> datetime | None:
    """ "18:30" (today, or tomorrow if already past) or "2026-12-01 09:00"; None for anything
    else or a time already past. Without `now`, the system's zone with the offset in force on
    that date (so a date across a DST change is right)."""
    local_now = now or datetime.now().astimezone()
    text = text.strip()
    for fmt in ("%Y-%m-%d %H:%M", "%H:%M"):
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if fmt == "%H:%M":
            when = local_now.replace(
                hour=parsed.hour, minute=parsed.minute, second=0, microsecond=0
            )
            return when if when > local_now else when + timedelta(days=1)
        when = parsed.replace(tzinfo=now.tzinfo) if now is not None else parsed.astimezone()
        return when if when > local_now else None
    return None


def _addresses(addrs: Any) -> str:
    return ", ".join(f"{one_line(a.name)} <{a.email}>" if a.name else a.email for a in addrs)


class ComposeScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+s",
            "send",
            "Send",
            id="compose.send",
            tooltip="Queue for sending (undo window, then SMTP, Sent, status)",
        ),
        Binding(
            "ctrl+r",
            "review",
            "For review",
            id="compose.review",
            tooltip="Save on the server for a supervisor to approve (then it is sent) or return",
        ),
        Binding(
            "ctrl+l",
            "send_later",
            "Later",
            id="compose.send-later",
            tooltip="Send at a time you choose (held if the customer writes again first)",
        ),
        Binding(
            "ctrl+o",
            "external_editor",
            "$EDITOR",
            id="compose.editor",
            tooltip="Edit the text in $EDITOR, then come back",
        ),
        Binding("ctrl+t", "attach", "Attach", id="compose.attach", tooltip="Attach a file by path"),
        Binding(
            "ctrl+k",
            "kb",
            "KB",
            id="compose.kb",
            tooltip="Search the knowledge base; insert an excerpt or a link (never internal-only)",
            # Over the editor's own ctrl+k (delete to line end; ctrl+shift+k deletes the line).
            priority=True,
        ),
        Binding(
            "escape",
            "discard",
            "Discard",
            id="compose.discard",
            tooltip="Close without sending (asks when the text changed)",
        ),
    ]

    def __init__(self, prepared: Any, *, title: str, customer: dict[str, str] | None = None):
        super().__init__()
        self.customer = customer
        self.prepared = prepared
        self.message = prepared.message
        self.title_text = title
        self.original_body = prepared.message.body
        self._hint_timer: Timer | None = None
        self._confirm_discard = False

    def compose(self) -> ComposeResult:
        yield Static(id="compose-head")
        with Horizontal(id="compose-body"):
            yield TextArea(self.message.body, id="editor", soft_wrap=True, show_line_numbers=False)
            with Vertical(id="compose-side"):
                yield Static(id="hints")
        yield Static(id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        if self.message.conversation_key:
            self.app.announce(self.message.conversation_key, "replying")  # type: ignore[attr-defined]
        self._show_head()
        self._show_hints(self.prepared.hints, self.prepared.warnings)
        editor = self.query_one(TextArea)
        editor.focus()
        editor.move_cursor((0, 0))
        self.app.update_status()  # type: ignore[attr-defined]
        pending = getattr(self.app, "kb_pending", None)
        if pending is not None and pending[0] == self.message.conversation_key:
            self.app.kb_pending = None  # type: ignore[attr-defined]
            self.insert_kb(pending[1])

    def on_unmount(self) -> None:
        from mailtriage.tui.reader import ReaderScreen

        if self.message.conversation_key:
            # Back to "viewing" when the reader is still open under us; otherwise gone.
            reading = any(isinstance(s, ReaderScreen) for s in self.app.screen_stack)
            self.app.announce(  # type: ignore[attr-defined]
                self.message.conversation_key if reading else None
            )

    def show_status(self, text: str) -> None:
        self.query_one("#status", Static).update(Text(text, no_wrap=True, overflow="ellipsis"))

    def _show_head(self) -> None:
        m = self.message
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append(f"{self.title_text}\n", style="bold")
        for label, value in (
            ("From", _addresses([m.from_])),
            ("To", _addresses(m.to)),
            ("Cc", _addresses(m.cc)),
            ("Subject", one_line(m.subject)),
            ("Attach", ", ".join(a.filename for a in m.attachments)),
        ):
            if value:
                head.append(f"{label}: ", style="bold dim")
                head.append(f"{value}\n")
        self.query_one("#compose-head", Static).update(head)

    def _show_hints(self, hints: list[Any], warnings: list[str]) -> None:
        text = Text()
        text.append("Tone\n", style="bold")
        if not hints:
            text.append("no hints\n", style="dim")
        for hint in hints:
            where = f"L{hint.line} " if hint.line else ""
            text.append(f"• {where}{one_line(hint.message)}\n")
            if hint.suggestion:
                text.append(f"  → {one_line(hint.suggestion)}\n", style="dim")
        for warning in warnings:
            text.append(f"⚠ {one_line(warning)}\n", style="yellow")
        self.query_one("#hints", Static).update(text)

    @on(TextArea.Changed)
    def text_changed(self) -> None:
        self._confirm_discard = False
        if self._hint_timer is not None:
            self._hint_timer.stop()
        self._hint_timer = self.set_timer(HINT_DELAY, self._recheck)

    def _recheck(self) -> None:
        from mailtriage.compose import tone
        from mailtriage.compose.message import encoding_warnings

        body = self.query_one(TextArea).text
        self.message = self.message.with_body(body)
        hints = tone.check(body, language=self.prepared.language, customer=self.customer)
        self._show_hints(hints, encoding_warnings(self.message))

    def _take_body(self) -> bool:
        """Put the editor's text into the message; False (and say why) when it is empty or
        carries a passage of an internal-only KB article."""
        body = self.query_one(TextArea).text
        if not body.strip():
            self.notify("Nothing to send: the text is empty.", severity="warning")
            return False
        if not self._no_internal_kb_text(body):
            return False
        self.message = self.message.with_body(body)
        return True

    # -- knowledge base ---------------------------------------------------------------------

    def _no_internal_kb_text(self, body: str) -> bool:
        from mailtriage.kb.insert import internal_leaks

        if getattr(self.app.config, "kb", None) is None:  # type: ignore[attr-defined]
            return True
        kb = self.app.get_kb()  # type: ignore[attr-defined]
        if kb is None:
            return True  # get_kb said why; a broken KB directory must not block every reply
        leaks = internal_leaks(kb, body)
        if leaks:
            self.notify(
                f"Not sent: {leaks[0].describe()}. Remove it first.",
                severity="error",
                timeout=12,
            )
            return False
        return True

    def action_kb(self) -> None:
        from mailtriage.tui.kb_screen import KbScreen

        kb = self.app.get_kb()  # type: ignore[attr-defined]
        if kb is None:
            return
        key = self.message.conversation_key
        conversation = self.app.store.get_conversation(key) if key else None  # type: ignore[attr-defined]
        self.app.push_screen(
            KbScreen(kb, conversation=conversation, today=self.app.today()),  # type: ignore[attr-defined]
            self.insert_kb,
        )

    def insert_kb(self, choice: Any) -> bool:
        """Put an article's excerpt or link at the cursor. The rule lives here, not in the
        picker: an internal-only article is refused whoever asks."""
        from mailtriage.kb.insert import InsertRefused, reply_text

        if choice is None:
            return False
        kb = self.app.get_kb()  # type: ignore[attr-defined]
        article = kb.get(choice.ident) if kb is not None else None
        if article is None:
            self.notify(f"No KB article {choice.ident!r} any more.", severity="error")
            return False
        try:
            text = reply_text(kb, article, choice.how)
        except InsertRefused as exc:
            self.notify(f"Not inserted: {exc}", severity="error", timeout=8)
            return False
        editor = self.query_one(TextArea)
        editor.insert(text)
        editor.focus()
        key = self.message.conversation_key
        if key:
            self.app.log_kb_use(key, article, choice.how)  # type: ignore[attr-defined]
        return True

    def action_send(self) -> None:
        if self._take_body():
            self.hand_over("send")

    def action_send_later(self) -> None:
        from mailtriage.tui.pickers import TextPrompt

        self.app.push_screen(
            TextPrompt("Send at (local time)", "18:30  or  2026-12-01 09:00"), self._send_at
        )

    def _send_at(self, text: str | None) -> None:
        if not text:
            return
        when = parse_local_time(text)
        if when is None:
            self.notify(
                f"Not a future time: {text!r}. Use HH:MM or YYYY-MM-DD HH:MM.", severity="error"
            )
            return
        if self._take_body():
            self.hand_over("send", when.timestamp())

    def action_review(self) -> None:
        if self._take_body():
            self.hand_over("review")

    @work(exclusive=True, group="compose", exit_on_error=False, description="handing over")
    async def hand_over(self, how: str, send_at: float | None = None) -> None:
        """Outbox or review first; the editor closes only once the reply is safely stored."""
        app: Any = self.app
        try:
            if how == "review":
                await app.submit_for_review(
                    self.message, self.original_body, self.prepared.snapshot
                )
            else:
                await app.enqueue_outgoing(self.message, self.prepared.snapshot, send_at)
        except Exception as exc:  # the text stays in the editor whatever went wrong
            self.notify(f"Not sent, your text is kept: {exc}", severity="error", timeout=10)
            return
        self.dismiss(None)

    def action_discard(self) -> None:
        changed = self.query_one(TextArea).text != self.original_body
        if changed and not self._confirm_discard:
            self._confirm_discard = True
            self.notify("The text changed: press Esc again to discard it.", severity="warning")
            return
        self.dismiss(None)

    def action_attach(self) -> None:
        from mailtriage.tui.pickers import TextPrompt

        self.app.push_screen(
            TextPrompt("Attach which file? (path)", "~/Documents/report.pdf"), self._add_attachment
        )

    def _add_attachment(self, path: str | None) -> None:
        from mailtriage.compose.message import AttachmentFile, ComposeError

        if not path:
            return
        try:
            attachment = AttachmentFile.from_path(Path(path).expanduser())
        except (OSError, ComposeError) as exc:
            self.notify(f"Cannot attach: {exc}", severity="error")
            return
        import dataclasses

        self.message = dataclasses.replace(
            self.message, attachments=(*self.message.attachments, attachment)
        )
        self._show_head()

    def action_external_editor(self) -> None:
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        area = self.query_one(TextArea)
        from mailtriage.config import default_state_dir
        from mailtriage.files import private_temp_file

        path = private_temp_file(default_state_dir() / "edit", area.text)
        try:
            with self.app.suspend():
                done = subprocess.run([*shlex.split(editor), str(path)], check=False)
            if done.returncode != 0:
                self.notify(
                    f"{editor} exited with status {done.returncode}; text unchanged",
                    severity="warning",
                )
                return
            area.load_text(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            self.notify(f"Could not use {editor}: {exc}", severity="error")
        finally:
            path.unlink(missing_ok=True)
