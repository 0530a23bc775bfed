"""Read a conversation: the thread oldest to newest, quotes and signatures folded, headers on
demand, attachments listed, and the customer's other conversations beside it.

Every message-derived string goes through sanitize_for_terminal and reaches Rich as a Text
object, never as markup, so a subject like "[bold]x" or an ESC sequence shows as itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

from mailtriage.imap.large import human_size
from mailtriage.mime import sanitize_for_terminal
from mailtriage.mime.quoting import split_body
from mailtriage.store import listing
from mailtriage.tui.banners import event_text, team_banner
from mailtriage.tui.body_view import FOLD_LIMIT, LONG_BODY, BodyView, body_lines
from mailtriage.tui.footer import KeyFooter
from mailtriage.tui.rows import STATUS_SHORT, age, one_line
from mailtriage.tui.triage_keys import TRIAGE_BINDINGS

WIDE_READER = 110  # below this the customer panel hides (toggle with h)
READER_MESSAGES = 100  # widgets for the newest messages only (see _thread_items)
HEADER_ADDRESSES = 20  # To/Cc addresses shown with H


def _address(a: dict[str, str]) -> str:
    name = one_line(a.get("name", ""))
    email = one_line(a.get("email", ""))
    return f"{name} <{email}>" if name else email


def _addresses(found: list[dict[str, str]]) -> str:
    """The first HEADER_ADDRESSES, then how many more: 10,000 recipients took seconds to lay
    out and filled screens (`mailtriage show --json` has them all)."""
    shown = ", ".join(_address(a) for a in found[:HEADER_ADDRESSES])
    more = len(found) - HEADER_ADDRESSES
    return f"{shown} … and {more:,} more" if more > 0 else shown


def _when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M %z")
    except ValueError:
        return one_line(iso)


def render_message(
    message: dict[str, Any],
    *,
    index: int,
    show_headers: bool,
    show_quotes: bool,
    loading: str = "",
    long_body: str = "",
    partial: str = "",
) -> RenderableType:
    """The message's head and, unless long_body (its one-line notice) is given, its text:
    a long text is drawn by a BodyView below this (see _message_widgets). partial: the
    text is the beginning of the body only, which this line says above it."""
    head = Text()
    head.append("→ " if not message["inbound"] else "← ", style="bold")
    head.append(_address(message["from"]), style="bold")
    head.append(f"  {_when(message['date'])}", style="dim")
    if "\\Seen" not in message["flags"] and message["inbound"]:
        head.append("  new", style="bold reverse")
    parts: list[RenderableType] = [head]
    if show_headers:
        for label, value in (
            ("To", _addresses(message["to"])),
            ("Cc", _addresses(message["cc"])),
            ("Subject", one_line(message["subject"])),
            ("Message-ID", one_line(message["message_id"] or "")),
            ("Folder", f"{message['mailbox']} uid {message['uid']}"),
        ):
            if value:
                line = Text(f"{label}: ", style="bold dim")
                line.append(value, style="dim")
                parts.append(line)
    for attachment in message["attachments"]:
        name = one_line(attachment["filename"] or "(unnamed)")
        kind = "inline " if attachment.get("inline") else ""
        parts.append(
            Text(
                f"  @ {name}  ({kind}{attachment['content_type']}, {attachment['size']:,} bytes)",
                style="italic",
            )
        )
    for warning in message["warnings"]:
        parts.append(Text(f"  ? {one_line(warning)}", style="italic dim"))
    raw_text = message["text"] or ""
    if loading:
        parts.append(Text(loading, style="dim italic"))
    elif long_body:
        parts.append(Text(long_body, style="dim italic"))
        return Group(Rule(style="dim") if index else Text(""), *parts)
    elif partial:
        parts.append(Text(partial, style="dim italic"))
    body = sanitize_for_terminal(raw_text).rstrip()
    if not loading and not body:
        parts.append(Text("(no text)", style="dim"))
    for block in split_body(body):
        if block.kind == "text" or show_quotes:
            style = "" if block.kind == "text" else "dim"
            parts.append(Text("\n".join(block.lines), style=style))
        else:
            label = "quoted" if block.kind == "quote" else "signature"
            parts.append(
                Text(f"  [… {len(block.lines)} {label} lines, Z shows them]", style="dim italic")
            )
    return Group(Rule(style="dim") if index else Text(""), *parts)


class MessageView(Static):
    pass


class TimelineView(Static):
    """A team note or event: never mail, and never looks like mail."""


def _timestamp(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return 0.0


def render_event(event: dict[str, Any]) -> RenderableType:
    from mailtriage.triage.history import describe

    when = datetime.fromtimestamp(float(event["time"])).strftime("%Y-%m-%d %H:%M")
    if event["kind"] == "noted":
        text = Text()
        text.append(f"✎ note by {one_line(event['agent'])}  ", style="bold")
        text.append(when, style="dim")
        text.append("\n" + sanitize_for_terminal(event.get("text") or "").rstrip())
        return text
    line = Text(f"· {one_line(describe(event))}  {when}", style="dim italic")
    extra = event_text(event)
    if extra:
        line.append("\n  " + extra.replace("\n", "\n  "), style="italic")
    return line


class ReaderScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        *TRIAGE_BINDINGS,
        Binding("q,escape", "app.pop_screen", "Back", id="reader.back", tooltip="Back to the list"),
        Binding(
            "j,down", "scroll_down", "Down", show=False, id="reader.down", tooltip="Scroll down"
        ),
        Binding("k,up", "scroll_up", "Up", show=False, id="reader.up", tooltip="Scroll up"),
        Binding(
            "space,pagedown",
            "page_down",
            "Page",
            show=False,
            id="reader.page-down",
            tooltip="One screen down",
        ),
        Binding(
            "pageup,b",
            "page_up",
            "Page up",
            show=False,
            id="reader.page-up",
            tooltip="One screen up",
        ),
        Binding("g,home", "top", "Top", show=False, id="reader.top", tooltip="First message"),
        Binding(
            "G,end", "bottom", "Bottom", show=False, id="reader.bottom", tooltip="Newest message"
        ),
        Binding(
            "H",
            "toggle_headers",
            "Headers",
            id="reader.headers",
            tooltip="Show or hide To, Cc, Message-ID",
        ),
        Binding(
            "Z",
            "toggle_quotes",
            "Quotes",
            id="reader.quotes",
            tooltip="Unfold or fold quoted text and signatures",
        ),
        Binding(
            "h",
            "toggle_customer",
            "Customer",
            id="reader.customer",
            tooltip="This customer's other conversations",
        ),
        Binding(
            "o",
            "attachments",
            "Attachments",
            id="reader.attachments",
            tooltip="List attachments; Enter saves one to the download folder",
        ),
        Binding(
            "K",
            "kb",
            "KB",
            show=False,
            id="reader.kb",
            tooltip="Knowledge base for this conversation; Enter starts a reply with the article",
        ),
    ]

    def __init__(self, key: str):
        super().__init__()
        self.key = key
        self.show_headers = False
        self.show_quotes = False
        self.customer_panel: bool | None = None  # None: decided by width
        self.conversation: dict[str, Any] | None = None
        self._signature = ""  # what the thread's widgets show (see load)
        self._keep_rows = 0
        self._moves = 0  # scrolling keys so far (action_bottom)

    def compose(self) -> ComposeResult:
        yield Static(id="reader-title")
        with Horizontal(id="reader-body"):
            yield VerticalScroll(id="thread")
            yield Static(id="customer-panel")
        yield Static(id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.app.announce(self.key)  # type: ignore[attr-defined]
        self.load()
        thread = self.query_one("#thread", VerticalScroll)
        thread.focus()
        self.call_after_refresh(self._scroll_to_newest)
        self.app.update_status()  # type: ignore[attr-defined]

    def _scroll_to_newest(self) -> None:
        """The end of the thread, or the top of the newest message when it is long (its
        beginning is what a reader wants, and its end is not laid out yet)."""
        thread = self.query_one("#thread", VerticalScroll)
        bodies = thread.query(BodyView)
        if bodies and bodies.last() is thread.children[-1]:
            head = thread.children[-2]
            thread.scroll_to(y=head.virtual_region.y, animate=False)
        else:
            thread.scroll_end(animate=False)

    def on_unmount(self) -> None:
        self.app.announce(None)  # type: ignore[attr-defined]
        # A KB choice whose reply never opened must not surface in another conversation.
        self.app.kb_pending = None  # type: ignore[attr-defined]

    def on_resize(self) -> None:
        self._place_panel()

    def _place_panel(self) -> None:
        wide = self.size.width >= WIDE_READER
        show = wide if self.customer_panel is None else self.customer_panel
        self.query_one("#customer-panel").display = show

    def data_changed(self) -> None:
        # Mounted is not composed: a reload in between (or while the screen is being popped)
        # finds no widgets (NoMatches '#reader-title' in the full suite under load 10);
        # on_mount loads it anyway.
        if not self.query("#reader-title"):
            return
        self.load(keep_scroll=True)

    def show_status(self, text: str) -> None:
        self.query_one("#status", Static).update(Text(text, no_wrap=True, overflow="ellipsis"))

    def load(self, *, keep_scroll: bool = False) -> None:
        store = self.app.store  # type: ignore[attr-defined]
        # Texts only when something changed (below): a reload comes with every commit to the
        # cache, and reading a 5 MB text each time cost 15-35 ms of the UI thread.
        conversation = store.get_conversation(self.key, texts=False)
        if conversation is None and self.conversation is not None:
            # A new message can prove two threads are one: follow the surviving key.
            survivor = listing.conversation_of(
                store.conn, [m["message_id"] for m in self.conversation["messages"]]
            )
            if survivor is not None and survivor != self.key:
                self.key = survivor
                self.app.announce(survivor)  # type: ignore[attr-defined]
                conversation = store.get_conversation(survivor, texts=False)
        if conversation is None:
            self.conversation = None
            self.app.announce(None)  # type: ignore[attr-defined]
            self.query_one("#reader-title", Static).update(
                Text("This conversation is gone (expunged on the server).", style="bold")
            )
            self.query_one("#thread", VerticalScroll).remove_children()
            self._signature = ""
            return
        loading = self.app.request_bodies(self.key)  # type: ignore[attr-defined]
        waiting = (
            "fetching the text from the server…"
            if self.app.syncer is not None  # type: ignore[attr-defined]
            else "the text is not downloaded yet (not connected)"
        )
        timeline = store.timeline(self.key)
        previews = {
            where: shown
            for where, shown in self.app.previews.items()  # type: ignore[attr-defined]
            if where in loading
        }
        # Any commit to the cache (another agent's presence on another conversation, say)
        # lands here: rebuild the thread's widgets only when what they show changed.
        signature = repr(
            (
                self.show_headers,
                self.show_quotes,
                sorted(loading),
                sorted(previews),  # each shown once, until its whole body is stored
                conversation["messages"],  # without texts: each is written once, when
                timeline,  # its body arrives (body_fetched)
            )
        )
        if signature == self._signature and self.conversation is not None:
            conversation["messages"] = self.conversation["messages"]  # the texts we have
        else:
            conversation = store.get_conversation(self.key) or conversation
        self.conversation = conversation
        self.query_one("#reader-title", Static).update(self._title(conversation))
        if signature != self._signature:
            self._signature = signature
            thread = self.query_one("#thread", VerticalScroll)
            y = thread.scroll_y
            # Rebuilt long texts wrap at least down to where the reader was (else the
            # scroll back lands on the few screens wrapped before the paint).
            self._keep_rows = int(y) if keep_scroll else 0
            thread.remove_children()
            thread.mount_all(self._thread_items(conversation, timeline, loading, waiting, previews))
            if keep_scroll:
                self.call_after_refresh(thread.scroll_to, y=y, animate=False)
        self.query_one("#customer-panel", Static).update(self._customer(conversation))
        self._place_panel()

    def _thread_items(
        self,
        conversation: dict[str, Any],
        timeline: list[dict[str, Any]],
        loading: set[tuple[str, int]],
        waiting: str,
        previews: dict[tuple[str, int], tuple[str, int]],
    ) -> list[Widget]:
        """Messages and the team's notes/events, in time order; notes look different.

        A message whose body is on its way shows `waiting`, or the beginning of its text
        when a preview of it came (app.BodyPreview), said to be only that.

        Only the newest READER_MESSAGES messages get a widget: a 500-message thread took 9 s
        to open when each had one (tests/faults), and nobody reads 5,000 mails on a screen.
        """
        items: list[tuple[float, int, list[Widget]]] = []
        messages = conversation["messages"]
        first = max(0, len(messages) - READER_MESSAGES)
        since = _timestamp(messages[first]["date"]) if first else float("-inf")
        if first:
            more = Text(
                f"… {first:,} earlier messages are not shown here; "
                f"`mailtriage show {conversation['id']}` prints the whole thread",
                style="italic",
            )
            items.append((float("-inf"), 0, [TimelineView(more)]))
        for i, m in enumerate(messages[first:], start=first):
            where = (m["mailbox"], m["uid"])
            waits, partial = (waiting if where in loading else ""), ""
            if where in previews:
                text, size = previews[where]
                m = {**m, "text": text}
                waits, partial = (
                    "",
                    (
                        f"  the first {human_size(len(text.encode('utf-8', 'surrogatepass')))}"
                        f" of {human_size(size)}; the rest is on its way…"
                    ),
                )
            widgets = self._message_widgets(m, i, waits, partial)
            items.append((_timestamp(m["date"]), 0, widgets))
        for event in timeline:
            if float(event["time"]) >= since:
                items.append((float(event["time"]), 1, [TimelineView(render_event(event))]))
        items.sort(key=lambda item: (item[0], item[1]))
        banner = team_banner(timeline)  # 申し送り and escalation: first thing a colleague sees
        head: list[Widget] = [TimelineView(banner, classes="banner")] if banner else []
        return head + [view for _, _, views in items for view in views]

    def _message_widgets(
        self, m: dict[str, Any], index: int, waiting: str, partial: str = ""
    ) -> list[Widget]:
        """A MessageView, and a BodyView below it when the text is long (body_view.py).

        partial: the text is only the beginning of the body, and this says so."""
        text = m["text"] or ""
        if waiting or len(text) <= LONG_BODY:
            return [
                MessageView(
                    render_message(
                        m,
                        index=index,
                        show_headers=self.show_headers,
                        show_quotes=self.show_quotes,
                        loading=waiting,
                        partial=partial,
                    )
                )
            ]
        octets = len(text.encode("utf-8", "surrogatepass"))
        fold = octets <= FOLD_LIMIT
        lines, kinds = body_lines(text, show_quotes=self.show_quotes, fold=fold)
        size = human_size(octets)
        notice = f"  long text: {size}, {len(lines):,} lines, drawn as you scroll"
        if partial:
            notice = partial
        elif not fold:
            notice += f"; quoted text is not folded above {human_size(FOLD_LIMIT)}"
        head = render_message(
            m,
            index=index,
            show_headers=self.show_headers,
            show_quotes=self.show_quotes,
            long_body=notice,
        )
        body = BodyView(lines, kinds, size_label=size, rows_at_least=self._keep_rows)
        return [MessageView(head), body]

    def _title(self, c: dict[str, Any]) -> Text:
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append(f"{c['id']} ", style="bold")
        title.append(one_line(c["subject"] or "(no subject)"), style="bold")
        title.append("\n")
        title.append(STATUS_SHORT.get(c["status"], c["status"]), style="reverse")
        title.append(f" {one_line(c['assignee'] or 'unassigned')}")
        if c["priority"] == "urgent":
            title.append(" 至急", style="bold red")
        for tag in c["tags"]:
            title.append(f" #{one_line(tag)}")
        customer = c["customer"]
        store = self.app.store  # type: ignore[attr-defined]
        from mailtriage.store.review import awaiting_review

        if awaiting_review(store.conn, self.key):
            title.append("  awaiting review", style="bold reverse")
        for presence in store.presence(self.key, exclude=self.app.config.agent):  # type: ignore[attr-defined]
            title.append(
                f"  {one_line(presence.agent)} is {presence.activity}", style="bold reverse"
            )
        count = c["message_count"]
        title.append(f" · {_address(customer)} · {count} message{'s' if count != 1 else ''}")
        return title

    def _customer(self, c: dict[str, Any]) -> RenderableType:
        store = self.app.store  # type: ignore[attr-defined]
        email = c["customer"]["email"]
        history = listing.customer_history(store.conn, email, exclude=self.key)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(one_line(c["customer"]["name"] or email) + "\n", style="bold")
        text.append(one_line(email) + "\n\n", style="dim")
        if not history:
            text.append("No other conversations.", style="dim")
        clock = self.app.clock  # type: ignore[attr-defined]
        import time

        now = clock if clock is not None else time.time()
        for h in history:
            text.append(f"{h['short_id']} ", style="bold")
            text.append(f"{STATUS_SHORT.get(h['status'], h['status'])} {age(now - h['last_ts'])}\n")
            text.append(f"  {one_line(h['subject'] or '(no subject)')}\n")
        return text

    def _thread(self) -> VerticalScroll:
        """The thread, for a key that moves it: a pending End (below) gives way to it."""
        self._moves += 1
        return self.query_one("#thread", VerticalScroll)

    def action_scroll_down(self) -> None:
        self._thread().scroll_down(animate=False)

    def action_scroll_up(self) -> None:
        self._thread().scroll_up(animate=False)

    def action_page_down(self) -> None:
        self._thread().scroll_page_down(animate=False)

    def action_page_up(self) -> None:
        self._thread().scroll_page_up(animate=False)

    def action_top(self) -> None:
        self._thread().scroll_home(animate=False)

    def action_bottom(self) -> None:
        thread = self._thread()
        unwrapped = [body for body in thread.query(BodyView) if not body.wrapped]
        for body in unwrapped:
            body.finish()
        if not unwrapped:
            thread.scroll_end(animate=False)
            return
        # The new height must be laid out before there is an end to go to; a key pressed
        # meanwhile (g right after G) wins over this late scroll (seen in tmux).
        moves = self._moves

        def end() -> None:
            if moves == self._moves:
                thread.scroll_end(animate=False)

        self.call_after_refresh(end)

    def action_toggle_headers(self) -> None:
        self.show_headers = not self.show_headers
        self.load(keep_scroll=True)

    def action_toggle_quotes(self) -> None:
        self.show_quotes = not self.show_quotes
        self.load(keep_scroll=True)

    def action_toggle_customer(self) -> None:
        shown = self.query_one("#customer-panel").display
        self.customer_panel = not shown
        self._place_panel()

    def action_kb(self) -> None:
        from mailtriage.tui.kb_screen import KbScreen

        app: Any = self.app
        kb = app.get_kb()
        if kb is None or self.conversation is None:
            return
        key = self.key
        app.kb_pending = None

        def chosen(choice: Any) -> None:
            if choice is not None:
                # The reply's compose screen inserts it (and enforces the rules) when it opens.
                app.kb_pending = (key, choice)
                app.action_reply("reply")

        app.push_screen(KbScreen(kb, conversation=self.conversation, today=app.today()), chosen)

    def action_attachments(self) -> None:
        from mailtriage.tui.pickers import Picker

        if self.conversation is None:
            return
        found = [
            (f"{i}:{a['part']}", m, a)
            for i, m in enumerate(self.conversation["messages"])
            for a in m["attachments"]
        ]
        if not found:
            self.notify("No attachments in this conversation.", timeout=3)
            return
        choices = [
            (
                ident,
                f"{one_line(a['filename'] or '(unnamed)')}  {a['size']:,} B  "
                f"({one_line(_address(m['from']))})",
            )
            for ident, m, a in found
        ]
        by_id = {ident: (m, a) for ident, m, a in found}
        self.app.push_screen(
            Picker("Save which attachment?", choices),
            lambda ident: ident and self._save(*by_id[ident]),
        )

    def _save(self, message: dict[str, Any], attachment: dict[str, Any]) -> None:
        from mailtriage.mime.attachments import save_attachment

        if "section" in attachment:
            self._download(message, attachment)
            return
        store = self.app.store  # type: ignore[attr-defined]
        raw = listing.raw_message(store.conn, message["mailbox"], message["uid"])
        if raw is None:
            self.notify(
                "The message text is not fetched yet; try again in a moment.", severity="warning"
            )
            return
        target = self.app.config.ui.downloads  # type: ignore[attr-defined]
        try:
            path = save_attachment(raw, attachment["part"], attachment["filename"], target)
        except (OSError, IndexError) as exc:
            self.notify(f"Could not save: {exc}", severity="error")
            return
        self.notify(f"Saved {path}", timeout=6)

    @work(group="download", exit_on_error=False, description="saving an attachment")
    async def _download(self, message: dict[str, Any], attachment: dict[str, Any]) -> None:
        """An attachment of a message too large to cache: streamed from the server to disk."""
        from mailtriage.errors import MailtriageError
        from mailtriage.imap.large import human_size

        syncer = self.app.syncer  # type: ignore[attr-defined]
        name = one_line(attachment["filename"] or "(unnamed)")
        if syncer is None:
            self.notify(
                f"Could not save {name}: its message is too large to keep in the cache and"
                " the server is not connected",
                severity="error",
                markup=False,
            )
            return
        self.notify(
            f"Downloading {name} ({human_size(attachment['size'])})…", timeout=4, markup=False
        )
        target = self.app.config.ui.downloads  # type: ignore[attr-defined]
        try:
            path = await syncer.save_attachment(
                message["mailbox"], message["uid"], attachment, target
            )
        except (MailtriageError, LookupError, OSError) as exc:
            self.notify(f"Could not save {name}: {exc}", severity="error", markup=False)
            return
        self.notify(f"Saved {path}", timeout=6, markup=False)
