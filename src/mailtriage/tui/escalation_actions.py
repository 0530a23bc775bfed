"""The app's escalate (`e`) and hand over (`O`, also in the palette) actions: dialogs first,
then the work in a worker through the app's one actions session and outbox (triage.escalation,
triage.handover), so nothing here blocks the UI or talks IMAP itself."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from mailtriage.triage.departments import targets
from mailtriage.triage.escalation import ESCALATED, HOLDING_TEMPLATE, deescalate, escalate
from mailtriage.tui.escalate_screen import EscalateRequest, EscalateScreen


def open_escalate(app: Any) -> None:
    keys = app.triage_targets()
    if len(keys) != 1:
        app.notify("Escalate one conversation at a time.", severity="warning")
        return
    key = keys[0]
    conversation = app.store.get_conversation(key)
    if conversation is None:
        return
    choices = targets(app.config)
    escalated = ESCALATED in conversation["tags"]
    if not choices and not escalated:
        app.notify(
            "Nobody to escalate to: add team.supervisors or [departments.NAME] to the config.",
            severity="warning",
            markup=False,
        )
        return

    def chosen(request: EscalateRequest | None) -> None:
        if request is not None:
            app.run_worker(
                _run(app, key, request),
                group="triage",
                exit_on_error=False,
                description="escalating",
            )

    app.push_screen(
        EscalateScreen(
            conversation["id"],
            choices,
            escalated=escalated,
            can_send=app.account.smtp is not None,
        ),
        chosen,
    )


def _conversation_with_bodies(app: Any, key: str) -> dict[str, Any] | None:
    """On a worker thread: a forward quotes every message, so fetch missing texts first."""
    from mailtriage.imap.bodies import ensure_conversation_bodies
    from mailtriage.store import Store

    store = Store(app.account.cache_path, readonly=True)
    try:
        ensure_conversation_bodies(app.account, store, key)
        return store.get_conversation(key)
    finally:
        store.close()


async def _run(app: Any, key: str, request: EscalateRequest) -> None:
    actions = await app.get_actions()
    if request.target is None:
        conversation = app.store.get_conversation(key)
        if conversation is None:
            return
        outcome = await deescalate(conversation, request.text, actions=actions)
    else:
        conversation = await asyncio.to_thread(_conversation_with_bodies, app, key)
        if conversation is None:
            return
        sending = request.forward or request.hold
        try:
            outcome = await escalate(
                app.config,
                app.account.name,
                conversation,
                request.target,
                request.text,
                actions=actions,
                outbox=await app.get_outbox() if sending else None,
                forward=request.forward,
                hold=HOLDING_TEMPLATE if request.hold else None,
                now=time.time(),
            )
        except (LookupError, ValueError) as exc:
            app.notify(f"Not escalated: {exc}", severity="error", markup=False)
            return
        if sending:
            app.deliver_loop()  # the forward / holding reply leave after the undo window
    lines = [outcome.message, *outcome.steps[1:], *(f"⚠ {w}" for w in outcome.warnings)]
    app.notify(
        "\n".join(lines),
        severity="information" if outcome.ok else "error",
        timeout=6,
        markup=False,
    )
    app.check_for_changes()
    app.update_status()


def open_handover(app: Any) -> None:
    from mailtriage.tui.pickers import Picker, TextPrompt

    me = app.config.agent
    others = [m for m in app.config.members if m != me]
    if not others:
        app.notify("No colleague to hand over to (team.members).", severity="warning")
        return

    def noted(to: str, note: str | None) -> None:
        if note:
            app.run_worker(
                _handover(app, to, note),
                group="triage",
                exit_on_error=False,
                description="handing over",
            )

    def picked(to: str | None) -> None:
        if to:
            app.push_screen(
                TextPrompt(f"申し送り for {to} (shown on top of each conversation)"),
                lambda note: noted(to, note),
            )

    app.push_screen(
        Picker("Going away: hand all your open conversations to…", [(m, m) for m in others]),
        picked,
    )


async def _handover(app: Any, to: str, note: str) -> None:
    from mailtriage.triage.handover import handover, open_conversations

    keys = open_conversations(app.store.conn, app.config.agent)
    actions = await app.get_actions()
    result = await handover(actions, keys, app.config.agent, to, note)
    text = f"{len(result.handed)} of {len(keys)} open conversations handed to {to}"
    if result.away_logged:
        text += "; you are marked away"
    lines = [text, *result.refused[:5], *(f"⚠ {w}" for w in result.warnings)]
    app.notify(
        "\n".join(lines), severity="warning" if result.refused else "information", markup=False
    )
    app.check_for_changes()
